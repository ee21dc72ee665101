"""Deterministic text checks: equality, substrings, regex, prefixes, length.

These are the bread and butter of a regression suite: free, instant and exact. Each
reason quotes what was looked for and (briefly) what was found, so a failure in CI can be
understood without opening the recording.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import ValidationInfo, field_validator, model_validator

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.results import ModelResponse, OutputSpan

Scalar = str | int | float | bool


def excerpt(text: str, limit: int = 80) -> str:
    """A short, single-line quote of ``text`` for reasons."""
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


# --------------------------------------------------------------------------- equals


class EqualsOptions(Options):
    value: Any
    #: Ignore leading/trailing whitespace (models often end with a newline).
    trim: bool = True
    ignore_case: bool = False


@assertion("equals", EqualsOptions)
def equals(output: str, o: EqualsOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output equals the value (a mapping or list value compares as parsed JSON)."""
    if isinstance(o.value, (dict, list)):
        try:
            parsed = json.loads(output)
        except ValueError:
            return Check.of(False, f"expected JSON equal to {excerpt(json.dumps(o.value))}, output is not JSON")
        ok = parsed == o.value
        return Check.of(ok, "output JSON equals the value" if ok else f"output JSON {excerpt(json.dumps(parsed))} differs from {excerpt(json.dumps(o.value))}")
    want = _scalar(o.value)
    got = output.strip() if o.trim else output
    want = want.strip() if o.trim else want
    if o.ignore_case:
        got, want = got.casefold(), want.casefold()
    ok = got == want
    return Check.of(ok, f"output equals {excerpt(want)}" if ok else f"expected {excerpt(want)}, got {excerpt(got)}")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# --------------------------------------------------------------------------- contains


class ContainsOptions(Options):
    value: Scalar

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
    needle = _scalar(o.value)
    ok = _contains(output, needle, False)
    return Check.of(ok, f"output {'contains' if ok else 'does not contain'} {excerpt(needle)}",
                    find(output, needle) if ok else None)


@assertion("icontains", ContainsOptions)
def icontains(output: str, o: ContainsOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains the value, ignoring case."""
    needle = _scalar(o.value)
    ok = _contains(output, needle, True)
    return Check.of(ok, f"output {'contains' if ok else 'does not contain'} {excerpt(needle)} (ignoring case)",
                    find(output, needle, True) if ok else None)


class ContainsManyOptions(Options):
    value: list[Scalar]

    @field_validator("value", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        if isinstance(v, str):  # promptfoo accepts "a, b, c"
            return [p.strip() for p in v.split(",") if p.strip()]
        return v

    @field_validator("value")
    @classmethod
    def _not_empty(cls, v: list[Scalar]) -> list[Scalar]:
        if not v:
            raise ValueError("needs at least one string")
        return v


def _many(output: str, o: ContainsManyOptions, *, need_all: bool, ignore_case: bool) -> Check:
    needles = [_scalar(v) for v in o.value]
    found = [n for n in needles if _contains(output, n, ignore_case)]
    missing = [n for n in needles if n not in found]
    suffix = " (ignoring case)" if ignore_case else ""
    if need_all:
        ok = not missing
        score = len(found) / len(needles)
        reason = f"output contains all of {len(needles)} strings" if ok else f"output lacks {', '.join(map(excerpt, missing))}"
    else:
        ok = bool(found)
        score = 1.0 if ok else 0.0
        reason = f"output contains {excerpt(found[0])}" if ok else f"output contains none of {', '.join(map(excerpt, needles))}"
    # the first string found is the evidence (what a negated check objects to)
    where = find(output, found[0], ignore_case) if found else None
    return Check(ok, score, reason + suffix, location=where)


@assertion("contains-any", ContainsManyOptions)
def contains_any(output: str, o: ContainsManyOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains at least one of the values."""
    return _many(output, o, need_all=False, ignore_case=False)


@assertion("contains-all", ContainsManyOptions)
def contains_all(output: str, o: ContainsManyOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains every value (score: the fraction found)."""
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
    #: Any of ``i`` (ignore case), ``m`` (multiline), ``s`` (dot matches newline), ``x``.
    #: (Declared before ``value`` so the pattern check can use them.)
    flags: str = ""
    #: Match the whole (trimmed) output instead of searching anywhere in it.
    full: bool = False
    value: str

    @field_validator("flags")
    @classmethod
    def _flags(cls, v: str) -> str:
        bad = set(v) - set(_FLAGS)
        if bad:
            raise ValueError(f"unknown regex flags {''.join(sorted(bad))!r}; use i, m, s or x")
        return v

    @field_validator("value")
    @classmethod
    def _compiles(cls, v: str, info: ValidationInfo) -> str:
        if "{{" not in v:  # patterns with {{ var }} are checked after rendering
            flags = 0
            for f in info.data.get("flags", ""):
                flags |= _FLAGS.get(f, 0)
            try:
                re.compile(v, flags)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return v

    def compiled(self) -> re.Pattern[str]:
        flags = 0
        for f in self.flags:
            flags |= _FLAGS[f]
        return re.compile(self.value, flags)


@assertion("regex", RegexOptions)
def regex(output: str, o: RegexOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output matches the regular expression (Python ``re`` syntax, searched anywhere)."""
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
    #: Ignore leading whitespace of the output.
    trim: bool = True
    ignore_case: bool = False


@assertion("starts-with", StartsWithOptions)
def starts_with(output: str, o: StartsWithOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output starts with the value."""
    want = _scalar(o.value)
    got = output.lstrip() if o.trim else output
    if o.ignore_case:
        ok = got.casefold().startswith(want.casefold())
    else:
        ok = got.startswith(want)
    lead = len(output) - len(got)
    if ok:
        return Check.of(True, f"output starts with {excerpt(want)}",
                        OutputSpan(start=lead, end=min(len(output), lead + len(want))))
    return Check.of(False, f"output starts with {excerpt(got[: max(len(want), 20)])}, not {excerpt(want)}",
                    OutputSpan(start=lead, end=min(len(output), lead + max(len(want), 20))))


# --------------------------------------------------------------------------- length


class LengthOptions(Options):
    min: int | None = None
    max: int | None = None
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
