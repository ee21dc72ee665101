"""Replay a batch of cases in a forked child process while pytest reports them.

Why: replaying 1,000 recorded cases is CPU work in two parts of about equal size -- the
engine (render each prompt, find its recording, run the assertions: ~0.45 s) and pytest
reporting each item (~0.45 s) -- and the plugin did them one after the other, on one of
the machine's cores. With a fork, the child runs the engine and streams each result back
as it finishes, while the parent reports the items whose results have arrived: the run
takes the longer of the two, not their sum.

Only where nothing can differ: replay mode (no network, no recording written, nothing
shared to keep consistent), POSIX ``fork``, a batch of at least :data:`MIN_CASES`, no other
thread running (a lock it held would stay held in the child), not in an xdist process, and
``PROMPTKIT_FORK`` not ``0``. Results come back over a pipe from our own child, each case
result as its JSON (what the results file holds; anything else pickled); the child never runs
a pytest hook, writes nothing but the pipe and ends with ``os._exit``. If it dies, or
sends something unreadable, the cases it did not deliver run in the parent as before.
Ctrl-C or SIGTERM in the parent kills the child; the cases delivered so far are kept.

When nothing can drop a case after collection (no ``-k``, ``-m``, ``--lf``, ``-x``, node id,
shard...), the child for a suite starts as soon as the suite is loaded, so it replays while
pytest is still making the items (:meth:`~pytest_promptkit.session.PromptkitPlugin.start_early`).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any

#: Below this many cases a fork costs more than it saves.
MIN_CASES = 64
_HEADER = struct.Struct("!II")  # (case index, payload length)
#: How often the parent, waiting for a result, runs ``on_wait`` (the progress line).
_WAKE_S = 0.2


def available(mode: Any, cases: int) -> bool:
    """Whether a batch of ``cases`` in ``mode`` may run in a forked child."""
    from promptkit.runner.recordings import Mode

    import threading

    # With another thread alive, a lock it holds (an import's, a stream's) would stay held
    # in the child forever: no fork then.
    return (mode is Mode.REPLAY and cases >= MIN_CASES and hasattr(os, "fork") and threading.active_count() == 1
            and os.environ.get("PROMPTKIT_FORK", "1") != "0")


class ForkedBatch:
    """The child's side: run ``jobs`` with a runner made from ``config``; the parent's
    side: :meth:`results` yields ``(index, result)`` as they arrive."""

    def __init__(self, config: Any, jobs: Sequence[Any]) -> None:
        self.jobs = list(jobs)
        self.done: set[int] = set()
        for stream in (sys.stdout, sys.stderr):  # nothing buffered twice
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        from promptkit.runner.engine import Runner  # noqa: F401 - imported here, not in the child

        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child(config, self.jobs, write_fd)
        os.close(write_fd)
        self.pid: int | None = pid
        self._fd: int | None = read_fd
        self._buf = bytearray()

    def results(self, on_wait: Callable[[], None] | None = None) -> Any:
        """``(index, result)`` pairs in the order the child finishes them, until it is done
        or gone. Never raises for what the child did; an interrupt kills it first."""
        try:
            while self._fd is not None:
                frame = self._frame()
                if frame is not None:
                    index, payload = frame
                    try:
                        result = _decode(payload)
                    except Exception:  # noqa: BLE001 - unreadable: the parent runs that case itself
                        continue
                    self.done.add(index)
                    yield index, result
                    continue
                ready, _, _ = select.select([self._fd], [], [], _WAKE_S)
                if not ready:
                    if on_wait is not None:
                        on_wait()
                    continue
                chunk = os.read(self._fd, 1 << 20)
                if not chunk:
                    self._close()
                    break
                self._buf += chunk
        except BaseException:
            self.kill()
            raise

    def _frame(self) -> tuple[int, bytes] | None:
        if len(self._buf) < _HEADER.size:
            return None
        index, size = _HEADER.unpack_from(self._buf)
        end = _HEADER.size + size
        if len(self._buf) < end:
            return None
        payload = bytes(self._buf[_HEADER.size:end])
        del self._buf[:end]
        return index, payload

    @property
    def running(self) -> bool:
        """Whether the child may still send results."""
        return self._fd is not None

    def missing(self) -> list[int]:
        """Indexes of the jobs the child did not deliver."""
        return [i for i in range(len(self.jobs)) if i not in self.done]

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.pid is not None:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = None

    def kill(self) -> None:
        """Stop the child now (an interrupt in the parent)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._close()


def _encode(result: Any) -> bytes:
    """A result as bytes for the pipe: a :class:`~promptkit.runner.results.CaseResult` as
    its JSON (what the results file and xdist's workers carry; pydantic reads it back three
    times faster than it unpickles the same object), anything else pickled."""
    from promptkit.runner.results import CaseResult

    if type(result) is CaseResult:
        try:
            return b"J" + result.model_dump_json().encode("utf-8", "surrogatepass")
        except Exception:  # noqa: BLE001 - not JSON-able (a value of an unusual type): pickled
            pass
    return b"P" + pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)


def _decode(payload: bytes) -> Any:
    if payload[:1] == b"J":
        from promptkit.runner.results import CaseResult

        return CaseResult.model_validate_json(payload[1:])
    if payload[:1] == b"P":
        return pickle.loads(payload[1:])  # noqa: S301 - our own forked child's objects
    raise ValueError("not a result")


def _child(config: Any, jobs: Sequence[Any], fd: int) -> None:
    """Run the batch, send each result as it finishes, and end without running anything
    of the parent's (atexit handlers, pytest's teardown, buffered output)."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it kills us
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        from promptkit.runner.engine import Runner

        def send(index: int, result: Any) -> None:
            payload = _encode(result)
            data = memoryview(_HEADER.pack(index, len(payload)) + payload)
            while data:
                data = data[os.write(fd, data):]

        runner = Runner(config)
        runner.run(jobs, on_result=send)
    except BaseException:  # noqa: BLE001 - whatever happened, the parent runs what is missing
        code = 1
    finally:
        os._exit(code)
