"""A check written in Python: ``type: python, value: checks:no_apology``.

The function is loaded from one of the project's own Python files (``helpers.py:function``
or ``helpers:function``, relative to the test file), never from an importable module such as
``os`` and never ``eval``-ed from the YAML (see :mod:`promptkit.runner.assertions.project_code`).
It receives the output and, if it takes a second parameter, the
:class:`~promptkit.runner.assertions.spec.AssertionContext`; it may be ``async``.

It returns ``bool``, a score in [0, 1] (passing at ``threshold``, default 0.5), a dict
``{"pass": ..., "score": ..., "reason": ...}``, or a
:class:`~promptkit.runner.results.AssertionResult`. An ``AssertionError`` it raises is a
failure with that message; any other exception is a bug in the check: ERROR.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from pydantic import Field, field_validator

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.assertions.project_code import CodeRefused, check_reference, import_object, reference_file
from promptkit.runner.results import AssertionResult, ModelResponse


class PythonOptions(Options):
    value: str
    #: Pass mark for a function that returns a bare score.
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)

    @field_validator("value")
    @classmethod
    def _import_path(cls, v: str) -> str:
        return check_reference(v)

    def files(self) -> dict[str, str]:
        return {"value": reference_file(self.value)}


def _arity(fn: Any) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


@assertion("python", PythonOptions, aliases=("callable",))
async def python_check(output: str, o: PythonOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """A Python function (``module:function``) decides: bool, score, or {pass, score, reason}."""
    try:
        fn = import_object(o.value, ctx.base_dir)
    except CodeRefused as exc:
        return Check.failed_to_run(f"refused: {exc}")
    except (ImportError, AttributeError, OSError, SyntaxError) as exc:
        return Check.failed_to_run(f"cannot import {o.value}: {type(exc).__name__}: {exc}")
    if not callable(fn):
        return Check.failed_to_run(f"{o.value} is not callable")
    try:
        out = fn(output, ctx) if _arity(fn) >= 2 else fn(output)
        if inspect.isawaitable(out):
            out = await out
    except AssertionError as exc:
        return Check.of(False, f"{o.value}: {exc or 'assertion failed'}")
    return _interpret(out, o)


def _interpret(out: Any, o: PythonOptions) -> Check:
    name = o.value
    if isinstance(out, AssertionResult):
        return Check(out.passed, out.score, out.reason, error=out.error, usage=out.usage)
    if isinstance(out, bool):
        return Check.of(out, f"{name} returned {out}")
    if isinstance(out, (int, float)):
        score = float(out)
        if not 0.0 <= score <= 1.0:
            return Check.failed_to_run(f"{name} returned score {score}, outside [0, 1]")
        ok = score >= o.threshold
        return Check(ok, score, f"{name} scored {score:.2f} ({'>=' if ok else '<'} {o.threshold:g})")
    if isinstance(out, dict) and ("pass" in out or "passed" in out or "score" in out):
        raw_pass = out.get("pass", out.get("passed"))
        raw_score = out.get("score")
        if raw_score is not None and (
            isinstance(raw_score, bool) or not isinstance(raw_score, (int, float)) or not 0 <= raw_score <= 1
        ):
            return Check.failed_to_run(f"{name} returned score {raw_score!r}, not a number in [0, 1]")
        passed = bool(raw_pass) if raw_pass is not None else float(raw_score) >= o.threshold  # type: ignore[arg-type]
        final = float(raw_score) if raw_score is not None else (1.0 if passed else 0.0)
        return Check(passed, final, str(out.get("reason") or f"{name} returned {'pass' if passed else 'fail'}"))
    return Check.failed_to_run(
        f"{name} returned {type(out).__name__}; return a bool, a score in [0, 1] or {{'pass', 'score', 'reason'}}"
    )
