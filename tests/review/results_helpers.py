"""Results files for the review tests: a real replay run of templates/ and variants of it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from promptkit.runner.results import AssertionResult, CaseResult, Outcome, RunResults, SampleResult

from .conftest import FIXTURES

REAL = FIXTURES / "results" / "replay-templates.json"


@lru_cache(maxsize=1)
def _real() -> RunResults:
    return RunResults.from_json(REAL.read_text(encoding="utf-8"))


def real_run() -> RunResults:
    """A fresh copy of the real run (tests edit their copy)."""
    return _real().model_copy(update={"cases": list(_real().cases)})


def with_samples(case: CaseResult, outcomes: list[Outcome], *, reason: str = "output is not valid JSON",
                 score: float | None = None) -> CaseResult:
    """``case`` re-run ``len(outcomes)`` times with these sample outcomes (min_pass 1 of N
    stays the suite's rule: the case passes when any sample passes, as repeat/min_pass do)."""
    base_output = case.samples[0].output if case.samples else ""
    samples = []
    for o in outcomes:
        if o is Outcome.FAIL:
            a = AssertionResult(type="is-json", passed=False, score=0.0, reason=reason)
            samples.append(SampleResult(outcome=o, output="Sure! Here is the answer: {broken", score=0.0, assertions=[a]))
        elif o is Outcome.ERROR:
            samples.append(SampleResult(outcome=o, error="HTTP 503 from the provider after 3 retries"))
        else:
            samples.append(SampleResult(outcome=o, output=base_output, score=1.0,
                                        assertions=[AssertionResult(type="is-json", passed=True, score=1.0, reason="ok")]))
    passes = sum(s.outcome is Outcome.PASS for s in samples)
    decided = [s for s in samples if s.outcome is not Outcome.ERROR]
    outcome = (Outcome.ERROR if not decided else Outcome.PASS if passes >= case.min_pass else Outcome.FAIL)
    avg = score if score is not None else (sum(s.score for s in decided) / len(decided) if decided else 0.0)
    return case.model_copy(update={"samples": samples, "passes": passes, "repeat": len(samples),
                                   "outcome": outcome, "score": avg})


def write(run: RunResults, path: Path) -> Path:
    path.write_text(run.to_json(), encoding="utf-8")
    return path
