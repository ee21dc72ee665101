"""Staged evaluation of candidate prompts, cheap to expensive, through the runner's public API.

1. the failing cases: the candidate must strictly improve them (more of them pass, or a
   higher summed score with none passing less);
2. the rest of the suite, case by case: no case that passed may stop passing (a mean can
   hide a broken case; GRACE's update-rejection gate);
3. the perturbation suite, when there is one: no worse than the original.

When what fails is robustness only (the cases pass, a perturbation row is below its
``min_pass_rate``), the failing rows are the targets: stage 1 is the perturbation run (a
failing row must rise, none may drop), then the whole suite case by case.

A case whose rendered messages the candidate does not change is not run again: its
baseline result stands (rendering is local and free). Every batch is priced against the
:class:`~promptkit.optimize.budget.Meter` before it runs, so a search never overspends.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptkit.optimize.budget import Meter
    from promptkit.runner import CaseResult, RunResults, Runner, Suite
    from promptkit.runner.recordings import RecordingStore
    from promptkit.template import PromptTemplate


class BudgetExhausted(Exception):
    """The next step would spend more than the budget allows."""


#: A perturbation gate: (candidate template) -> (ok, why). See :mod:`promptkit.optimize.robustness`.
PerturbGate = Callable[["PromptTemplate"], tuple[bool, str]]


@dataclass
class Verdict:
    """What the staged evaluation said about one candidate."""

    stage: str  # "failing", "suite", "perturb", "accepted"
    accepted: bool
    fixed: list[str] = field(default_factory=list)  # case ids that failed before and pass now
    still_failing: list[str] = field(default_factory=list)
    regressed: list[str] = field(default_factory=list)  # case ids that passed before and do not now
    score_before: float = 0.0
    score_after: float = 0.0
    why: str = ""

    @property
    def improves(self) -> bool:
        return bool(self.fixed) or self.score_after > self.score_before + 1e-9

    @property
    def complete(self) -> bool:
        """Fixes every failing case and breaks none."""
        return self.accepted and not self.still_failing


def _calls(result: CaseResult) -> tuple[int, int, int, float]:
    answers = sum(1 for s in result.samples if s.output is not None)
    live = sum(1 for s in result.samples if s.output is not None and not s.from_recording)
    return answers, live, result.usage.total_tokens, result.usage.cost_usd


class Evaluator:
    """Runs candidates of one prompt of one suite and judges them against a baseline."""

    def __init__(self, suite: Suite, original: PromptTemplate, baseline: RunResults, runner: Runner,
                 meter: Meter, *, store: RecordingStore | None = None, perturb: PerturbGate | None = None,
                 on_batch: Callable[[str, int], None] | None = None) -> None:
        #: failing perturbation rows (``case~operator``) the search works on when no case fails
        self.robust_targets: list[str] = []
        from promptkit.runner import Outcome

        self.suite = suite
        self.original = original
        self.runner = runner
        self.meter = meter
        self.store = store
        self.perturb = perturb
        self.on_batch = on_batch
        from promptkit.runner.engine import replaced_prompt
        from promptkit.runner.suite import same_file

        target = replaced_prompt(suite, original)
        self.runs = [cr for cr in suite.expand() if same_file(cr.template_path, target)]
        self.case_ids = list(dict.fromkeys(cr.case.id for cr in self.runs))
        ours = {cr.case.id for cr in self.runs}
        self.baseline: dict[str, list[CaseResult]] = {}
        for c in baseline.cases:
            if c.case in ours:
                self.baseline.setdefault(c.case, []).append(c)
        self.failing = [cid for cid in self.case_ids if any(c.outcome is Outcome.FAIL for c in self.baseline.get(cid, []))]
        self.passing = [cid for cid in self.case_ids
                        if self.baseline.get(cid) and all(c.outcome is Outcome.PASS for c in self.baseline[cid])]
        self._renders = {cid: self._render(original, cid) for cid in self.case_ids}
        self._cache: dict[tuple[str, str], list[CaseResult]] = {}

    # ------------------------------------------------------------------ running
    def _render(self, template: PromptTemplate, case_id: str) -> Any:
        from promptkit.diagnostics import PromptkitError
        from promptkit.template import render

        out = []
        for cr in self.runs:
            if cr.case.id == case_id:
                try:
                    out.append([(m.role, m.content) for m in render(template, dict(cr.vars))])
                except PromptkitError as exc:
                    out.append(("error", exc.diagnostic.message))
        return out

    def results(self, variant: PromptTemplate, case_ids: Sequence[str], stage: str = "") -> dict[str, list[CaseResult]]:
        """Each case's results on ``variant``: the baseline's where its rendering is
        unchanged, cached per (text, case), else run (after pricing the batch)."""
        from promptkit.runner import run_cases

        out: dict[str, list[CaseResult]] = {}
        todo: list[str] = []
        for cid in case_ids:
            key = (variant.text, cid)
            if key in self._cache:
                out[cid] = self._cache[key]
            elif self._render(variant, cid) == self._renders[cid] and cid in self.baseline:
                out[cid] = self._cache[key] = self.baseline[cid]
            else:
                todo.append(cid)
        if todo:
            cost = sum(cr.case.repeat for cr in self.runs if cr.case.id in set(todo))
            if not self.meter.allows(cost):
                raise BudgetExhausted(f"{cost} more model calls would exceed the budget ({self.meter.budget.describe()})")
            if self.on_batch is not None:
                self.on_batch(stage, cost)
            res = run_cases(self.suite, template=variant, runner=self.runner, case_ids=todo, store=self.store)
            got: dict[str, list[CaseResult]] = {}
            for c in res.cases:
                got.setdefault(c.case, []).append(c)
                calls, live, tokens, cost_usd = _calls(c)
                self.meter.spent.add(calls=calls, live=live, tokens=tokens, cost_usd=cost_usd)
            for cid in todo:
                out[cid] = self._cache[(variant.text, cid)] = got.get(cid, [])
        return out

    # ------------------------------------------------------------------ judging
    def judge(self, variant: PromptTemplate, targets: Sequence[str] | None = None) -> Verdict:
        """Staged evaluation of ``variant``. ``targets``: the failing cases it should fix
        (default: every failing case of the baseline)."""
        from promptkit.runner import Outcome

        targets = list(targets if targets is not None else self.failing)
        if not targets and self.robust_targets:
            return self._judge_robustness(variant)

        def passed(rs: list[CaseResult]) -> bool:
            return bool(rs) and all(r.outcome is Outcome.PASS for r in rs)

        def score(rs: list[CaseResult]) -> float:
            return sum(r.score for r in rs)

        first = self.results(variant, targets, "failing cases")
        before = sum(score(self.baseline.get(t, [])) for t in targets)
        after = sum(score(first[t]) for t in targets)
        fixed = [t for t in targets if passed(first[t])]
        worse = [t for t in targets if score(first[t]) < score(self.baseline.get(t, [])) - 1e-9]
        v = Verdict("failing", False, fixed=fixed, still_failing=[t for t in targets if t not in fixed],
                    score_before=before, score_after=after)
        if not v.improves or worse and not fixed:
            v.why = "does not improve the failing cases" + (f" (worse on {', '.join(worse)})" if worse else "")
            return v
        rest = [c for c in self.case_ids if c not in targets]
        second = self.results(variant, rest, "whole suite")
        v.regressed = [c for c in rest if c in self.passing and not passed(second[c])]
        errors = [c for c in rest if any(r.outcome is Outcome.ERROR for r in second[c])]
        v.stage = "suite"
        if v.regressed:
            v.why = f"breaks passing case{'s' if len(v.regressed) > 1 else ''} {', '.join(v.regressed)}"
            return v
        if errors:
            v.why = f"case{'s' if len(errors) > 1 else ''} {', '.join(errors)} could not be evaluated (ERROR)"
            return v
        if self.perturb is not None:
            v.stage = "perturb"
            ok, why = self.perturb(variant)
            if not ok:
                v.why = why
                return v
        v.stage = "accepted"
        v.accepted = True
        v.why = f"fixes {len(fixed)} of {len(targets)} failing case(s), breaks none"
        return v

    def _judge_robustness(self, variant: PromptTemplate) -> Verdict:
        """Robustness targets: the failing rows must rise (to their minimum, or at least
        strictly) and no row may drop; then no passing case may break."""
        from promptkit.runner import Outcome

        gate: Any = self.perturb
        if self.on_batch is not None and gate.cost(variant):
            self.on_batch("perturbations", gate.cost(variant))
        comp = gate.compare(variant, self.robust_targets)
        v = Verdict("robustness", False, fixed=comp.fixed, still_failing=comp.still_failing,
                    score_before=comp.before, score_after=comp.after)
        if comp.worse:
            v.why = comp.less_robust()
            return v
        if not comp.fixed and comp.after <= comp.before + 1e-9:
            v.why = (f"does not make {', '.join(self.robust_targets)} more robust "
                     f"(pass rate {comp.before / max(len(self.robust_targets), 1):.0%} -> "
                     f"{comp.after / max(len(self.robust_targets), 1):.0%})")
            return v
        second = self.results(variant, self.case_ids, "whole suite")
        v.stage = "suite"
        v.regressed = [c for c in self.case_ids if c in self.passing
                       and not (second[c] and all(r.outcome is Outcome.PASS for r in second[c]))]
        if v.regressed:
            v.why = f"breaks passing case{'s' if len(v.regressed) > 1 else ''} {', '.join(v.regressed)}"
            return v
        v.stage = "accepted"
        v.accepted = True
        v.why = (f"fixes {len(comp.fixed)} of {len(self.robust_targets)} failing robustness row(s), breaks none"
                 if comp.fixed else f"raises the pass rate of {', '.join(comp.improved)}, breaks none")
        return v

    def output_of(self, variant: PromptTemplate, case_id: str) -> str | None:
        rs = self._cache.get((variant.text, case_id)) or []
        for r in rs:
            for s in r.samples:
                if s.output is not None:
                    return s.output
        return None
