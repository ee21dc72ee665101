"""The stop-signal handlers belong to the process that installed them, never to its forks.

Why: under the pytest plugin the handlers are installed for the whole session, and a test
that forks (a ``multiprocessing`` pool, a worker process) used to hand them down. A pool's
``terminate()`` sends SIGTERM and waits; a worker that turned it into ``KeyboardInterrupt``
ran its exit code holding the pool's queue lock and never ended -- a CI run hung for 80
minutes that way; and one signalled in the instant after its fork lost the signal. Each check runs in a fresh interpreter, so a regression hangs or fails
that subprocess, not this test session.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX fork and signals")

PRELUDE = "import multiprocessing, os, signal, sys, time\nfrom promptkit.runner import interrupts\n"


def _run(body: str, *, prelude: str = PRELUDE) -> subprocess.CompletedProcess[str]:
    script = prelude + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_a_forked_process_dies_of_sigterm_as_by_default() -> None:
    proc = _run("""
        with interrupts.stop_on_signals():
            assert signal.getsignal(signal.SIGTERM) is interrupts._handler
            pid = os.fork()
            if pid == 0:
                ok = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
                ok = ok and signal.getsignal(signal.SIGINT) is signal.default_int_handler
                if not ok:
                    os._exit(3)
                time.sleep(60)
                os._exit(0)
            time.sleep(0.3)
            os.kill(pid, signal.SIGTERM)
            _, status = os.waitpid(pid, 0)
            print(os.WIFSIGNALED(status) and os.WTERMSIG(status), os.WIFEXITED(status) and os.WEXITSTATUS(status))
            assert signal.getsignal(signal.SIGTERM) is interrupts._handler  # the parent keeps its own
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(int(__import__("signal").SIGTERM)), "False"], proc.stdout


def test_pool_terminate_ends_its_workers() -> None:
    """Pools closed (each close is a ``terminate()``) after work, right after their workers
    started (a SIGTERM that lands in the instant after a fork must not be lost), and with
    a worker busy in a task: every one ends, with no traceback from a worker."""
    proc = _run("""
        def work(x):
            return x * 2

        with interrupts.stop_on_signals():
            ctx = multiprocessing.get_context("fork")
            for _ in range(40):
                with ctx.Pool(3) as pool:
                    assert pool.map(work, range(6)) == [0, 2, 4, 6, 8, 10]
            for _ in range(150):
                with ctx.Pool(2):
                    pass
            with ctx.Pool(2) as pool:
                pool.apply_async(time.sleep, (60,))
                time.sleep(0.3)
            print("done")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
    assert "KeyboardInterrupt" not in proc.stderr and "race condition" not in proc.stderr, proc.stderr


def test_handler_in_a_fork_that_skipped_the_fork_hooks_acts_as_the_default() -> None:
    """A C extension's fork runs no Python at-fork hook, so the handler itself checks whose
    process it is in: there SIGTERM kills, as ``SIG_DFL`` would."""
    proc = _run("""
        with interrupts.stop_on_signals():
            pid = os.fork()
            if pid == 0:
                interrupts._owner_pid = os.getppid()   # as if the hooks had not run
                interrupts._previous[signal.SIGTERM] = signal.SIG_DFL
                signal.signal(signal.SIGTERM, interrupts._handler)
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)
                except KeyboardInterrupt:
                    os._exit(4)
                os._exit(0)
            _, status = os.waitpid(pid, 0)
            print(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True", proc.stdout


def test_a_signal_sent_while_the_child_starts_waits_for_its_defaults() -> None:
    """A SIGTERM that reaches a new child before its handlers are reset is held back (the
    stop signals are blocked across the fork), then kills it. The first at-fork hook of
    the child (registered before promptkit's, so it runs first) stands for that instant."""
    proc = _run(prelude="", body="""
        import multiprocessing, os, signal, sys, time
        def early():
            if signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, []):
                os._exit(6)  # not held back: in C, before any hook, it could have been lost
            os.kill(os.getpid(), signal.SIGTERM)
        os.register_at_fork(after_in_child=early)
        from promptkit.runner import interrupts
        with interrupts.stop_on_signals():
            pid = os.fork()
            if pid == 0:
                time.sleep(5)  # the held-back SIGTERM must end us before this ends
                os._exit(5)
            _, status = os.waitpid(pid, 0)
            print(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM,
                  signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, []))
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "False"], (proc.stdout, proc.stderr)  # and the parent's mask is as before
