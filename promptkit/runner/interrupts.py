"""Stopping a run from outside: Ctrl-C (SIGINT) and a CI cancel (SIGTERM) end the same way.

Why: a CI system cancels a job with SIGTERM (GitHub Actions sends SIGINT, then SIGTERM,
then SIGKILL a few seconds later; GitLab and most others send SIGTERM). Python's default
for SIGTERM is to die on the spot: no ``finally``, no results file, the cases that did
finish are lost. While a promptkit run is going, SIGTERM therefore raises
``KeyboardInterrupt`` in the main thread, exactly like Ctrl-C, so one code path keeps the
finished cases, writes the results file marked ``interrupted`` and exits.

The exit status of an interrupted ``promptkit test`` says which signal stopped it, as a
shell does: ``128 + signal number`` (130 for SIGINT, 143 for SIGTERM). :func:`received`
tells the caller which one came.

Handlers are only installed from the main thread and only over the default ones (SIGTERM:
``SIG_DFL``; SIGINT: Python's ``default_int_handler``): a program embedding promptkit that
set its own handlers keeps them.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

#: Signals that stop a run like Ctrl-C does (SIGTERM does not exist on every platform).
STOP_SIGNALS: tuple[int, ...] = tuple(
    s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None
)

#: A second stop signal this soon after the first is the same stop, not a new one: a
#: terminal's Ctrl-C reaches every process of the group and the xdist controller also
#: forwards it to its workers, and CI follows its SIGINT with a SIGTERM. Later ones raise
#: again, so a user whose run does not stop can still insist.
DUPLICATE_WINDOW_S = 2.0

_received: int | None = None
_received_at = 0.0
_deferring = 0


def received() -> int | None:
    """The signal that interrupted the run (None: none did, or it was not one we handle)."""
    return _received


def reset() -> None:
    """Forget a signal seen earlier (a new run starts)."""
    global _received, _received_at
    _received = None
    _received_at = 0.0


def exit_status(signum: int) -> int:
    """The shell's status for a process stopped by ``signum``: 128 + its number."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _handler(signum: int, frame: FrameType | None) -> None:
    global _received, _received_at
    now = time.monotonic()
    repeated = _received is not None and now - _received_at < DUPLICATE_WINDOW_S
    if _received is None or not repeated:
        _received_at = now
    _received = signum
    if _deferring or repeated:
        return  # noted: already stopping (or writing the results file); the run ends as interrupted
    raise KeyboardInterrupt(signal_name(signum))


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """While inside, SIGTERM (and SIGINT) raise ``KeyboardInterrupt`` in the main thread
    and are remembered for :func:`received`. A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        ours = current is signal.SIG_DFL if signum != signal.SIGINT else current is signal.default_int_handler
        if ours:
            previous[signum] = current
            signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(signum) is _handler:
                    signal.signal(signum, handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold off a stop signal for the few milliseconds it takes to write the results file
    (a second Ctrl-C, or CI's SIGTERM after its SIGINT, must not lose it); the signal is
    still remembered. Only our own handler defers; others behave as before."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
