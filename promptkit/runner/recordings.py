"""Record/replay of model calls: deterministic, offline, free CI runs.

Modes (:class:`Mode`):

* ``live``: always call the model, never write.
* ``record``: always call the model and (over)write the recording.
* ``replay``: never touch the network; a missing recording makes *that case* an ERROR
  whose hint is the exact command that records it. The default when ``CI`` is set.
* ``auto``: replay when the recording has enough samples, else call live and record.
  The default outside CI.

Layout: one pretty-printed JSON file per request, committed next to the suite::

    <suite dir>/__recordings__/<suite stem>/<key>.json

The **key** is the first 16 hex digits of SHA-256 over the canonical JSON (sorted keys,
no whitespace) of ``{"format": RECORDING_FORMAT, "model": <litellm id>, "messages":
[{role, content}...], "params": <the allow-listed call parameters>}``.
So changing the prompt, the model or a parameter such as ``temperature`` makes a new key
(a stale hit is impossible); changing ``api_base``, ``api_key``, ``timeout`` or retries
does not. ``repeat: N`` keeps N samples in one file; sample *i* replays as sample *i*.

Safety: only the allow-listed call parameters of :mod:`promptkit.runner.policy` and the
reply's id and tool calls are written: ``api_key``, ``api_base``, headers, tokens and every
other credential never are, whatever their name. Writes go to a
temporary file in the same directory and are moved into place with ``os.replace``
(atomic on POSIX and Windows), so parallel pytest-xdist workers never leave a torn file;
two workers writing the same key write a whole file each, and the last one wins. A
corrupt or truncated file is reported as an ERROR naming the file, never a crash.

Reading, a recording comes from a stranger's checkout like any other file: an entry that
is a directory, a FIFO, a device (a symlink to ``/dev/zero``), a symlink loop, more than
:data:`MAX_RECORDING_BYTES`, not UTF-8 (UTF-16...) or nested deeper than the JSON parser's
limit is that case's ERROR naming the file, with a hint to delete and re-record it --
never a hang, an out-of-memory or an internal error. Only regular files are opened, and
non-blocking (:func:`promptkit.template.source.read_bytes`). In ``auto`` mode a corrupt
regular file is recorded over; a special file is never replaced behind the user's back.

Temporary files that a killed run left (``.<key>.json.<random>.tmp``, from
:func:`promptkit.atomic.write_atomic`) never replay (only ``<key>.json`` is read) and are
deleted by the next run that writes recordings to that folder, once older than
:data:`promptkit.atomic.STALE_TEMP_AGE_S` (a live worker's write takes milliseconds).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import re
import shlex
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from promptkit.atomic import remove_stale_temp_files, write_atomic
from promptkit.diagnostics import PromptkitError
from promptkit.runner.policy import recordable
from promptkit.runner.results import ModelResponse, ProviderError, Usage

#: Bump when the file layout or the key recipe changes (old files then simply miss).
RECORDING_FORMAT = 1
RECORDINGS_DIR = "__recordings__"
#: A recording larger than this is refused (a case's ERROR): a real one is a few kB per
#: sample; a bigger file is a mistake or an attempt to run CI out of memory.
MAX_RECORDING_BYTES = 16 * 1024 * 1024
_KEY_FILE = re.compile(r"[0-9a-f]{16}\.json")


class Mode(str, Enum):
    LIVE = "live"
    RECORD = "record"
    REPLAY = "replay"
    AUTO = "auto"

    @property
    def may_call(self) -> bool:
        return self is not Mode.REPLAY


def default_mode(env: Mapping[str, str] | None = None) -> Mode:
    """``replay`` under CI (env ``CI`` set and not false), else ``auto``.
    ``PROMPTKIT_MODE`` overrides both."""
    env = os.environ if env is None else env
    explicit = env.get("PROMPTKIT_MODE")
    if explicit:
        return Mode(explicit.lower())
    ci = env.get("CI", "").strip().lower()
    return Mode.REPLAY if ci and ci not in ("0", "false", "no") else Mode.AUTO


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Call parameters as recorded and keyed: the closed allow-list of
    :func:`promptkit.runner.policy.recordable` (sampling and output parameters only), so no
    credential, header or provider setting can ever be written, whatever its name."""
    return recordable(params)


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def recording_key(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> str:
    """The documented key: see the module docstring."""
    payload = {
        "format": RECORDING_FORMAT,
        "model": model,
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "params": clean_params(params),
    }
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()[:16]


class RecordedSample(BaseModel):
    text: str
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    raw: dict[str, Any] = Field(default_factory=dict)


class Recording(BaseModel):
    """What one ``<key>.json`` holds. ``messages`` and ``params`` are there for review."""

    format: int = RECORDING_FORMAT
    key: str
    model: str
    params: dict[str, Any] = Field(default_factory=dict)
    messages: list[dict[str, Any]]
    samples: list[RecordedSample]
    recorded_at: str = ""


def record_command(suite_path: str | None, case_id: str | None) -> str:
    """The exact command that records what a replay missed."""
    if not suite_path:
        return "run the test once with --promptkit-mode record (or PROMPTKIT_MODE=record)"
    cmd = f"promptkit test {shlex.quote(str(suite_path))} --mode record"
    if case_id:
        cmd += f" -k {shlex.quote(str(case_id))}"
    return cmd


class RecordingStore:
    """The recordings of one suite (one directory)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._confined: Path | None = None
        self._swept = False

    @classmethod
    def for_suite(cls, suite_path: str | Path) -> RecordingStore:
        p = Path(suite_path)
        stem = p.name.split(".")[0]
        return cls(p.parent / RECORDINGS_DIR / stem)

    def _dir(self) -> Path:
        """The directory, resolved and confined to the project (``PK011`` otherwise): a
        ``__recordings__`` committed as a symlink must not make replay read, or record
        write, outside the repository or in ``.git``. The file name itself is not resolved:
        :func:`~promptkit.atomic.write_atomic` renames over it, which replaces a symlink
        instead of writing through it."""
        if self._confined is None:
            from promptkit.paths import confine, root_for

            self._confined = confine(self.directory, root_for(self.directory), what="recordings folder")
        return self._confined

    def path_for(self, key: str) -> Path:
        self._dir()
        path = self.directory / f"{key}.json"
        if path.is_symlink():  # reading through it could leave the project; recording replaces it
            from promptkit.paths import confine, root_for

            confine(path, root_for(self.directory), what="recording")
        return path

    def load(self, key: str) -> Recording | None:
        """The recording for ``key``, None when absent. Raises ProviderError(kind="corrupt_recording")."""
        from promptkit.template.source import NotAFile, read_bytes

        try:
            path = self.path_for(key)
        except PromptkitError as exc:  # a symlink out of the project or a loop (promptkit.paths)
            where = self.directory / f"{key}.json"
            d = exc.diagnostic
            raise ProviderError(f"{where}: cannot read recording: {d.code} {d.message}", kind="unreadable_recording",
                                hint=f"delete {where} and record it again") from None
        redo = f"delete {path} and record it again"
        try:
            data = read_bytes(path, max_bytes=MAX_RECORDING_BYTES)
        except FileNotFoundError:
            return None
        except NotAFile as exc:
            raise ProviderError(f"{path}: cannot read recording: {exc.reason}", kind="unreadable_recording",
                                hint=redo) from None
        except OSError as exc:
            why = "a symbolic link that points (through other links) back to itself" if exc.errno == errno.ELOOP \
                else (exc.strerror or str(exc))
            hint = "check the file's permissions" if exc.errno in (errno.EACCES, errno.EPERM) else redo
            raise ProviderError(f"{path}: cannot read recording: {why}", kind="unreadable_recording",
                                hint=hint) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProviderError(f"{path}: corrupt recording (not UTF-8: byte 0x{data[exc.start]:02x} at offset "
                                f"{exc.start}; recordings are written as UTF-8)", kind="corrupt_recording",
                                hint=redo) from None
        try:
            rec = Recording.model_validate_json(text)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first.get("loc", ())) or "file"
            msg = str(first.get("msg")).split(" [type=")[0]
            raise ProviderError(
                f"{path}: corrupt recording ({where}: {msg})",
                kind="corrupt_recording",
                hint=redo,
            ) from None
        if rec.format != RECORDING_FORMAT or rec.key != key:
            return None  # an older format or a renamed file: treat as missing
        return rec

    def save(self, rec: Recording) -> Path:
        """Write atomically and durably (see :mod:`promptkit.atomic`)."""
        path = self.path_for(rec.key)
        data = json.dumps(rec.model_dump(mode="json"), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
        write_atomic(path, data, durable=True)
        if not self._swept:  # once per store and process: what a killed run left behind
            self._swept = True
            remove_stale_temp_files(self.directory, lambda name: _KEY_FILE.fullmatch(name) is not None)
        return path


CallFn = Callable[[str, Sequence[Mapping[str, Any]], Mapping[str, Any]], Awaitable[ModelResponse]]


class Recorder:
    """Answers ``samples(...)`` from recordings, the model, or both, per :class:`Mode`.

    Identical requests in one process share one lock, so two cases asking the same
    thing in ``auto`` mode make one set of calls and one write.
    """

    def __init__(self, mode: Mode, call: CallFn) -> None:
        self.mode = mode
        self.call = call
        self._locks: dict[str, asyncio.Lock] = {}
        self.hits = 0
        self.misses = 0
        self.written = 0

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def samples(
        self,
        store: RecordingStore,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any],
        n: int,
        *,
        suite_path: str | None = None,
        case_id: str | None = None,
        record_hint: str | None = None,
    ) -> list[ModelResponse | ProviderError]:
        """``n`` responses (or the error each sample ended in), in sample order."""
        key = recording_key(model, messages, params)
        async with self._lock(f"{store.directory}/{key}"):
            return await self._samples(store, key, model, messages, params, n, suite_path, case_id, record_hint)

    async def _samples(self, store: RecordingStore, key: str, model: str, messages: Sequence[Mapping[str, Any]],
                       params: Mapping[str, Any], n: int, suite_path: str | None, case_id: str | None,
                       record_hint: str | None = None,
                       ) -> list[ModelResponse | ProviderError]:
        existing: Recording | None = None
        if self.mode in (Mode.REPLAY, Mode.AUTO):
            try:
                existing = store.load(key)
            except ProviderError as exc:
                if self.mode is Mode.REPLAY or exc.kind == "unreadable_recording":
                    # a special file (FIFO, device, directory...) is never recorded over unasked
                    hint = f"{exc.hint}: {record_command(suite_path, case_id)}" if exc.hint.startswith("delete") \
                        else exc.hint
                    return [ProviderError(str(exc), kind=exc.kind, hint=hint)] * n
                existing = None  # auto: re-record over a corrupt file
        have = list(existing.samples) if existing else []
        if self.mode is Mode.REPLAY or (self.mode is Mode.AUTO and len(have) >= n):
            out: list[ModelResponse | ProviderError] = []
            for i in range(n):
                if i < len(have):
                    self.hits += 1
                    s = have[i]
                    out.append(ModelResponse(text=s.text, model=model, usage=s.usage, finish_reason=s.finish_reason,
                                             from_recording=True, raw=s.raw))
                else:
                    self.misses += 1
                    what = "no recording" if not have else f"only {len(have)} of {n} samples recorded"
                    out.append(ProviderError(
                        f"{what} for this request ({store.path_for(key)}) and --promptkit-mode is replay",
                        kind="missing_recording",
                        hint=record_hint or f"record it: {record_command(suite_path, case_id)}",
                    ))
            return out
        # live, record, or auto with too few samples: call for what is missing
        keep = have if self.mode is Mode.AUTO else []
        results: list[ModelResponse | ProviderError] = []
        for i, s in enumerate(keep[:n]):
            self.hits += 1
            results.append(ModelResponse(text=s.text, model=model, usage=s.usage, finish_reason=s.finish_reason,
                                         from_recording=True, raw=s.raw))
        missing = n - len(results)
        if missing > 0:
            self.misses += missing
            calls = await asyncio.gather(*(self.call(model, messages, params) for _ in range(missing)),
                                         return_exceptions=True)
            for r in calls:
                if isinstance(r, ModelResponse | ProviderError):
                    results.append(r)
                elif isinstance(r, BaseException):
                    if isinstance(r, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)):
                        raise r
                    results.append(ProviderError(f"{type(r).__name__}: {r}", kind="internal"))
        if self.mode in (Mode.RECORD, Mode.AUTO):
            fresh = [r for r in results if isinstance(r, ModelResponse)]
            if fresh and any(not r.from_recording for r in fresh):
                rec = Recording(
                    key=key,
                    model=model,
                    params=clean_params(params),
                    messages=[{"role": m["role"], "content": m["content"]} for m in messages],
                    samples=[RecordedSample(text=r.text, finish_reason=r.finish_reason, usage=_recorded_usage(r.usage),
                                            raw=_safe_raw(r.raw))
                             for r in fresh],
                    recorded_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
                )
                if _unchanged(store, rec):  # a small read, as replay's load: no thread handoff per case
                    # Re-recording an unchanged answer leaves the file byte-identical (its
                    # latency and date from the first recording): a review diff shows only
                    # the answers that really changed.
                    return results
                # in a worker thread: the fsync must not stall every other case's I/O
                try:
                    await asyncio.to_thread(store.save, rec)
                except (OSError, PromptkitError) as exc:  # e.g. a directory committed where the recording goes
                    where = store.path_for(key)
                    why = (f"{exc.diagnostic.code} {exc.diagnostic.message}" if isinstance(exc, PromptkitError)
                           else (exc.strerror or exc))
                    return [ProviderError(f"{where}: recording not written: {why}",
                                          kind="unreadable_recording",
                                          hint=f"remove {where} (promptkit writes a file there) and record again")] * n
                self.written += 1
        return results


def _stable(rec: Recording) -> list[tuple[Any, ...]]:
    """What a recording says about the answers, leaving out what changes on every call
    (latency, the date, the provider's response id)."""
    return [(s.text, s.finish_reason, s.usage.prompt_tokens, s.usage.completion_tokens, s.usage.cost_usd,
             {k: v for k, v in s.raw.items() if k != "id"}) for s in rec.samples]


def _unchanged(store: RecordingStore, rec: Recording) -> bool:
    """Whether ``store`` already holds ``rec``'s answers (then it is not rewritten)."""
    try:
        old = store.load(rec.key)
    except (ProviderError, OSError, PromptkitError):
        return False
    return old is not None and old.model == rec.model and old.params == rec.params \
        and old.messages == rec.messages and _stable(old) == _stable(rec)


def _recorded_usage(usage: Usage) -> Usage:
    """Latency to the millisecond (kept: the ``latency`` assertion replays it)."""
    return usage.model_copy(update={"latency_s": round(usage.latency_s, 3)})


def _safe_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The reply's extras a recording keeps: a closed list (its id and tool calls)."""
    return {k: v for k, v in raw.items() if k in _RAW_KEPT}


#: What of a reply's provider extras a recording keeps (see ``ModelClient._response``).
#: Not the response id: it changes on every call and says nothing a review needs.
_RAW_KEPT = frozenset({"tool_calls", "function_call", "priced"})
