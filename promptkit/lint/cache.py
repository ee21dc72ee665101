"""The lint cache: file content hash + settings hash -> diagnostics.

A pre-commit hook runs on every commit, mostly over files that did not change; the
cache makes that nearly free. The key is the SHA-256 of the file's bytes (not its
mtime: checkouts and formatters touch mtimes without changing content) under a
settings hash that covers the config, the promptkit version and the set of rules
(including rule-pack contents), so any change to what *could* be reported starts a
fresh cache file.

Layout: ``<project root>/.promptkit_cache/`` (with a ``CACHEDIR.TAG`` so backup tools
skip it, and a ``.gitignore`` of ``*``), one JSON file per settings hash. JSON, not
pickle: a cache directory committed to a repo by mistake (or by an attacker) must not
be able to run code when someone lints. Writes go to a temporary file first and are
moved into place with ``os.replace``, so a concurrent or interrupted run never leaves a
torn file; concurrent runs merge what is on disk before writing, so the worst case is a
lost entry (re-linted next time), never a corrupt one.

A cache file is read like any file from a stranger's checkout: one that is a directory, a
FIFO, a device, a symlink loop, over :data:`MAX_CACHE_BYTES`, not UTF-8 or nested too deep
is ignored with a one-line warning on stderr naming it, and the cache is rebuilt (the next
save replaces it with a file of our own). It never hangs the linter or runs it out of memory.
Temporary files of a killed run are deleted on save once older than
:data:`promptkit.atomic.STALE_TEMP_AGE_S`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
import time
from pathlib import Path
from typing import Any

from promptkit.atomic import remove_stale_temp_files, write_atomic
from promptkit.diagnostics import Diagnostic, Edit, Fix, Position, Severity, Span

CACHE_DIRNAME = ".promptkit_cache"
FORMAT_VERSION = 1
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by promptkit.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
#: Cache files of other settings kept around (switching branches or configs back and forth).
KEEP_OTHER = 8
#: A cache file larger than this is ignored (and rebuilt): a cache of the 6,000-prompt
#: corpus is a few MB.
MAX_CACHE_BYTES = 64 * 1024 * 1024
_CACHE_FILE = re.compile(r"lint-[0-9a-zA-Z_-]+\.json")


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


#: A file modified less than this many seconds before its stat was recorded may be written
#: again within the same timestamp tick (2 s on FAT) with the same size: its stat is not
#: trusted, its bytes are hashed (git's "racily clean" entries).
RACY_S = 2.0


def stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def racy(st: os.stat_result) -> bool:
    return time.time_ns() - st.st_mtime_ns < RACY_S * 1e9


# --------------------------------------------------------------------------- (de)serializing


def _pos(p: Position) -> list[int]:
    return [p.line, p.column, p.offset]


def encode(d: Diagnostic) -> list[Any]:
    span = [*_pos(d.span.start), *_pos(d.span.end)] if d.span else None
    fix = None
    if d.fix is not None:
        fix = [[[e.start, e.end, e.content] for e in d.fix.edits], d.fix.safe, d.fix.description]
    extra = d.extra or None
    if extra is not None:
        extra = json.loads(json.dumps(extra, default=str))
    return [d.code, d.name, d.severity.value, d.message, d.hint, span, fix, extra]


def decode(path: str, row: list[Any]) -> Diagnostic:
    code, name, sev, message, hint, span, fix, extra = row
    sp = None
    if span:
        sp = Span(Position(span[0], span[1], span[2]), Position(span[3], span[4], span[5]))
    fx = None
    if fix:
        fx = Fix([Edit(s, e, c) for s, e, c in fix[0]], safe=fix[1], description=fix[2])
    return Diagnostic(path, message, Severity(sev), code, name, sp, hint, fx, extra or {})


# --------------------------------------------------------------------------- the cache


class LintCache:
    """Diagnostics of files linted before, for one settings hash."""

    def __init__(self, directory: Path | None, settings_hash: str) -> None:
        #: None: no usable cache folder (see :meth:`for_config`); nothing is read or written.
        self.directory = directory
        self.settings_hash = settings_hash
        self.file = directory / f"lint-{settings_hash}.json" if directory is not None else None
        self._entries: dict[str, list[Any]] = self._read()
        #: Every entry this process has put, saved or not. Each save merges all of them
        #: over what is on disk, so a concurrent writer can drop another run's entries
        #: for a moment but never this run's own.
        self._mine: dict[str, list[Any]] = {}
        self._dirty = False

    @classmethod
    def for_config(cls, config: Any) -> LintCache:
        """The cache the config names, confined (:mod:`promptkit.paths`): ``cache-dir``
        from a config file must resolve inside the project, not be the root itself nor
        a folder promptkit did not create (``cache-dir = "."`` would write a ``.gitignore``
        of ``*`` over the project's, which hides every file from the linter) -- ``PK011``
        at the setting's line. A default ``.promptkit_cache`` that fails the same checks
        (committed as a symlink, say), or whose cache file git tracks (committed: its
        entries could hide findings), is not used at all."""
        from promptkit.paths import PathRefused, confine_output, project_root

        if config.cache_dir and config.source is None:  # set in code: the caller's own choice
            base = Path(config.cache_dir)
            return cls(base if base.is_absolute() else config.root / base, config.settings_hash())
        root = project_root(config_source=config.source) if config.source is not None else project_root()
        try:
            base = confine_output(config.cache_dir or CACHE_DIRNAME, root, what="cache-dir", base=config.root,
                                  directory=True, ours=is_cache_dir)
        except PathRefused as exc:
            if config.cache_dir:
                err = config.error(("cache-dir",), exc.diagnostic.message, exc.diagnostic.hint).diagnostic
                err.code, err.name = exc.diagnostic.code, exc.diagnostic.name
                raise PathRefused(err) from None
            return cls(None, config.settings_hash())
        cache = cls(base, config.settings_hash())
        if cache.file is not None and os.path.lexists(cache.file) and _tracked_by_git(cache.file):
            return cls(None, config.settings_hash())
        return cache

    def _read(self) -> dict[str, list[Any]]:
        if self.file is None:
            return {}
        from promptkit.template.source import NotAFile, read_bytes

        try:
            data = json.loads(read_bytes(self.file, max_bytes=MAX_CACHE_BYTES).decode("utf-8"))
        except FileNotFoundError:
            return {}
        except NotAFile as exc:
            return self._ignored(exc.reason)
        except OSError as exc:
            return self._ignored(exc.strerror or str(exc))
        except UnicodeDecodeError as exc:
            return self._ignored(f"not UTF-8 (byte offset {exc.start})")
        except RecursionError:
            return self._ignored("JSON nested too deeply")
        except ValueError:
            return {}  # truncated or hand-edited: a plain miss, rewritten on save
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict):
            return {}
        # A hand-edited or truncated-then-repaired file may hold anything: keep only
        # entries of the shape written above, [digest, [rows]]; the rest are misses.
        return {k: v for k, v in entries.items()
                if isinstance(v, list) and len(v) in (2, 3) and isinstance(v[0], str) and isinstance(v[1], list)}

    _warned: set[str] = set()

    def _ignored(self, reason: str) -> dict[str, list[Any]]:
        """Warn once per file and process: the cache is rebuilt, linting goes on."""
        key = str(self.file)
        if key not in LintCache._warned:
            LintCache._warned.add(key)
            print(f"{self.file}: warning: lint cache ignored ({reason}); it will be rebuilt", file=sys.stderr)
        return {}

    def __len__(self) -> int:
        return len(self._entries.keys() | self._mine.keys())

    def get(self, key: str, digest: str) -> list[Diagnostic] | None:
        """Cached diagnostics for ``key`` if its content hash is still ``digest``."""
        entry = self._mine.get(key) or self._entries.get(key)
        if not entry or entry[0] != digest:
            return None
        return self._decoded(key, entry)

    def get_file(self, path: str, st: os.stat_result | None = None) -> list[Diagnostic] | None:
        """Cached diagnostics for a file on disk whose bytes have not changed.

        The content hash decides. When the file's stat (size, mtime, ctime, inode) is the
        one recorded with the entry, and that file was already older than
        :data:`RACY_S` when it was recorded, the bytes are not read again: a write since
        then would have changed the stat. ``st``: the file's ``os.stat``, if in hand."""
        entry = self._mine.get(path) or self._entries.get(path)
        if not entry:
            return None
        try:
            st = os.stat(path) if st is None else st
            if not stat.S_ISREG(st.st_mode):
                return None  # opening a FIFO would block
            if len(entry) == 3 and entry[2] == stat_key(st):
                return self._decoded(path, entry)
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        hit = self.get(path, file_digest(data))
        if hit is not None and not racy(st):  # unchanged, only touched: remember the new stat
            self._mine[path] = [entry[0], entry[1], stat_key(st)]
            self._dirty = True
        return hit

    def _decoded(self, key: str, entry: list[Any]) -> list[Diagnostic] | None:
        try:
            return [decode(key, row) for row in entry[1]]
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            return None  # a damaged entry is a miss, never an error

    def put(self, key: str, digest: str, diagnostics: list[Diagnostic], st: os.stat_result | None = None) -> None:
        """Record ``key``'s diagnostics under its content hash; with ``st`` (the stat taken
        *before* its bytes were read, so a write after the read changes it) also the stat
        that lets the next run skip reading it -- unless the file is too new to trust it."""
        row: list[Any] = [digest, [encode(d) for d in diagnostics]]
        if st is not None and not racy(st):
            row.append(stat_key(st))
        self._mine[key] = row
        self._dirty = True

    def save(self) -> None:
        """Merge new entries into the cache file, atomically. Errors are ignored: a
        cache that cannot be written only makes the next run slower."""
        if not self._dirty or self.directory is None or self.file is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._tag()
            merged = self._read()  # entries another run may have written meanwhile
            merged.update(self._mine)
            payload = {"format": FORMAT_VERSION, "settings": self.settings_hash, "entries": merged}
            write_atomic(self.file, json.dumps(payload, separators=(",", ":")))
            self._entries = merged
            self._dirty = False
            self._prune()
            remove_stale_temp_files(self.directory, lambda name: _CACHE_FILE.fullmatch(name) is not None)
        except OSError:
            pass

    def _tag(self) -> None:
        assert self.directory is not None
        tag_cache_dir(self.directory)

    def _prune(self) -> None:
        assert self.directory is not None
        others = sorted((p for p in own_cache_files(self.directory) if p != self.file),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[KEEP_OTHER:]:
            try:
                old.unlink()
            except OSError:
                pass


_OWN_FILE = re.compile(r"lint-[0-9a-f]{8,64}\.json")


def is_cache_dir(directory: Path) -> bool:
    """Whether ``directory`` is a lint cache promptkit made: its ``CACHEDIR.TAG`` is a
    regular file holding promptkit's tag (the mark every cache folder gets on its first
    write, and what clean-up checks before it deletes anything)."""
    tag = Path(directory) / "CACHEDIR.TAG"
    try:
        if not stat.S_ISREG(os.lstat(tag).st_mode):
            return False
        with open(tag, encoding="utf-8", errors="replace") as fh:
            return fh.read(len(_TAG) + 1) == _TAG
    except OSError:
        return False


def own_cache_files(directory: Path) -> list[Path]:
    """The cache files promptkit wrote in ``directory``: only in a folder of its own
    (:func:`is_cache_dir`), only regular files (never a symlink) named ``lint-<hash>.json``."""
    if not is_cache_dir(directory):
        return []
    out = []
    for p in Path(directory).iterdir():
        try:
            if _OWN_FILE.fullmatch(p.name) and stat.S_ISREG(os.lstat(p).st_mode):
                out.append(p)
        except OSError:
            continue
    return out


def clear(directory: Path) -> int:
    """Remove promptkit's cache files from ``directory`` (:func:`own_cache_files`, nothing
    else, whatever the folder holds); returns how many."""
    n = 0
    for p in own_cache_files(directory):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n


def _tracked_by_git(path: Path) -> bool:
    """Whether git tracks ``path``: a cache file committed to the repository (by mistake,
    or in a pull request forging "no findings" for its own prompts) is never trusted."""
    return path.name in git_tracked_names(path.parent)


def git_tracked_names(directory: Path) -> set[str]:
    """Names of the files git tracks in ``directory`` (empty outside a repository or
    without git). One call per folder: every cache of promptkit asks it of its folder."""
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None:
        return set()
    try:
        res = subprocess.run([git, "-C", str(directory), "ls-files", "-z", "--", "."], capture_output=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return set()
    if res.returncode != 0:
        return set()
    return {Path(os.fsdecode(n)).name for n in res.stdout.split(b"\0") if n}


def tag_cache_dir(directory: Path) -> None:
    """Mark ``directory`` as a cache promptkit made (``CACHEDIR.TAG``, which
    :func:`is_cache_dir` looks for) and keep git out of it (a ``.gitignore`` of ``*``);
    a ``.gitignore`` promptkit did not write is never replaced."""
    tag = directory / "CACHEDIR.TAG"
    if not os.path.lexists(tag):
        ignore = directory / ".gitignore"
        if os.path.lexists(ignore):  # never replace a file promptkit did not write
            return
        tag.write_text(_TAG, encoding="utf-8")
        ignore.write_text("# created by promptkit\n*\n", encoding="utf-8")
