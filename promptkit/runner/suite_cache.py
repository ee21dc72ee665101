"""A cache of parsed suite YAML: content hash -> (data, positions), as JSON.

Why: reading a 1,000-case ``*.prompttest.yaml`` with positions (libyaml's composer, then
PyYAML's Python constructor, then a walk for every node's span) costs about half a second
on every ``promptkit test`` run, most of them over a suite that did not change. JSON of the
same data loads in a few milliseconds; positions are kept as character offsets and become
:class:`~promptkit.diagnostics.Span` objects only where a message needs one.

What is cached is only what YAML said: the plain data and the offsets of its nodes. All
validation (schema, assertions, paths, confinement) runs on it exactly as on a fresh
parse, so a cache entry can make a run neither more permissive nor different.

Trust, the same rules as the lint cache (:mod:`promptkit.lint.cache`):

* JSON, never pickle: a cache file from a stranger's checkout can hold data, not code.
* Signed: every entry carries an HMAC-SHA256 made with a random key of this user's, kept
  outside every project (:func:`_secret`, in the user cache folder). The content hash in
  the stamp is public, so without the key anyone who can drop a file into the folder (a
  tarball or copied checkout, a crafted ``.promptkit/cache``) could hand the run other data
  for the same suite text; a file without the right signature is a miss and is never parsed
  past its envelope.
* A hit needs the SHA-256 of the suite's text, the promptkit and PyYAML versions and the
  format version to match; anything else is a miss and the file is rewritten.
* The folder is ``<project root>/.promptkit/cache/`` (confined: never a symlink out of
  the project, never a folder promptkit did not make; it gets a ``CACHEDIR.TAG`` and a
  ``.gitignore`` of ``*``). A cache file that git tracks is never read (committed, it
  could stand in for the suite a reviewer sees).
* One file per suite path (``suite-<hash of the path>.json``), so the cache does not grow
  with edits; written atomically (:func:`promptkit.atomic.write_atomic`), so parallel
  workers (``pytest -n auto``) and a killed process leave the old file or the new one,
  never half of either. Any read problem is a plain miss, never an error.
* Only documents made of JSON's own types are cached (string keys; strings, numbers,
  booleans, null, lists, mappings): a YAML date or an integer key is parsed every time.

**Loaded suites** (:meth:`SuiteCache.loaded`, :meth:`SuiteCache.keep_loaded`). Validating a
parsed 1,000-case suite -- the schema, 2,000 assertions, every path confined and looked up
-- still costs ~0.2 s, on every run of a suite that did not change, before the first case
can start. So the validated :class:`~promptkit.runner.suite.Suite` is kept too, with the
inputs its validation had (:class:`promptkit.inputs.Watch`: every file it read, every path
it looked up, found or not, every folder it listed), and is used again only while all of
them are unchanged, for the same text, path as written, working folder, project root,
promptkit (and, for a source checkout, promptkit's own files), Python, pydantic and
PyYAML. A suite whose validation failed is never kept: its errors are found afresh.
Git is not asked whether the file is tracked: a committed copy could only be the user's
own (the HMAC) and would match only the text and inputs it was made from.

It is a pickle (the validated objects, as they were), so it is only ever unpickled after
its HMAC, over the exact bytes, has been checked with this user's key (the same key as
above): a file this user's promptkit did not write is never unpickled, whatever its name
or stamp say. The other rules (confined folder, never a tracked file, one file per suite
path, atomic writes, any problem a miss) are the same.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from promptkit.diagnostics import LineIndex, Span
from promptkit.lint.cache import git_tracked_names, is_cache_dir, tag_cache_dir  # one tag for all of promptkit's caches
from promptkit.lint.memo import user_cache  # promptkit's folder in the user cache: the signing key lives there

FORMAT_VERSION = 2  # 2: signed entries
DIRNAME = ".promptkit/cache"
#: A cache file larger than this is not read (a 1,000-case suite makes ~0.7 MB).
MAX_BYTES = 64 * 1024 * 1024
_OWN_FILE = re.compile(r"(suite-[0-9a-f]{32}\.json|loaded-[0-9a-f]{32}\.pickle)")
#: The first bytes of a loaded-suite file (then the HMAC, the JSON stamp and the pickle).
_LOADED_MAGIC = b"promptkit-loaded-suite 1\n"
#: An input of a suite's validation changed this close before it started: not kept (the
#: next change could fall in the same timestamp tick).
RACY_S = 2.0
#: Below this many characters parsing is cheaper than a cache round trip.
MIN_CHARS = 4096


class OffsetSpans:
    """Node positions as character offsets, turned into spans on demand (``get`` like a
    ``dict[tuple, Span]``): a cached suite of 12,000 nodes needs a few dozen spans."""

    __slots__ = ("_offsets", "_index", "_made")

    def __init__(self, offsets: dict[tuple[Any, ...], tuple[int, int]], index: LineIndex) -> None:
        self._offsets = offsets
        self._index = index
        self._made: dict[tuple[Any, ...], Span] = {}

    def get(self, key: tuple[Any, ...], default: Span | None = None) -> Span | None:
        made = self._made.get(key)
        if made is not None:
            return made
        at = self._offsets.get(key)
        if at is None:
            return default
        span = self._made[key] = self._index.span(*at)
        return span

    def __contains__(self, key: object) -> bool:
        return key in self._offsets

    def __len__(self) -> int:
        return len(self._offsets)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._offsets)


class SuiteCache:
    """Parsed suite documents of one project."""

    def __init__(self, directory: Path | None) -> None:
        #: None: no usable folder; nothing is read or written.
        self.directory = directory
        self._tracked: set[str] | None = None

    @classmethod
    def for_root(cls, root: Path) -> SuiteCache:
        from promptkit.paths import PathRefused, confine_output

        try:
            return cls(confine_output(DIRNAME, root, what="suite cache", base=root, directory=True, ours=is_cache_dir))
        except (PathRefused, OSError):
            return cls(None)

    def _file(self, suite: Path, kind: str = "suite", suffix: str = ".json") -> Path | None:
        """This suite's cache file of ``kind`` (``suite``: parsed YAML; ``loaded``: the
        validated suite), named by a hash of the suite's absolute path."""
        if self.directory is None:
            return None
        key = hashlib.sha256(os.fsencode(os.path.abspath(suite))).hexdigest()[:32]
        return self.directory / f"{kind}-{key}{suffix}"

    @staticmethod
    def _stamp(text: str) -> dict[str, Any]:
        import yaml

        from promptkit._version import __version__

        return {"format": FORMAT_VERSION, "promptkit": __version__, "yaml": yaml.__version__,
                "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()}

    def get(self, suite: Path, text: str, index: LineIndex) -> tuple[Any, OffsetSpans] | None:
        """The cached (data, spans) of ``suite`` if its text is still ``text``."""
        file = self._file(suite)
        if file is None or len(text) < MIN_CHARS:
            return None
        from promptkit.template.source import read_bytes

        try:
            if not stat.S_ISREG(os.lstat(file).st_mode):  # never through a symlink
                return None
            blob = json.loads(read_bytes(file, max_bytes=MAX_BYTES).decode("utf-8"))
        except (OSError, ValueError, RecursionError):  # missing, unreadable, torn: a miss
            return None
        if not isinstance(blob, dict) or any(blob.get(k) != v for k, v in self._stamp(text).items()):
            return None
        mac = blob.pop("mac", None)
        key = _secret()
        if key is None or not isinstance(mac, str) or not hmac.compare_digest(mac, _sign(key, blob)):
            return None  # not written by this user's promptkit: never trusted
        data, rows = blob.get("data"), blob.get("spans")
        if not isinstance(rows, list) or self._is_tracked(file):
            return None
        offsets: dict[tuple[Any, ...], tuple[int, int]] = {}
        try:
            for path, start, end in rows:
                if not (isinstance(path, list) and type(start) is int and type(end) is int):
                    return None
                offsets[tuple(path)] = (start, end)
        except (TypeError, ValueError):
            return None
        return data, OffsetSpans(offsets, index)

    def put(self, suite: Path, text: str, data: Any, spans: dict[tuple[Any, ...], Span]) -> None:
        """Store a fresh parse (only of plain JSON data). Errors are ignored: a cache that
        cannot be written only makes the next run slower."""
        file = self._file(suite)
        key = _secret()
        if file is None or key is None or len(text) < MIN_CHARS or not _plain(data, 0):
            return
        from promptkit.atomic import remove_stale_temp_files, write_atomic

        blob = {**self._stamp(text), "data": data,
                "spans": [[list(k), s.start.offset, s.end.offset] for k, s in spans.items()]}
        try:
            payload = json.dumps({**blob, "mac": _sign(key, blob)}, separators=(",", ":"), allow_nan=False)
        except (ValueError, RecursionError):
            return
        try:
            assert self.directory is not None
            self.directory.mkdir(parents=True, exist_ok=True)
            tag_cache_dir(self.directory)
            write_atomic(file, payload)
            remove_stale_temp_files(self.directory, lambda name: _OWN_FILE.fullmatch(name) is not None)
        except OSError:
            pass

    # -- loaded (validated) suites
    @staticmethod
    def _loaded_stamp(suite: Path, text: str, root: Path) -> dict[str, Any]:
        import pydantic
        import yaml

        from promptkit._version import __version__
        from promptkit.paths import root_override

        return {"format": 1, "promptkit": __version__, "python": sys.version, "pydantic": pydantic.VERSION,
                "yaml": yaml.__version__, "path": str(suite), "cwd": os.getcwd(), "root": str(root),
                "root_override": str(root_override()) if root_override() is not None else None,
                "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()}

    def loaded(self, suite: Path, text: str, root: Path) -> Any:
        """The validated :class:`~promptkit.runner.suite.Suite` kept for ``suite`` (as
        written) with text ``text`` in project ``root``, if none of its inputs changed;
        else None."""
        from promptkit import inputs
        from promptkit.runner.suite import Suite

        file = self._file(suite, "loaded", ".pickle")
        key = _secret()
        if file is None or key is None or len(text) < MIN_CHARS:
            return None
        from promptkit.template.source import read_bytes

        try:
            if not stat.S_ISREG(os.lstat(file).st_mode):  # never through a symlink
                return None
            blob = read_bytes(file, max_bytes=MAX_BYTES)
        except OSError:
            return None
        if not blob.startswith(_LOADED_MAGIC):
            return None
        mac, _, body = blob[len(_LOADED_MAGIC):].partition(b"\n")
        if not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).hexdigest().encode()):
            return None  # not written by this user's promptkit: never unpickled
        head, _, payload = body.partition(b"\n")
        try:
            stamp = json.loads(head.decode("utf-8"))
        except (ValueError, RecursionError):
            return None
        if not isinstance(stamp, dict) or stamp.get("stamp") != self._loaded_stamp(suite, text, root):
            return None
        # Not asked of git here, unlike parsed entries: a committed copy of this file is only
        # ever the user's own (the HMAC), and it matches nothing but the text and inputs it
        # was made from (the stamp, the deps) -- and asking git costs a process per run.
        if not stamp.get("deps") or not inputs.unchanged(stamp["deps"]):
            return None
        try:
            value = pickle.loads(payload)  # noqa: S301 - signed by this user's key, checked above
        except Exception:  # noqa: BLE001 - a class that moved or changed: a miss
            return None
        return value if isinstance(value, Suite) else None

    def keep_loaded(self, suite: Path, text: str, root: Path, value: Any, watch: Any, started_ns: int) -> None:
        """Keep ``value``, validated from ``suite`` while ``watch`` recorded its inputs
        (work that began at ``started_ns``). Errors are ignored, like :meth:`put`'s."""
        from promptkit import inputs

        file = self._file(suite, "loaded", ".pickle")
        key = _secret()
        if file is None or key is None or len(text) < MIN_CHARS:
            return
        assert self.directory is not None
        user = user_cache()
        skip = [str(self.directory), *([str(user)] if user else []), *inputs.installed_prefixes()]
        try:
            deps = watch.deps(skip=skip, also=[*inputs.module_files("promptkit"), *inputs.site_folders()],
                              newest_ns=started_ns - int(RACY_S * 1e9))
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            head = json.dumps({"stamp": self._loaded_stamp(suite, text, root), "deps": deps},
                              ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        except (inputs.Racy, pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError):
            return
        if b"\n" in head:
            return
        body = head + b"\n" + payload
        mac = hmac.new(key, body, hashlib.sha256).hexdigest().encode()
        from promptkit.atomic import write_atomic

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tag_cache_dir(self.directory)
            write_atomic(file, _LOADED_MAGIC + mac + b"\n" + body)
        except OSError:
            pass

    def _is_tracked(self, file: Path) -> bool:
        """Whether git tracks ``file`` (asked once per folder and process)."""
        if self._tracked is None:
            self._tracked = git_tracked_names(file.parent)
        return file.name in self._tracked


def _sign(key: bytes, blob: dict[str, Any]) -> str:
    """The entry's signature: over its JSON exactly as :meth:`SuiteCache.put` writes it (a
    JSON round trip of plain data gives back the same text)."""
    body = json.dumps(blob, separators=(",", ":"), allow_nan=False).encode("utf-8", "surrogatepass")
    return hmac.new(key, body, hashlib.sha256).hexdigest()


_KEY: list[bytes | None] = []


def _secret() -> bytes | None:
    """This user's signing key (32 random bytes in the user cache folder, mode 0600),
    made on first use; None (no caching) when it cannot be read or made. Created by
    linking a finished temporary file into place, so parallel workers agree on one key."""
    if _KEY:
        return _KEY[0]
    key: bytes | None = None
    try:
        folder = user_cache()
        if folder is None:
            return None
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / "suite-cache.key"
        if not path.exists():
            tmp = folder / f".suite-cache.key.{os.getpid()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, os.urandom(32))
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
            finally:
                os.unlink(tmp)
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_size == 32:
            key = path.read_bytes()
    except (OSError, ImportError):
        key = None
    _KEY.append(key)
    return key


def _plain(value: Any, depth: int) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged (and is not absurdly deep)."""
    if depth > 200:
        return False
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return True
    if t is float:
        return value == value and value not in (float("inf"), float("-inf"))
    if t is list:
        return all(_plain(v, depth + 1) for v in value)
    if t is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    return False
