"""The regression runner: test-case files -> rendered prompts -> model calls (live or
replayed) -> assertions -> results. litellm is imported only when a live call is made.

Public API (documented in docs/api.md)::

    from promptkit.runner import Mode, RunConfig, load_suite, run_cases, run_suites

    results = run_suites(["tests/prompts/summarize.prompttest.yaml"], RunConfig(mode=Mode.REPLAY))
    suite = load_suite("tests/prompts/summarize.prompttest.yaml")
    variant_results = run_cases(suite, template=variant, config=RunConfig(mode="auto"))
    for case in variant_results.cases:
        for check in case.samples[0].assertions:
            check.index, check.passed, check.score, check.location

Names are imported lazily (PEP 562), as in :mod:`promptkit`: importing this package (which
every ``promptkit.runner.*`` import does) costs nothing until a name is used. The other
modules of the package are internals that may change between versions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promptkit._lazy import lazy_exports

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # running
    "run_suites": "promptkit.runner.engine",
    "run_cases": "promptkit.runner.engine",
    "Runner": "promptkit.runner.engine",
    "RunConfig": "promptkit.runner.engine",
    "Mode": "promptkit.runner.recordings",
    # suites
    "load_suite": "promptkit.runner.suite_file",
    "loads_suite": "promptkit.runner.suite_file",
    "Suite": "promptkit.runner.suite",
    "Case": "promptkit.runner.suite",
    "CaseRun": "promptkit.runner.suite",
    "Defaults": "promptkit.runner.suite",
    "ModelTarget": "promptkit.runner.suite",
    "AssertionSpec": "promptkit.runner.assertions.spec",
    # results
    "RunResults": "promptkit.runner.results",
    "CaseResult": "promptkit.runner.results",
    "SampleResult": "promptkit.runner.results",
    "AssertionResult": "promptkit.runner.results",
    "OutputSpan": "promptkit.runner.results",
    "JsonPath": "promptkit.runner.results",
    "Outcome": "promptkit.runner.results",
    "Usage": "promptkit.runner.results",
}

#: Written out (not derived from _EXPORTS) so type checkers and linters see the public
#: API; tests/test_public_api.py checks the two agree.
__all__ = [
    "AssertionResult",
    "AssertionSpec",
    "Case",
    "CaseResult",
    "CaseRun",
    "Defaults",
    "JsonPath",
    "Mode",
    "ModelTarget",
    "Outcome",
    "OutputSpan",
    "RunConfig",
    "RunResults",
    "Runner",
    "SampleResult",
    "Suite",
    "Usage",
    "load_suite",
    "loads_suite",
    "run_cases",
    "run_suites",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from promptkit.runner.assertions.spec import AssertionSpec
    from promptkit.runner.engine import RunConfig, Runner, run_cases, run_suites
    from promptkit.runner.recordings import Mode
    from promptkit.runner.results import (
        AssertionResult,
        CaseResult,
        JsonPath,
        Outcome,
        OutputSpan,
        RunResults,
        SampleResult,
        Usage,
    )
    from promptkit.runner.suite import Case, CaseRun, Defaults, ModelTarget, Suite
    from promptkit.runner.suite_file import load_suite, loads_suite
