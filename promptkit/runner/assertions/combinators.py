"""``assert-set``: a group of assertions scored as one.

A case's verdict weighs each assertion; a group lets a suite say "these three style
checks together are worth one point, and pass when two thirds of them do" without
weakening the case's other checks::

    - type: assert-set
      threshold: 0.66        # optional: pass on the group's weighted score
      weight: 2              # the group's weight in the case
      assert:
        - contains: invoice
        - not-icontains: sorry
        - type: length
          max: 400

The group's score is the weighted mean of its members' scores (members with weight 0 are
reported in the reason but not counted). Without ``threshold`` it passes when every
counted member passes; with it, when the score reaches it. A member that cannot be
evaluated makes the group an ERROR. Members may have their own ``transform``; the case's
applies to them too.
"""

from __future__ import annotations

from pydantic import Field

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.results import ModelResponse, Usage


class AssertSetOptions(Options):
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


@assertion("assert-set", AssertSetOptions)
async def assert_set(output: str, o: AssertSetOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """A group of assertions with its own threshold and weight (score: their weighted mean)."""
    raise AssertionError("assert-set is evaluated by evaluate_one")  # pragma: no cover - see run_set


async def run_set(spec, response: ModelResponse, ctx: AssertionContext) -> Check:  # type: ignore[no-untyped-def]
    """Evaluate the members of an assert-set ``spec`` on the (untransformed) response."""
    from promptkit.runner.assertions import evaluate_one

    o: AssertSetOptions = spec.options
    results = [await evaluate_one(child, response, ctx, index=i) for i, child in enumerate(spec.children)]
    usage = Usage()
    for r in results:
        usage = usage + r.usage
    broken = [r for r in results if r.error]
    if broken:
        return Check.failed_to_run(f"assert-set: {broken[0].type}: {broken[0].reason}", usage)
    counted = [r for r in results if r.weight > 0]
    total = sum(r.weight for r in counted)
    score = sum(r.score * r.weight for r in counted) / total if total else 1.0
    failed = [r for r in counted if not r.passed]
    passed = score >= o.threshold - 1e-9 if o.threshold is not None else not failed
    summary = f"{len(counted) - len(failed)} of {len(counted)} passed, score {score:.2f}"
    if o.threshold is not None:
        summary += f" {'>=' if passed else '<'} threshold {o.threshold:g}"
    if failed:
        summary += "; failed: " + "; ".join(f"{r.type}: {r.reason}" for r in failed[:3])
    return Check(passed, score, f"assert-set: {summary}", usage=usage)
