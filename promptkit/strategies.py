"""Hypothesis strategies over perturbations: property tests that find the one edit that
breaks a prompt.

::

    from hypothesis import given, settings
    from promptkit.strategies import VariantRunner, variants

    run = VariantRunner(load_suite("tests/triage.prompttest.yaml"), case="refund")

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(variants(run.template, operators=["noise", "format"], max_ops=5))
    def test_triage_survives_noise(v):
        assert run(v).outcome.value == "pass", v.diff()

* :func:`variants` draws a :class:`~promptkit.perturb.Variant` of a template: a list of
  atomic mutations (:class:`~promptkit.perturb.Mutation`) taken from the operators' pools
  by index. Hypothesis shrinks lists by dropping elements and indices toward 0, so a
  failing property reports the *fewest* mutations that still fail -- typically exactly
  the one edit that breaks the prompt -- and ``v.diff()`` shows it as a patch.
* :func:`perturbed_inputs` does the same for a case's inputs (typos, confusables,
  invisible characters, truncation, injections): the template stays as it is.
* Both compose with a user's own strategies (``st.tuples``, ``flatmap``...).
* :class:`VariantRunner` runs one case on a variant and remembers the result by the
  rendered prompt (the recording key): shrinking replays a variant it has seen without a
  second model call, and -- the result being the same every time -- Hypothesis never sees
  a flaky failure. Its recorder (``auto`` mode by default) also records each new variant,
  so the next run replays them all from ``__recordings__``.

The operators behind these strategies are :mod:`promptkit.perturb`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from promptkit.perturb.operator import Mutation
    from promptkit.perturb.variant import Variant
    from promptkit.runner.engine import CaseJob, Runner
    from promptkit.runner.results import CaseResult
    from promptkit.runner.suite import Suite
    from promptkit.template.model import PromptTemplate

__all__ = ["VariantRunner", "mutation_pool", "perturbed_inputs", "variants"]


def mutation_pool(template: PromptTemplate, operators: Iterable[str], *, vars: Mapping[str, Any] | None = None,
                  seed: int | str = 0, components: Sequence[str] | None = None, messages: Sequence[str | int] | None = None,
                  protect: Iterable[str] = (), params: Mapping[str, Mapping[str, Any]] | None = None,
                  payloads: Any = None, target: str | None = None) -> list[Mutation]:
    """Every mutation the ``operators`` (names, aliases or families) propose for
    ``template`` and ``vars``, in operator order: the pool the strategies draw from.
    Operators that have nothing to change are left out; none at all is a
    :class:`~promptkit.perturb.PerturbError` (the first operator's reason)."""
    from promptkit.perturb.operator import Context, PerturbError, resolve
    from promptkit.perturb.variant import mutations_for

    pool: list[Mutation] = []
    first: PerturbError | None = None
    for op in resolve(operators):
        if target is not None and op.target != target:
            continue
        ctx = Context(template, dict(vars or {}), components=tuple(components) if components else None,
                      messages=tuple(messages) if messages else None, protect=frozenset(protect),
                      params=dict((params or {}).get(op.name, {})), payloads=payloads)
        try:
            pool.extend(mutations_for(op, ctx, seed))
        except PerturbError as exc:
            first = first or exc
    if not pool:
        raise first or PerturbError("no operator selected")
    return pool


def _strategy(template: PromptTemplate, pool: Sequence[Mutation], vars: Mapping[str, Any] | None,
              min_ops: int, max_ops: int) -> SearchStrategy[Variant]:
    from hypothesis import strategies as st

    from promptkit.perturb.variant import apply

    if not pool:
        raise ValueError("an empty mutation pool")
    top = min(max_ops, len(pool))
    base = dict(vars or {})

    def build(indices: list[int]) -> Variant:
        chosen = sorted(set(indices))  # a repeated index is one mutation: lists shrink freely (no unique filter)
        return apply(template, [pool[i] for i in chosen], base, operator="+".join(sorted({pool[i].operator for i in chosen})))

    picks = st.lists(st.integers(0, len(pool) - 1), min_size=min(min_ops, top), max_size=top)
    return picks.map(build)


def variants(template: PromptTemplate, operators: Iterable[str] = ("noise", "format", "order", "content"), *,
             max_ops: int = 4, min_ops: int = 1, vars: Mapping[str, Any] | None = None, seed: int | str = 0,
             components: Sequence[str] | None = None, messages: Sequence[str | int] | None = None,
             protect: Iterable[str] = (), params: Mapping[str, Mapping[str, Any]] | None = None,
             mutations: Sequence[Mutation] | None = None) -> SearchStrategy[Variant]:
    """Variants of ``template`` made of ``min_ops``..``max_ops`` mutations of the
    ``operators``' template edits (or of an explicit ``mutations`` pool). Shrinks toward
    fewer mutations and earlier ones in the pool."""
    pool = list(mutations) if mutations is not None else mutation_pool(
        template, operators, vars=vars, seed=seed, components=components, messages=messages, protect=protect,
        params=params, target="template")
    return _strategy(template, pool, vars, min_ops, max_ops)


def perturbed_inputs(template: PromptTemplate, vars: Mapping[str, Any], operators: Iterable[str] = ("inputs",), *,
                     max_ops: int = 3, min_ops: int = 1, seed: int | str = 0,
                     params: Mapping[str, Mapping[str, Any]] | None = None, payloads: Any = None,
                     mutations: Sequence[Mutation] | None = None) -> SearchStrategy[Variant]:
    """Variants of a case's ``vars`` (the template stays) made of ``min_ops``..``max_ops``
    input mutations: typos, confusables, invisible characters, truncation, injection
    payloads. ``Variant.vars`` is what to render with; ``Variant.canaries`` what the
    output must not contain."""
    pool = list(mutations) if mutations is not None else mutation_pool(
        template, operators, vars=vars, seed=seed, params=params, payloads=payloads, target="inputs")
    return _strategy(template, pool, vars, min_ops, max_ops)


class VariantRunner:
    """Runs one case of a suite on variants, once per distinct rendered prompt.

    ``VariantRunner(suite, case="refund")`` (the only case when there is one);
    ``run(variant)`` returns the :class:`~promptkit.runner.results.CaseResult`. Results
    are remembered by the recording key of the rendered request, so a variant Hypothesis
    replays while shrinking costs no call and gives the same answer (no ``Flaky``);
    ``calls`` counts the distinct requests made, ``hits`` the answers served from memory.
    """

    def __init__(self, suite: Suite, case: str | None = None, *, runner: Runner | None = None,
                 config: Any = None, model: str | None = None) -> None:
        from promptkit.runner.engine import Runner, jobs_for_suite

        self._own = runner is None
        self.runner = runner if runner is not None else Runner(config)
        jobs = jobs_for_suite(suite, model_override=model or self.runner.config.model)
        if case is not None:
            jobs = [j for j in jobs if j.case_id == case]
        if not jobs:
            raise ValueError(f"no case {case!r} in {suite.name}")
        if len(jobs) > 1 and case is None:
            raise ValueError(f"{suite.name} has {len(jobs)} case runs: name one with case=...")
        self.job: CaseJob = jobs[0]
        from promptkit.perturb.run import template_of

        self.template: PromptTemplate = template_of(self.job)
        self.vars: dict[str, Any] = dict(self.job.case_run.vars)
        self._memo: dict[str, CaseResult] = {}
        self.calls = 0
        self.hits = 0

    def key(self, variant: Variant) -> str:
        """The recording key of the variant's rendered request (what shrinking replays by)."""
        from promptkit.runner.recordings import recording_key
        from promptkit.template import render

        messages = [m.to_dict() for m in render(variant.template, dict(variant.vars))]
        canaries = "\x1f".join(variant.canaries)
        return recording_key(self.job.case_run.model.id, messages, dict(self.job.case_run.params)) + canaries

    def __call__(self, variant: Variant) -> CaseResult:
        from promptkit.perturb.run import variant_job

        k = self.key(variant)
        found = self._memo.get(k)
        if found is not None:
            self.hits += 1
            return found
        [result] = self.runner.run([variant_job(self.job, variant)])
        self.calls += 1
        self._memo[k] = result
        return result

    def close(self) -> None:
        if self._own:
            self.runner.close()

    def __enter__(self) -> VariantRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
