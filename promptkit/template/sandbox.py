"""The sandboxed Jinja2 environment every template renders in, and its resource limits.

Templates are code that arrives in pull requests. Jinja2's ``ImmutableSandboxedEnvironment``
stops them reaching Python internals or mutating the values passed in; the limits here
make sure a render also *ends*, quickly and in bounded memory, whatever the template says:
``range()`` loops share one budget per render, expressions may not build values over
:data:`MAX_RENDER_CHARS`, ``**`` may not build huge numbers, and output is generated
piece by piece and stopped at the size limit. A template over a limit raises
:class:`RenderLimitError`, which :mod:`promptkit.template.render` turns into a located
``PK024`` diagnostic.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

#: Most characters one render may produce, and the largest string or list a template
#: expression may build. A prompt is far below this; a template over it is a mistake
#: (or an attack: ``{{ 'a' * 10**10 }}`` would otherwise eat 10 GB before failing).
MAX_RENDER_CHARS = 10 * 1024 * 1024
#: Most ``range()`` items one render may create, all loops together. Jinja's sandbox caps
#: one range at 100,000, but two nested loops then still run 10**10 times.
MAX_RANGE_ITEMS = 1_000_000
#: Largest integer ``**`` may build, in bits (``10**10**10`` would compute for hours).
_MAX_POW_BITS = 100_000

#: Range items left in the render running in this context (None outside render()).
_RANGE_BUDGET: ContextVar[list[int] | None] = ContextVar("promptkit_range_budget", default=None)


class RenderLimitError(Exception):
    """A template exceeded a resource limit (output size, loop count, value size)."""


def _budgeted_range(*args: int) -> range:
    from jinja2.sandbox import safe_range

    r = safe_range(*args)
    budget = _RANGE_BUDGET.get()
    if budget is not None:
        budget[0] -= len(r)
        if budget[0] < 0:
            raise RenderLimitError(
                f"loops over range() ran more than {MAX_RANGE_ITEMS:,} times in one render"
            )
    return r


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else 0


#: A width or precision of 8+ digits in a %- or {}-format string (``'%999999999s'``).
_HUGE_FORMAT_WIDTH = re.compile(r"(?:%[^a-zA-Z%]*?|\{[^{}]*?:[^{}]*?)\d{8,}")
#: str methods (and the filters built on them) whose int argument is an output width.
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "indent"})


def _check_call(name: str, owner: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse the calls that build one huge string from small inputs: ``'a'.center(10**9)``,
    ``'%999999999s'|format(x)``, ``s.replace('a', long)`` on a long ``s``. Checked before
    the call, because after it the memory is already gone."""
    if not isinstance(owner, str):
        return
    if name in _WIDTH_METHODS:
        for a in (*args, *kwargs.values()):
            if isinstance(a, int) and a > MAX_RENDER_CHARS:
                raise RenderLimitError(f"{name}({a:,}) would build a string over {MAX_RENDER_CHARS:,} characters")
    elif name in ("format", "format_map") and _HUGE_FORMAT_WIDTH.search(owner):
        raise RenderLimitError("the format string asks for a field width over 9,999,999 characters")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        grow = len(args[1]) - len(args[0])
        if grow > 0 and args[0] and len(owner) + owner.count(args[0]) * grow > MAX_RENDER_CHARS:
            raise RenderLimitError(f"replace() would build a string over {MAX_RENDER_CHARS:,} characters")


def _guarded_filter(name: str, fn: Any) -> Any:
    """Wrap a built-in filter (``center``, ``indent``, ``format``, ``replace``) with
    :func:`_check_call`: filters are called directly, not through ``Sandbox.call``."""
    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not hasattr(a, "environment")]  # drop the eval context
        if values:
            _check_call(name, str(values[0]) if name == "format" else values[0], tuple(values[1:]), kwargs)
        return fn(*args, **kwargs)

    return guarded


@lru_cache(maxsize=1)
def environment() -> Any:
    """The shared sandboxed Jinja2 environment (strict undefined, no autoescape), with
    resource limits: templates are code from a pull request, and rendering one must
    end, quickly, whatever it says."""
    from jinja2 import StrictUndefined
    from jinja2.compiler import CodeGenerator
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class _CodeGenerator(CodeGenerator):  # type: ignore[misc]
        def visit_Concat(self, node: Any, frame: Any) -> None:
            # `~` is not a sandbox-intercepted operator: wrap its result in a size check,
            # or `{% set y = x ~ x ~ x %}` repeated grows exponentially.
            self.write("environment.checked_size(")
            super().visit_Concat(node, frame)
            self.write(")")

    class _Environment(ImmutableSandboxedEnvironment):  # type: ignore[misc]
        intercepted_binops = frozenset({"*", "**", "+"})
        code_generator_class = _CodeGenerator

        @staticmethod
        def checked_size(value: Any) -> Any:
            if _sized(value) > MAX_RENDER_CHARS:
                raise RenderLimitError(f"a value of {_sized(value):,} items was built (limit {MAX_RENDER_CHARS:,})")
            return value

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*":
                n = right if isinstance(right, int) else left if isinstance(left, int) else 0
                if n > 0 and (_sized(left) or _sized(right)) * n > MAX_RENDER_CHARS:
                    raise RenderLimitError(
                        f"'*' would build a value of {(_sized(left) or _sized(right)) * n:,} items "
                        f"(limit {MAX_RENDER_CHARS:,})"
                    )
            elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
                if abs(left) > 1 and max(abs(left).bit_length() - 1, 1) * right > _MAX_POW_BITS:
                    raise RenderLimitError(f"'{left} ** {right}' is too large a number to compute")
            if operator == "+":  # one step past the limit at most: then it stops
                return self.checked_size(super().call_binop(context, operator, left, right))
            return super().call_binop(context, operator, left, right)

        def wrap_str_format(self, value: Any) -> Any:
            # Jinja replaces str.format / format_map on attribute access: check there.
            wrapped = super().wrap_str_format(value)
            if wrapped is not None:
                _check_call("format", value.__self__, (), {})
            return wrapped

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            _check_call(getattr(__obj, "__name__", ""), getattr(__obj, "__self__", None), args, kwargs)
            return super().call(__context, __obj, *args, **kwargs)

    env = _Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False, auto_reload=False)
    env.globals["range"] = _budgeted_range
    for name in ("center", "indent", "format", "replace"):
        env.filters[name] = _guarded_filter(name, env.filters[name])
    join = env.filters["join"]
    env.filters["join"] = functools.wraps(join)(lambda *a, **k: env.checked_size(join(*a, **k)))
    return env


@contextmanager
def range_budget() -> Iterator[None]:
    """Give the ``range()`` loops of one render, together, :data:`MAX_RANGE_ITEMS` items."""
    token = _RANGE_BUDGET.set([MAX_RANGE_ITEMS])
    try:
        yield
    finally:
        _RANGE_BUDGET.reset(token)


def generate_bounded(compiled: Any, values: Mapping[str, Any]) -> str:
    """Render piece by piece, stopping once the output passes :data:`MAX_RENDER_CHARS`
    (instead of building gigabytes and failing afterwards)."""
    parts: list[str] = []
    total = 0
    for piece in compiled.generate(values):
        total += len(piece)
        if total > MAX_RENDER_CHARS:
            raise RenderLimitError(f"the rendered prompt passed {MAX_RENDER_CHARS:,} characters")
        parts.append(piece)
    return "".join(parts)
