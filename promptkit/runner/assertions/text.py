"""Deterministic text checks: equality, substrings, regex, prefixes, length.

These are the bread and butter of a regression suite: free, instant and exact. Each
reason quotes what was looked for and (briefly) what was found, so a failure in CI can be
understood without opening the recording.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from promptkit.runner.assertions.jsonvalue import NotJson, json_equal, loads
from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.results import ModelResponse, OutputSpan

Scalar = str | int | float | bool


def excerpt(text: str, limit: int = 80) -> str:
    """A short, single-line quote of ``text`` for reasons."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


# --------------------------------------------------------------------------- equals


#: Unicode normalization forms for ``normalize_unicode`` (``NFC`` makes a precomposed
#: ``é`` and ``e`` + combining accent the same text; ``NFKC`` also folds ``ﬁ`` to ``fi``,
#: full-width ``Ａ`` to ``A``...).
NormalForm = Literal["NFC", "NFD", "NFKC", "NFKD"]


def normalized(text: str, form: str | None) -> str:
    return unicodedata.normalize(form, text) if form else text  # type: ignore[arg-type]


class EqualsOptions(Options):
    #: A string or number compares as text; a mapping or list with the output parsed as
    #: JSON; ``null`` means the output is JSON ``null``.
    value: Any
    #: Ignore leading/trailing whitespace (models often end with a newline).
    trim: bool = True
    ignore_case: bool = False
    normalize_unicode: NormalForm | None = None


@assertion("equals", EqualsOptions)
def equals(output: str, o: EqualsOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output equals the value (a mapping, list or null value compares as parsed JSON)."""
    if isinstance(o.value, (dict, list)) or o.value is None:
        want_json = json.dumps(o.value, ensure_ascii=False)
        try:
            parsed = loads(output)
        except NotJson as exc:
            return Check.of(False, f"expected JSON equal to {excerpt(want_json)}, output is not JSON: {exc.msg}",
                            OutputSpan(start=min(exc.pos, len(output)), end=min(exc.pos, len(output))))
        ok = json_equal(parsed, o.value)
        return Check.of(ok, "output JSON equals the value" if ok else
                        f"output JSON {excerpt(json.dumps(parsed, ensure_ascii=False))} differs from {excerpt(want_json)}")
    want = normalized(scalar_text(o.value), o.normalize_unicode)
    got = normalized(output, o.normalize_unicode)
    got = got.strip() if o.trim else got
    want = want.strip() if o.trim else want
    if o.ignore_case:
        got, want = got.casefold(), want.casefold()
    ok = got == want
    return Check.of(ok, f"output equals {excerpt(want)}" if ok else f"expected {excerpt(want)}, got {excerpt(got)}")


def scalar_text(value: Any) -> str:
    """A YAML scalar as the text promptfoo compares (JavaScript's ``String(value)``):
    ``true``, ``5`` for 5.0, ``0.5``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return "" if value is None else str(value)


_scalar = scalar_text


def parse_csv_row(value: str) -> list[str]:
    """A comma-separated value string as promptfoo reads it: one CSV row.

    Items are trimmed; ``"..."`` quotes an item that contains commas (``""`` or ``\\"``
    inside for a quote, ``""`` alone for an empty item); repeated commas make no empty
    items. Raises ``ValueError`` for an unclosed quote or text after a closing quote."""
    items: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i] == "," or value[i].isspace()):
            i += 1
        if i >= n:
            break
        if value[i] != '"':
            end = value.find(",", i)
            end = n if end < 0 else end
            items.append(value[i:end].strip())
            i = end
            continue
        start, i, buf = i, i + 1, []
        while True:
            if i >= n:
                raise ValueError(f"unclosed quote at character {start + 1} of {value!r}: close it with \" or "
                                 "give the items as a YAML list")
            ch = value[i]
            if ch == "\\" and i + 1 < n and value[i + 1] in '"\\':
                buf.append(value[i + 1])
                i += 2
            elif ch == '"' and value.startswith('""', i):
                buf.append('"')
                i += 2
            elif ch == '"':
                i += 1
                break
            else:
                buf.append(ch)
                i += 1
        items.append("".join(buf))
        while i < n and value[i].isspace():
            i += 1
        if i < n and value[i] != ",":
            raise ValueError(f"text after the closing quote at character {i + 1} of {value!r}: put a comma "
                             "between items")
    return items


# --------------------------------------------------------------------------- contains


class ContainsOptions(Options):
    value: Scalar
    normalize_unicode: NormalForm | None = None

    @field_validator("value")
    @classmethod
    def _not_empty(cls, v: Scalar) -> Scalar:
        if isinstance(v, str) and not v:
            raise ValueError("must not be empty (every output contains the empty string)")
        return v


def _contains(output: str, needle: str, ignore_case: bool) -> bool:
    return needle.casefold() in output.casefold() if ignore_case else needle in output


def find(output: str, needle: str, ignore_case: bool = False) -> OutputSpan | None:
    """Where ``needle`` first occurs in ``output``, or None. Ignoring case, the span is
    found with ``re.IGNORECASE`` (casefolding can change lengths: ``ß`` -> ``ss``), so a
    match found only by casefolding has no span."""
    if not ignore_case:
        at = output.find(needle)
        return OutputSpan(start=at, end=at + len(needle)) if at >= 0 else None
    m = re.search(re.escape(needle), output, re.IGNORECASE)
    return OutputSpan(start=m.start(), end=m.end()) if m else None


@assertion("contains", ContainsOptions)
def contains(output: str, o: ContainsOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains the value (case-sensitive)."""
    needle, text = normalized(_scalar(o.value), o.normalize_unicode), normalized(output, o.normalize_unicode)
    ok = _contains(text, needle, False)
    return Check.of(ok, f"output {'contains' if ok else 'does not contain'} {excerpt(needle)}",
                    find(text, needle) if ok and text == output else None)


@assertion("icontains", ContainsOptions)
def icontains(output: str, o: ContainsOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains the value, ignoring case."""
    needle, text = normalized(_scalar(o.value), o.normalize_unicode), normalized(output, o.normalize_unicode)
    ok = _contains(text, needle, True)
    return Check.of(ok, f"output {'contains' if ok else 'does not contain'} {excerpt(needle)} (ignoring case)",
                    find(text, needle, True) if ok and text == output else None)


class ContainsManyOptions(Options):
    #: A list, or one string read as a CSV row (``a, "b, c", d``).
    value: list[Scalar]
    normalize_unicode: NormalForm | None = None
    #: contains-all only: score the fraction of values found (promptfoo scores 0 unless
    #: all are found, so a case ``threshold`` gives no partial credit there; neither here
    #: unless this is set).
    partial: bool = False

    @field_validator("value", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if isinstance(v, str):
            return parse_csv_row(v)
        return v

    @field_validator("value")
    @classmethod
    def _not_empty(cls, v: list[Scalar]) -> list[Scalar]:
        if not v:
            raise ValueError("needs at least one string")
        return v


def _many(output: str, o: ContainsManyOptions, *, need_all: bool, ignore_case: bool) -> Check:
    needles = [normalized(_scalar(v), o.normalize_unicode) for v in o.value]
    text = normalized(output, o.normalize_unicode)
    found = [n for n in needles if _contains(text, n, ignore_case)]
    missing = [n for n in needles if n not in found]
    suffix = " (ignoring case)" if ignore_case else ""
    if need_all:
        ok = not missing
        score = len(found) / len(needles) if o.partial else float(ok)
        reason = (f"output contains all of {len(needles)} strings" if ok else
                  f"output lacks {', '.join(map(excerpt, missing))} ({len(found)} of {len(needles)} found)")
    else:
        ok = bool(found)
        score = 1.0 if ok else 0.0
        reason = f"output contains {excerpt(found[0])}" if ok else f"output contains none of {', '.join(map(excerpt, needles))}"
    # the first string found is the evidence (what a negated check objects to)
    where = find(text, found[0], ignore_case) if found and text == output else None
    return Check(ok, score, reason + suffix, location=where)


@assertion("contains-any", ContainsManyOptions)
def contains_any(output: str, o: ContainsManyOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains at least one of the values."""
    return _many(output, o, need_all=False, ignore_case=False)


@assertion("contains-all", ContainsManyOptions)
def contains_all(output: str, o: ContainsManyOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains every value (``partial: true``: score the fraction found)."""
    return _many(output, o, need_all=True, ignore_case=False)


@assertion("icontains-any", ContainsManyOptions)
def icontains_any(output: str, o: ContainsManyOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """Like contains-any, ignoring case."""
    return _many(output, o, need_all=False, ignore_case=True)


@assertion("icontains-all", ContainsManyOptions)
def icontains_all(output: str, o: ContainsManyOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """Like contains-all, ignoring case."""
    return _many(output, o, need_all=True, ignore_case=True)


# --------------------------------------------------------------------------- regex, starts-with


_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class RegexOptions(Options):
    #: Any of ``i`` (ignore case), ``m`` (multiline), ``s`` (dot matches newline), ``x``
    #: (Python only); ``g`` and ``u`` are accepted (and change nothing) with ``dialect: js``.
    #: (Declared before ``value`` so the pattern check can use them.)
    flags: str = ""
    #: ``python`` (``re`` syntax and meaning) or ``js``: the pattern means what
    #: JavaScript's ``new RegExp`` means, as in promptfoo (``$``, ``\\d``, ``\\w``, ``\\b``,
    #: ``.``, ``\\Z``... see :mod:`promptkit.runner.assertions.jsregex`).
    dialect: Literal["python", "js"] = "python"
    #: Match the whole (trimmed) output instead of searching anywhere in it.
    full: bool = False
    value: str

    @field_validator("flags")
    @classmethod
    def _flags(cls, v: str) -> str:
        from promptkit.runner.assertions.jsregex import JS_FLAGS

        allowed = set(_FLAGS) | JS_FLAGS
        bad = set(v) - allowed
        if bad:
            raise ValueError(f"unknown regex flags {''.join(sorted(bad))!r}; use i, m, s or x (g and u with dialect: js)")
        return v

    @field_validator("value")
    @classmethod
    def _compiles(cls, v: str, info: ValidationInfo) -> str:
        if not v:
            raise ValueError("must not be empty: an empty pattern matches every output")
        flags, dialect = info.data.get("flags", ""), info.data.get("dialect", "python")
        if dialect == "python" and set(flags) - set(_FLAGS):
            raise ValueError(f"flags {flags!r}: g and u are JavaScript flags; add 'dialect: js'")
        if dialect == "js" and "x" in flags:
            raise ValueError("the x flag does not exist in JavaScript; use 'dialect: python'")
        if "{{" not in v:  # patterns with {{ var }} are checked after rendering
            try:
                _compile(v, flags, dialect)
            except (re.error, ValueError) as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return v

    def compiled(self) -> re.Pattern[str]:
        return _compile(self.value, self.flags, self.dialect)


def _compile(value: str, flags: str, dialect: str) -> re.Pattern[str]:
    from promptkit.runner.assertions.jsregex import translate, translate_named_groups

    bits = 0
    for f in flags:
        bits |= _FLAGS.get(f, 0)
    pattern = translate(value, flags) if dialect == "js" else translate_named_groups(value)
    return re.compile(pattern, bits)


@assertion("regex", RegexOptions)
def regex(output: str, o: RegexOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output matches the regular expression (Python ``re``, or JavaScript's with ``dialect: js``)."""
    if not o.value:
        return Check.failed_to_run("the regex pattern is empty after filling in variables")
    pattern = o.compiled()
    if o.full:
        lead = len(output) - len(output.lstrip())
        m = pattern.fullmatch(output.strip())
    else:
        lead, m = 0, pattern.search(output)
    if m:
        return Check.of(True, f"output matches /{o.value}/: {excerpt(m.group(0), 40)}",
                        OutputSpan(start=lead + m.start(), end=lead + m.end()))
    return Check.of(False, f"output does not match /{o.value}/: {excerpt(output)}")


class StartsWithOptions(Options):
    value: Scalar
    #: Ignore leading whitespace of the output (trailing, for ends-with).
    trim: bool = True
    ignore_case: bool = False
    normalize_unicode: NormalForm | None = None

    @field_validator("value")
    @classmethod
    def _not_empty(cls, v: Scalar) -> Scalar:
        if isinstance(v, str) and not v:
            raise ValueError("must not be empty (every output starts and ends with the empty string)")
        return v


@assertion("starts-with", StartsWithOptions)
def starts_with(output: str, o: StartsWithOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output starts with the value."""
    want = normalized(_scalar(o.value), o.normalize_unicode)
    text = normalized(output, o.normalize_unicode)
    got = text.lstrip() if o.trim else text
    ok = got.casefold().startswith(want.casefold()) if o.ignore_case else got.startswith(want)
    lead = len(text) - len(got)
    exact = text == output
    if ok:
        return Check.of(True, f"output starts with {excerpt(want)}",
                        OutputSpan(start=lead, end=min(len(output), lead + len(want))) if exact else None)
    return Check.of(False, f"output starts with {excerpt(got[: max(len(want), 20)])}, not {excerpt(want)}",
                    OutputSpan(start=lead, end=min(len(output), lead + max(len(want), 20))) if exact else None)


@assertion("ends-with", StartsWithOptions)
def ends_with(output: str, o: StartsWithOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output ends with the value (trailing whitespace ignored unless ``trim: false``)."""
    want = normalized(_scalar(o.value), o.normalize_unicode)
    text = normalized(output, o.normalize_unicode)
    got = text.rstrip() if o.trim else text
    ok = got.casefold().endswith(want.casefold()) if o.ignore_case else got.endswith(want)
    exact = text == output
    if ok:
        return Check.of(True, f"output ends with {excerpt(want)}",
                        OutputSpan(start=max(0, len(got) - len(want)), end=len(got)) if exact else None)
    tail = got[-max(len(want), 20):]
    return Check.of(False, f"output ends with {excerpt(tail)}, not {excerpt(want)}",
                    OutputSpan(start=len(got) - len(tail), end=len(got)) if exact else None)


# --------------------------------------------------------------------------- length


class LengthOptions(Options):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    unit: Literal["chars", "words", "lines"] = "chars"

    @model_validator(mode="after")
    def _bounds(self) -> LengthOptions:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


def measure(output: str, unit: str) -> int:
    if unit == "words":
        return len(output.split())
    if unit == "lines":
        return len([ln for ln in output.splitlines() if ln.strip()])
    return len(output)


def bounds_check(n: int, lo: int | float | None, hi: int | float | None, what: str) -> Check:
    """Pass when ``lo <= n <= hi``; the reason gives the number and the bound broken."""
    if lo is not None and n < lo:
        return Check.of(False, f"{what} is {n}, below the minimum {lo}")
    if hi is not None and n > hi:
        return Check.of(False, f"{what} is {n}, above the maximum {hi}")
    if lo is not None and hi is not None:
        bound = f"within [{lo}, {hi}]"
    else:
        bound = f"at least {lo}" if lo is not None else f"at most {hi}"
    return Check.of(True, f"{what} is {n}, {bound}")


@assertion("length", LengthOptions)
def length(output: str, o: LengthOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output's length in chars, words or non-blank lines is within [min, max]."""
    return bounds_check(measure(output, o.unit), o.min, o.max, f"length in {o.unit}")
