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
import os
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
    """A Python function (``module:function``) decides: bool, score, or {pass, score, reason}.

    Every failure names the user's own ``file:line`` (and function): where an exception
    was raised (the innermost frame in the project's code, never one of promptkit's), or
    the function's ``def`` line when it returned a failing verdict."""
    try:
        fn = import_object(o.value, ctx.base_dir)
    except CodeRefused as exc:
        return Check.failed_to_run(f"refused: {exc}")
    except SyntaxError as exc:
        where = f"{_shown(exc.filename)}:{exc.lineno}: " if exc.filename and exc.lineno else ""
        return Check.failed_to_run(f"cannot import {o.value}: {where}SyntaxError: {exc.msg}")
    except Exception as exc:  # noqa: BLE001 - the user's module failed while it loaded
        where = _raised_at(exc, ctx)
        at = f"{where}: " if where else ""
        return Check.failed_to_run(f"cannot import {o.value}: {at}{type(exc).__name__}: {_clean(str(exc))}")
    if not callable(fn):
        return Check.failed_to_run(f"{o.value} is not callable")
    name = o.value.partition(":")[2]
    try:
        out = fn(output, ctx) if _arity(fn) >= 2 else fn(output)
        if inspect.isawaitable(out):
            out = await out
    except AssertionError as exc:
        where = _raised_at(exc, ctx) or _defined_at(fn)
        return Check.of(False, f"{where} ({name}): {_clean(str(exc)) or 'assertion failed'}")
    except Exception as exc:  # noqa: BLE001 - a bug in the check: ERROR, located in the user's code
        where = _raised_at(exc, ctx) or _defined_at(fn)
        return Check.failed_to_run(f"{where} ({name}) raised {type(exc).__name__}: {_clean(str(exc))}")
    check = _interpret(out, o)
    if not check.passed:
        check.reason = f"{_defined_at(fn)} ({name}): {check.reason}"
    return check


#: The module names :mod:`~promptkit.runner.assertions.project_code` gives user files.
_GENERATED = re.compile(r"_promptkit_user_(\w+?)_[0-9a-f]{10}")
_PROMPTKIT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))), "")


def _clean(text: str) -> str:
    """No generated module names in a message (``module 'checks' has no attribute ...``)."""
    return _GENERATED.sub(r"\1", text)


def _shown(path: str) -> str:
    from promptkit.paths import shown

    return shown(path)


def _raised_at(exc: BaseException, ctx: AssertionContext) -> str | None:
    """``file:line`` of the innermost traceback frame in the project's own code (not
    promptkit's, not an installed package's), or None."""
    import traceback
    from pathlib import Path

    from promptkit.paths import is_inside, project_root
    from promptkit.runner.assertions.project_code import INSTALLED_DIRS

    root = os.path.realpath(project_root(Path(ctx.base_dir) if ctx.base_dir is not None else None))
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        file = os.path.realpath(frame.filename)
        if frame.filename.startswith("<") or file.startswith(_PROMPTKIT_DIR) or not is_inside(file, root):
            continue
        if INSTALLED_DIRS.intersection(Path(file).parts):
            continue
        found = f"{_shown(file)}:{frame.lineno}"
    return found


def _defined_at(fn: Any) -> str:
    """``file:line`` of the function's ``def`` (a callable object: its ``__call__``)."""
    target = inspect.unwrap(fn)
    code = getattr(target, "__code__", None) or getattr(getattr(target, "__call__", None), "__code__", None)
    if code is None:
        return "?"
    return f"{_shown(code.co_filename)}:{code.co_firstlineno}"


def _interpret(out: Any, o: PythonOptions) -> Check:
    name = o.value.partition(":")[2]
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
