"""Collection: a ``*.prompttest.yaml`` file is a :class:`SuiteFile`, each case x model a
:class:`CaseItem` named ``<case>[<model>]`` (stable node ids: ``-k``, ``--lf`` and IDEs
rely on them).

PYTEST_DONT_REWRITE: plugin code has no test asserts; see pytest_promptkit.plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from pytest_promptkit.session import session_of as _plugin

SUITE_SUFFIXES = (".prompttest.yaml", ".prompttest.yml")

class SuiteFile(pytest.File):
    """A ``*.prompttest.yaml`` file."""

    def collect(self) -> Iterator[pytest.Item]:
        from promptkit.diagnostics import PromptkitError
        from promptkit.runner.engine import jobs_for_suite
        from promptkit.runner.suite_file import load_suite

        shown = self._shown_path()
        from promptkit.runner.preflight import check_jobs

        try:
            suite = load_suite(shown)
            jobs = jobs_for_suite(suite, model_override=_plugin(self.config).run_config().model)
        except PromptkitError as exc:
            raise self.CollectError(exc.format_all()) from None
        problems = check_jobs(jobs, shown)  # the suite's and its prompts' mistakes, before any call
        if problems:
            raise self.CollectError("\n".join(d.format() for d in problems))
        _plugin(self.config).start_early(jobs)  # replay starts in a child while items are made
        grouped = self.config.pluginmanager.hasplugin("xdist")
        for job in jobs:
            name = job.result_id.split("::", 1)[1] if "::" in job.result_id else job.case_id
            item = CaseItem.from_parent(self, name=name, job=job)
            item.add_marker(pytest.mark.promptkit)
            if grouped:  # keeps a suite together under --dist loadgroup (a mark only xdist knows)
                item.add_marker(pytest.mark.xdist_group(name=shown))
            yield item

    def _shown_path(self) -> str:
        from promptkit.paths import shown

        return shown(self.path)


class PromptkitCaseError(Exception):
    """The case ended in ERROR: the provider, a judge or a recording failed."""


class PromptkitCaseFailure(AssertionError):
    """The case ended in FAIL: its output broke an assertion."""


class CaseItem(pytest.Item):
    """One case x model of a suite."""

    def __init__(self, *, job: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.result: Any = None
        self.user_properties.append(("promptkit_id", job.result_id))

    def setup(self) -> None:
        from promptkit.runner.report import failure_text
        from promptkit.runner.results import Outcome

        plugin = _plugin(self.config)
        self.result = plugin.result_for(self)
        plugin.record(self.result)
        if self.result.outcome is Outcome.ERROR:
            if self.result.flaky:
                pytest.xfail("flaky case errored: " + failure_text(self.result))
            raise PromptkitCaseError(failure_text(self.result))

    def runtest(self) -> None:
        from promptkit.runner.report import failure_text
        from promptkit.runner.results import Outcome

        if self.result is not None and self.result.outcome is Outcome.FAIL:
            if self.result.flaky:
                pytest.xfail("flaky case failed: " + failure_text(self.result))
            raise PromptkitCaseFailure(failure_text(self.result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        from promptkit.redact import redact

        if isinstance(excinfo.value, PromptkitCaseError):  # "<id>: ERROR" heads the reasons: say what it means
            head, _, rest = str(excinfo.value).partition("\n")
            head = head.replace(": ERROR", ": ERROR (not a failure of the prompt)", 1) if ": ERROR" in head \
                else f"ERROR (not a failure of the prompt): {head}"
            return redact(head + ("\n" + rest if rest else ""))
        if isinstance(excinfo.value, PromptkitCaseFailure):
            text = str(excinfo.value)  # "<id>: FAIL" and the reasons (not "FAIL: <id>: FAIL")
            return redact(text if ": FAIL" in text.partition("\n")[0] else f"FAIL: {text}")
        return redact(str(super().repr_failure(excinfo)))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = getattr(self.job.case_run.case, "line", None)
        return self.path, (line - 1 if line else None), self.name

    @cached_property
    def location(self) -> tuple[str, int | None, str]:
        """pytest's ``location``, with the suite's path made relative once for all its
        cases (pytest works it out again for each of a suite's 1,000 items)."""
        parent = self.parent
        rel = getattr(parent, "_promptkit_relpath", None)
        if rel is None:
            rel = pytest.Item.location.func(self)[0]  # type: ignore[attr-defined]
            parent._promptkit_relpath = rel  # type: ignore[union-attr]
        _, line, name = self.reportinfo()
        return rel, line, name
