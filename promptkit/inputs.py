"""What a piece of work read from the file system, and whether all of it is still the same.

Two caches answer "the same inputs as last time, so the same answer" without redoing the
work: the lint run memo (:mod:`promptkit.lint.memo`: an unchanged ``promptkit lint`` prints
what it printed) and the loaded-suite cache (:mod:`promptkit.runner.suite_cache`: an
unchanged ``*.prompttest.yaml`` is not validated again). Both must know *every* input, and
a list kept by hand is the list the next feature forgets. So :class:`Watch` observes the
work as it runs:

* every file opened for reading, by an audit hook (:pep:`578`: ``open()``, ``os.open``);
* every folder listed (``os.scandir``, ``os.listdir``): an entry added, removed or renamed
  changes the folder's mtime;
* every path looked up with ``os.stat``/``os.lstat`` -- ``os.path.exists``,
  ``Path.is_file``, ``os.path.realpath`` and the like -- found or not: a config file or a
  ``.git`` created later, a prompt a suite names that did not exist yet. There is no audit
  event for ``stat``, so the two functions are wrapped on the ``os`` module while a watch
  is active (every caller looks them up there at each call).

:func:`signature` is what must stay the same of one input; :func:`unchanged` checks a list
of them. Stdlib only: the lint memo's hit path imports nothing else.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable, Sequence
from typing import Any

#: Real ``os.stat`` (a watch wraps the module attribute; signatures must not count as probes).
_REAL_STAT = os.stat
_KINDS = ("s", "d", "l")


def signature(path: str, how: str) -> list[Any] | None:
    """What must stay the same of ``path``, or None when it does not exist.

    ``s`` (read or listed): mode, size, mtime, ctime, inode -- any write, or an entry added
    to a folder, changes them. ``d`` (a folder only looked at): mode and inode; its mtime
    is not an input (``/tmp`` changes every second, and whether it exists is all that
    was asked). ``l`` (``lstat``: is it a link, where does it point): mode, inode, target."""
    try:
        st = _REAL_STAT(path, follow_symlinks=how != "l")
    except (OSError, ValueError):
        return None
    if how == "s":
        return [st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    if how == "l" and stat.S_ISLNK(st.st_mode):
        try:
            return [st.st_mode, st.st_ino, os.readlink(path)]
        except OSError:
            return None
    return [stat.S_IFMT(st.st_mode), st.st_ino]


def unchanged(deps: Any) -> bool:
    """Whether every ``[path, kind, signature]`` of ``deps`` still holds (a malformed entry
    never does)."""
    if not isinstance(deps, list):
        return False
    for dep in deps:
        if not (isinstance(dep, list) and len(dep) == 3 and isinstance(dep[0], str) and dep[1] in _KINDS) \
                or signature(dep[0], dep[1]) != dep[2]:
            return False
    return True


class Racy(Exception):
    """An input changed during the work, or too shortly before it to be trusted (its next
    change could fall in the same timestamp tick: git's "racily clean")."""


class Watch:
    """Records the file-system inputs of the work done inside ``with Watch():``.

    Watches nest (a lint run that loads a test suite): every active watch sees every event."""

    def __init__(self) -> None:
        self.opened: set[str] = set()
        self.listed: set[str] = set()
        self.probed: set[str] = set()  # os.stat: a file that does not exist yet is an input too
        self.probed_links: set[str] = set()  # os.lstat
        self._real: tuple[Any, Any] | None = None

    def _on_event(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (args + (None, None, None))[:3]
            if not isinstance(path, (str, bytes, os.PathLike)):
                return  # a file descriptor
            if isinstance(mode, str):
                if any(c in mode for c in "wax+"):
                    return
            elif isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                return
            self.opened.add(os.path.abspath(os.fsdecode(path)))
        elif event in ("os.scandir", "os.listdir"):
            path = args[0] if args else "."
            if isinstance(path, (str, bytes, os.PathLike)):
                self.listed.add(os.path.abspath(os.fsdecode(path)))

    def _probe(self, links: bool, path: Any, kw: dict[str, Any]) -> None:
        if kw.get("dir_fd") is None and isinstance(path, (str, bytes, os.PathLike)):
            into = self.probed_links if links or kw.get("follow_symlinks", True) is False else self.probed
            into.add(os.path.abspath(os.fsdecode(path)))

    def __enter__(self) -> Watch:
        if not _HOOKED:
            sys.addaudithook(_hook)
            _HOOKED.append(True)
        if not _ACTIVE:  # the outermost watch wraps os.stat/os.lstat for all of them
            real_stat, real_lstat = self._real = (os.stat, os.lstat)

            def stat_(path: Any, *a: Any, **kw: Any) -> Any:
                for w in _ACTIVE:
                    w._probe(False, path, kw)
                return real_stat(path, *a, **kw)

            def lstat_(path: Any, *a: Any, **kw: Any) -> Any:
                for w in _ACTIVE:
                    w._probe(True, path, kw)
                return real_lstat(path, *a, **kw)

            os.stat, os.lstat = stat_, lstat_  # type: ignore[assignment]
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop recording (idempotent)."""
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self._real is not None:
            os.stat, os.lstat = self._real  # type: ignore[assignment]
            self._real = None

    def deps(self, *, read: Iterable[str] = (), skip: Sequence[str] = (), also: Iterable[str] = (),
             newest_ns: int) -> list[list[Any]]:
        """The signatures of everything recorded and of ``read``, leaving out anything
        under ``skip``, and of ``also`` (never left out). Raises :class:`Racy` when a file
        read or looked at changed at or after ``newest_ns``."""
        skip = [*skip, "/proc", "/dev", "/sys"]
        inputs = {p for p in (*read, *self.opened, *self.listed) if not p.endswith(".pyc") and not under_any(p, skip)}
        inputs.update(also)
        looked = self.probed - inputs
        out: list[list[Any]] = []
        for p in sorted(inputs):
            sig = signature(p, "s")
            if sig is not None and max(sig[2], sig[3]) >= newest_ns:
                raise Racy(p)
            out.append([p, "s", sig])
        for p in sorted(looked):
            if under_any(p, skip):
                continue
            sig = signature(p, "s")  # a file looked at is an input as a whole; a folder is not
            if sig is not None and stat.S_ISDIR(sig[0]):
                out.append([p, "d", signature(p, "d")])
                continue
            if sig is not None and max(sig[2], sig[3]) >= newest_ns:
                raise Racy(p)
            out.append([p, "s", sig])
        out.extend([p, "l", signature(p, "l")] for p in sorted(self.probed_links) if not under_any(p, skip))
        return out


_ACTIVE: list[Watch] = []
_HOOKED: list[bool] = []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _ACTIVE and (event == "open" or event in ("os.scandir", "os.listdir")):
        for w in _ACTIVE:
            w._on_event(event, args)


def under_any(path: str, folders: Iterable[str]) -> bool:
    """Whether ``path`` is one of ``folders`` or lies inside one."""
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def installed_prefixes() -> list[str]:
    """The interpreter's and the virtual environment's folders (their files change only
    when packages are installed, which :func:`site_folders` covers)."""
    return sorted({os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)})


def site_folders() -> list[str]:
    """The site-packages folders: installing or upgrading a package changes their mtime."""
    import site

    out = [*site.getsitepackages()]
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user:
        out.append(user)
    return [os.path.abspath(p) for p in out]


def module_files(prefix: str = "") -> list[str]:
    """The source files of the imported modules (those named ``prefix...``): for an
    editable install, editing promptkit's code changes what a cached answer would be."""
    out = []
    for name, mod in list(sys.modules.items()):
        if prefix and not name.startswith(prefix):
            continue
        f = getattr(mod, "__file__", None)
        if isinstance(f, str) and f.endswith(".py"):
            out.append(os.path.abspath(f))
    return out
