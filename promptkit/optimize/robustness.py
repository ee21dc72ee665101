"""The third evaluation stage: a candidate must be no less robust than the original.

When the suite has perturbation specs (``perturb:`` on its cases, see docs/robustness.md),
every candidate that survived the first two stages is run under the same perturbations
(same operators, same seeds) as the original, through the perturbation package's public
``promptkit.perturb.run.run_perturbations(suite, runner=..., template=...)``; a candidate
whose pass rate drops for any case x operator is rejected, naming it.

The perturbation package is built alongside the optimizer: when it (or that function) is
not installed, or no case has ``perturb:``, :func:`gate_for` returns None and the search
runs two stages only -- said once in the progress output, never silently.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptkit.optimize.budget import Meter
    from promptkit.runner import Runner, Suite
    from promptkit.template import PromptTemplate

#: A drop in pass rate smaller than this is noise, not a regression.
TOLERANCE = 1e-9


def _runner_fn() -> Callable[..., Any] | None:
    try:
        from promptkit.perturb.run import run_perturbations  # type: ignore[import-not-found]
    except ImportError:
        return None
    return run_perturbations  # type: ignore[no-any-return]


def has_perturbations(suite: Suite) -> bool:
    return any(getattr(c, "perturb", None) for c in suite.cases)


def failures(results: Any, prompt: str) -> list[dict[str, Any]]:
    """The failing robustness rows of a results file for ``prompt``, as evidence for the
    critique and proposer: the case, the operator and its family and seed, the pass rate
    and the worst variant's diff and reason (``RunResults.robustness``)."""
    out: list[dict[str, Any]] = []
    for r in getattr(results, "robustness", None) or []:
        if getattr(r, "outcome", None) is None or str(getattr(r.outcome, "value", r.outcome)) != "fail":
            continue
        if prompt and Path(str(r.prompt)).name != Path(prompt).name:
            continue
        out.append({"case": r.case, "perturbation": {"operator": r.operator, "family": r.family, "seed": r.seed},
                    "pass_rate": r.pass_rate, "min_pass_rate": r.min_pass_rate,
                    "worst_variant_diff": (r.worst_diff or "")[:1200], "worst_reason": r.worst_reason})
    return out


def gate_for(suite: Suite, original: PromptTemplate, runner: Runner, meter: Meter, *,
             run: Callable[..., Any] | None = None,
             say: Callable[[str], None] = lambda _m: None) -> Callable[[PromptTemplate], tuple[bool, str]] | None:
    """The "no less robust" gate for ``suite``, or None when there is nothing to check.
    ``run`` replaces ``run_perturbations`` (tests)."""
    if not has_perturbations(suite):
        return None
    run = run or _runner_fn()
    if run is None:
        say("perturbation stage skipped: promptkit.perturb.run is not available in this installation")
        return None
    baseline: dict[str, float] = {}

    def rates(template: PromptTemplate) -> dict[str, float]:
        rows = run(suite, runner=runner, template=template, say=None)
        out: dict[str, float] = {}
        calls = 0
        for r in rows:
            calls += int(getattr(r, "calls", 0) or getattr(r, "variants", 0) or 0)
            rate = getattr(r, "pass_rate", None)
            if rate is not None:
                out[f"{getattr(r, 'case', '?')}~{getattr(r, 'operator', '?')}"] = float(rate)
        meter.spent.add(calls=calls, live=0, tokens=0, cost_usd=0.0)
        return out

    def gate(candidate: PromptTemplate) -> tuple[bool, str]:
        if not baseline:
            baseline.update(rates(original) or {"": 1.0})
        now = rates(candidate)
        worse = [(k, baseline[k], now[k]) for k in now if k in baseline and now[k] < baseline[k] - TOLERANCE]
        if worse:
            k, a, b = worse[0]
            more = f" (and {len(worse) - 1} more)" if len(worse) > 1 else ""
            return False, f"less robust: {k} pass rate {a:.0%} -> {b:.0%}{more}"
        return True, "no less robust under the suite's perturbations"

    return gate
