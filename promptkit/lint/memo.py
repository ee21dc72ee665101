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

from promptkit import inputs

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
    base = user_cache()
    return base / "lint-runs" if base is not None else None


def user_cache() -> Path | None:
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
    if not inputs.unchanged(deps):
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
    """Watches one lint run (its inputs, stdout, stderr) to write its memo at the end.
    Only one is active per process."""

    def __init__(self, args: Sequence[str]) -> None:
        self.args = list(args)
        self.key = run_key(args)
        self.t0 = time.time_ns()
        self.watch = inputs.Watch()
        self.stdout = _Watch(sys.stdout, keep=True)
        self.stderr = _Watch(sys.stderr, keep=False)
        self._old = (sys.stdout, sys.stderr)

    def __enter__(self) -> Recorder:
        _ACTIVE[:] = [self]
        self.watch.__enter__()
        sys.stdout, sys.stderr = self.stdout, self.stderr  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE[:] = []
        self.watch.stop()
        if sys.stdout is self.stdout:
            sys.stdout = self._old[0]
        if sys.stderr is self.stderr:
            sys.stderr = self._old[1]

    def finish(self, rc: int, *, files: Sequence[str | Path], git_tops: Iterable[str] = ()) -> bool:
        """Write the memo of the run that ended with ``rc``, linting ``files``, having
        asked git what it ignores in the work trees ``git_tops``. Returns whether it was
        written."""
        _ACTIVE[:] = []
        self.watch.stop()
        if self.stderr.written or self.stdout.bypassed:
            return False
        out = "".join(self.stdout.parts)
        if len(out) > MAX_BYTES // 4:  # could not be read back (UTF-8: up to 4 bytes a character)
            return False
        folder = _folder()
        if folder is None:
            return False
        from promptkit.lint.cache import is_cache_dir

        w = self.watch
        read = {os.path.abspath(str(f)) for f in files} | set(inputs.module_files())
        parents = {os.path.dirname(p) for p in read | w.opened | w.listed | w.probed | w.probed_links}
        caches = [d for d in parents if is_cache_dir(Path(d))]  # promptkit's caches are not inputs
        user = user_cache()
        skip = [*caches, os.path.abspath(folder), *([str(user)] if user else []), *inputs.installed_prefixes()]
        tops = sorted(set(git_tops))
        extra = set(inputs.site_folders())
        if tops:
            extra.update(_git_inputs(w.listed, tops))
        try:
            deps = w.deps(read=read, skip=skip, also=extra, newest_ns=self.t0 - int(RACY_S * 1e9))
        except inputs.Racy:
            return False  # changed during (or just before) the run: not trusted
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


def current() -> Recorder | None:
    """The recorder of the run in progress, if it is being recorded."""
    return _ACTIVE[0] if _ACTIVE else None


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
