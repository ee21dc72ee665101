"""Evidence per case: what failed, where and why, read from structured results.

The optimizer never parses report text: each :class:`~promptkit.runner.AssertionResult`
already carries a score, a templated reason (deterministic checks) or a judge's feedback,
and a location in the output. This module joins them with what the suite says the case
expects (the assertion's type and value) and the case's inputs, so the deterministic
repairs and the critique/proposer prompts see one compact record per failing case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptkit.runner import AssertionResult, AssertionSpec, CaseResult


#: Characters of an output or input shown to the critique/proposer models.
SHOW_CHARS = 1200


@dataclass(frozen=True)
class Check:
    """One assertion's evidence on one output."""

    type: str
    assertion_type: str
    passed: bool
    score: float
    reason: str
    expected: Any = None
    location: str | None = None
    feedback: str | None = None
    where: str | None = None
    weight: float = 1.0

    def line(self) -> str:
        text = f"{self.type}: {self.reason}"
        if self.location:
            text += f" (at {self.location})"
        if self.feedback:
            text += f"; judge: {self.feedback}"
        return text


@dataclass(frozen=True)
class CaseEvidence:
    """One case's evidence: its id, inputs, the first failing sample's output and checks,
    and (for robustness failures) the perturbation that broke it."""

    id: str
    case: str
    outcome: str
    score: float
    vars: dict[str, Any]
    output: str | None
    checks: tuple[Check, ...] = ()
    perturbation: dict[str, Any] | None = None
    passes: int = 0
    repeat: int = 1

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed and c.weight > 0)

    def as_prompt_data(self) -> dict[str, Any]:
        """A JSON-ready summary for the meta-prompts (long texts cut to :data:`SHOW_CHARS`)."""
        return {
            "case": self.case,
            "inputs": {k: _cut(v) for k, v in self.vars.items()},
            "output": _cut(self.output) if self.output is not None else None,
            "failed": [c.line() for c in self.failed_checks],
            **({"perturbation": self.perturbation} if self.perturbation else {}),
        }


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > SHOW_CHARS:
        return value[:SHOW_CHARS] + f"... [{len(value) - SHOW_CHARS} more characters]"
    return value


def _expected(spec: AssertionSpec | None) -> Any:
    if spec is None or spec.options is None:
        return None
    opts = spec.options
    for name in ("value", "schema", "path", "pattern"):
        v = getattr(opts, name, None)
        if v is not None:
            return v
    return None


def check_of(result: AssertionResult, spec: AssertionSpec | None) -> Check:
    return Check(
        type=result.type,
        assertion_type=result.assertion_type or result.type,
        passed=result.passed,
        score=result.score,
        reason=result.reason,
        expected=_expected(spec),
        location=result.location.describe() if result.location is not None else None,
        feedback=result.feedback,
        where=result.where,
        weight=result.weight,
    )


def of_case(result: CaseResult, specs: list[AssertionSpec] | None = None) -> CaseEvidence:
    """The evidence of one case result (``specs``: the case run's assertions, for the
    expected values; matched by ``AssertionResult.index``)."""
    from promptkit.runner import Outcome

    sample = next((s for s in result.samples if s.outcome is Outcome.FAIL), None)
    if sample is None:
        sample = result.samples[0] if result.samples else None
    checks: list[Check] = []
    if sample is not None:
        for a in sample.assertions:
            spec = specs[a.index] if specs is not None and a.index is not None and a.index < len(specs) else None
            checks.append(check_of(a, spec))
    extra = getattr(result, "perturbation", None)
    return CaseEvidence(
        id=result.id, case=result.case, outcome=result.outcome.value, score=result.score, vars=dict(result.vars),
        output=sample.output if sample is not None else None, checks=tuple(checks),
        perturbation=extra if isinstance(extra, dict) else None, passes=result.passes, repeat=result.repeat,
    )


@dataclass
class Evidence:
    """Every case of the baseline run, split into failing and passing."""

    failing: list[CaseEvidence] = field(default_factory=list)
    passing: list[CaseEvidence] = field(default_factory=list)
    errored: list[CaseEvidence] = field(default_factory=list)
    #: failing robustness rows (operator, parameters, worst variant), from RunResults.robustness
    robustness: list[dict[str, Any]] = field(default_factory=list)

    def failed_types(self) -> set[str]:
        return {c.assertion_type for e in self.failing for c in e.failed_checks}
