"""``prompt_runner``: run a template plus assertions from a Python test.

PYTEST_DONT_REWRITE: plugin code has no test asserts; see pytest_promptkit.plugin.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_promptkit.items import PromptkitCaseError, PromptkitCaseFailure
from pytest_promptkit.session import session_of as _plugin

class PromptRunner:
    """Runs a template with assertions from Python test code (the ``prompt_runner``
    fixture). Uses the session's mode, model and api-base options; recordings live in
    ``__recordings__/<test module>/`` next to the test file."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self._plugin = _plugin(request.config)
        self._runner: Any = None
        self.api_base: str | None = None
        self.mode: str | None = None

    def _get_runner(self) -> Any:
        if self.api_base is None and self.mode is None:
            return self._plugin.runner
        if self._runner is None:
            from promptkit.runner.engine import Runner
            from promptkit.runner.recordings import Mode

            cfg = self._plugin.run_config()
            if self.api_base:
                cfg.api_base = self.api_base
            if self.mode:
                cfg.mode = Mode(self.mode)
            self._runner = Runner(cfg)
        return self._runner

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()

    def run(
        self,
        prompt: str | Path,
        vars: dict[str, Any] | None = None,
        assertions: Sequence[Any] = (),
        *,
        model: str | None = None,
        params: dict[str, Any] | None = None,
        repeat: int = 1,
        min_pass: int | None = None,
        threshold: float | None = None,
        flaky: bool = False,
        case_id: str | None = None,
    ) -> Any:
        """Run one case and return its :class:`~promptkit.runner.results.CaseResult`.
        ``assertions`` are dicts as in a suite file (``{"type": "contains", "value": "x"}``)
        or ``AssertionSpec`` objects."""
        from promptkit.runner.engine import CaseJob
        from promptkit.runner.recordings import RecordingStore
        from promptkit.runner.suite import Case, Suite

        cid = case_id or self._request.node.name
        case = Case(id=cid, vars=dict(vars or {}), assertions=list(assertions), repeat=repeat, min_pass=min_pass,
                    threshold=threshold, flaky=flaky)
        models = [{"id": model, "params": dict(params or {})}] if model else []
        test_file = Path(str(self._request.node.path))
        suite = Suite.from_cases(Path(prompt), [case], models=models, name=test_file.name)
        [case_run] = suite.expand()
        store = RecordingStore(test_file.parent / "__recordings__" / test_file.stem)
        job = CaseJob(case_run=case_run, suite_path=test_file.name, store=store, base_dir=str(test_file.parent))
        [result] = self._get_runner().run([job])
        self._plugin.record(result)
        return result

    def check(self, prompt: str | Path, vars: dict[str, Any] | None = None,
              assertions: Sequence[Any] = (), **kwargs: Any) -> Any:
        """Like :meth:`run`, but fails the test (with every failing reason) unless the case
        passes; an ERROR raises :class:`PromptkitCaseError` instead of failing."""
        from promptkit.runner.report import failure_text
        from promptkit.runner.results import Outcome

        result = self.run(prompt, vars, assertions, **kwargs)
        if result.outcome is Outcome.ERROR:
            raise PromptkitCaseError(failure_text(result))
        if result.outcome is Outcome.FAIL:
            raise PromptkitCaseFailure(failure_text(result))
        return result
