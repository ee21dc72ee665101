"""Assertions: check one model output, and combine the checks into a verdict.

The runner calls exactly two functions:

* :func:`evaluate` applies a case's assertion specs to one output and returns one
  :class:`~promptkit.runner.results.AssertionResult` each. It never raises for a bad
  output or a failing judge: a check that cannot be evaluated comes back with
  ``error=True`` so the sample is ERROR, not FAIL.
* :func:`verdict` turns those results into an :class:`Outcome` and a score.

Assertion values may use the case's variables (``value: "{{ city }}"``), rendered in the
same Jinja2 sandbox as prompts. A value that is not valid Jinja (``"{{"`` alone) is taken
literally; wrap literal Jinja in ``{% raw %}...{% endraw %}``.
"""

from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any

from promptkit.runner.assertions.registry import (
    AssertionType,
    Check,
    Options,
    SpecError,
    build_spec,
    get,
    types,
)
from promptkit.runner.assertions.spec import AssertionContext, AssertionSpec, JudgeFn
from promptkit.runner.results import AssertionResult, ModelResponse, Outcome

__all__ = [
    "AssertionContext",
    "AssertionSpec",
    "AssertionType",
    "Check",
    "JudgeFn",
    "Options",
    "SpecError",
    "build_spec",
    "evaluate",
    "evaluate_one",
    "types",
    "verdict",
]


async def evaluate(
    specs: list[AssertionSpec], response: ModelResponse, ctx: AssertionContext
) -> list[AssertionResult]:
    """Apply every spec to ``response.text``; one result per spec, in order.

    Specs run one after another: deterministic checks take microseconds, and judges of
    one sample are few; concurrency across samples is the runner's job.
    """
    return [await evaluate_one(spec, response, ctx, index=i) for i, spec in enumerate(specs)]


async def evaluate_one(
    spec: AssertionSpec, response: ModelResponse, ctx: AssertionContext, *, index: int | None = None
) -> AssertionResult:
    """Apply one spec (``index``: its position in the case run's list, kept in the
    result). Exceptions inside a check become ``error=True`` results whose reason names
    the assertion and what went wrong."""
    t = get(spec.type)
    if t is None:  # a spec built by hand with a bad type
        return _result(spec, Check.failed_to_run(f"unknown assertion type '{spec.type}'"), index)
    if t.judge and ctx.judge is None:
        return _result(
            spec,
            Check.failed_to_run(f"'{spec.type}' needs a judge model, but the runner provided none"),
            index,
        )
    if spec.type == "assert-set":  # members apply their own (and the case's) transforms
        from promptkit.runner.assertions.combinators import run_set

        try:
            return _result(spec, await run_set(spec, response, ctx), index)
        except Exception as exc:  # noqa: BLE001 - never a crash
            return _result(spec, Check.failed_to_run(f"assert-set could not be evaluated: {exc}"), index)
    try:
        options = _with_vars(spec.options, ctx.vars)
    except Exception as exc:  # noqa: BLE001 - a bad {{ }} in an assertion value
        return _result(spec, Check.failed_to_run(f"cannot fill in the assertion's {{{{ }}}} variables: {exc}"), index)
    output = response.text if response.text is not None else ""
    transform = _transform_of(spec, ctx)
    if transform:
        from promptkit.runner.assertions.transform import OutputUnusable, TransformBroken

        try:
            output = await transform.apply(output, ctx)
        except OutputUnusable as exc:
            return _result(spec, Check.of(False, str(exc)), index, negatable=False)
        except TransformBroken as exc:
            return _result(spec, Check.failed_to_run(str(exc)), index)
    try:
        out = t.check(output, options, response, ctx)
        if inspect.isawaitable(out):
            out = await out
    except Exception as exc:  # noqa: BLE001 - any bug in a check is an ERROR, never a crash
        return _result(spec, Check.failed_to_run(f"'{spec.type}' could not be evaluated: {type(exc).__name__}: {exc}"),
                       index)
    return _result(spec, out, index)


def _transform_of(spec: AssertionSpec, ctx: AssertionContext) -> Any:
    """The case's transform (if any) followed by the assertion's own."""
    case_t = getattr(ctx.case, "transform", None) if ctx.case is not None else None
    if case_t and spec.transform:
        return case_t.then(spec.transform)
    return case_t or spec.transform


def _result(spec: AssertionSpec, check: Check, index: int | None = None, *, negatable: bool = True) -> AssertionResult:
    passed, score, reason = check.passed, min(1.0, max(0.0, float(check.score))), check.reason
    if spec.negate and not check.error and negatable:
        passed, score = not passed, 1.0 - score
        reason = f"negated: {reason}"
    return AssertionResult(
        index=index,
        type=spec.label,
        assertion_type=spec.type,
        passed=passed and not check.error,
        score=0.0 if check.error else score,
        reason=reason,
        weight=spec.weight,
        error=check.error,
        usage=check.usage,
        location=check.location,
        feedback=check.feedback,
        where=spec.where or None,
    )


def verdict(results: list[AssertionResult], threshold: float | None) -> tuple[Outcome, float]:
    """The outcome and score of one sample.

    * Any ``error`` result -> ``ERROR`` (the check said nothing about the prompt).
    * Score: mean of the scores weighted by ``weight``; weight-0 assertions are reported
      but count neither in the score nor in the verdict. No counted assertion -> 1.0.
    * ``PASS`` when every counted assertion passed, or when a ``threshold`` is set and
      the score reaches it (a case may then tolerate a weak, low-weight check).
    """
    counted = [r for r in results if r.weight > 0]
    total = sum(r.weight for r in counted)
    score = sum(r.score * r.weight for r in counted) / total if total else 1.0
    if any(r.error for r in results):
        return Outcome.ERROR, score
    if all(r.passed for r in counted):
        return Outcome.PASS, score
    if threshold is not None and score >= threshold - 1e-9:
        return Outcome.PASS, score
    return Outcome.FAIL, score


def _with_vars(options: Any, variables: dict[str, Any]) -> Any:
    """A copy of ``options`` with ``{{ var }}`` in string fields rendered from the case's
    variables (sandboxed, strict: an unknown variable is an error)."""
    if options is None or not isinstance(options, Options):
        return options
    changed: dict[str, Any] = {}
    for name in type(options).model_fields:
        value = getattr(options, name)
        new = _render_value(value, variables)
        if new is not value:
            changed[name] = new
    return options.model_copy(update=changed) if changed else options


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    """The sandboxed Jinja template of an assertion value (compiling costs ~200 us and
    the same value is evaluated for every sample), or None for literal braces."""
    from jinja2 import TemplateSyntaxError

    from promptkit.template.sandbox import compile_bounded

    try:
        return compile_bounded(source)
    except TemplateSyntaxError:
        return None  # not a template: literal braces (e.g. checking for "{{")


def _render_value(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        from promptkit.template.sandbox import render_bounded

        template = _compiled(value)
        # the same render budget as prompts: an assertion value is template code too
        return value if template is None else render_bounded(template, variables)
    if isinstance(value, list):
        items = [_render_value(v, variables) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
