"""Running a case on its perturbed variants, and scoring it per operator.

The flow is the runner's own: a variant is an in-memory template (``CaseJob.template``)
and/or changed inputs, run as an ordinary case -- same assertions, plus, for injection
variants, "the output does not contain the payload's canary". Recordings are keyed by the
rendered messages, so each variant is recorded once and replays after; nothing is written
to the prompt file.

Two steps, so the number of calls is known before any is made: :func:`plan` makes every
variant of every case (cheap, no model), :func:`run_plans` runs them in one batch and
:func:`score` turns the results into :class:`~promptkit.runner.results.RobustnessResult`
rows (pass rate, PDR, spread, sensitivity, attack success with pass@k, the worst variant
as a diff).

:func:`robustness` is the small API for other tools (the optimizer's third stage):
"run the perturbation suite for this template and return per-operator pass rates".
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptkit.perturb.operator import Context, Operator, PerturbError, resolve
from promptkit.perturb.variant import Variant, generate, mutations_for

if TYPE_CHECKING:
    from promptkit.runner.engine import CaseJob, Runner
    from promptkit.runner.results import CaseResult, RobustnessResult
    from promptkit.runner.suite import PerturbSpec, Suite
    from promptkit.template.model import PromptTemplate

__all__ = ["CasePlan", "announce", "plan", "robustness", "run_perturbations", "run_plans", "score", "template_of", "variant_job"]


@dataclass
class CasePlan:
    """The variants of one case run, per operator, ready to run."""

    job: CaseJob
    spec: PerturbSpec
    operators: list[Operator]
    variants: dict[str, list[Variant]] = field(default_factory=dict)
    jobs: dict[str, list[CaseJob]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # operator -> why it made no variant

    @property
    def calls(self) -> int:
        """Model requests the variants need (samples: ``repeat`` each)."""
        return sum(len(v) for v in self.jobs.values()) * self.job.case_run.case.repeat


def _label_words(job: CaseJob) -> set[str]:
    """Expected values of the case's assertions: label words no operator may change."""
    out: set[str] = set()
    for spec in job.case_run.assertions:
        value = getattr(spec.options, "value", None)
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str) and 0 < len(v) <= 60 and "{" not in v:
                out.add(v)
    return out


def template_of(job: CaseJob) -> PromptTemplate:
    if job.template is not None:
        return job.template
    if job.case_run.template is not None:
        return job.case_run.template
    from promptkit.template import load

    return load(job.case_run.template_path)


def variant_job(job: CaseJob, v: Variant) -> CaseJob:
    from promptkit.runner.assertions.registry import build_spec
    from promptkit.runner.engine import CaseJob

    cr = job.case_run
    assertions = list(cr.assertions) + [build_spec({"type": "not-icontains", "value": c}) for c in v.canaries]
    new = cr.model_copy(update={"vars": dict(v.vars), "assertions": assertions})
    changed_template = v.template.text != v.original.text
    return CaseJob(case_run=new, suite_path=job.suite_path, store=job.store, base_dir=job.base_dir,
                   template=v.template if changed_template else job.template)


def plan(job: CaseJob, spec: PerturbSpec, *, llm: Callable[..., str] | None = None, config: Any = None) -> CasePlan:
    """Every variant of ``job`` that ``spec`` asks for. Raises :class:`PerturbError` for an
    operator named alone that has nothing it may change (a family skips such operators).
    ``paraphrase`` asks ``spec.model`` through the runner (``config``: the run's mode and
    endpoint), recorded beside the suite, unless ``llm`` is given."""
    from promptkit.perturb.payloads import load_payloads

    ops = resolve(spec.operators)
    if llm is None and spec.model and any(o.needs_llm for o in ops):
        from promptkit.perturb.llm import recorded_llm

        llm = recorded_llm(job.suite_path, spec.model, config=config)
    cp = CasePlan(job, spec, ops)
    template = template_of(job)
    payloads = load_payloads(spec.payloads_path).payloads if spec.payloads_path else None
    families = {"noise", "format", "order", "content", "inputs"}
    explicit = {o.name for o in resolve([n for n in spec.operators if n not in families])}
    for op in ops:
        if op.needs_llm and llm is None:
            cp.skipped[op.name] = "needs a model (perturb: {model: ...})"
            continue
        ctx = Context(template, dict(job.case_run.vars),
                      components=tuple(spec.components) if spec.components else None,
                      messages=tuple(spec.messages) if spec.messages else None,
                      protect=frozenset(spec.protect) | frozenset(_label_words(job)),
                      params=dict(spec.params.get(op.name, {})), payloads=payloads, llm=llm)
        try:
            muts = mutations_for(op, ctx, spec.seed)
        except PerturbError as exc:
            if op.name in explicit:
                raise
            cp.skipped[op.name] = str(exc)
            continue
        vs = generate(template, op, n=spec.n, seed=spec.seed, edits=spec.edits, ctx=ctx, mutations=muts)
        cp.variants[op.name] = vs
        cp.jobs[op.name] = [variant_job(job, v) for v in vs]
    return cp


def run_plans(plans: Sequence[CasePlan], runner: Runner,
              originals: Mapping[str, CaseResult] | None = None) -> list[RobustnessResult]:
    """Run every variant of ``plans`` (and each original case not in ``originals``) in one
    batch, then score them."""
    originals = dict(originals or {})
    todo: list[CaseJob] = []
    index: list[tuple[int, str | None]] = []
    for i, p in enumerate(plans):
        if p.job.result_id not in originals:
            todo.append(p.job)
            index.append((i, None))
        for op, jobs in p.jobs.items():
            for j in jobs:
                todo.append(j)
                index.append((i, op))
    results = runner.run(todo) if todo else []
    per_plan: list[dict[str, list[CaseResult]]] = [{} for _ in plans]
    for (i, op), r in zip(index, results):
        if op is None:
            originals[plans[i].job.result_id] = r
        else:
            per_plan[i].setdefault(op, []).append(r)
    out: list[RobustnessResult] = []
    for i, p in enumerate(plans):
        out.extend(score(p, originals[p.job.result_id], per_plan[i]))
    return out


def score(p: CasePlan, original: CaseResult, results: Mapping[str, Sequence[CaseResult]]) -> list[RobustnessResult]:
    """Per-operator figures of one case plan (see :mod:`promptkit.perturb.scores`)."""
    from promptkit.perturb import scores
    from promptkit.runner.report import failure_text
    from promptkit.runner.results import Outcome, RobustnessResult, VariantOutcome

    out: list[RobustnessResult] = []
    first_output = next((s.output for s in original.samples if s.output is not None), None)
    for op in p.operators:
        if op.name not in p.variants:
            continue
        variants = p.variants[op.name]
        rs = list(results.get(op.name, []))
        counted = [(v, r) for v, r in zip(variants, rs) if r.outcome is not Outcome.ERROR]
        rate = scores.pass_rate([r.outcome.value for r in rs])
        rows: list[VariantOutcome] = []
        followed_all: list[list[bool]] = []
        for v, r in zip(variants, rs):
            followed = [any(c.lower() in (s.output or "").lower() for c in v.canaries) for s in r.samples
                        if s.output is not None] if v.canaries else []
            if v.canaries:
                followed_all.append(followed)
            rows.append(VariantOutcome(key=v.key, edits=v.labels(), outcome=r.outcome, score=r.score, followed=followed))
        worst = min(counted, key=lambda vr: (vr[1].outcome is Outcome.PASS, vr[1].score), default=None)
        base_score = original.score if original.outcome is not Outcome.ERROR else None
        perturbed_scores = [r.score for _, r in counted]
        asr, asr_k = scores.attack_success(followed_all, p.job.case_run.case.repeat) if op.name == "injection" else (None, None)
        outcome = Outcome.PASS
        if rate is None:
            outcome = Outcome.ERROR
        elif p.spec.min_pass_rate is not None and rate < p.spec.min_pass_rate:
            outcome = Outcome.FAIL
        outputs = [next((s.output for s in r.samples if s.output is not None), None) for _, r in counted]
        row = RobustnessResult(
            id=f"{p.job.result_id}~{op.name}", suite=p.job.suite_path, case=p.job.case_id, model=p.job.model_label,
            prompt=original.prompt, operator=op.name, family=op.family, seed=str(p.spec.seed), variants=len(variants),
            passed=sum(r.outcome is Outcome.PASS for r in rs), errored=sum(r.outcome is Outcome.ERROR for r in rs),
            pass_rate=rate, original_outcome=original.outcome, original_score=base_score,
            pdr=scores.pdr(base_score, perturbed_scores) if base_score is not None else None,
            spread=scores.spread(([base_score] if base_score is not None else []) + perturbed_scores),
            sensitivity=scores.sensitivity(first_output, outputs),
            attack_success_rate=asr, attack_success_at_k=asr_k, k=p.job.case_run.case.repeat,
            min_pass_rate=p.spec.min_pass_rate, outcome=outcome,
            calls=len(variants) * p.job.case_run.case.repeat, results=rows,
        )
        if worst is not None and worst[1].outcome is not Outcome.PASS:
            v, r = worst
            row.worst_key, row.worst_diff = v.key, v.diff()
            row.worst_output = next((s.output for s in r.samples if s.output is not None), None)
            row.worst_reason = failure_text(r)
        out.append(row)
    return out


def announce(plans: Sequence[CasePlan]) -> str:
    """The line stated before any call: how many model requests the variants need."""
    calls = sum(p.calls for p in plans)
    variants = sum(len(v) for p in plans for v in p.variants.values())
    ops = sorted({o for p in plans for o in p.variants})
    return (f"promptkit perturb: {len(plans)} case run(s) x {len(ops)} operator(s) = {variants} variant(s), "
            f"{calls} model request(s) (replayed from recordings where recorded)")


def run_perturbations(suite: Suite, *, runner: Runner | None = None, config: Any = None,
                      case_ids: Collection[str] | None = None, spec: PerturbSpec | None = None,
                      template: PromptTemplate | None = None,
                      say: Callable[[str], None] | None = print) -> list[RobustnessResult]:
    """Run the perturbations of ``suite``'s cases (each case's ``perturb:``, or ``spec`` for
    all of them), optionally against an in-memory ``template`` standing in for its prompt.
    States the number of requests through ``say`` before making any."""
    from promptkit.runner.engine import Runner, jobs_for_suite

    own = runner is None
    run_with = runner if runner is not None else Runner(config)
    try:
        jobs = jobs_for_suite(suite, model_override=run_with.config.model, template=template)
        if case_ids is not None:
            jobs = [j for j in jobs if j.case_id in set(case_ids)]
        plans = [plan(j, spec or j.case_run.case.perturb, config=run_with.config)
                 for j in jobs if (spec or j.case_run.case.perturb)]
        if say is not None:
            say(announce(plans))
        return run_plans(plans, run_with)
    finally:
        if own:
            run_with.close()


def robustness(template: PromptTemplate, suite: Suite, *, operators: Sequence[str] = ("noise", "format"),
               n: int = 5, seed: int | str = 0, runner: Runner | None = None, config: Any = None,
               case_ids: Collection[str] | None = None) -> dict[str, float | None]:
    """Per-operator pass rates of ``template`` (a variant of one of ``suite``'s prompts, or
    the prompt itself) over ``suite``'s cases: the mean over cases of each operator's pass
    rate. For tools that compare templates (the optimizer's "no less robust" gate)."""
    from promptkit.runner.suite import PerturbSpec

    spec = PerturbSpec(operators=list(operators), n=n, seed=seed)
    rows = run_perturbations(suite, runner=runner, config=config, case_ids=case_ids, spec=spec, template=template,
                             say=None)
    by_op: dict[str, list[float]] = {}
    for r in rows:
        if r.pass_rate is not None:
            by_op.setdefault(r.operator, []).append(r.pass_rate)
    names = [o.name for o in resolve(operators)]
    return {op: (sum(by_op[op]) / len(by_op[op]) if by_op.get(op) else None) for op in names}
