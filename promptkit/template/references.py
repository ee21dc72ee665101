"""Prompty's ``${env:VAR}`` and ``${file:path}`` references in front matter.

``${env:NAME}`` / ``${env:NAME:default}`` read an environment variable; ``${file:path}``
reads a file relative to the prompt file (JSON and YAML files are parsed, anything else
is returned as text). References are resolved only when a value is needed (rendering with
samples, calling a model) and never at load time, so the linter never reads secrets into
memory and a report never contains one.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REF = re.compile(r"^\$\{(env|file):([^}:]+)(?::([^}]*))?\}$")


class ReferenceError_(ValueError):
    """A reference that cannot be resolved (missing variable or file)."""


def is_reference(value: Any) -> bool:
    return isinstance(value, str) and REF.match(value.strip()) is not None


def references(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str, str]]:
    """Every reference in ``data`` as ``(key_path, kind, target)``."""
    out: list[tuple[tuple[Any, ...], str, str]] = []
    if isinstance(data, str):
        m = REF.match(data.strip())
        if m:
            out.append((path, m.group(1), m.group(2)))
    elif isinstance(data, Mapping):
        for k, v in data.items():
            out.extend(references(v, (*path, k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(references(v, (*path, i)))
    return out


def resolve(data: Any, base_dir: str | Path, environ: Mapping[str, str] | None = None) -> Any:
    """Return ``data`` with every reference replaced by its value.

    Raises :class:`ReferenceError_` naming the variable or file that is missing."""
    env = os.environ if environ is None else environ
    if isinstance(data, str):
        m = REF.match(data.strip())
        if not m:
            return data
        kind, target, default = m.groups()
        if kind == "env":
            if target in env:
                return env[target]
            if default is not None:
                return default
            raise ReferenceError_(f"environment variable {target} is not set (referenced as {data.strip()})")
        file = Path(base_dir) / target
        try:
            content = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ReferenceError_(f"cannot read {target} (referenced as {data.strip()}): {exc.strerror or exc}") from None
        if file.suffix.lower() == ".json":
            try:
                return json.loads(content)
            except json.JSONDecodeError as exc:
                raise ReferenceError_(f"{target}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            try:
                return yaml.safe_load(content)
            except yaml.YAMLError as exc:
                raise ReferenceError_(f"{target}: invalid YAML: {exc}") from None
        return content
    if isinstance(data, Mapping):
        return {k: resolve(v, base_dir, env) for k, v in data.items()}
    if isinstance(data, list):
        return [resolve(v, base_dir, env) for v in data]
    return data
