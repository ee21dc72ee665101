"""Progress of long runs: ``done/total, passed, failed, errors, ETA``.

A suite's cases run as one concurrent batch while pytest waits in its first item, so
pytest's own per-item dots only move once the batch is over. This extension counts cases
as they finish (:func:`pytest_promptkit_case_finished`, from the runner's thread) and
draws in pytest's main thread (:func:`pytest_promptkit_tick`, every ~0.2 s):

* on a terminal (``live``): one line rewritten in place, cleared when the batch ends;
  pytest's per-case dots are left out (the line and the summary table say more);
* elsewhere (``plain``: CI logs, pipes): a plain line every ``PROMPTKIT_PROGRESS_INTERVAL``
  seconds (default 10) while a batch runs, nothing for short runs;
* ``--promptkit-progress off`` (``promptkit test --progress off``) draws nothing.

Under pytest-xdist the workers' output is not shown; the controller counts the cases as
their reports arrive and draws the same line.

PYTEST_DONT_REWRITE: plugin code has no test asserts.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import pytest

_KEY = "promptkit_progress"
#: Off a terminal: seconds between two plain lines.
DEFAULT_INTERVAL_S = 10.0
_LIVE_REFRESH_S = 0.2


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("promptkit").addoption(
        "--promptkit-progress", choices=["auto", "live", "plain", "off"], default=None,
        help="progress while cases run: auto (default: a live line on a terminal, else a plain line every "
             "PROMPTKIT_PROGRESS_INTERVAL seconds), live, plain or off")


@pytest.hookimpl(trylast=True)  # after the terminal plugin registered its reporter
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # an xdist worker: nobody sees its terminal
    mode = config.getoption("--promptkit-progress") or os.environ.get("PROMPTKIT_PROGRESS") or "auto"
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if mode == "off" or tr is None:
        return
    if mode == "auto":
        mode = "live" if _isatty(tr) and os.environ.get("TERM") != "dumb" else "plain"
    config.pluginmanager.register(Progress(config, tr, mode), _KEY)


def _isatty(tr: Any) -> bool:
    return bool(getattr(tr, "isatty", False))


def format_line(done: int, total: int, passed: int, failed: int, errors: int, elapsed_s: float) -> str:
    """``promptkit: 340/1000 cases | 330 passed, 6 failed, 4 errors | 3 s, ETA 6 s``."""
    parts = [f"{passed} passed"]
    if failed:
        parts.append(f"{failed} failed")
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    eta = ""
    if 0 < done < total:
        eta = f", ETA {_seconds(elapsed_s / done * (total - done))}"
    return f"promptkit: {done}/{total} cases | {', '.join(parts)} | {_seconds(elapsed_s)}{eta}"


def _seconds(s: float) -> str:
    if s < 10:
        return f"{s:.1f} s"
    if s < 120:
        return f"{s:.0f} s"
    return f"{int(s // 60)} min {int(s % 60):02d} s"


class Progress:
    """Counts finished cases and draws the line."""

    def __init__(self, config: pytest.Config, terminalreporter: Any, mode: str) -> None:
        self.config = config
        self.tr = terminalreporter
        self.mode = mode
        self.total = 0
        self.outcomes: dict[str, str] = {}  # result id -> "passed" | "failed" | "error"
        self._lock = threading.Lock()
        self._started: float | None = None
        self._last_draw = 0.0
        self._drawn = False  # a live line is on the screen
        self._in_batch = False
        try:
            self.interval = float(os.environ.get("PROMPTKIT_PROGRESS_INTERVAL", DEFAULT_INTERVAL_S))
        except ValueError:
            self.interval = DEFAULT_INTERVAL_S

    # -- counting
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from pytest_promptkit.items import CaseItem

        self.total = sum(1 for i in items if isinstance(i, CaseItem))

    def pytest_promptkit_batch_started(self, total: int) -> None:
        if self._started is None:
            self._started = time.monotonic()
        self._in_batch = True

    def pytest_promptkit_case_finished(self, result: Any) -> None:
        outcome = getattr(getattr(result, "outcome", None), "value", "error")
        with self._lock:
            self.outcomes[result.id] = {"pass": "passed", "fail": "failed"}.get(str(outcome).lower(), "error")

    def pytest_promptkit_tick(self) -> None:
        self._draw()

    def pytest_promptkit_batch_finished(self) -> None:
        self._in_batch = False
        self._clear()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """xdist controller: cases arrive as reports (in-process runs counted them already)."""
        if not _has_workers(self.config):
            return
        rid = dict(report.user_properties).get("promptkit_id")
        if rid is None or (report.when == "setup" and report.passed):
            return
        if self._started is None:
            self._started = time.monotonic()
        with self._lock:
            if report.when == "setup":
                self.outcomes[rid] = "error"
            elif report.when == "call":
                self.outcomes[rid] = "failed" if report.failed else "passed"
        self._draw()

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: Any) -> tuple[str, str, str] | None:
        """On a terminal, no dot per case: the live line counts them (categories kept)."""
        if self.mode != "live" or self.config.getoption("verbose") > 0 or hasattr(report, "wasxfail"):
            return None
        if "promptkit_id" not in dict(getattr(report, "user_properties", ())):
            return None
        if report.when == "call":
            return ("passed" if report.passed else "failed" if report.failed else "skipped"), "", ""
        if report.failed:
            return "error", "", ""
        return None

    def pytest_sessionfinish(self) -> None:
        self._clear()

    # -- drawing
    def counts(self) -> tuple[int, int, int, int]:
        with self._lock:
            values = list(self.outcomes.values())
        return len(values), values.count("passed"), values.count("failed"), values.count("error")

    def line(self) -> str:
        done, passed, failed, errors = self.counts()
        elapsed = time.monotonic() - (self._started or time.monotonic())
        return format_line(done, max(self.total, done), passed, failed, errors, elapsed)

    def _draw(self) -> None:
        now = time.monotonic()
        if self._started is None or self.total == 0:
            return
        if self.mode == "live":
            if now - self._last_draw < _LIVE_REFRESH_S and self._drawn:
                return
            self._last_draw = now
            self._write(lambda out: out.write("\r" + self._fit(self.line()) + "\x1b[K"), first=not self._drawn)
            self._drawn = True
        else:
            if now - self._started < self.interval or now - self._last_draw < self.interval:
                return
            self._last_draw = now
            text = self.line()
            self._write(lambda out: None, plain=text)

    def _fit(self, text: str) -> str:
        width = getattr(getattr(self.tr, "_tw", None), "fullwidth", 80) or 80
        return text if len(text) < width else text[: max(10, width - 2)]

    def _clear(self) -> None:
        if self._drawn:
            self._drawn = False
            self._write(lambda out: out.write("\r\x1b[K"))

    def _write(self, draw: Any, first: bool = False, plain: str | None = None) -> None:
        """Draw outside pytest's output capture (a batch runs inside a test's setup)."""
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        ctx = capman.global_and_fixture_disabled() if capman is not None else _nullcontext()
        with ctx:
            if plain is not None:
                self.tr.write_line(plain)
                return
            if first:
                self.tr.ensure_newline()  # a line of its own, so clearing it loses nothing of pytest's
            out = getattr(getattr(self.tr, "_tw", None), "_file", None) or sys.stdout
            draw(out)
            out.flush()


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _has_workers(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) or bool(getattr(config.option, "tx", None))
