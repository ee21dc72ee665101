"""Where promptkit may read and write: the project root, and paths confined to it.

promptkit runs in CI on pull requests, so every path written in a prompt, suite, dataset
or config file is chosen by whoever opened the PR. A ``${file:../../etc/passwd}``, a
dataset symlinked to ``~/.aws/credentials``, a schema read from ``.git/config`` (which
holds the CI token) or a results file named ``pyproject.toml`` must not be followed. This
module is the one place that decides; every read and write point calls it instead of
checking paths its own way.

**The project root** (:func:`project_root`) is, in order:

1. the ``--project-root`` given on the command line (:func:`root_override`) -- the only way to
   widen it, because a file in the repository cannot choose it;
2. the folder of the config file in use (``promptkit.toml``, or ``pyproject.toml`` with a
   ``[tool.promptkit]`` table, found upward from the file being read or the cwd), unless
   that file lies above the repository (a stray config in a home folder widens nothing);
3. the nearest folder at or above the start (the cwd, or the file being read) holding a
   ``promptkit.toml``, a ``pyproject.toml`` or a VCS folder (``.git``...);
4. the start folder itself.

Nothing in a file can choose the root: a config file only ever makes it its own folder.

**Confinement** (:func:`confine`): a path is resolved fully -- relative to the file that
names it, ``..`` collapsed, every symlink followed, an absolute path taken as given --
and the result must lie inside the resolved root, and not inside a VCS folder (``.git``,
``.hg``, ``.svn``...) at any depth. Otherwise the caller gets a
:class:`~promptkit.diagnostics.PromptkitError` located at the reference (file:line:col)
or at the path argument, with a hint. Paths typed on the command line are the user's own
choice and are not confined (callers simply do not call :func:`confine` for them).

**Write targets** (:func:`confine_output`): additionally never the root itself, and never
an existing file that promptkit did not create (the caller says how to recognize its own
files), so a results path of ``.gitignore`` or a ``cache-dir = "."`` cannot clobber the
project's files.

Out of scope, on purpose: hard links (a hard link *is* the file; resolving cannot tell it
from any other file inside the project -- git does not store hard links, so a PR cannot
create one), and TOCTOU races between the check and the open (an attacker who can change
the file system while promptkit runs already runs code on the machine).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from promptkit.codes import PATH_OUTSIDE_PROJECT
from promptkit.diagnostics import Diagnostic, PromptkitError, Span

__all__ = [
    "CODE",
    "ROOT_MARKERS",
    "VCS_DIRS",
    "PathRefused",
    "confine",
    "confine_argument",
    "confine_arguments",
    "confine_output",
    "find_project_root",
    "is_inside",
    "lexically_inside",
    "project_root",
    "root_for",
    "root_override",
    "using_root",
    "vcs_part",
]

#: The diagnostic code of a refused path.
CODE = PATH_OUTSIDE_PROJECT.code
NAME = PATH_OUTSIDE_PROJECT.name

#: Version-control folders: never readable through data, at any depth (submodules too).
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", ".fossil", "CVS", ".jj", ".pijul", ".sl"})

#: What marks the top of a project, when no config file says.
ROOT_MARKERS = ("promptkit.toml", "pyproject.toml", ".git", ".hg", ".svn", ".bzr", ".jj")

_override: ContextVar[Path | None] = ContextVar("promptkit_project_root", default=None)


class PathRefused(PromptkitError):
    """A path named by a file (or setting) that leaves the project or enters a VCS folder."""


# --------------------------------------------------------------------------- the root


def root_override() -> Path | None:
    """The ``--project-root`` of this command line, resolved; None when not given."""
    return _override.get()


@contextmanager
def using_root(root: str | Path | None) -> Iterator[None]:
    """Set the command line's ``--project-root`` while the block runs (the CLI and the
    pytest plugin call this; nothing read from a file may)."""
    token = _override.set(Path(os.path.realpath(root)) if root is not None else None)
    try:
        yield
    finally:
        _override.reset(token)


def set_root_override(root: str | Path | None) -> None:
    """Like :func:`using_root`, for the rest of the process (pytest's configure hook)."""
    _override.set(Path(os.path.realpath(root)) if root is not None else None)


def find_project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the cwd; a file means its
    folder) holding one of :data:`ROOT_MARKERS`; ``start`` itself when none does."""
    here = Path(os.path.realpath(start if start is not None else os.getcwd()))
    if here.is_file():
        here = here.parent
    for d in (here, *here.parents):
        if any(os.path.lexists(d / m) for m in ROOT_MARKERS):
            return d
    return here


def _nearest_vcs_top(here: Path) -> Path | None:
    return next((d for d in (here, *here.parents) if any(os.path.lexists(d / v) for v in VCS_DIRS)), None)


def project_root(start: str | Path | None = None, *, config_source: str | Path | None = None) -> Path:
    """The root everything is confined to. Always resolved.

    The command line's override; else the folder of ``config_source``; else the folder
    of the config file that applies to ``start`` (default: the cwd) -- the same lookup as
    the lint and test settings -- unless that file lies above the repository holding
    ``start`` (a stray config in a home folder must not widen a checkout's root); else
    :func:`find_project_root` of ``start``."""
    override = _override.get()
    if override is not None:
        return override
    if config_source is not None:
        return Path(os.path.realpath(Path(config_source))).parent
    here = Path(os.path.realpath(start if start is not None else os.getcwd()))
    if here.is_file():
        here = here.parent
    from promptkit.config import find_config  # lazy: the config reader owns the lookup

    found = find_config(here)
    if found is not None:
        top = Path(os.path.realpath(found)).parent
        repo = _nearest_vcs_top(here)
        if repo is None or is_inside(top, repo):
            return top
    return find_project_root(here)


# --------------------------------------------------------------------------- checks


@lru_cache(maxsize=64)
def _real_dir(path: str) -> str:
    """``realpath`` of a root or working directory: resolved once per process (walking a
    tree of thousands of files asks for the same few), never for a path from data."""
    return os.path.realpath(path)


def is_inside(path: str | Path, root: str | Path) -> bool:
    """Whether resolved ``path`` is ``root`` or below it (both taken as resolved)."""
    p, r = os.path.normcase(str(path)), os.path.normcase(str(root))
    try:
        return os.path.commonpath([p, r]) == r
    except ValueError:  # different drives
        return False


def vcs_part(path: str | Path, root: str | Path) -> str | None:
    """The VCS folder name ``path`` lies in (below ``root``), or None."""
    try:
        parts = Path(path).relative_to(root).parts
    except ValueError:
        parts = Path(path).parts
    vcs = {v.casefold() for v in VCS_DIRS}  # case-insensitive file systems: .GIT is .git
    return next((part for part in parts if part.casefold() in vcs), None)


def _refuse(message: str, hint: str, shown: str, source: str | Path | None, span: Span | None) -> PathRefused:
    return PathRefused(Diagnostic(str(source) if source is not None else shown, message, code=CODE, name=NAME,
                                  span=span if source is not None else None, hint=hint))


def _outside_hint(root: Path) -> str:
    if not any(os.path.lexists(root / m) for m in ROOT_MARKERS):
        return (f"nothing marks the project's top ({', '.join(ROOT_MARKERS[:3])}) at or above {root}: add an empty "
                "promptkit.toml there, or give --project-root on the command line")
    return "keep the file inside the project (or give --project-root on the command line)"


def shown(path: str | Path) -> str:
    """``path`` as the user reads it in messages and result ids: relative to the working
    directory when it lies inside it, else as given (POSIX separators)."""
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return p.as_posix()


def _display(root: Path, real: Path) -> str:
    return real.relative_to(root).as_posix() if is_inside(real, root) else str(real)


def confine(path: str | Path, root: str | Path, *, what: str, base: str | Path | None = None,
            allow_vcs: bool = False, source: str | Path | None = None, span: Span | None = None) -> Path:
    """Resolve ``path`` and check it stays in the project; return the resolved path.

    ``path`` is relative to ``base`` (the folder of the file naming it; default ``root``).
    ``what`` names it in the message ("dataset", "${file:} reference"...). ``source`` and
    ``span`` say where it was written, so the error reads ``suite.yaml:4:11: error:
    PK011 ...``; without them the error is reported at the path itself (a path argument).
    ``allow_vcs`` is for callers that must look into ``.git`` themselves (none read data
    from it). Raises :class:`PathRefused`.
    """
    root_real = Path(_real_dir(os.fspath(root)))
    text = os.fspath(path)
    if text.startswith("~"):
        raise _refuse(f"{what} {text!r} starts with '~': home-relative paths are not followed",
                      "write a path relative to the file, inside the project", text, source, span)
    p = Path(text)
    if not p.is_absolute():
        p = (Path(base if base is not None else root_real) / p).absolute()  # no lexical '..' collapse
    try:
        real = Path(os.path.realpath(p))
    except (OSError, ValueError) as exc:  # ValueError: NUL byte in the path
        raise _refuse(f"{what} {text!r} cannot be resolved: {exc}", "name an existing file inside the project",
                      text, source, span) from None
    if os.path.islink(real):  # realpath gives up on a symlink loop and returns the link itself
        raise _refuse(f"{what} {text!r} is a symlink loop", "replace the symlink by the file", text, source, span)
    if not is_inside(real, root_real):
        via = " through a symlink" if is_inside(os.path.normpath(p), root_real) else ""
        raise _refuse(f"{what} {text!r} points outside the project{via}: it resolves to {real}, "
                      f"and only files under {root_real} may be read or written",
                      _outside_hint(root_real), text, source, span)
    if not allow_vcs:
        vcs = vcs_part(real, root_real)
        if vcs is not None:
            raise _refuse(f"{what} {text!r} resolves into the version-control folder {vcs}/ "
                          f"({_display(root_real, real)}), which is never read",
                          f"{vcs}/ holds credentials and history, not project data; name a file outside it",
                          text, source, span)
    return real


def lexically_inside(path: str | Path, root: str | Path) -> bool:
    """Whether ``path`` *as written* (``..`` collapsed, symlinks not followed, relative to
    the resolved cwd or to the cwd as the shell spells it) lies in ``root``."""
    root_real = _real_dir(os.fspath(root))
    cwd = os.getcwd()
    here = {_real_dir(cwd), cwd}
    cands = {os.path.normpath(os.path.join(h, path)) for h in here}
    return any(is_inside(c, r) for c in cands for r in {root_real, os.path.abspath(root)})


def root_for(path: str | Path, root: str | Path | None = None) -> Path:
    """The root a file at ``path`` (as written) and everything it names are confined to.

    ``root`` (default: :func:`project_root` of the cwd) when ``path`` lies in it as
    written; otherwise the project of the file's own folder -- a path written outside
    the project can only have come from the user (a file inside the project cannot name
    one: :func:`confine` refuses it). The root is never derived from where a symlink
    inside the project points."""
    top = Path(os.path.realpath(root)) if root is not None else project_root()
    if lexically_inside(path, top):
        return top
    return project_root(Path(os.path.realpath(path)).parent)


def confine_argument(path: str | Path, root: str | Path, *, what: str) -> Path:
    """A path named on the command line (or handed over by pytest's collection, which
    walks what the command line named): the user's own choice, so one *written* outside
    the project is followed as given. One written inside it is confined like any other:
    the symlink it may be came with the repository, not from the user."""
    if lexically_inside(path, root):
        return confine(path, root, what=what, base=os.getcwd())  # an argument is relative to where the user stands
    return Path(os.path.realpath(path))


def confine_arguments(paths: Sequence[str | Path], root: str | Path, *, what: str) -> tuple[list[Path], list[Diagnostic]]:
    """:func:`confine_argument` for many paths at once (discovery hands over thousands):
    ``(kept, refused)``, the same verdicts, in order. The folder of each path is resolved
    once, not once per file; a path that is not a symlink then resolves to its resolved
    folder plus its name, so only symlinks (and folders that resolve outside the root or
    into a VCS folder) take the full per-path check, with its message."""
    root_real = _real_dir(os.fspath(root))
    vcs = {v.casefold() for v in VCS_DIRS}
    folders: dict[str, bool] = {}  # folder as written -> plain (files below it need no per-file resolve)
    kept: list[Path] = []
    refused: list[Diagnostic] = []
    for path in paths:
        text = os.fspath(path)
        folder, name = os.path.split(text)
        plain = folders.get(folder)
        if plain is None:
            plain = _plain_folder(folder or ".", root, root_real, vcs)
            folders[folder] = plain
        try:
            if (plain and name not in ("", ".", "..") and name.casefold() not in vcs and not text.startswith("~")
                    and not os.path.islink(text)):
                kept.append(Path(path))
                continue
            confine_argument(text, root, what=what)
        except PathRefused as exc:
            refused.append(exc.diagnostic)
            continue
        kept.append(Path(path))
    return kept, refused


def _plain_folder(folder: str, root: str | Path, root_real: str, vcs: set[str]) -> bool:
    """Whether every non-symlink file written directly in ``folder`` passes
    :func:`confine_argument`: the folder is written outside the project (the user's choice,
    not checked), or it resolves inside the root and into no VCS folder."""
    if not lexically_inside(os.path.join(folder, "x"), root):
        return True
    real = os.path.realpath(folder)
    if not is_inside(real, root_real):
        return False
    return vcs_part(real, root_real) is None


def confine_output(path: str | Path, root: str | Path, *, what: str, base: str | Path | None = None,
                   ours: Callable[[Path], bool] | None = None, source: str | Path | None = None,
                   span: Span | None = None, directory: bool = False) -> Path:
    """:func:`confine` for a place promptkit writes; also never the root itself, and never
    an existing file (or, with ``directory``, folder) that ``ours`` does not recognize as
    promptkit's own. ``ours(path) -> bool`` is given the resolved existing path; without
    it any existing file is refused."""
    root_real = Path(os.path.realpath(root))
    real = confine(path, root_real, what=what, base=base, source=source, span=span)
    text = os.fspath(path)
    if real == root_real:
        raise _refuse(f"{what} {text!r} is the project root itself; promptkit writes only its own files",
                      "name a file or folder of promptkit's own below the root, e.g. .promptkit/",
                      text, source, span)
    if directory:
        if real.exists() and not real.is_dir():
            raise _refuse(f"{what} {text!r} is a file, not a folder", "name a folder of promptkit's own",
                          text, source, span)
        if real.is_dir() and any(real.iterdir()) and not (ours is not None and ours(real)):
            raise _refuse(f"{what} {text!r} is a folder promptkit did not create; it would write its files "
                          "among the project's", "name a new folder, e.g. .promptkit_cache", text, source, span)
    elif os.path.lexists(real):
        if real.is_dir():
            raise _refuse(f"{what} {text!r} is a folder, not a file", "name a file", text, source, span)
        if not (ours is not None and ours(real)):
            raise _refuse(f"{what} {text!r} exists and was not written by promptkit; it is never overwritten",
                          "name a new file, e.g. .promptkit/results.json", text, source, span)
    return real
