"""Robustness in the search: failing perturbation rows as evidence and targets, and the
"no less robust" gate every candidate passes.

When the suite has perturbation specs (``perturb:`` on its cases, see docs/robustness.md),
the original and every candidate that survived the first stages are run under the same
perturbations (same operators, seeds and parameters) through the perturbation package's
public ``promptkit.perturb.run.run_perturbations(suite, runner=..., template=...)``. A row
is one case x operator; it *fails* when its pass rate is below the case's
``min_pass_rate``. Two uses:

* the **gate** (:meth:`RobustnessGate.__call__`): a candidate whose pass rate drops for
  any row is rejected, naming it -- the third stage of every search;
* the **targets** (:meth:`RobustnessGate.compare`): when the original's failing rows are
  what is wrong (a suite whose cases pass but whose injection row fails), the search works
  on them -- a candidate must raise a failing row (to its ``min_pass_rate``, or at least
  strictly) and drop none -- and the evidence per row (:func:`row_evidence`) names the
  operator, its parameters and the worst variant.

When the perturbation package (or that function) is not installed, or no case has
``perturb:``, :func:`gate_for` returns None and the search runs two stages only -- said
once in the progress output, never silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


def row_key(row: Any) -> str:
    """``case~operator``: how a row is named in verdicts and messages."""
    return f"{getattr(row, 'case', '?')}~{getattr(row, 'operator', '?')}"


def _failed(row: Any) -> bool:
    outcome = getattr(row, "outcome", None)
    return outcome is not None and str(getattr(outcome, "value", outcome)) == "fail"


_VAR_DIFF = re.compile(r"^--- a/vars\.([\w\-]+)$", re.MULTILINE)
_VAR_EDIT = re.compile(r"^\w[\w\-]*: ([\w\-]+) ")


def perturbed_inputs(row: Any) -> list[str]:
    """The inputs an input operator changed in a row's variants (from the worst variant's
    diff, ``--- a/vars.NAME``, and the edits' ``operator: NAME ...`` descriptions)."""
    names: list[str] = _VAR_DIFF.findall(getattr(row, "worst_diff", None) or "")
    for variant in getattr(row, "results", None) or []:
        for edit in getattr(variant, "edits", None) or []:
            m = _VAR_EDIT.match(str(edit))
            if m and str(edit).startswith(str(getattr(row, "operator", ""))):
                names.append(m.group(1))
    return list(dict.fromkeys(names))


def _spec_of(suite: Suite | None, case: str) -> Any:
    if suite is None:
        return None
    return next((c.perturb for c in suite.cases if getattr(c, "id", None) == case and getattr(c, "perturb", None)), None)


def row_evidence(row: Any, suite: Suite | None = None) -> dict[str, Any]:
    """One failing row as evidence for the repairs, the critique and the proposer: the case,
    the operator with its family, seed and parameters (``n``, ``edits``, the operator's own
    ``params``, the payload list), the inputs it perturbed, the pass rate against its
    minimum, and the worst variant's diff, output and reason."""
    spec = _spec_of(suite, str(getattr(row, "case", "")))
    op = str(getattr(row, "operator", "?"))
    params: dict[str, Any] = {"seed": getattr(row, "seed", None)}
    if spec is not None:
        params.update({"n": spec.n, "edits": spec.edits})
        if spec.params.get(op):
            params["params"] = dict(spec.params[op])
        if spec.payloads:
            params["payloads"] = spec.payloads
    return {"case": row.case,
            "perturbation": {"operator": op, "family": getattr(row, "family", None), **params,
                             "inputs": perturbed_inputs(row)},
            "pass_rate": row.pass_rate, "min_pass_rate": row.min_pass_rate,
            "attack_success_rate": getattr(row, "attack_success_rate", None),
            "worst_variant_diff": (getattr(row, "worst_diff", None) or "")[:1200],
            "worst_output": (getattr(row, "worst_output", None) or "")[:600] or None,
            "worst_reason": getattr(row, "worst_reason", None)}


def failures(results: Any, prompt: str, suite: Suite | None = None) -> list[dict[str, Any]]:
    """The failing robustness rows of a results file for ``prompt``, as evidence
    (:func:`row_evidence`; ``RunResults.robustness``)."""
    out: list[dict[str, Any]] = []
    for r in getattr(results, "robustness", None) or []:
        if not _failed(r):
            continue
        if prompt and Path(str(r.prompt)).name != Path(prompt).name:
            continue
        out.append(row_evidence(r, suite))
    return out


@dataclass
class Comparison:
    """A candidate's rows against the original's: the failing rows it makes pass, those
    still failing, the rows whose pass rate rose, and those whose pass rate dropped
    (``key``, before, after)."""

    fixed: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)
    improved: list[str] = field(default_factory=list)
    worse: list[tuple[str, float, float]] = field(default_factory=list)
    before: float = 0.0  # summed pass rate of the target rows
    after: float = 0.0

    def less_robust(self) -> str:
        k, a, b = self.worse[0]
        more = f" (and {len(self.worse) - 1} more)" if len(self.worse) > 1 else ""
        return f"less robust: {k} pass rate {a:.0%} -> {b:.0%}{more}"


class RobustnessGate:
    """The suite's perturbation rows for the original and for candidates (cached by text);
    called with a candidate it answers the "no less robust" gate: ``(ok, why)``."""

    def __init__(self, suite: Suite, original: PromptTemplate, runner: Runner, meter: Meter,
                 run: Callable[..., Any]) -> None:
        self.suite = suite
        self.original = original
        self.runner = runner
        self.meter = meter
        self.run = run
        self._rows: dict[str, dict[str, Any]] = {}

    def rows(self, template: PromptTemplate) -> dict[str, Any]:
        """``case~operator`` -> row for ``template`` (run once per text; calls metered)."""
        if template.text not in self._rows:
            if self._rows:  # priced like the original's run before it runs
                from promptkit.optimize.evaluate import BudgetExhausted

                cost = self.cost(template)
                if not self.meter.allows(cost):
                    raise BudgetExhausted(f"{cost} more model calls for the perturbations would exceed the budget "
                                          f"({self.meter.budget.describe()})")
            rows = self.run(self.suite, runner=self.runner, template=template, say=None)
            calls = 0
            out: dict[str, Any] = {}
            for r in rows:
                calls += int(getattr(r, "calls", 0) or getattr(r, "variants", 0) or 0)
                if getattr(r, "pass_rate", None) is not None:
                    out[row_key(r)] = r
            self.meter.spent.add(calls=calls, live=0, tokens=0, cost_usd=0.0)
            self._rows[template.text] = out
        return self._rows[template.text]

    def cost(self, template: PromptTemplate) -> int:
        """Model calls a run for ``template`` would make (0 when already run)."""
        if template.text in self._rows:
            return 0
        return sum(int(getattr(r, "calls", 0) or 0) for r in self.rows(self.original).values())

    def failing(self) -> list[Any]:
        """The original's failing rows (pass rate below ``min_pass_rate``)."""
        return [r for r in self.rows(self.original).values() if _failed(r)]

    def compare(self, candidate: PromptTemplate, targets: Sequence[str] = ()) -> Comparison:
        base = self.rows(self.original)
        now = self.rows(candidate)
        c = Comparison()
        for k, r in now.items():
            if k not in base:
                continue
            a, b = float(base[k].pass_rate), float(r.pass_rate)
            if b < a - TOLERANCE:
                c.worse.append((k, a, b))
            elif b > a + TOLERANCE:
                c.improved.append(k)
        for k in targets:
            if k not in now or k not in base:
                continue
            c.before += float(base[k].pass_rate)
            c.after += float(now[k].pass_rate)
            (c.still_failing if _failed(now[k]) else c.fixed).append(k)
        return c

    def __call__(self, candidate: PromptTemplate) -> tuple[bool, str]:
        c = self.compare(candidate)
        if c.worse:
            return False, c.less_robust()
        return True, "no less robust under the suite's perturbations"


def gate_for(suite: Suite, original: PromptTemplate, runner: Runner, meter: Meter, *,
             run: Callable[..., Any] | None = None,
             say: Callable[[str], None] = lambda _m: None) -> RobustnessGate | None:
    """The robustness gate for ``suite``, or None when there is nothing to check.
    ``run`` replaces ``run_perturbations`` (tests)."""
    if not has_perturbations(suite):
        return None
    run = run or _runner_fn()
    if run is None:
        say("perturbation stage skipped: promptkit.perturb.run is not available in this installation")
        return None
    return RobustnessGate(suite, original, runner, meter, run)
