"""The run memo: a ``promptkit lint`` run whose inputs have not changed prints what the
last such run printed, without importing the linter.

Why: a warm run over the 1,250 prompts of ``../shared/corpora`` took ~0.6 s, of which
~0.4 s went to importing pydantic, Jinja and sixty rules, resolving the settings and
walking the tree -- all to print, from the lint cache, the text it printed last time. A
pre-commit hook and an editor's "lint on save" do exactly that most of the time. This
module is stdlib only; a hit costs one ``stat`` per input and one write.

What a memo is: the exact stdout and exit status of one run, stored under a key made of
everything that reaches the output without being a file: the command line, the working
folder, the promptkit version and interpreter, whether stdout/stderr are terminals (and
the terminal's size), and the environment variables that change output (``NO_COLOR``,
``GIT_*``, ``PROMPTKIT_*``...). With it, the ``stat`` (size, mtime, ctime, inode, mode)
of every input the run had, or the fact that it did not exist:

* every file the run opened for reading (config files, ``pyproject.toml`` files passed
  over, rule packs, prompts) -- found by an audit hook (:pep:`578`), not by a list kept
  by hand that the next feature would forget -- and every prompt it linted;
* every folder it listed (a file added, removed or renamed changes the folder's mtime);
* every path it looked for with ``os.stat``/``os.lstat`` -- ``os.path.exists``,
  ``Path.is_file`` and the like -- whether or not it existed: a ``promptkit.toml`` or a
  ``.git`` created in a parent folder, a prompt a test suite names that did not exist yet
  (folders only looked at count by identity, not mtime);
* promptkit's own source files when they live outside site-packages (an editable
  install: editing a rule invalidates), and the site-packages folders (installing or
  upgrading a package changes them);
* with ``respect-gitignore``: every ``.gitignore`` that could apply, the repository's
  ``index``, ``info/exclude`` and ``config``, and the user's global git ignore and config.

A hit needs every one of them unchanged. Anything the run printed on stderr, a fix,
``--no-cache`` or an input changed less than :data:`RACY_S` before the run started (it
could change again within one timestamp tick, git's "racily clean") means no memo is
written. Lint rules that look at other files (an include's target) are followed no
further than the lint cache follows them: a file's findings are its own bytes' findings.

Trust: memos live in the user's cache folder (``platformdirs``; ``$PROMPTKIT_MEMO_DIR``
overrides it), never in the project, so a file from a stranger's checkout cannot stand in
for a run; a memo file must be a regular file owned by the user, under :data:`MAX_BYTES`,
or it is ignored. Written atomically; the newest :data:`KEEP` are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

FORMAT_VERSION = 1
#: Memo files kept (one per distinct command line and folder); the oldest go first.
KEEP = 32
#: A memo file larger than this is not read.
MAX_BYTES = 64 * 1024 * 1024
#: An input modified this close to the start of the run is not trusted (see module doc).
RACY_S = 2.0
#: Options whose runs are never memoized: they write files, read stdin, print settings or
#: ask for a fresh run.
_NEVER = frozenset({"--fix", "--diff", "--add-noqa", "--no-cache", "--show-files", "--show-settings",
                    "--stdin-filename", "-", "-h", "--help", "--unsafe-fixes"})
#: Environment variables that change what a run prints, besides those starting with
#: ``PROMPTKIT_`` or ``GIT_``.
_ENV = frozenset({"NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES", "CI", "GITHUB_ACTIONS", "HOME",
                  "XDG_CONFIG_HOME", "PYTHONIOENCODING", "PYTHONUTF8", "LANG", "LC_ALL", "LC_CTYPE"})


def eligible(args: Sequence[str]) -> bool:
    """Whether a ``promptkit lint`` command line (without the leading ``lint``) may be
    answered from, and recorded in, a memo."""
    return not any(a in _NEVER or a.startswith(("--stdin-filename=", "--no-cache=")) for a in args)


def _folder() -> Path | None:
    """``$PROMPTKIT_MEMO_DIR``, else ``lint-runs`` in the user's cache folder."""
    own = os.environ.get("PROMPTKIT_MEMO_DIR")
    if own:
        return Path(own)
    base = _user_cache()
    return base / "lint-runs" if base is not None else None


def _user_cache() -> Path | None:
    """promptkit's folder in the user cache (``platformdirs``; the suite cache's signing
    key lives there too)."""
    try:
        from platformdirs import user_cache_dir
    except ImportError:  # pragma: no cover - a dependency
        return None
    return Path(os.path.abspath(user_cache_dir("promptkit", appauthor=False)))


def run_key(args: Sequence[str]) -> str:
    """The hash of everything besides files that reaches a run's output."""
    from promptkit._version import __version__

    ttys = [_isatty(sys.stdout), _isatty(sys.stderr)]
    size = None
    if ttys[0]:
        try:
            size = list(os.get_terminal_size(sys.stdout.fileno()))
        except (OSError, ValueError, AttributeError):
            size = None
    env = {k: v for k, v in sorted(os.environ.items()) if k in _ENV or k.startswith(("PROMPTKIT_", "GIT_"))}
    blob = json.dumps([FORMAT_VERSION, __version__, sys.executable, sys.version, list(args), os.getcwd(), ttys,
                       size, env], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _sig(path: str, how: str) -> list[Any] | None:
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


_REAL_STAT = os.stat


# --------------------------------------------------------------------------- replay


def replay(args: Sequence[str]) -> int | None:
    """Print the memo of this command line and return its exit status, or None (run
    the linter) when there is none or any of its inputs changed."""
    if not eligible(args):
        return None
    folder = _folder()
    if folder is None:
        return None
    key = run_key(args)
    memo = _read(folder / f"run-{key}.json")
    if memo is None or memo.get("key") != key:
        return None
    deps, out, rc = memo.get("deps"), memo.get("stdout"), memo.get("rc")
    if not isinstance(deps, list) or not deps or not isinstance(out, str) or not isinstance(rc, int):
        return None  # a memo always has inputs (the installed packages' folders at least)
    for dep in deps:
        if not (isinstance(dep, list) and len(dep) == 3 and isinstance(dep[0], str) and dep[1] in ("s", "d", "l")) \
                or _sig(dep[0], dep[1]) != dep[2]:
            return None
    sys.stdout.write(out)
    sys.stdout.flush()
    return rc


def _read(path: Path) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_size > MAX_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        return None
    return data


# --------------------------------------------------------------------------- record


class _Watch:
    """A text stream that passes everything on and remembers what was written."""

    def __init__(self, stream: TextIO, keep: bool) -> None:
        self._stream = stream
        self._keep = keep
        self.parts: list[str] = []
        self.written = False
        self.bypassed = False  # bytes written to the buffer underneath are not seen

    def write(self, s: str) -> int:
        self.written = True
        if self._keep:
            self.parts.append(s)
        return self._stream.write(s)

    def writelines(self, lines: Iterable[str]) -> None:
        for s in lines:
            self.write(s)

    def __getattr__(self, name: str) -> Any:
        if name == "buffer":
            self.bypassed = True
        return getattr(self._stream, name)


class Recorder:
    """Watches one lint run (files opened, folders listed, stdout, stderr) to write its
    memo at the end. Only one is active per process."""

    def __init__(self, args: Sequence[str]) -> None:
        self.args = list(args)
        self.key = run_key(args)
        self.t0 = time.time_ns()
        self.opened: set[str] = set()
        self.listed: set[str] = set()
        self.probed: set[str] = set()  # os.stat: a file that does not exist yet is an input too
        self.probed_links: set[str] = set()  # os.lstat
        self.stdout = _Watch(sys.stdout, keep=True)
        self.stderr = _Watch(sys.stderr, keep=False)
        self._old = (sys.stdout, sys.stderr)

    # -- audit events (PEP 578): every open() / os.open() for reading, every listing
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

    def _probe(self, into: set[str], path: Any, kw: dict[str, Any]) -> None:
        if kw.get("dir_fd") is None and isinstance(path, (str, bytes, os.PathLike)):
            if kw.get("follow_symlinks", True) is False:
                into = self.probed_links
            into.add(os.path.abspath(os.fsdecode(path)))

    def __enter__(self) -> Recorder:
        _ACTIVE[:] = [self]
        if not _HOOKED:
            sys.addaudithook(_hook)
            _HOOKED.append(True)
        sys.stdout, sys.stderr = self.stdout, self.stderr  # type: ignore[assignment]
        # No audit event for stat: os.path.exists(), Path.is_file() and friends look
        # these up on the os module at each call, so wrapping them sees every probe.
        real_stat, real_lstat = self._real = (os.stat, os.lstat)

        def stat_(path: Any, *a: Any, **kw: Any) -> Any:
            if _ACTIVE:
                self._probe(self.probed, path, kw)
            return real_stat(path, *a, **kw)

        def lstat_(path: Any, *a: Any, **kw: Any) -> Any:
            if _ACTIVE:
                self._probe(self.probed_links, path, kw)
            return real_lstat(path, *a, **kw)

        os.stat, os.lstat = stat_, lstat_  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE[:] = []
        os.stat, os.lstat = self._real  # type: ignore[assignment]
        if sys.stdout is self.stdout:
            sys.stdout = self._old[0]
        if sys.stderr is self.stderr:
            sys.stderr = self._old[1]

    def finish(self, rc: int, *, files: Sequence[str | Path], git_tops: Iterable[str] = ()) -> bool:
        """Write the memo of the run that ended with ``rc``, linting ``files``, having
        asked git what it ignores in the work trees ``git_tops``. Returns whether it was
        written."""
        _ACTIVE[:] = []
        if self.stderr.written or self.stdout.bypassed:
            return False
        out = "".join(self.stdout.parts)
        if len(out) > MAX_BYTES // 4:  # could not be read back (UTF-8: up to 4 bytes a character)
            return False
        folder = _folder()
        if folder is None:
            return False
        from promptkit.lint.cache import is_cache_dir

        read: set[str] = {os.path.abspath(str(f)) for f in files}
        read.update(p for p in self.opened if not p.endswith(".pyc"))
        read.update(self.listed, _module_files())
        looked = self.probed - read
        links = set(self.probed_links)
        parents = {os.path.dirname(p) for p in read | looked | links}
        caches = [d for d in parents if is_cache_dir(Path(d))]  # promptkit's caches are not inputs
        user = _user_cache()
        skip = [*caches, os.path.abspath(folder), *([str(user)] if user else []), *_installed_prefixes(),
                "/proc", "/dev", "/sys"]
        read = {p for p in read if not _under_any(p, skip)}
        read.update(_site_folders())
        tops = sorted(set(git_tops))
        if tops:
            read.update(_git_inputs(self.listed, tops))
        newest = self.t0 - int(RACY_S * 1e9)
        deps: list[list[Any]] = []
        for p in sorted(read):
            sig = _sig(p, "s")
            if sig is not None and max(sig[2], sig[3]) >= newest:
                return False  # changed during (or just before) the run: not trusted
            deps.append([p, "s", sig])
        for p in sorted(looked):
            if not _under_any(p, skip):
                sig = _sig(p, "s")  # a file looked at is an input as a whole; a folder is not
                deps.append([p, "s", sig] if sig is None or not stat.S_ISDIR(sig[0]) else [p, "d", _sig(p, "d")])
                if sig is not None and not stat.S_ISDIR(sig[0]) and max(sig[2], sig[3]) >= newest:
                    return False
        deps.extend([p, "l", _sig(p, "l")] for p in sorted(links) if not _under_any(p, skip))
        payload = {"format": FORMAT_VERSION, "key": self.key, "rc": int(rc), "stdout": out,
                   "deps": deps}
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            from promptkit.atomic import write_atomic

            write_atomic(folder / f"run-{self.key}.json", json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                         mode=0o600)
            _prune(folder)
        except OSError:
            return False
        return True


_ACTIVE: list[Recorder] = []
_HOOKED: list[bool] = []


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _ACTIVE:
        _ACTIVE[0]._on_event(event, args)


def current() -> Recorder | None:
    """The recorder of the run in progress, if it is being recorded."""
    return _ACTIVE[0] if _ACTIVE else None


def _under_any(path: str, folders: Iterable[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def _installed_prefixes() -> list[str]:
    return sorted({os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)})


def _site_folders() -> list[str]:
    import site

    out = [*site.getsitepackages()]
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user:
        out.append(user)
    return [os.path.abspath(p) for p in out]


def _module_files() -> list[str]:
    out = []
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None)
        if isinstance(f, str) and f.endswith(".py"):
            out.append(os.path.abspath(f))
    return out


def _ancestors(paths: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for raw in paths:
        for p in {os.path.abspath(raw), os.path.realpath(raw)}:
            d = os.path.dirname(p)
            while True:
                out.add(d)
                up = os.path.dirname(d)
                if up == d:
                    break
                d = up
    return out


def _git_inputs(listed: Iterable[str], tops: Sequence[str]) -> set[str]:
    """What ``git check-ignore`` reads besides the files: the ``.gitignore`` files of the
    folders listed and their parents, the repository's index, exclude and config, the
    user's and the system's git config and global ignore file."""
    import subprocess

    out: set[str] = set()
    for d in _ancestors([os.path.join(x, "x") for x in listed]):
        out.add(os.path.join(d, ".gitignore"))
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    out.update({os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config"),
                os.path.join(xdg, "git", "ignore"), "/etc/gitconfig"})
    for top in tops:
        try:
            res = subprocess.run(["git", "-C", top, "rev-parse", "--absolute-git-dir", "--git-common-dir"],
                                 capture_output=True, text=True, timeout=10, check=False)
            if res.returncode == 0:
                git_dir, common = (res.stdout.splitlines() + ["", ""])[:2]
                common = os.path.join(top, common) if common else git_dir
                out.update({os.path.join(git_dir, "index"), os.path.join(common, "info", "exclude"),
                            os.path.join(common, "config")})
            res = subprocess.run(["git", "-C", top, "config", "--path", "--get", "core.excludesFile"],
                                 capture_output=True, text=True, timeout=10, check=False)
            if res.returncode == 0 and res.stdout.strip():
                out.add(os.path.join(top, res.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            continue
    return {os.path.abspath(p) for p in out}


def _prune(folder: Path) -> None:
    try:
        memos = sorted((p for p in folder.iterdir() if p.name.startswith("run-") and p.suffix == ".json"),
                       key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in memos[KEEP:]:
            old.unlink()
    except OSError:
        pass
