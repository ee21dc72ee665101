"""Code named by a test file: only functions and classes defined in the project's own
Python files.

A suite names a check (``type: python, value: checks.py:no_apology``) or a model
(``type: pydantic, value: models:Invoice``). The suite is data from a pull request, so a
name must never reach an arbitrary importable: ``os:system``, ``subprocess:getoutput`` or
``builtins:eval`` would run shell commands on the CI machine while the test shows as
passed. The trust model: **Python files in the repository are code** (reviewed as code, run
by pytest anyway); **everything else is data** and runs nothing. So a reference resolves
only to a ``.py`` file inside the project (symlinks resolved, never inside ``.git``):

- ``file.py:name`` or ``dir/file.py:name`` -- relative to the test file's folder;
- ``module:name`` / ``pkg.module:name`` -- the same as ``module.py`` / ``pkg/module.py``
  there; it is never looked up on ``sys.path``, so a standard-library or installed module
  name is refused at load time;
- ``name`` (or ``Class.method``) must be *defined in that file*: a name the file merely
  imports (``checks.py:os.system``) or a private one (``_helper``, ``__builtins__``) is refused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import threading
from pathlib import Path
from typing import Any

__all__ = ["CodeRefused", "check_reference", "import_object", "reference_file"]

_REF = re.compile(r"(?P<mod>[A-Za-z_][\w.]*|[\w./\\-]+\.py):(?P<attr>[A-Za-z][\w]*(?:\.[A-Za-z][\w]*)*)")


class CodeRefused(ImportError):
    """A reference that does not name code defined in one of the project's files."""


def check_reference(value: str, what: str = "function") -> str:
    """Validate the form of a reference at load time; returns it stripped.

    Raises ``ValueError`` (pydantic turns it into the located load error)."""
    v = value.strip()
    m = _REF.fullmatch(v)
    if m is None:
        raise ValueError(f"{v!r} must be 'file.py:{what}' (or 'module:{what}' for module.py), naming a {what} defined "
                         "in one of the project's Python files; private names (_x) are not allowed")
    mod = m["mod"]
    if not mod.endswith(".py"):
        top = mod.split(".")[0]
        if top in sys.stdlib_module_names or top in sys.builtin_module_names:
            raise ValueError(f"{v!r}: '{mod}' is a module of Python's standard library: promptkit only runs {what}s "
                             "defined in the project's own .py files, never importable modules (a test file is "
                             "data and must not run arbitrary code)")
    return v


def reference_file(value: str) -> str:
    """The project file a reference names, relative to the test file's folder."""
    mod = value.partition(":")[0]
    return mod if mod.endswith(".py") else mod.replace(".", "/") + ".py"


_file_modules: dict[tuple[str, int], Any] = {}
_import_lock = threading.Lock()


def _load_file_module(path: Path) -> Any:
    """Execute a ``.py`` file as a module, once per file version (checks run for every
    sample). Its folder is on ``sys.path`` while it loads, so it can import its siblings,
    as a test module can under pytest."""
    resolved = path.resolve()
    try:
        stamp = resolved.stat().st_mtime_ns
    except OSError as exc:
        raise ImportError(f"cannot read {path}: {exc.strerror or exc}") from None
    key = (str(resolved), stamp)
    with _import_lock:
        cached = _file_modules.get(key)
        if cached is not None:
            return cached
        digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
        name = f"_promptkit_user_{resolved.stem}_{digest}"
        module_spec = importlib.util.spec_from_file_location(name, resolved)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        folder = str(resolved.parent)
        added = folder not in sys.path
        if added:
            sys.path.insert(0, folder)
        sys.modules[name] = module  # pydantic and dataclasses look their module up
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        finally:
            if added:
                sys.path.remove(folder)
        _file_modules[key] = module
        return module


#: Folder names that hold installed code (a ``.venv`` made by ``uv sync`` lies inside the checkout).
INSTALLED_DIRS = frozenset({"site-packages", "dist-packages", "__pypackages__", "node_modules"})


def _installed_code(path: Path, root: Path) -> str | None:
    """The installed-code folder ``path`` lies in below ``root`` (an ``INSTALLED_DIRS`` name,
    or a virtual environment: a folder holding ``pyvenv.cfg``), or None."""
    try:
        parts = path.relative_to(root).parts[:-1]
    except ValueError:
        return None
    folder = root
    for part in parts:
        folder = folder / part
        if part in INSTALLED_DIRS:
            return f"{part}/"
        if (folder / "pyvenv.cfg").exists():
            return f"the virtual environment {folder.relative_to(root).as_posix()}/"
    return None


def import_object(spec: str, base_dir: str | Path | None = None) -> Any:
    """The function or class ``spec`` names, loaded from its project file.

    Raises :class:`CodeRefused` for anything outside the rules of this module, and
    ``ImportError``/``AttributeError``/``SyntaxError`` for a broken file."""
    from promptkit.paths import PathRefused, confine, project_root

    try:
        check_reference(spec)
    except ValueError as exc:
        raise CodeRefused(f"{spec}: {exc}") from None
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    root = project_root(base)
    rel = reference_file(spec)
    try:
        path = confine(rel, root, what="Python file", base=base)
    except PathRefused as exc:
        raise CodeRefused(exc.diagnostic.message) from None
    installed = _installed_code(path, root)
    if installed is not None:
        raise CodeRefused(f"{spec}: {rel} lies in {installed}, which holds installed packages, not the project's "
                          "own code (a virtual environment inside the checkout is not reviewed code); name a "
                          "function written in one of the project's files")
    if not path.is_file():
        raise CodeRefused(f"{spec}: no file {rel} in the project (looked for {path}); modules are never imported "
                          "by name")
    module = _load_file_module(path)
    head, *rest = spec.partition(":")[2].split(".")
    obj = getattr(module, head)
    if getattr(obj, "__module__", None) != module.__name__:
        raise CodeRefused(f"{spec}: '{head}' is not defined in {rel} (it is imported there from "
                          f"{getattr(obj, '__module__', None) or 'elsewhere'}); name a function or class "
                          "written in that file")
    for part in rest:
        obj = getattr(obj, part)
    return obj
