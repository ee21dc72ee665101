"""Results delta: what the pull request did to the test outcomes, case by case.

Given the results file of the base run and of the head run, every case x model lands in
one bucket. A *flip* (pass -> fail or fail -> pass) counts only when it is **stable across
the case's repeats**: every decided sample of the base agreed, and every decided sample of
the head agreed. A case that went from 3/3 to 1/3 passing did not "newly fail" -- it became
flaky, and is listed under ``unstable`` with both pass counts, so a reviewer neither panics
over one unlucky sample nor misses a real drift. ERROR samples (provider failures, missing
recordings) say nothing about the prompt and are set apart in ``errors``.

Score moves beyond ``tolerance`` (on the 0..1 scale) of cases whose outcome held are listed
as ``score_down`` / ``score_up``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from promptkit.runner.results import CaseResult, Outcome, RunResults

__all__ = ["CaseDelta", "ResultsDelta", "results_delta"]

DEFAULT_TOLERANCE = 0.05


@dataclass
class CaseDelta:
    """One case x model in both runs (``None``: absent from that run)."""

    id: str
    prompt: str
    case: str
    model: str
    before: str | None
    after: str | None
    passes_before: str | None = None
    passes_after: str | None = None
    score_before: float | None = None
    score_after: float | None = None
    reason: str = ""

    @property
    def score_delta(self) -> float | None:
        if self.score_before is None or self.score_after is None:
            return None
        return self.score_after - self.score_before


@dataclass
class ResultsDelta:
    """Buckets of :func:`results_delta`; ``regressions`` is what should fail a PR."""

    tolerance: float = DEFAULT_TOLERANCE
    newly_failing: list[CaseDelta] = field(default_factory=list)
    newly_passing: list[CaseDelta] = field(default_factory=list)
    still_failing: list[CaseDelta] = field(default_factory=list)
    unstable: list[CaseDelta] = field(default_factory=list)
    score_down: list[CaseDelta] = field(default_factory=list)
    score_up: list[CaseDelta] = field(default_factory=list)
    errors: list[CaseDelta] = field(default_factory=list)
    new_cases: list[CaseDelta] = field(default_factory=list)
    removed_cases: list[CaseDelta] = field(default_factory=list)
    unchanged: int = 0

    BUCKETS = ("newly_failing", "score_down", "unstable", "errors", "still_failing", "newly_passing", "score_up",
               "new_cases", "removed_cases")

    @property
    def regressions(self) -> list[CaseDelta]:
        return [*self.newly_failing, *self.score_down]

    @property
    def ok(self) -> bool:
        return not self.newly_failing

    def counts(self) -> dict[str, int]:
        return {**{b: len(getattr(self, b)) for b in self.BUCKETS}, "unchanged": self.unchanged}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"tolerance": self.tolerance, "ok": self.ok, "counts": self.counts()}
        for b in self.BUCKETS:
            data[b] = [{**asdict(c), "score_delta": c.score_delta} for c in getattr(self, b)]
        return data


def _decided(c: CaseResult) -> list[Outcome]:
    return [s.outcome for s in c.samples if s.outcome is not Outcome.ERROR]


def _stably(c: CaseResult, outcome: Outcome) -> bool:
    """Every decided sample of ``c`` has ``outcome`` (results without samples: the
    case's own pass count says)."""
    decided = _decided(c)
    if decided:
        return all(o is outcome for o in decided)
    if outcome is Outcome.PASS:
        return c.outcome is Outcome.PASS and c.passes >= c.repeat
    return c.outcome is Outcome.FAIL and c.passes == 0


def _delta(before: CaseResult | None, after: CaseResult | None) -> CaseDelta:
    ref = after or before
    assert ref is not None
    return CaseDelta(
        id=ref.id, prompt=ref.prompt, case=ref.case, model=ref.model,
        before=before.outcome.value if before else None, after=after.outcome.value if after else None,
        passes_before=f"{before.passes}/{before.repeat}" if before else None,
        passes_after=f"{after.passes}/{after.repeat}" if after else None,
        score_before=before.score if before else None, score_after=after.score if after else None,
        reason=after.first_failure() if after is not None else "")


def results_delta(base: RunResults, head: RunResults, *, tolerance: float = DEFAULT_TOLERANCE) -> ResultsDelta:
    """Compare the head run with the base run, case by case (matched by id)."""
    out = ResultsDelta(tolerance=tolerance)
    old, new = base.by_id(), head.by_id()
    for cid in sorted(new):
        after = new[cid]
        before = old.get(cid)
        d = _delta(before, after)
        if before is None:
            out.new_cases.append(d)
        elif Outcome.ERROR in (before.outcome, after.outcome):
            out.errors.append(d)
        elif before.outcome is not after.outcome:
            stable = _stably(before, before.outcome) and _stably(after, after.outcome)
            if not stable:
                out.unstable.append(d)
            elif after.outcome is Outcome.FAIL:
                out.newly_failing.append(d)
            else:
                out.newly_passing.append(d)
        elif after.outcome is Outcome.FAIL:
            out.still_failing.append(d)
        elif after.score < before.score - tolerance - 1e-9:
            out.score_down.append(d)
        elif after.score > before.score + tolerance + 1e-9:
            out.score_up.append(d)
        else:
            out.unchanged += 1
    for cid in sorted(old):
        if cid not in new:
            out.removed_cases.append(_delta(old[cid], None))
    return out
