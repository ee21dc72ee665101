"""Prompty's ``${env:VAR}`` and ``${file:path}`` references in front matter.

``${env:NAME}`` / ``${env:NAME:default}`` read an environment variable; ``${file:path}``
reads a file relative to the prompt file (JSON and YAML files are parsed, anything else
is returned as text); the file must lie inside the project, symlinks resolved, and
never inside ``.git`` or another VCS folder (:func:`promptkit.paths.confine`). References
are resolved only when a value is needed (rendering with
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

from promptkit.diagnostics import Severity

REF = re.compile(r"^\$\{(env|file):([^}:]*)(?::([^}]*))?\}$")


class ReferenceError_(ValueError):
    """A reference that cannot be resolved (missing variable or file). ``code`` is set
    (``PK011``) when the file is refused for lying outside the project or in ``.git``."""

    code: str | None = None


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


def project_root(start: str | Path) -> Path:
    """The project root for files in the folder ``start`` (:func:`promptkit.paths.root_for`)."""
    from promptkit.paths import root_for

    return root_for(start)


def _read_referenced(target: str, ref: str, base_dir: Path, root: Path | None) -> tuple[Path, str]:
    """Read the file a ``${file:}`` reference names, inside the project only.

    A prompt file arrives in a pull request; its samples are rendered, printed and sent
    to models. If ``${file:../../etc/passwd}`` or ``${file:~/.aws/credentials}`` were
    followed, reviewing a prompt would leak the reviewer's files, and ``${file:.git/config}``
    the CI token. So a reference is a relative path that must stay (symlinks resolved)
    inside the project root and out of its VCS folders."""
    from promptkit.paths import PathRefused, confine
    from promptkit.template.source import read

    if Path(target).is_absolute() or target.startswith("~"):
        raise ReferenceError_(f"{ref} is an absolute path; references must be relative to the prompt file")
    top = root if root is not None else project_root(base_dir)
    try:
        real = confine(target, top, what=ref, base=base_dir)
    except PathRefused as exc:
        err = ReferenceError_(exc.diagnostic.message.replace(repr(target) + " ", "", 1))
        err.code = exc.diagnostic.code
        raise err from None
    src = read(real)
    if not src.ok:
        d = next(d for d in src.diagnostics if d.severity is Severity.ERROR)
        raise ReferenceError_(f"cannot read {target} (referenced as {ref}): {d.message.removeprefix('cannot read file: ')}")
    return base_dir / target, src.text


def resolve(data: Any, base_dir: str | Path, environ: Mapping[str, str] | None = None, *,
            root: str | Path | None = None) -> Any:
    """Return ``data`` with every reference replaced by its value.

    ``${file:}`` paths are relative to ``base_dir`` and may not leave ``root`` (default:
    :func:`project_root` of ``base_dir``). Raises :class:`ReferenceError_` naming the
    variable or file that is missing, unreadable or out of bounds."""
    env = os.environ if environ is None else environ
    if isinstance(data, str):
        m = REF.match(data.strip())
        if not m:
            return data
        kind, target, default = m.groups()
        if not target:
            raise ReferenceError_(f"empty reference {data.strip()}: name a {'variable' if kind == 'env' else 'file'}")
        if kind == "env":
            if target in env:
                return env[target]
            if default is not None:
                return default
            raise ReferenceError_(f"environment variable {target} is not set (referenced as {data.strip()})")
        file, content = _read_referenced(target, data.strip(), Path(base_dir), Path(root) if root else None)
        if file.suffix.lower() == ".json":
            try:
                return json.loads(content)
            except RecursionError:
                raise ReferenceError_(f"{target}: invalid JSON: it nests arrays or objects too deeply to read") from None
            except json.JSONDecodeError as exc:
                raise ReferenceError_(f"{target}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            from promptkit.template.frontmatter import safe_load

            try:
                return safe_load(content)
            except yaml.YAMLError as exc:
                raise ReferenceError_(f"{target}: invalid YAML: {exc}") from None
        return content
    if isinstance(data, Mapping):
        return {k: resolve(v, base_dir, env, root=root) for k, v in data.items()}
    if isinstance(data, list):
        return [resolve(v, base_dir, env, root=root) for v in data]
    return data
