"""Hooks the promptkit plugin calls, for its extensions (see pytest_promptkit.plugin).

Implement them in an extension module like any pytest hook. They are called in the
process that runs the cases (an xdist worker) for ``case_finished`` and in the controller
(or the only process) for the others.

PYTEST_DONT_REWRITE: plugin code has no test asserts.
"""

from __future__ import annotations

from typing import Any

import pytest



def pytest_promptkit_batch_started(config: pytest.Config, total: int) -> None:
    """A batch of ``total`` cases starts running (one suite's selected cases, at once)."""


def pytest_promptkit_case_finished(config: pytest.Config, result: Any) -> None:
    """One case finished (a :class:`~promptkit.runner.results.CaseResult`). Called from the
    runner's event-loop thread while the main thread waits: keep it short, write nothing
    to the terminal here (use ``pytest_promptkit_tick``)."""


def pytest_promptkit_tick(config: pytest.Config) -> None:
    """Called in the main thread about every 0.2 s while a batch runs, and once when it
    ends: the place to refresh a live display."""


def pytest_promptkit_batch_finished(config: pytest.Config) -> None:
    """The batch finished (or was interrupted)."""


def pytest_promptkit_terminal_summary(config: pytest.Config, terminalreporter: Any, results: Any) -> None:
    """Add lines to the ``promptkit`` section of the terminal summary; ``results`` is the
    run's merged :class:`~promptkit.runner.results.RunResults` (``None`` when no case ran)."""
