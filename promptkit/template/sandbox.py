"""The sandboxed Jinja2 environment every template renders in, and its render budget.

Templates, and the values rendered into them, arrive in pull requests. Jinja2's
``ImmutableSandboxedEnvironment`` stops them reaching Python internals or mutating the
values passed in; the budget here makes sure a render also *ends*, quickly and in bounded
memory, whatever the template says. Every render (prompts, judge templates, assertion
values) runs under one :class:`RenderLimits` budget:

* **time** (``render-timeout``, default 2 s): checked at every step, so a render that has
  spent its time stops at the next step, without signals or threads (works in workers
  and on Windows). One step is at most one bounded operation, so the overshoot is small.
* **steps** (``render-steps``, default 1,000,000): one per loop iteration, per call
  (methods, macros, ``cycler``/``joiner``, ``loop()``), per filter, per item a filter
  yields (``map``, ``select``, ``batch``, ``slice``, ...) and per item or character a
  Python-level filter walks (``sort``, ``groupby``, ``urlize``, ``wordwrap``, ...);
  ``range()`` items are also capped at :data:`MAX_RANGE_ITEMS` per render.
* **size** (``render-max-output``, default 10 MiB characters): the rendered prompt, and
  every string or list any expression, filter, method, macro or block builds. The
  operations that build a big value from small inputs (``'%999999999s'|format``,
  ``'{:>{}}'.format(x, 10**9)``, ``'%*s'``, ``center``/``ljust``/``indent`` widths,
  ``replace('', ...)``, ``join``, ``expandtabs``, ``translate``, ``wordwrap``,
  ``urlize``, ``lipsum``, turning a big nested list into text...) are checked *before*
  they run, from their arguments; the others are checked on their result. ``**`` may not
  build huge numbers.

A template over a limit raises :class:`RenderLimitError` (which limit, its value, the
setting that raises it), which :mod:`promptkit.template.render` turns into a located
``PK024`` diagnostic. Outside a budget (a caller using :func:`environment` directly)
the hooks do nothing.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

#: Default ``render-max-output``: most characters one render may produce, and the
#: largest string or list a template expression may build. A prompt is far below this.
MAX_RENDER_CHARS = 10 * 1024 * 1024
#: Most ``range()`` items one render may create, all loops together. Jinja's sandbox caps
#: one range at 100,000, but two nested loops then still run 10**10 times.
MAX_RANGE_ITEMS = 1_000_000
#: Default ``render-steps``.
MAX_RENDER_STEPS = 1_000_000
#: Default ``render-timeout``, seconds. A prompt renders in about a millisecond.
RENDER_TIMEOUT = 2.0
#: Largest integer ``**`` may build, in bits (``10**10**10`` would compute for hours).
_MAX_POW_BITS = 100_000

#: Hard ceilings for the settings: the config file arrives in the same pull request as
#: the templates, so even a raised limit keeps a render bounded.
CEILINGS = {"timeout": 60.0, "steps": 100_000_000, "max_output": 256 * 1024 * 1024}


class RenderLimitError(Exception):
    """A template exceeded a render limit (time, steps, output or value size)."""


@dataclass(frozen=True)
class RenderLimits:
    """The budget of one render. Set per project in ``[tool.promptkit]`` as
    ``render-timeout``, ``render-steps`` and ``render-max-output`` (see
    :func:`configure`); each is capped at :data:`CEILINGS`."""

    timeout: float = RENDER_TIMEOUT
    steps: int = MAX_RENDER_STEPS
    max_output: int = MAX_RENDER_CHARS

    def capped(self) -> RenderLimits:
        return RenderLimits(
            timeout=min(max(float(self.timeout), 0.001), CEILINGS["timeout"]),
            steps=min(max(int(self.steps), 1), int(CEILINGS["steps"])),
            max_output=min(max(int(self.max_output), 1), int(CEILINGS["max_output"])),
        )


_DEFAULT = RenderLimits()
_configured: RenderLimits = _DEFAULT


def configure(limits: RenderLimits | None = None, **changes: Any) -> RenderLimits:
    """Set the process-wide render limits (None: the defaults) and return them. Called
    once by the commands from the project config; tests and the API may call it too."""
    global _configured
    base = limits if limits is not None else _DEFAULT
    _configured = replace(base, **changes).capped() if changes else base.capped()
    return _configured


def current_limits() -> RenderLimits:
    return _configured


_SETTING = {"timeout": "render-timeout", "steps": "render-steps", "max_output": "render-max-output"}


def _how_to_raise(limit: str) -> str:
    return f"{_SETTING[limit]} in [tool.promptkit] raises it, up to {CEILINGS[limit]:,}"


class _Budget:
    """What is left of one render's limits (mutable, one per render)."""

    __slots__ = ("deadline", "limits", "max_chars", "ranges", "steps")

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.steps = limits.steps
        self.max_chars = limits.max_output
        self.ranges = MAX_RANGE_ITEMS
        self.deadline = time.monotonic() + limits.timeout

    def step(self, n: int = 1) -> None:
        self.steps -= n
        if self.steps < 0:
            raise RenderLimitError(
                f"the render took more than {self.limits.steps:,} steps (loop iterations, calls, filter items; "
                f"{_how_to_raise('steps')})"
            )
        if time.monotonic() > self.deadline:
            raise RenderLimitError(
                f"the render ran longer than {self.limits.timeout:g} s ({_how_to_raise('timeout')})"
            )

    def too_big(self, what: str, size: int) -> RenderLimitError:
        return RenderLimitError(
            f"{what} would be {size:,} characters or items, over the limit of {self.max_chars:,} "
            f"({_how_to_raise('max_output')})"
        )

    def size(self, value: Any, what: str) -> Any:
        n = len(value) if isinstance(value, (str, bytes, list, tuple, dict)) else 0
        if n > self.max_chars:
            raise self.too_big(what, n)
        return value

    def text(self, value: Any, what: str) -> None:
        """Refuse turning ``value`` into text when the text would be too long."""
        if type(value) is not str:
            n = text_size(value, self.max_chars)
            if n > self.max_chars:
                raise self.too_big(what, n)


#: The budget of the render running in this context (None outside one).
_BUDGET: ContextVar[_Budget | None] = ContextVar("promptkit_render_budget", default=None)


@contextmanager
def budget(limits: RenderLimits | None = None) -> Iterator[None]:
    """Run one render under ``limits`` (default: the configured ones). Nested renders
    (a judge template inside an assertion) get a budget of their own."""
    token = _BUDGET.set(_Budget(limits or _configured))
    try:
        yield
    finally:
        _BUDGET.reset(token)


range_budget = budget  # the old name (one range budget per render)


def text_size(value: Any, limit: int) -> int:
    """A lower bound of ``len(str(value))`` that is exact enough to refuse huge values,
    found without building the text, and stopping once past ``limit``. Containers are
    walked once each (a list repeated a million times costs one walk)."""
    if isinstance(value, str):
        return len(value)
    seen: dict[int, int] = {}

    def walk(v: Any, depth: int) -> int:
        if isinstance(v, str):
            return len(v) + 2
        if isinstance(v, (list, tuple, set, frozenset, dict)):
            key = id(v)
            if key in seen:
                return seen[key]
            n = len(v)
            total = 2 + 2 * n
            if total > limit or depth > 200:
                return total
            items = v.items() if isinstance(v, dict) else v
            for item in items:
                total += walk(item, depth + 1)
                if total > limit:
                    break
            seen[key] = total
            return total
        if isinstance(v, int) and not isinstance(v, bool):
            return max(1, v.bit_length() * 3 // 10)
        return 1

    return walk(value, 0) - (2 if isinstance(value, (list, tuple, dict, set, frozenset)) else 0)


class _Counted:
    """An iterator that takes one step per item: the lazy filters (``map``, ``select``,
    ``batch``, ``slice``...) would otherwise loop without limit inside ``|list``."""

    __slots__ = ("_budget", "_it")

    def __init__(self, it: Any, b: _Budget) -> None:
        self._it = iter(it)
        self._budget = b

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        self._budget.step()
        return next(self._it)


# --------------------------------------------------------------------------- size estimates

_PCT = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.?)")
_SPEC_NUMBER = re.compile(r"\d+")


def _percent_size(b: _Budget, fmt: str, args: Any) -> None:
    """Refuse ``fmt % args`` when its widths, precisions or values make it too long."""
    if isinstance(args, tuple):
        seq: list[Any] = list(args)
        mapping = None
    elif isinstance(args, Mapping):
        seq, mapping = [], args
    else:
        seq, mapping = [args], None
    total = len(fmt)
    for m in _PCT.finditer(fmt):
        if m.group(4) == "%":
            continue
        for part in (m.group(2), m.group(3)):
            if part == "*":
                n = seq.pop(0) if seq else 0
                total += n if isinstance(n, int) and n > 0 else 0
            elif part:
                total += int(part) if len(part) < 12 else b.max_chars + 1
        if m.group(1) is not None and mapping is not None:
            value = mapping.get(m.group(1))
        else:
            value = seq.pop(0) if seq else ""
        if total <= b.max_chars:
            total += text_size(value, b.max_chars)
        if total > b.max_chars:
            raise b.too_big("the %-format result", total)


def _spec_size(b: _Budget, spec: str) -> int:
    """The widest width or precision in a ``str.format`` spec (``>{}`` already filled in)."""
    widest = 0
    for d in _SPEC_NUMBER.findall(spec):
        widest = max(widest, int(d) if len(d) < 12 else b.max_chars + 1)
    return widest


def _check_method(b: _Budget, name: str, owner: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse the ``str`` methods that build one huge string from small inputs, before
    they run: after, the memory is already gone."""
    if name in ("center", "ljust", "rjust", "zfill"):
        width = args[0] if args else kwargs.get("width", 0)
        if isinstance(width, int) and width > b.max_chars:
            raise b.too_big(f"{name}({width:,})", width)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int) and size > 0:
            est = len(owner) + owner.count("\t") * size
            if est > b.max_chars:
                raise b.too_big(f"expandtabs({size:,})", est)
    elif name == "replace":
        _replace_size(b, owner, args, kwargs)
    elif name == "join" and args:
        items = args[0]
        if isinstance(items, (list, tuple)):
            est = len(owner) * max(len(items) - 1, 0)
            if est <= b.max_chars:
                est += sum(len(x) for x in items if isinstance(x, str))
            if est > b.max_chars:
                raise b.too_big("join()", est)
    elif name == "translate" and args and isinstance(args[0], Mapping):
        widest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        est = len(owner) * widest
        if est > b.max_chars:
            raise b.too_big("translate()", est)


def _replace_size(b: _Budget, owner: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    old = args[0] if args else kwargs.get("old")
    new = args[1] if len(args) > 1 else kwargs.get("new")
    if not (isinstance(old, str) and isinstance(new, str)):
        return
    count = args[2] if len(args) > 2 else kwargs.get("count")
    grow = len(new) - len(old)
    if grow <= 0:
        return
    hits = owner.count(old) if old else len(owner) + 1  # '' matches between every character
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    est = len(owner) + hits * grow
    if est > b.max_chars:
        raise b.too_big("replace()", est)


# --------------------------------------------------------------------------- filters

#: Filters that turn their input into text (a big nested list would be a huge text).
_STRINGIFY = frozenset({
    "string", "pprint", "tojson", "urlize", "e", "escape", "forceescape", "safe", "trim", "upper", "lower",
    "title", "capitalize", "center", "indent", "wordwrap", "wordcount", "striptags", "truncate", "replace",
    "format", "xmlattr", "urlencode", "int", "float",
})
#: Filters that walk their input item by item (or character by character) in Python:
#: one step per ``n`` items. Measured: urlize and wordwrap cost about a microsecond a
#: character, the others about as much per item.
_WALK_COST = {
    "urlize": 1, "wordwrap": 1, "striptags": 4, "title": 4, "xmlattr": 1, "pprint": 4, "tojson": 8,
    "sort": 1, "dictsort": 1, "groupby": 1, "unique": 1, "min": 1, "max": 1, "sum": 1, "join": 4,
    "map": 1, "select": 1, "reject": 1, "selectattr": 1, "rejectattr": 1, "batch": 1, "slice": 1,
    "list": 8, "items": 1, "wordcount": 1, "urlencode": 1,
}


def _pre_filter(b: _Budget, name: str, value: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    """Checks before a filter runs; may return a materialized ``value`` to use instead."""
    if name == "center":
        _check_method(b, "center", str(value), args, kwargs)
    elif name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        w = width if isinstance(width, int) else len(str(width))
        s = str(value)
        est = len(s) + (s.count("\n") + 1) * max(w, 0)
        if est > b.max_chars:
            raise b.too_big("indent()", est)
    elif name == "format":
        _percent_size(b, str(value), kwargs or tuple(args))
    elif name == "replace":
        _replace_size(b, str(value), args, kwargs)
    elif name == "join":
        items = value if isinstance(value, (list, tuple)) else list(value)
        sep = args[0] if args else kwargs.get("d", "")
        est = len(str(sep)) * max(len(items) - 1, 0)
        if est <= b.max_chars:
            est += text_size(list(items), b.max_chars) - 2 * len(items)
        if est > b.max_chars:
            raise b.too_big("join()", est)
        return items
    elif name == "wordwrap":
        s = str(value)
        width = args[0] if args else kwargs.get("width", 79)
        wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring")
        lines = len(s) // max(width if isinstance(width, int) else 1, 1) + s.count("\n") + 1
        est = len(s) + lines * len(str(wrap or "\n"))
        if est > b.max_chars:
            raise b.too_big("wordwrap()", est)
    elif name == "urlize":
        s = str(value)
        target = args[2] if len(args) > 2 else kwargs.get("target")
        rel = args[3] if len(args) > 3 else kwargs.get("rel")
        extra = len(str(target or "")) + len(str(rel or "")) + 60
        est = 3 * len(s) + (len(s) // 2 + 1) * extra if extra > 60 else 3 * len(s)
        if est > b.max_chars:
            raise b.too_big("urlize()", est)
    elif name == "truncate":
        end = args[2] if len(args) > 2 else kwargs.get("end", "...")
        length = args[0] if args else kwargs.get("length", 255)
        if isinstance(length, int) and length > 0:
            est = min(len(str(value)), length) + len(str(end))
            if est > b.max_chars:
                raise b.too_big("truncate()", est)
    return value


def _bounded_filter(name: str, fn: Any) -> Any:
    """Wrap a built-in filter with the budget: a step, the checks before it runs, its
    result's size, and a step per item of a lazy result."""
    passes = getattr(fn, "jinja_pass_arg", None) is not None
    stringify = name in _STRINGIFY
    walk = _WALK_COST.get(name)

    @functools.wraps(fn)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        b = _BUDGET.get()
        if b is None:
            return fn(*args, **kwargs)
        b.step()
        skip = 1 if passes else 0
        if len(args) > skip:
            value = args[skip]
            if stringify:
                b.text(value, f"the '{name}' filter's text")
            if walk is not None and isinstance(value, (str, list, tuple, dict)):
                b.step(len(value) // walk)
            new = _pre_filter(b, name, value, args[skip + 1:], kwargs)
            if new is not value:
                args = (*args[:skip], new, *args[skip + 1:])
        out = fn(*args, **kwargs)
        if isinstance(out, Iterator) and not isinstance(out, (str, list, tuple, dict)):
            return _Counted(out, b)
        return b.size(out, f"the '{name}' filter's result")

    return bounded


def _safe_sum(iterable: Any, start: Any = 0) -> Any:
    """``sum``, one step per item, with each partial result size-checked when it adds
    lists or strings: that is quadratic, and C's ``sum`` cannot be stopped."""
    b = _BUDGET.get()
    if b is None:
        return sum(iterable, start)
    items = list(iterable)
    numbers = (int, float)
    if isinstance(start, numbers) and all(isinstance(x, numbers) for x in items):
        return sum(items, start)
    total = start
    for x in items:
        b.step()
        if isinstance(total, (str, list, tuple)) and isinstance(x, (str, list, tuple)):
            if len(total) + len(x) > b.max_chars:
                raise b.too_big("sum()", len(total) + len(x))
        total = total + x
    return total


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    from jinja2.utils import generate_lorem_ipsum

    b = _BUDGET.get()
    if b is not None:
        words = max * n if isinstance(max, int) and isinstance(n, int) else 0
        if words * 8 > b.max_chars:
            raise b.too_big(f"lipsum(n={n:,}, max={max:,})", words * 8)
        b.step(words)
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


def _budgeted_range(*args: int) -> range:
    from jinja2.sandbox import safe_range

    r = safe_range(*args)
    b = _BUDGET.get()
    if b is not None:
        b.ranges -= len(r)
        if b.ranges < 0:
            raise RenderLimitError(f"loops over range() ran more than {MAX_RANGE_ITEMS:,} times in one render")
    return r


# --------------------------------------------------------------------------- the environment


@lru_cache(maxsize=1)
def environment() -> Any:
    """The shared sandboxed Jinja2 environment (strict undefined, no autoescape), with
    the render budget's hooks compiled in: a step at the top of every loop iteration,
    size checks on ``~``, ``{{ }}``, blocks and macro bodies, and bounded filters."""
    from jinja2 import StrictUndefined, nodes
    from jinja2.compiler import CodeGenerator
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
    from markupsafe import Markup

    class _CodeGenerator(CodeGenerator):  # type: ignore[misc]
        def visit_Template(self, node: Any, frame: Any = None) -> None:
            # Jinja allows no custom node types: an environment attribute (which no
            # template text can produce) stands for "take a step" in the tree.
            env = self.environment
            for loop in list(node.find_all(nodes.For)):
                step = nodes.EnvironmentAttribute("pk_step", lineno=loop.lineno).set_environment(env)
                loop.body.insert(0, nodes.ExprStmt(step, lineno=loop.lineno).set_environment(env))
                if loop.test is not None:
                    tick = nodes.EnvironmentAttribute("pk_tick", lineno=loop.lineno).set_environment(env)
                    loop.test = nodes.And(tick, loop.test, lineno=loop.lineno).set_environment(env)
            super().visit_Template(node, frame)

        def visit_ExprStmt(self, node: Any, frame: Any) -> None:
            if isinstance(node.node, nodes.EnvironmentAttribute) and node.node.name == "pk_step":
                self.writeline("environment.pk_step()", node)
            else:
                super().visit_ExprStmt(node, frame)

        def visit_EnvironmentAttribute(self, node: Any, frame: Any) -> None:
            if node.name == "pk_tick":
                self.write("environment.pk_tick()")
            else:
                super().visit_EnvironmentAttribute(node, frame)

        def visit_Concat(self, node: Any, frame: Any) -> None:
            # `~`: its operands become text (check them first), and its result is sized,
            # or `{% set y = x ~ x ~ x %}` repeated grows exponentially.
            self.write("environment.pk_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write("))")

    class _Formatter(SandboxedFormatter):  # type: ignore[misc]
        def format_field(self, value: Any, format_spec: str) -> Any:
            b = _BUDGET.get()
            if b is not None:
                widest = _spec_size(b, format_spec)
                if widest > b.max_chars:
                    raise b.too_big("the format field", widest)
                b.text(value, "the format field")
            return super().format_field(value, format_spec)

    class _EscapeFormatter(_Formatter, SandboxedEscapeFormatter):  # type: ignore[misc]
        pass

    class _Environment(ImmutableSandboxedEnvironment):  # type: ignore[misc]
        intercepted_binops = frozenset({"*", "**", "+", "%"})
        code_generator_class = _CodeGenerator

        @staticmethod
        def pk_step() -> None:
            b = _BUDGET.get()
            if b is not None:
                b.step()

        @staticmethod
        def pk_tick() -> bool:
            b = _BUDGET.get()
            if b is not None:
                b.step()
            return True

        @staticmethod
        def pk_concat(parts: tuple[Any, ...]) -> str:
            b = _BUDGET.get()
            if b is not None:
                for p in parts:
                    b.text(p, "a '~' operand")
                return b.size("".join(map(str, parts)), "a '~' result")
            return "".join(map(str, parts))

        @staticmethod
        def concat(pieces: Any) -> str:
            # macro bodies, {% set %} / {% filter %} blocks, {{ caller() }}: joined
            # here, and sized before joining.
            b = _BUDGET.get()
            if b is not None:
                pieces = list(pieces)
                n = sum(map(len, pieces))
                if n > b.max_chars:
                    raise b.too_big("a macro or block's output", n)
            return "".join(pieces)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            b = _BUDGET.get()
            if b is not None:
                if operator == "*":
                    n = right if isinstance(right, int) else left if isinstance(left, int) else 0
                    size = len(left) if isinstance(left, (str, list, tuple)) else (
                        len(right) if isinstance(right, (str, list, tuple)) else 0)
                    if n > 0 and size * n > b.max_chars:
                        raise b.too_big("'*'", size * n)
                elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
                    if abs(left) > 1 and max(abs(left).bit_length() - 1, 1) * right > _MAX_POW_BITS:
                        raise RenderLimitError(f"'{left} ** {right}' is too large a number to compute")
                elif operator == "%" and isinstance(left, str):
                    _percent_size(b, left, right)
                elif operator == "+":  # one step past the limit at most: then it stops
                    return b.size(super().call_binop(context, operator, left, right), "'+'")
            return super().call_binop(context, operator, left, right)

        def wrap_str_format(self, value: Any) -> Any:
            # str.format / format_map, replaced on attribute access: with a formatter
            # that checks each field's width and value before formatting it.
            import types

            if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or value.__name__ not in (
                "format", "format_map"
            ):
                return None
            f_self = value.__self__
            if not isinstance(f_self, str):
                return None
            formatter = _EscapeFormatter(self, escape=f_self.escape) if isinstance(f_self, Markup) else _Formatter(self)
            is_map = value.__name__ == "format_map"
            str_type = type(f_self)

            def wrapper(*args: Any, **kwargs: Any) -> str:
                if is_map:
                    if kwargs or len(args) != 1:
                        raise TypeError("format_map() takes exactly one argument")
                    kwargs, args = args[0], ()
                out = str_type(formatter.vformat(f_self, args, kwargs))
                b = _BUDGET.get()
                return b.size(out, "the format() result") if b is not None else out

            return functools.update_wrapper(wrapper, value)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            b = _BUDGET.get()
            if b is None:
                return super().call(__context, __obj, *args, **kwargs)
            b.step()
            owner = getattr(__obj, "__self__", None)
            if isinstance(owner, str):
                _check_method(b, getattr(__obj, "__name__", ""), owner, args, kwargs)
            out = super().call(__context, __obj, *args, **kwargs)
            if isinstance(out, (str, list, tuple)):
                b.size(out, f"the result of {getattr(__obj, '__name__', 'a call')}()")
            return out

    # optimized=False: Jinja's optimizer folds constant expressions while compiling,
    # running the template's arithmetic and filters outside any render budget and
    # walking the folded value (has_safe_repr) to write its repr into Python source:
    # `{{ [('x'*2000)|list] * 100000 }}` spent minutes there. Unfolded, every expression
    # runs at render time, under the budget; a prompt renders no slower for it (see
    # benchmarks/render_budget.py).
    env = _Environment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False, auto_reload=False,
                       optimized=False, finalize=_finalize)
    env.globals["range"] = _budgeted_range
    env.globals["lipsum"] = _bounded_lipsum
    env.filters["sum"] = functools.wraps(env.filters["sum"])(_safe_sum_filter(env.filters["sum"]))
    for name in list(env.filters):
        env.filters[name] = _bounded_filter(name, env.filters[name])
    return env


def _finalize(value: Any) -> Any:
    """Every ``{{ }}``: a big list or dict printed is a huge text, sized before ``str()``
    builds it. (A constructor argument: Jinja's ``Environment.__init__`` sets
    ``self.finalize``, so a method of that name on the class would never be called.)"""
    if type(value) is not str:
        b = _BUDGET.get()
        if b is not None:
            b.text(value, "a printed value")
    return value


def _safe_sum_filter(original: Any) -> Any:
    @functools.wraps(original)
    def do_sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        if attribute is not None:
            from jinja2.filters import make_attrgetter

            getter = make_attrgetter(environment, attribute)
            iterable = map(getter, iterable)
        return _safe_sum(iterable, start)

    return do_sum


def generate_bounded(compiled: Any, values: Mapping[str, Any]) -> str:
    """Render piece by piece, stopping once the output passes the size limit (instead
    of building gigabytes and failing afterwards), or the time is up."""
    b = _BUDGET.get()
    limit = b.max_chars if b is not None else _configured.max_output
    parts: list[str] = []
    total = 0
    for piece in compiled.generate(values):
        total += len(piece)
        if total > limit:
            raise RenderLimitError(
                f"the rendered prompt passed {limit:,} characters ({_how_to_raise('max_output')})"
            )
        if b is not None:
            b.step(0)
        parts.append(piece)
    return "".join(parts)


def compile_bounded(source: str) -> Any:
    """Compile ``source`` in the sandbox. The environment does not fold constants
    (``optimized=False``), so no template expression runs here; the budget stays as a
    second fence should a Jinja version fold anyway."""
    with budget():
        return environment().from_string(source)


def render_bounded(compiled: Any, values: Mapping[str, Any], limits: RenderLimits | None = None) -> str:
    """Render a compiled template under a fresh budget: what every caller outside
    :func:`promptkit.template.render.render` (assertion values) uses."""
    with budget(limits):
        return generate_bounded(compiled, values)
