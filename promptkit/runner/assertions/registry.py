"""The table of assertion types: name -> options model + check function.

One table, filled by small modules (``text``, ``structured``, ``markup``, ``sql``, ``overlap``, ``similarity``,
``metrics``, ``python``, ``judges``) with the :func:`assertion` decorator, so adding a
type is one function in one place and the test-file loader, the docs and error messages
("unknown assertion type 'contain'; did you mean 'contains'?") all read the same table.

Options are pydantic models with ``extra="forbid"``: a misspelt option is an error at
load time, with the line of the test file, instead of being silently ignored.

Check functions take ``(output, options, response, ctx)`` and return a
:class:`Check` (``passed``, ``score``, ``reason``; ``error`` when the assertion could
not be evaluated). They may be ``async`` (judges are).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from promptkit.runner.assertions.spec import AssertionSpec
from promptkit.runner.results import Location, Usage

#: Modules that register assertion types; imported on first use of the table.
_MODULES = ("text", "structured", "markup", "sql", "overlap", "similarity", "metrics", "python", "judges", "refusal",
            "combinators", "tools", "rag")


class Options(BaseModel):
    """Base of every options model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    def files(self) -> dict[str, str]:
        """Option name -> file path (relative to the test file) this assertion reads, so
        the loader can report a missing file at load time, at the option's line."""
        return {}


@dataclass
class Check:
    """The verdict of one check function (before negation and weighting).

    ``reason`` says what was found, in words, without the place; ``location`` is the
    place in the output (a span of characters or a JSON path) when there is one, so a
    negated check keeps it too (``not-contains`` fails *at* the forbidden text).
    ``feedback`` is a judge's own explanation.
    """

    passed: bool
    score: float
    reason: str
    error: bool = False
    usage: Usage = field(default_factory=Usage)
    location: Location | None = None
    feedback: str | None = None

    @classmethod
    def of(cls, passed: bool, reason: str, location: Location | None = None) -> Check:
        """A binary check: score 1 on pass, 0 on fail."""
        return cls(passed, 1.0 if passed else 0.0, reason, location=location)

    @classmethod
    def failed_to_run(cls, reason: str, usage: Usage | None = None) -> Check:
        """The assertion could not be evaluated: the sample becomes ERROR, not FAIL."""
        return cls(False, 0.0, reason, error=True, usage=usage or Usage())


CheckFn = Callable[..., "Check | Awaitable[Check]"]


@dataclass(frozen=True)
class AssertionType:
    """One registered type."""

    name: str
    options: type[Options]
    check: CheckFn
    summary: str
    #: Model-graded: needs ``ctx.judge``.
    judge: bool = False
    #: A negated result is meaningful (``not-is-json``); False for metrics where
    #: negation would be nonsense (``not-latency``).
    negatable: bool = True
    #: A shorthand field: ``- contains: Paris`` puts ``Paris`` in this option.
    shorthand: str = "value"


_TYPES: dict[str, AssertionType] = {}
_loaded = False


def assertion(
    name: str,
    options: type[Options],
    *,
    judge: bool = False,
    negatable: bool = True,
    aliases: tuple[str, ...] = (),
) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check of assertion type ``name`` (and its aliases).
    The first line of ``fn``'s docstring is the type's one-line summary."""

    def deco(fn: CheckFn) -> CheckFn:
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else name
        for n in (name, *aliases):
            _TYPES[n] = AssertionType(n, options, fn, summary, judge=judge, negatable=negatable)
        return fn

    return deco


def types() -> dict[str, AssertionType]:
    """Every registered type by name (loads the built-in modules on first call)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _MODULES:
            _import(mod)
    return _TYPES


#: Built-in type name -> the module of :data:`_MODULES` that registers it, so a suite that
#: uses ``contains`` and ``length`` imports ``text`` alone, not all thirteen modules (a
#: test checks this table against what the modules register).
_HOME = {name: mod for mod, names in {
    "text": ("equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all",
             "regex", "starts-with", "ends-with", "length"),
    "structured": ("is-json", "json-schema", "is-valid-json-schema", "contains-json", "json-path", "json-path-equals",
                   "pydantic", "is-valid-pydantic"),
    "markup": ("is-xml", "contains-xml"),
    "sql": ("is-sql", "contains-sql"),
    "overlap": ("rouge-n", "rouge", "bleu"),
    "similarity": ("string-similar", "similar-chars", "similar", "semantic-similar", "similar-meaning",
                   "similar:cosine", "levenshtein"),
    "metrics": ("latency", "cost", "tokens", "finish-reason"),
    "python": ("python", "callable"),
    "judges": ("llm-rubric", "rubric", "factuality", "pairwise"),
    "refusal": ("is-refusal",),
    "combinators": ("assert-set",),
    "tools": ("tool-called", "tool-args-valid", "is-valid-openai-tools-call", "is-valid-function-call", "tool-call-f1"),
    "rag": ("g-eval", "geval", "context-faithfulness", "context-relevance", "answer-relevance"),
}.items() for name in names}
_imported: set[str] = set()


def _import(mod: str) -> None:
    if mod not in _imported:
        importlib.import_module(f"promptkit.runner.assertions.{mod}")
        _imported.add(mod)


def get(name: str) -> AssertionType | None:
    """The type registered as ``name``. A built-in name imports only its own module; any
    other name loads every module first (it may be misspelt, or registered elsewhere)."""
    if not _loaded:
        home = _HOME.get(name)
        if home is None:
            return types().get(name)
        _import(home)
    return _TYPES.get(name)


def suggest(name: str) -> str | None:
    """The registered type closest to a misspelt ``name``, or None."""
    from rapidfuzz import process

    base = name[4:] if name.startswith("not-") else name
    match = process.extractOne(base, list(types()), score_cutoff=70)
    if match is None:
        return None
    return ("not-" if name.startswith("not-") else "") + match[0]


class SpecError(ValueError):
    """An invalid assertion entry. ``loc`` is the key path inside the entry
    (``("value",)``) so the loader can point at the exact line."""

    def __init__(self, message: str, loc: tuple[Any, ...] = (), hint: str = "") -> None:
        super().__init__(message)
        self.loc = loc
        self.hint = hint


#: Keys every assertion accepts, whatever its type.
COMMON_KEYS = ("type", "negate", "weight", "metric", "transform")


def normalize_entry(raw: Any) -> dict[str, Any]:
    """Accept the long form ``{type: contains, value: x}`` and the shorthand
    ``{contains: x}`` (one key naming a type). Returns the long form."""
    if isinstance(raw, str):
        return {"type": raw}
    if not isinstance(raw, dict):
        raise SpecError(
            f"an assertion must be a mapping like {{type: contains, value: ...}}, not a {type(raw).__name__}",
            hint="write '- type: contains' followed by '  value: ...'",
        )
    if "type" in raw:
        return dict(raw)
    named = [k for k in raw if isinstance(k, str) and _known(k)]
    if len(named) == 1:
        key = named[0]
        out = {k: v for k, v in raw.items() if k != key}
        t = get(key[4:] if key.startswith("not-") else key)
        assert t is not None
        out["type"] = key
        value = raw[key]
        if isinstance(value, dict) and t.shorthand not in t.options.model_fields:
            out.update(value)  # - length: {max: 50}
        elif value is not None:
            out[t.shorthand] = value
        return out
    first = next(iter(raw), None)
    if isinstance(first, str) and first not in COMMON_KEYS and len(raw) == 1:
        guess = suggest(first)
        hint = f"did you mean '{guess}'?" if guess else "see docs/testing.md for the assertion types"
        raise SpecError(f"unknown assertion type '{first}'", (), hint)
    raise SpecError(
        "assertion has no 'type'",
        hint="start the entry with '- type: NAME' (e.g. contains, regex, is-json, llm-rubric)",
    )


def _known(name: str) -> bool:
    return get(name) is not None or (name.startswith("not-") and get(name[4:]) is not None)


def build_spec(raw: Any, *, source: str | None = None, span: Any = None) -> AssertionSpec:
    """Validate one ``assert:`` entry into an :class:`AssertionSpec`.

    Raises :class:`SpecError` (with ``loc`` inside the entry) for an unknown type, a
    misspelt option or a value of the wrong type.
    """
    entry = normalize_entry(raw)
    name = entry.get("type")
    if not isinstance(name, str) or not name:
        raise SpecError("assertion 'type' must be a name such as contains or regex", ("type",))
    negate = False
    base = name
    t = get(base)
    if t is None and base.startswith("not-"):
        base = base[4:]
        t = get(base)
        negate = True
    if t is None:
        guess = suggest(name)
        hint = f"did you mean '{guess}'?" if guess else "see docs/testing.md for the assertion types"
        raise SpecError(f"unknown assertion type '{name}'", ("type",), hint)
    flag = entry.get("negate", False)
    if not isinstance(flag, bool):
        raise SpecError("'negate' must be true or false", ("negate",))
    if flag and negate:
        raise SpecError(f"'{name}' is already negated by its 'not-' prefix; drop 'negate: true'", ("negate",))
    negate = negate or flag
    if negate and not t.negatable:
        raise SpecError(f"assertion type '{base}' cannot be negated", ("type",), f"set bounds on '{base}' instead")
    weight = entry.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
        raise SpecError("'weight' must be a number >= 0 (0 = reported, never failing)", ("weight",))
    metric = entry.get("metric")
    if metric is not None and not isinstance(metric, str):
        raise SpecError("'metric' must be a name", ("metric",))
    from promptkit.runner.assertions.transform import build_transform

    try:
        transform = build_transform(entry.get("transform"))
    except SpecError as exc:
        raise SpecError(str(exc), ("transform", *exc.loc), exc.hint) from None
    opts = {k: v for k, v in entry.items() if k not in COMMON_KEYS}
    children: list[AssertionSpec] = []
    if base == "assert-set":
        members = opts.pop("assert", None)
        if not isinstance(members, list) or not members:
            raise SpecError("assert-set needs 'assert': a list of assertions", ("assert",) if members is not None else (),
                            "write 'assert:' followed by '- type: ...' entries")
        for i, member in enumerate(members):
            try:
                child = build_spec(member, source=source, span=span)
            except SpecError as exc:
                raise SpecError(str(exc), ("assert", i, *exc.loc), exc.hint) from None
            if transform:  # the set's transform runs before each member's own
                child = child.model_copy(update={"transform": transform.then(child.transform)})
            children.append(child)
    try:
        options = t.options.model_validate(opts)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt option also makes the real one "missing": report the typo
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(err["loc"])
        field_name = str(loc[0]) if loc else "options"  # deeper parts are union branch tags
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(sorted(t.options.model_fields)) or "none"
            raise SpecError(
                f"assertion '{name}' has no option '{field_name}'", loc[:1], f"its options are: {allowed}"
            ) from None
        if err["type"] == "missing":
            raise SpecError(f"assertion '{name}' needs '{field_name}'", (), _option_hint(t)) from None
        if not loc:  # a check across options (min <= max...)
            raise SpecError(f"assertion '{name}': {msg}", (), _option_hint(t)) from None
        raise SpecError(f"assertion '{name}' option '{field_name}': {msg}", loc[:1], _option_hint(t)) from None
    return AssertionSpec(
        type=base, negate=negate, weight=float(weight), metric=metric, options=options, source=source, span=span,
        transform=transform, children=children,
    )


def _option_hint(t: AssertionType) -> str:
    fields = []
    for n, f in t.options.model_fields.items():
        fields.append(n if f.is_required() else f"{n}?")
    return f"'{t.name}' takes: {', '.join(fields)}" if fields else ""
