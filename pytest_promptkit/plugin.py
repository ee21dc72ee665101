"""The pytest plugin: prompt regression suites are plain pytest tests.

* Collects ``*.prompttest.yaml`` files: one item per case x model, named
  ``<case>[<model>]`` (``<case>[<prompt>|<model>]`` for multi-prompt suites), so
  ``-k billing`` and node ids work as usual. Items carry the ``promptkit`` marker.
* Outcomes: PASS passes; FAIL fails with each failing assertion's reason; ERROR (the
  provider, a judge or a recording failed) is raised during *setup*, so pytest and
  ``--junitxml`` report it as an error, never as a failure. A ``flaky`` case that does
  not pass is reported as xfail: visible, not failing the run.
* Speed: the first item of a suite to run triggers one concurrent batch for all of the
  suite's selected items that this process will run; later items read their result.
  Under pytest-xdist this batching needs a scheduler that keeps a suite on one worker
  (``--dist loadfile``/``loadscope``/``loadgroup``; ``promptkit test -n`` passes
  ``--dist loadfile``); with ``--dist load`` each item runs alone (no duplicate calls).
* A terminal summary (pass rate per prompt and model, tokens, cost, recordings hit and
  missed, regressions against ``--promptkit-baseline``) and a results JSON file per run;
  xdist workers send their part to the controller (``workeroutput``), which merges.
* Interrupts: Ctrl-C and SIGTERM (a CI cancel) stop the run the same way (see
  :mod:`promptkit.runner.interrupts`): the cases that finished are kept and the results
  file is written with ``"interrupted": true``. Under xdist each finished case also rides
  on its test report to the controller, so a cancelled ``-n`` run keeps them too. An
  interrupted run is never compared with, nor stored as, the baseline.
* Fixtures for Python tests: ``prompt_runner`` (run a template + assertions) and
  ``openai_server`` (the scripted local server).

Layout (one concept per module; this one is only the entry point pytest loads):
:mod:`~pytest_promptkit.session` (the per-session state and summary),
:mod:`~pytest_promptkit.items` (collection), :mod:`~pytest_promptkit.runner_fixture`
(``prompt_runner``), :mod:`~pytest_promptkit.hooks` (hooks extensions implement), and the
extensions in :data:`pytest_plugins` below.

**Adding a feature to the plugin** (an option, a summary section, a collection filter):
write it as its own small plugin module (``pytest_addoption`` etc., plus the
``pytest_promptkit_*`` hooks of :mod:`pytest_promptkit.hooks`; reach the session through
:func:`~pytest_promptkit.session.session_of`) and add its name to :data:`pytest_plugins`:
one line here. Keep heavy imports inside functions: this module and its extensions are
imported by every pytest run in a project that has promptkit installed.

PYTEST_DONT_REWRITE: no module of this package has test asserts; pytest's assertion
rewriting of them would only cost start-up time (and warn when already imported).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_promptkit.items import SUITE_SUFFIXES, CaseItem, PromptkitCaseError, PromptkitCaseFailure, SuiteFile
from pytest_promptkit.session import (
    DEFAULT_RESULTS,
    RESULTS_KEY,
    SESSION_NAME,
    PromptkitPlugin,
    _plugin,
    session_of,
)

if TYPE_CHECKING:
    from pytest_promptkit.runner_fixture import PromptRunner

#: The plugin's extensions, each a small pytest plugin module registered with this one
#: (disable one with ``-p no:NAME``). Add yours here: one line.
pytest_plugins = [
    "pytest_promptkit.suggest",  # --promptkit-suggest (the optimizer, promptkit/optimize)
    "pytest_promptkit.shard",  # --promptkit-shard K/N (review, #12)
    "pytest_promptkit.robustness",  # perturb: in test files (#10)
    "pytest_promptkit.progress",
    "pytest_promptkit.lastfailed",
    "pytest_promptkit.protocol",  # a lighter per-item protocol for sessions of prompt cases only
]

__all__ = ["CaseItem", "PromptRunner", "PromptkitCaseError", "PromptkitCaseFailure", "PromptkitPlugin",
           "SuiteFile", "session_of", "DEFAULT_RESULTS", "RESULTS_KEY", "SUITE_SUFFIXES"]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_promptkit import hooks

    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("promptkit", "prompt regression tests (promptkit)")
    g.addoption("--promptkit-mode", choices=["live", "record", "replay", "auto"], default=None,
                help="live: always call; record: call and (re)write recordings; replay: recordings only, never the "
                     "network (default when CI is set); auto: replay if recorded else call and record (default)")
    g.addoption("--promptkit-concurrency", type=int, default=None, help="model calls in flight at once (default 8)")
    g.addoption("--promptkit-model", default=None, help="run every case on this litellm model id instead of the suite's")
    g.addoption("--promptkit-api-base", default=None,
                help="send every call to this OpenAI-compatible base URL (env PROMPTKIT_API_BASE); not part of recording keys")
    g.addoption("--promptkit-allow-endpoint", action="append", default=None, metavar="HOST",
                help="let prompt and test files send calls to this host (host, host:port or URL prefix; repeatable; "
                     "adds to [tool.promptkit.test] allow-endpoints)")
    g.addoption("--promptkit-timeout", type=float, default=None, help="per-call timeout in seconds (default 60)")
    g.addoption("--promptkit-retries", type=int, default=None,
                help="retries per call on 429/5xx/timeouts/dropped connections (default 3)")
    g.addoption("--promptkit-results", default=None, metavar="FILE",
                help=f"where to write the run's results JSON (default {DEFAULT_RESULTS} when promptkit cases ran)")
    g.addoption("--promptkit-baseline", default=None, metavar="FILE",
                help="compare with this results file: new failures are regressions and fail the run")
    g.addoption("--promptkit-update-baseline", action="store_true", default=False,
                help="after the run, store its results as the baseline (--promptkit-baseline FILE)")
    g.addoption("--promptkit-project-root", default=None, metavar="DIR",
                help="confine every file the suites read or write to DIR (default: the config file's folder, "
                     "else the nearest folder with pyproject.toml, promptkit.toml or .git)")
    g.addoption("--promptkit-tolerance", type=float, default=None,
                help="score drop vs. the baseline that counts as a regression (default: the baseline module's)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "promptkit: a prompt regression test (collected from *.prompttest.yaml or "
                                       "using the prompt_runner fixture)")
    from promptkit.diagnostics import PromptkitError
    from promptkit.runner.config import load_test_settings

    root = config.getoption("--promptkit-project-root")
    if root is not None:  # the command line's choice; nothing in the repository can set it
        if not Path(root).is_dir():
            raise pytest.UsageError(f"--promptkit-project-root {root}: not a folder")
        from promptkit.paths import set_root_override

        set_root_override(Path(config.invocation_params.dir) / root)
    try:
        settings = load_test_settings(Path(config.invocation_params.dir))
    except PromptkitError as exc:
        raise pytest.UsageError(exc.diagnostic.format()) from None
    env_mode = os.environ.get("PROMPTKIT_MODE")
    if env_mode and env_mode.lower() not in ("live", "record", "replay", "auto"):
        raise pytest.UsageError(f"PROMPTKIT_MODE={env_mode!r} is not a mode (use live, record, replay or auto)")
    plugin = PromptkitPlugin(config, settings)
    plugin.check_files()
    config.pluginmanager.register(plugin, SESSION_NAME)
    plugin.catch_stop_signals()


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.pluginmanager.get_plugin(SESSION_NAME)
    if isinstance(plugin, PromptkitPlugin):
        plugin.release_stop_signals()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Show a case's FAIL/ERROR as its reasons, not as a traceback (pytest formats
    setup errors without asking the item, so the report is rewritten here). A new-style
    wrapper: a Ctrl-C that lands while it runs is an interrupt like any other, not a
    ``PluggyTeardownRaisedWarning``."""
    report: pytest.TestReport = yield
    if isinstance(item, CaseItem) and call.when == "setup" and item.result is not None and hasattr(item.config, "workerinput"):
        # On an xdist worker the finished case travels with its report: a controller
        # that is interrupted before the workers hand in their parts still has it.
        report.promptkit_result = item.result.model_dump(mode="json")
    excinfo = call.excinfo
    if isinstance(item, CaseItem) and excinfo is not None and isinstance(excinfo.value, (PromptkitCaseError, PromptkitCaseFailure)):
        report.longrepr = item.repr_failure(excinfo)
    return report


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(SUITE_SUFFIXES):
        return SuiteFile.from_parent(parent, path=file_path)
    return None


# ---------------------------------------------------------------------- fixtures


@pytest.fixture
def openai_server() -> Iterator[Any]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (see :mod:`pytest_promptkit.server`),
    stopped at teardown. Script it with ``openai_server.add_rule(pattern=..., reply=...)``
    or ``fault="rate_limit" | "server_error" | "malformed" | "drop" | "hang"``."""
    from pytest_promptkit.server import OpenAIServer

    server = OpenAIServer(hang_s=10.0, idle_timeout_s=300.0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prompt_runner(request: pytest.FixtureRequest) -> Iterator[PromptRunner]:
    """Run a prompt template plus assertions from a Python test; see :class:`PromptRunner`."""
    from pytest_promptkit.runner_fixture import PromptRunner

    runner = PromptRunner(request)
    try:
        yield runner
    finally:
        runner.close()


def __getattr__(name: str) -> Any:  # PromptRunner, without importing it at plugin load
    if name == "PromptRunner":
        from pytest_promptkit.runner_fixture import PromptRunner

        return PromptRunner
    raise AttributeError(name)
