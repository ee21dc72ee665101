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

They belong to the process that installed them. A process forked from it (a test's
``multiprocessing`` pool, under the pytest plugin) gets the defaults back at once, with the
stop signals blocked across the fork so that none sent in between is lost. Why: a pool's
``terminate()`` sends its workers SIGTERM and waits for them to die. A worker that turned it
into ``KeyboardInterrupt`` ran its exit code holding the pool's queue lock and never ended;
one that got it in the instant after the fork lost it (Python forgets a signal noted for
a Python handler when a child starts) and lived on. Either hung the test, and CI, for good.
"""

from __future__ import annotations

import contextlib
import os
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
#: The handlers ours replaced, while installed, and the process that installed them.
_previous: dict[int, Any] = {}
_owner_pid: int | None = None


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


def _ours_installed() -> bool:
    return bool(_previous) and _owner_pid == os.getpid()


_fork_mask = threading.local()


def _before_fork() -> None:
    """Block the stop signals across a fork while ours are installed. Why: a signal that
    reaches the child before Python's fork bookkeeping has run is noted for a Python
    handler, then forgotten by that bookkeeping, and the child lives on -- a pool's
    ``terminate()`` right after starting a worker then waits for it forever. Blocked, it
    stays pending in the kernel until the child has its default handlers back."""
    if _ours_installed() and hasattr(signal, "pthread_sigmask"):
        _fork_mask.old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def _after_fork_in_parent() -> None:
    old = getattr(_fork_mask, "old", None)
    if old is not None:
        _fork_mask.old = None
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _after_fork_in_child() -> None:
    """The child is not the run: it gets the handlers ours replaced, then the signals
    held back during the fork (a SIGTERM among them now kills it, as by default)."""
    _restore_defaults()
    _after_fork_in_parent()


def _restore_defaults() -> None:
    """Put back the handlers ours replaced. ``_owner_pid`` stays the parent's, so that
    should this fail in a child the handler still knows it is not the owner."""
    _put_back(dict(_previous))


def _put_back(handlers: dict[int, Any]) -> None:
    """Reinstate ``handlers`` wherever ours is still the one installed."""
    for signum, handler in handlers.items():
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signum) is _handler:
                signal.signal(signum, handler)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


def _handler(signum: int, frame: FrameType | None) -> None:
    global _received, _received_at
    if _owner_pid is not None and os.getpid() != _owner_pid:
        # A child forked without Python's fork hooks (a C extension's fork): act as the
        # default would have, which for SIGTERM is to die of it.
        _restore_defaults()
        if signum == getattr(signal, "SIGINT", None):
            raise KeyboardInterrupt
        try:
            signal.signal(signum, signal.SIG_DFL)
        except (ValueError, OSError):
            os._exit(exit_status(signum))
        os.kill(os.getpid(), signum)
        return
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
    global _owner_pid
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
    _previous.update(previous)
    if previous:
        _owner_pid = os.getpid()
    try:
        yield
    finally:
        for signum in previous:
            _previous.pop(signum, None)
        _put_back(previous)
        if not _previous:
            _owner_pid = None


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
