"""Templates made of several files: ``{% extends %}``, ``{% include %}``, ``{% import %}``
and Prompty v1's ``base:``, across files *inside the project* only.

A prompt file arrives in a pull request. If ``{% include "../../etc/passwd" %}`` (or a
symlink to it) were followed, rendering the prompt's samples would print the reviewer's
files into a report or a model call. So the loader here resolves every name relative to
the including file's folder and through :func:`promptkit.paths.confine` (inside the
project root, symlinks resolved, never in ``.git``), reads it with the size and encoding
limits of :mod:`promptkit.template.source`, and hands Jinja the *body* of a ``.prompty``
file (its front matter is data, not text to send), with its role lines turned into the
same nonce markers as the main file's, so a role line in a base template is a role line.

Prompty v1's ``base: parent.prompty`` also merges the parent's front matter into the
child's: the child's ``name``, ``description`` and ``version`` win, ``authors`` and
``tags`` are joined, ``model`` and ``sample`` are merged key by key (the child's values
win), as v1's ``Prompty.hoist_base_prompty`` does.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from promptkit.template.model import PromptTemplate

#: ``{% extends / include / import / from %}`` anywhere in a body.
OTHER_FILE = re.compile(r"\{%-?\s*(extends|include|import|from)\b")
#: How many files one render may pull in (each read and compiled once).
MAX_FILES = 32
#: How deep ``base:`` chains may go.
MAX_BASE_DEPTH = 8
_BASE_DEPTH: ContextVar[int] = ContextVar("promptkit_base_depth", default=0)


class IncludeRefused(Exception):
    """A name that may not be loaded; the message says why (shown as the render error)."""


def needs_loader(template: PromptTemplate) -> bool:
    return OTHER_FILE.search(template.body) is not None


def make_loader(template: PromptTemplate) -> Any:
    """A Jinja loader for the files ``template`` names, confined to its project."""
    from jinja2 import BaseLoader, TemplateNotFound

    from promptkit.paths import PathRefused, confine, root_for
    from promptkit.template.loader import load
    from promptkit.template.render import _marked_body

    base_dir = Path(template.path).parent
    root = root_for(template.path)
    seen: dict[str, int] = {}

    class _ProjectLoader(BaseLoader):  # type: ignore[misc]
        def get_source(self, environment: Any, name: str) -> tuple[str, str, Any]:
            if not isinstance(name, str) or not name or Path(name).is_absolute() or name.startswith("~"):
                raise IncludeRefused(f"{{% include/extends %}} of {name!r}: name a file relative to the prompt file")
            try:
                real = confine(name, root, what=f"template {name!r}", base=base_dir)
            except PathRefused as exc:
                raise IncludeRefused(exc.diagnostic.message) from None
            if not real.is_file():
                raise TemplateNotFound(name)
            seen[name] = seen.get(name, 0) + 1
            if len(seen) > MAX_FILES:
                raise IncludeRefused(f"the template pulls in more than {MAX_FILES} files")
            other = load(real)
            if not other.ok:
                d = next(d for d in other.diagnostics if d.severity.value == "error")
                raise IncludeRefused(f"{name}: {d.message}")
            return _marked_body(other), str(real), lambda: True

    return _ProjectLoader()


def hoist_base(template: PromptTemplate) -> PromptTemplate:
    """Prompty v1 ``base:``: the template with its parent's front matter merged in (the
    child's values win). The parent is confined like any included file."""
    base = template.raw_front_matter.get("base")
    if not isinstance(base, str) or not base.strip():
        return template
    from promptkit.paths import PathRefused, confine, root_for
    from promptkit.template.loader import load

    try:
        real = confine(base, root_for(template.path), what=f"base {base!r}", base=Path(template.path).parent)
    except PathRefused as exc:
        raise IncludeRefused(exc.diagnostic.message) from None
    if not real.is_file():
        raise IncludeRefused(f"base {base!r} not found next to {Path(template.path).name}")
    if real == Path(template.path).resolve():
        raise IncludeRefused(f"base {base!r} is the file itself")
    depth = _BASE_DEPTH.get()
    if depth >= MAX_BASE_DEPTH:
        raise IncludeRefused(f"base templates nest more than {MAX_BASE_DEPTH} deep (a cycle?)")
    token = _BASE_DEPTH.set(depth + 1)
    try:
        parent = load(real)  # load() hoists the parent's own base, one level deeper
    finally:
        _BASE_DEPTH.reset(token)
    from promptkit.codes import PATH_OUTSIDE_PROJECT

    refused = [d for d in parent.diagnostics if d.code == PATH_OUTSIDE_PROJECT.code and "base template not used" in d.message]
    if refused:
        raise IncludeRefused(refused[0].message.removeprefix("base template not used: "))
    fm, pfm = template.front_matter, parent.front_matter
    updates: dict[str, Any] = {
        "name": fm.name or pfm.name,
        "description": fm.description or pfm.description,
        "version": fm.version or pfm.version,
        "authors": sorted({*pfm.authors, *fm.authors}),
        "tags": sorted({*pfm.tags, *fm.tags}),
        "inputs": {**pfm.inputs, **fm.inputs},
    }
    if isinstance(pfm.sample, dict) or isinstance(fm.sample, dict):
        updates["sample"] = {**(pfm.sample if isinstance(pfm.sample, dict) else {}),
                             **(fm.sample if isinstance(fm.sample, dict) else {})}
    if pfm.model is not None:
        merged = {**pfm.model.model_dump(exclude_none=True), **(fm.model.model_dump(exclude_none=True) if fm.model else {})}
        for key in ("parameters", "configuration", "options"):
            a = getattr(pfm.model, key, None)
            b = getattr(fm.model, key, None) if fm.model else None
            if isinstance(a, dict) and isinstance(b, dict):
                merged[key] = {**a, **b}
        updates["model"] = type(pfm.model).model_validate(merged)
    return template.model_copy(update={"front_matter": fm.model_copy(update=updates)})
