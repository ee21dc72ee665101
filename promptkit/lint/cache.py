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
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from promptkit.atomic import write_atomic
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


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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

    def __init__(self, directory: Path, settings_hash: str) -> None:
        self.directory = directory
        self.settings_hash = settings_hash
        self.file = directory / f"lint-{settings_hash}.json"
        self._entries: dict[str, list[Any]] = self._read()
        #: Every entry this process has put, saved or not. Each save merges all of them
        #: over what is on disk, so a concurrent writer can drop another run's entries
        #: for a moment but never this run's own.
        self._mine: dict[str, list[Any]] = {}
        self._dirty = False

    @classmethod
    def for_config(cls, config: Any) -> LintCache:
        base = Path(config.cache_dir) if config.cache_dir else config.root / CACHE_DIRNAME
        if not base.is_absolute():
            base = config.root / base
        return cls(base, config.settings_hash())

    def _read(self) -> dict[str, list[Any]]:
        try:
            with open(self.file, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            return {}
        entries = data.get("entries")
        if not isinstance(entries, dict):
            return {}
        # A hand-edited or truncated-then-repaired file may hold anything: keep only
        # entries of the shape written above, [digest, [rows]]; the rest are misses.
        return {k: v for k, v in entries.items()
                if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], list)}

    def __len__(self) -> int:
        return len(self._entries.keys() | self._mine.keys())

    def get(self, key: str, digest: str) -> list[Diagnostic] | None:
        """Cached diagnostics for ``key`` if its content hash is still ``digest``."""
        entry = self._mine.get(key) or self._entries.get(key)
        if not entry or entry[0] != digest:
            return None
        try:
            return [decode(key, row) for row in entry[1]]
        except (TypeError, ValueError, IndexError, KeyError, AttributeError):
            return None  # a damaged entry is a miss, never an error

    def get_file(self, path: str) -> list[Diagnostic] | None:
        """Cached diagnostics for a file on disk whose bytes have not changed."""
        if path not in self._entries and path not in self._mine:
            return None
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None  # opening a FIFO would block
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        return self.get(path, file_digest(data))

    def put(self, key: str, digest: str, diagnostics: list[Diagnostic]) -> None:
        self._mine[key] = [digest, [encode(d) for d in diagnostics]]
        self._dirty = True

    def save(self) -> None:
        """Merge new entries into the cache file, atomically. Errors are ignored: a
        cache that cannot be written only makes the next run slower."""
        if not self._dirty:
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
        except OSError:
            pass

    def _tag(self) -> None:
        tag = self.directory / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(_TAG, encoding="utf-8")
            (self.directory / ".gitignore").write_text("# created by promptkit\n*\n", encoding="utf-8")

    def _prune(self) -> None:
        others = sorted((p for p in self.directory.glob("lint-*.json") if p != self.file),
                        key=lambda p: p.stat().st_mtime, reverse=True)
        for old in others[KEEP_OTHER:]:
            try:
                old.unlink()
            except OSError:
                pass


def clear(directory: Path) -> int:
    """Remove promptkit's cache files from ``directory``; returns how many."""
    n = 0
    for p in directory.glob("lint-*.json"):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n
