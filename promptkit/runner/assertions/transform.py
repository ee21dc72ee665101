"""Output transforms: what an assertion (or a whole case) checks instead of the raw output.

``transform:`` on an assertion, or on a case (then it applies to every assertion of the
case, before the assertion's own), is one step or a list of steps applied in order:

* ``strip-fences`` -- the content of the reply's first Markdown code fence (the reply
  unchanged when it has none);
* ``trim``, ``lowercase``;
* ``first-json`` -- the first JSON object found in prose or a fence, as JSON text;
* ``{json_path: "$.answer"}`` -- the value at a JSON path of the (JSON) output: a string
  as itself, anything else as JSON text;
* ``{python: "transforms.py:extract"}`` -- a function defined in one of the project's own
  Python files (the same trust rules as ``type: python``,
  :mod:`promptkit.runner.assertions.project_code`): it receives the output (and the
  :class:`AssertionContext` if it takes two parameters) and returns the new output.

A step that cannot apply *to this output* (no JSON, the path is missing) fails the
assertion with the reason; a Python transform that raises is an ERROR (a bug in the
transform, not in the prompt). promptfoo's transforms are JavaScript expressions:
promptkit never evaluates expressions from a test file.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any

from promptkit.runner.assertions.registry import SpecError

__all__ = ["OutputUnusable", "Transform", "TransformBroken", "build_transform"]

_BUILTINS = ("strip-fences", "trim", "lowercase", "first-json")
_FENCE = re.compile(r"```[\w+-]*[ \t]*\r?\n(.*?)\r?\n?```", re.DOTALL)


class OutputUnusable(ValueError):
    """The transform does not apply to this output (a FAIL of the assertion)."""


class TransformBroken(RuntimeError):
    """The transform itself failed (an ERROR)."""


@dataclass(frozen=True)
class Step:
    kind: str  # a builtin name, "json_path" or "python"
    arg: Any = None

    def describe(self) -> str:
        return self.kind if self.arg is None else f"{self.kind} {self.arg}"


@dataclass(frozen=True)
class Transform:
    steps: tuple[Step, ...]

    def __bool__(self) -> bool:
        return bool(self.steps)

    def then(self, other: Transform | None) -> Transform:
        return Transform(self.steps + (other.steps if other else ()))

    async def apply(self, output: str, ctx: Any) -> str:
        for step in self.steps:
            output = await _apply(step, output, ctx)
        return output


def build_transform(raw: Any) -> Transform | None:
    """Validate a ``transform:`` value at load time. Raises :class:`SpecError` with the
    location inside the value."""
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [raw]
    steps = []
    for i, item in enumerate(items):
        loc: tuple[Any, ...] = (i,) if isinstance(raw, list) else ()
        steps.append(_step(item, loc))
    return Transform(tuple(steps))


def _step(item: Any, loc: tuple[Any, ...]) -> Step:
    hint = ("a transform is strip-fences, trim, lowercase, first-json, {json_path: '$.a.b'} or "
            "{python: 'file.py:function'} (or a list of them)")
    if isinstance(item, str):
        if item in _BUILTINS:
            return Step(item)
        if ":" in item and "(" not in item and " " not in item.strip():
            return _python(item, loc)
        raise SpecError(f"unknown transform {item!r}: promptkit never evaluates expressions from a test file",
                        loc, hint)
    if isinstance(item, dict) and len(item) == 1:
        (key, value), = item.items()
        if key == "json_path" and isinstance(value, str):
            from promptkit.runner.assertions.structured import parse_path

            try:
                return Step("json_path", (value, parse_path(value)))
            except ValueError as exc:
                raise SpecError(str(exc), (*loc, key), hint) from None
        if key == "python" and isinstance(value, str):
            return _python(value, (*loc, key))
    raise SpecError(f"a transform step must be a name or a one-key mapping, not {item!r}", loc, hint)


def _python(ref: str, loc: tuple[Any, ...]) -> Step:
    from promptkit.runner.assertions.project_code import check_reference

    try:
        return Step("python", check_reference(ref))
    except ValueError as exc:
        raise SpecError(str(exc), loc) from None


async def _apply(step: Step, output: str, ctx: Any) -> str:
    if step.kind == "trim":
        return output.strip()
    if step.kind == "lowercase":
        return output.lower()
    if step.kind == "strip-fences":
        m = _FENCE.search(output)
        return m.group(1) if m else output
    if step.kind == "first-json":
        from promptkit.runner.assertions.structured import find_json

        found = find_json(output)
        if not found:
            raise OutputUnusable("transform first-json: the output contains no JSON object")
        return json.dumps(found[0][0], ensure_ascii=False)
    if step.kind == "json_path":
        from promptkit.runner.assertions.structured import _MISSING, JsonError, get_path, parse_json

        text, path = step.arg
        try:
            doc, _ = parse_json(output, allow_fences=True)
        except JsonError as exc:
            raise OutputUnusable(f"transform json_path {text}: {exc}") from None
        value, _where = get_path(doc, path)
        if value is _MISSING:
            raise OutputUnusable(f"transform json_path: the output JSON lacks {text}")
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if step.kind == "python":
        return await _python_apply(step.arg, output, ctx)
    raise TransformBroken(f"unknown transform step {step.kind}")  # pragma: no cover - validated at load


async def _python_apply(ref: str, output: str, ctx: Any) -> str:
    from promptkit.runner.assertions.project_code import CodeRefused, import_object
    from promptkit.runner.assertions.python import _arity

    try:
        fn = import_object(ref, getattr(ctx, "base_dir", None))
    except CodeRefused as exc:
        raise TransformBroken(f"transform {ref} refused: {exc}") from None
    except (ImportError, AttributeError, OSError, SyntaxError) as exc:
        raise TransformBroken(f"cannot import transform {ref}: {type(exc).__name__}: {exc}") from None
    if not callable(fn):
        raise TransformBroken(f"transform {ref} is not callable")
    try:
        out = fn(output, ctx) if _arity(fn) >= 2 else fn(output)
        if inspect.isawaitable(out):
            out = await out
    except Exception as exc:  # noqa: BLE001 - a bug in the user's transform is an ERROR
        raise TransformBroken(f"transform {ref} raised {type(exc).__name__}: {exc}") from None
    if isinstance(out, str):
        return out
    try:
        return json.dumps(out, ensure_ascii=False)
    except (TypeError, ValueError):
        raise TransformBroken(f"transform {ref} returned {type(out).__name__}; return a string (or JSON data)") from None
