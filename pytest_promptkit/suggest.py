"""``--promptkit-suggest``: after a run with failing cases, print the optimizer's patch
suggestion for each failing suite under the failure report.

An extension of the promptkit plugin (see :mod:`pytest_promptkit.plugin`): it reads the
run's merged results in ``pytest_promptkit_terminal_summary``, so it works the same under
xdist, and it never writes a file -- ``promptkit suggest SUITE --apply`` does that.
The search uses the run's own settings (mode, api base, model override) and
``--promptkit-suggest-budget`` model calls per suite.

PYTEST_DONT_REWRITE: plugin code has no test asserts.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("promptkit")
    g.addoption("--promptkit-suggest", action="store_true", default=False,
                help="after failures, propose the smallest prompt patch that fixes them (promptkit suggest)")
    g.addoption("--promptkit-suggest-budget", type=int, default=None, metavar="CALLS",
                help="model-call budget per failing suite for --promptkit-suggest "
                     "(default: [tool.promptkit.optimize] max-calls, else 60)")
    g.addoption("--promptkit-proposer", default=None, metavar="MODEL",
                help="litellm model for the optimizer's critique and proposer calls (default: the suite's model)")


def pytest_promptkit_terminal_summary(config: pytest.Config, terminalreporter: Any, results: Any) -> None:
    if not config.getoption("--promptkit-suggest") or results is None:
        return
    from promptkit.diagnostics import PromptkitError
    from promptkit.optimize import suggest
    from promptkit.optimize.settings import budget_from, load_optimize_settings
    from promptkit.optimize.report import to_text
    from promptkit.runner import Outcome
    from pytest_promptkit.session import session_of

    suites = list(dict.fromkeys(c.suite for c in results.cases if c.outcome is Outcome.FAIL))
    if not suites:
        return
    tr = terminalreporter
    tr.section("promptkit suggest")
    run_config = session_of(config).run_config()
    for name in suites:
        try:
            table = load_optimize_settings(name)
            budget = budget_from(table, calls=config.getoption("--promptkit-suggest-budget"))
            s = suggest(name, results=results, config=run_config, budget=budget,
                        proposer_model=config.getoption("--promptkit-proposer") or table.proposer)
        except PromptkitError as exc:
            tr.write_line(f"{name}: {exc.diagnostic.format()}", red=True)
            continue
        except Exception as exc:  # noqa: BLE001 - a suggestion never turns a test report into a crash
            tr.write_line(f"{name}: no suggestion ({type(exc).__name__}: {exc})", red=True)
            continue
        tr.write_line(to_text(s).rstrip("\n"))
        if s.patch is not None:
            tr.write_line(f"apply it with: promptkit suggest {name} --apply")
