"""Declarative rule packs: lint rules as YAML data, in the spirit of Vale styles.

A team encodes its house style ("no TODO left in prompts", "say 'to', not 'in order
to'") without writing Python: a pack is a YAML file with a list of rules, each naming a
check kind (``extends``), a scope, tokens or patterns, a severity, a message and maybe a
replacement that becomes a fix. Packs are validated when loaded; a bad pack is one clear
``file:line:col`` error, never a traceback.

Check kinds (``extends``):

* ``existence``: every match is a finding (``%s`` is the matched text).
* ``substitution``: ``swap: {pattern: replacement}``; every match is a finding with a fix
  that writes the replacement (case kept for a capitalised match). In the message, the
  first ``%s`` is the replacement and the second the match (Vale's order); ``{match}``
  and ``{replacement}`` work too.
* ``occurrence``: more than ``max`` (or fewer than ``min``) matches in one scope.
* ``at-least``: fewer than ``min`` (default 1) matches in the scope.
* ``repetition``: the same token twice in a row ("the the").
* ``consistency``: ``either: {a: b}``; both spellings are used in one file.

Scopes: ``text`` (whole file), ``front-matter``, ``body`` (default), ``message:<role>``,
``component:<kind or name>`` (e.g. ``component:output_format``). Code spans, fenced code
blocks and template/HTML comments are skipped unless ``skip-code: false``.

The default packs live in the top-level ``rules/`` directory (bundled into the wheel);
projects add their own with ``rule-packs = ["style/"]`` in config.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from promptkit.codes import INVALID_CONFIG
from promptkit.diagnostics import (
    Diagnostic,
    Edit,
    Fix,
    LineIndex,
    PromptkitError,
    Severity,
)
from promptkit.lint.rule import ALL_KINDS, REGISTRY, Finding, LintContext, Rule
from promptkit.template.model import FileKind

_BUILTINS_LOADED = False

CheckKind = Literal["existence", "substitution", "occurrence", "at-least", "repetition", "consistency"]
_CODE = re.compile(r"^[A-Z]{1,8}\d{1,4}$")
_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_SCOPE = re.compile(r"^(text|front-matter|body|message:[a-z]+|component:[\w\-]+)$")


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class RuleDocs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    what: str = ""
    why: str = ""
    bad: str = Field(min_length=1)
    good: str = Field(min_length=1)
    #: fence language / file kind of the examples (prompty, markdown, text...)
    lang: str = "prompty"


class PackRuleSpec(BaseModel):
    """One rule of a pack, as written in YAML (kebab-case keys)."""

    model_config = ConfigDict(extra="forbid", alias_generator=_kebab, populate_by_name=True)

    code: str
    name: str
    extends: CheckKind
    message: str
    summary: str
    severity: Literal["error", "warning", "info"] = "warning"
    scope: list[str] = Field(default_factory=lambda: ["body"])
    tokens: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    swap: dict[str, str] = Field(default_factory=dict)
    either: dict[str, str] = Field(default_factory=dict)
    ignorecase: bool = False
    skip_code: bool = True
    max: int | None = Field(default=None, ge=0)
    min: int | None = Field(default=None, ge=0)
    fix: Literal["safe", "unsafe"] = "unsafe"
    kinds: list[FileKind] | None = None
    preview: bool = False
    default_enabled: bool = True
    docs: RuleDocs

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not _CODE.match(v):
            raise ValueError(f"code {v!r} must be letters then digits, e.g. PK701 or ACME01")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"name {v!r} must be kebab-case, e.g. leftover-placeholder")
        return v

    @field_validator("scope", mode="before")
    @classmethod
    def _scope_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("scope")
    @classmethod
    def _scopes(cls, v: list[str]) -> list[str]:
        for s in v:
            if not _SCOPE.match(s):
                raise ValueError(f"scope {s!r}: use text, front-matter, body, message:<role> or component:<name>")
        return v

    @model_validator(mode="after")
    def _check(self) -> PackRuleSpec:
        k = self.extends
        if k == "substitution" and not self.swap:
            raise ValueError("a substitution rule needs 'swap' (pattern: replacement)")
        if k == "consistency" and not self.either:
            raise ValueError("a consistency rule needs 'either' (spelling: other spelling)")
        if k in ("existence", "occurrence", "at-least", "repetition") and not (self.tokens or self.patterns):
            raise ValueError(f"an {k} rule needs 'tokens' or 'patterns'")
        if k == "occurrence" and self.max is None and self.min is None:
            raise ValueError("an occurrence rule needs 'max' or 'min'")
        flags = re.IGNORECASE if self.ignorecase else 0
        for p in [*self.tokens, *self.patterns, *self.swap, *self.either, *self.either.values()]:
            try:
                _token_regex([], [p], flags)
            except re.error as exc:
                raise ValueError(f"bad regular expression {p!r}: {exc}") from None
        return self


class Pack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pack: str
    description: str = ""
    rules: list[PackRuleSpec]


# --------------------------------------------------------------------------- matching


_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")
_FLAG_BITS = {"a": re.ASCII, "i": re.IGNORECASE, "L": re.LOCALE, "m": re.MULTILINE, "s": re.DOTALL,
              "u": re.UNICODE, "x": re.VERBOSE}


def _token_regex(tokens: list[str], patterns: list[str], flags: int) -> re.Pattern[str] | None:
    """One regex for a rule's tokens (whole words) and patterns (as written). Leading
    global flags such as ``(?m)`` are lifted out so the alternatives can be joined."""
    alts = []
    for t in tokens:
        t, flags = _lift_flags(t, flags)
        left = r"(?<!\w)" if t[:1].isalnum() or t[:1] == "_" else ""
        right = r"(?!\w)" if t[-1:].isalnum() or t[-1:] == "_" else ""
        alts.append(f"{left}(?:{t}){right}")
    for p in patterns:
        p, flags = _lift_flags(p, flags)
        alts.append(f"(?:{p})")
    if not alts:
        return None
    return re.compile("|".join(alts), flags)


def _lift_flags(pattern: str, flags: int) -> tuple[str, int]:
    m = _GLOBAL_FLAGS.match(pattern)
    if not m:
        return pattern, flags
    for ch in m.group(1):
        flags |= _FLAG_BITS[ch]
    return pattern[m.end():], flags


#: Inline code; comments are found by linear scanners (:func:`_comment_spans`).
_INLINE_CODE = re.compile(r"`[^`\n]+`")


def _comment_spans(text: str) -> Iterator[tuple[int, int]]:
    """Jinja, HTML and Handlebars comments: the first closer after each opener, found with
    ``str.find`` (a lazy ``{#.*?#}`` regex is quadratic on an unclosed ``{#`` repeated)."""
    from promptkit.lint.rules import _util

    if "{#" in text:
        yield from _util.delimited(text, "{#", "#}")
    if "<!--" in text:
        yield from _util.delimited(text, "<!--", "-->")
    if "{{!" in text:
        yield from _util.handlebars_comments(text)


def _masked(ctx: LintContext) -> list[tuple[int, int]]:
    """Sorted, disjoint ranges of code and comments, which pack rules skip."""

    def compute() -> list[tuple[int, int]]:
        text = ctx.text
        ranges: list[tuple[int, int]] = []
        if "```" in text or "~~~" in text:
            ranges.extend(_fenced_blocks(text))
        if "`" in text:
            ranges.extend((m.start(), m.end()) for m in _INLINE_CODE.finditer(text))
        ranges.extend(_comment_spans(text))
        ranges.sort()
        merged: list[tuple[int, int]] = []
        for a, b in ranges:
            if merged and a < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        return merged

    return ctx.cached("packs.masked", compute)  # type: ignore[no-any-return]


_FENCE_RUN = re.compile(r"`{3,}|~{3,}")


def _fenced_blocks(text: str) -> list[tuple[int, int]]:
    """Fenced code blocks (CommonMark: a run of 3+ backticks or tildes indented at most 3
    spaces opens; a run of the same character, at least as long, alone on a line closes;
    an unclosed block runs to the end). Found by scanning for the runs, which is much
    faster than a multi-line regex over the whole file."""
    out: list[tuple[int, int]] = []
    opened: tuple[int, str, int] | None = None
    for m in _FENCE_RUN.finditer(text):
        # a fence has at most 3 characters before it on its line: look back no further
        # (an unbounded rfind per run is quadratic on a long line of ``` runs)
        lo = max(0, m.start() - 4)
        nl = text.rfind("\n", lo, m.start())
        if nl == -1 and lo > 0:
            continue
        line_start = nl + 1 if nl != -1 else 0
        lead = text[line_start : m.start()]
        if len(lead) > 3 or lead.strip(" ") or "\t" in lead:
            continue
        run = m.group()
        if opened is None:
            opened = (line_start, run[0], len(run))
            continue
        line_end = text.find("\n", m.end())
        line_end = len(text) if line_end == -1 else line_end
        if run[0] == opened[1] and len(run) >= opened[2] and not text[m.end() : line_end].strip():
            out.append((opened[0], line_end))
            opened = None
    if opened is not None:
        out.append((opened[0], len(text)))
    return out


def _lowered(ctx: LintContext) -> str:
    return ctx.cached("packs.lower", lambda: ctx.text.lower())  # type: ignore[no-any-return]


def required_literal(pattern: str, flags: int = 0) -> str | None:
    """A substring (lower-cased) that every match of ``pattern`` contains, or None.

    Used as a prefilter: most files contain none of a rule's phrases, and a substring
    test is ~100x cheaper than running a case-insensitive regex over the file."""
    try:
        from re import _parser as sre  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as sre  # type: ignore[no-redef]
    pattern, flags = _lift_flags(pattern, flags)
    try:
        parsed = sre.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - no prefilter is always correct
        return None
    best, cur = "", []

    def walk(items: Any) -> None:
        nonlocal best, cur
        for op, av in items:
            if op is sre.LITERAL:
                cur.append(chr(av))
                continue
            if op is sre.SUBPATTERN and av[-1] is not None:
                walk(av[-1])
                continue
            run = "".join(cur)
            if len(run) > len(best):
                best = run
            cur = []

    walk(parsed.data)
    run = "".join(cur)
    if len(run) > len(best):
        best = run
    return best.lower() if len(best) >= 3 else None


def _in(ranges: list[tuple[int, int]], start: int, end: int) -> bool:
    """Does ``[start, end)`` overlap one of the sorted, disjoint ``ranges``?"""
    import bisect

    i = bisect.bisect_right(ranges, (start, 1 << 62)) - 1
    if i >= 0 and ranges[i][1] > start:
        return True
    return i + 1 < len(ranges) and ranges[i + 1][0] < end


def _regions(ctx: LintContext, scopes: list[str]) -> list[tuple[int, int]]:
    t = ctx.template
    out: list[tuple[int, int]] = []
    for s in scopes:
        if s == "text":
            out.append((0, len(t.text)))
        elif s == "body":
            out.append((t.body_offset, len(t.text)))
        elif s == "front-matter":
            if t.front_matter_span is not None:
                out.append((t.front_matter_span.start.offset, t.front_matter_span.end.offset))
        elif s.startswith("message:"):
            role = s.split(":", 1)[1]
            out.extend((m.content_span.start.offset, m.content_span.end.offset) for m in t.messages if m.role == role)
        elif s.startswith("component:"):
            want = s.split(":", 1)[1]
            out.extend((c.content_span.start.offset, c.content_span.end.offset)
                       for _, c in t.components() if c.kind == want or c.key == want)
    out.sort()
    merged: list[tuple[int, int]] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _format(message: str, *args: str, match: str = "", replacement: str = "") -> str:
    out = message.replace("{match}", match).replace("{replacement}", replacement)
    for a in args:
        if "%s" not in out:
            break
        out = out.replace("%s", a, 1)
    return out.replace("%s", "")


def _txt(ctx: LintContext, m: re.Match[str], group: int | str = 0) -> str:
    return ctx.text[m.start(group) : m.end(group)]


#: (pattern, flags) of a case-insensitive regex -> the same regex without IGNORECASE, to run
#: on the lower-cased text (several times faster in Python's re). Only for patterns with no
#: upper-case characters (so no ``\W``/``\S`` escapes change meaning) and no backreference
#: in a replacement.
_FAST: dict[tuple[str, int], re.Pattern[str]] = {}


def _fast_variant(rx: re.Pattern[str] | None) -> None:
    if rx is None or not rx.flags & re.IGNORECASE:
        return
    bare = rx.pattern.replace("(?P<", "").replace("(?P=", "")
    if bare != bare.lower():
        return
    _FAST[(rx.pattern, rx.flags)] = re.compile(rx.pattern, rx.flags & ~re.IGNORECASE)


def _keep_case(found: str, replacement: str) -> str:
    if replacement and found[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement


class PackRule(Rule):
    """Base class of rules built from a pack (one subclass per YAML rule)."""

    spec: ClassVar[PackRuleSpec]
    pack_path: ClassVar[str]
    bundled: ClassVar[bool] = False
    content_hash: ClassVar[str] = ""
    _regex: ClassVar[re.Pattern[str] | None] = None
    _swaps: ClassVar[list[tuple[re.Pattern[str], str]]] = []
    _either: ClassVar[list[tuple[re.Pattern[str], re.Pattern[str], str, str]]] = []
    #: substrings one of which every match contains (None: no prefilter)
    _needles: ClassVar[tuple[str, ...] | None] = None
    _swap_needles: ClassVar[list[str | None]] = []
    _repeat: ClassVar[re.Pattern[str] | None] = None

    _parts: ClassVar[list[tuple[re.Pattern[str], str | None]]] = []

    def _matches(self, ctx: LintContext, rx: re.Pattern[str],
                 regions: list[tuple[int, int]] | None = None) -> Iterator[re.Match[str]]:
        """Matches of ``rx`` in the rule's scopes, outside code and comments. Offsets are
        into ``ctx.text``; read matched text with :func:`_txt` (a match may come from the
        lower-cased copy of the text, see :func:`_fast_variant`)."""
        masked = _masked(ctx) if self.spec.skip_code else []
        text = ctx.text
        fast = _FAST.get((rx.pattern, rx.flags))
        if fast is not None:
            low = _lowered(ctx)
            if len(low) == len(text):
                text, rx = low, fast
        for a, b in regions if regions is not None else _regions(ctx, self.spec.scope):
            for m in rx.finditer(text, a, b):
                if m.end() == m.start():
                    continue
                if masked and _in(masked, m.start(), m.end()):
                    continue
                yield m

    def _hits(self, ctx: LintContext, regions: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
        """Spans matched by any token or pattern, in order, overlaps dropped. Each one is
        its own regex: Python's ``re`` scans a literal-prefixed pattern far faster than an
        alternation, and a pattern whose required text is absent is not run at all."""
        low = _lowered(ctx)
        spans: list[tuple[int, int]] = []
        for rx, needle in self._parts:
            if needle is not None and needle not in low:
                continue
            spans.extend((m.start(), m.end()) for m in self._matches(ctx, rx, regions))
        if len(self._parts) > 1:
            spans.sort(key=lambda x: (x[0], -x[1]))
            out: list[tuple[int, int]] = []
            for sp in spans:
                if not out or sp[0] >= out[-1][1]:
                    out.append(sp)
            return out
        return spans

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        kind = self.spec.extends
        if self._needles is not None and kind in ("existence", "repetition"):
            low = _lowered(ctx)
            if not any(n in low for n in self._needles):
                return
        yield from getattr(self, "_" + kind.replace("-", "_"))(ctx)

    def _finding(self, ctx: LintContext, start: int, end: int, message: str, fix: Fix | None = None) -> Finding:
        return Finding(ctx.span(start, end), message, fix=fix)

    def _existence(self, ctx: LintContext) -> Iterator[Finding]:
        for start, end in self._hits(ctx):
            found = ctx.text[start:end]
            yield self._finding(ctx, start, end, _format(self.spec.message, found, match=found))

    def _substitution(self, ctx: LintContext) -> Iterator[Finding]:
        hits: list[tuple[int, int, str, str]] = []
        low = _lowered(ctx)
        for (rx, rep), needle in zip(self._swaps, self._swap_needles):
            if needle is not None and needle not in low:
                continue
            for m in self._matches(ctx, rx):
                found = _txt(ctx, m)
                hits.append((m.start(), m.end(), found, _keep_case(found, m.expand(rep) if "\\" in rep else rep)))
        hits.sort()
        last = -1
        text = ctx.text
        for start, end, found, rep in hits:
            if start < last:
                continue
            last = end
            e_start, e_end = start, end
            if not rep:  # deleting a phrase: take one neighbouring space with it
                if text[e_end : e_end + 1] == " ":
                    e_end += 1
                elif e_start > 0 and text[e_start - 1] == " ":
                    e_start -= 1
            fix = Fix([Edit(e_start, e_end, rep)], safe=self.spec.fix == "safe",
                      description=f"replace with {rep!r}" if rep else "remove it")
            yield self._finding(ctx, start, end, _format(self.spec.message, rep, found, match=found, replacement=rep), fix)

    def _occurrence(self, ctx: LintContext) -> Iterator[Finding]:
        for a, b in _regions(ctx, self.spec.scope):
            hits = self._hits(ctx, [(a, b)])
            n = len(hits)
            if self.spec.max is not None and n > self.spec.max:
                start, end = hits[self.spec.max]
                yield self._finding(ctx, start, end, _format(self.spec.message, str(n), match=ctx.text[start:end]))
            if self.spec.min is not None and n < self.spec.min:
                yield self._finding(ctx, a, a, _format(self.spec.message, str(n)))

    def _at_least(self, ctx: LintContext) -> Iterator[Finding]:
        want = self.spec.min if self.spec.min is not None else 1
        for a, b in _regions(ctx, self.spec.scope):
            n = len(self._hits(ctx, [(a, b)]))
            if n < want:
                line_end = ctx.template.index.line_end(ctx.template.index.position(a).line)
                yield self._finding(ctx, a, max(a, min(line_end, b)), _format(self.spec.message, str(n)))

    def _repetition(self, ctx: LintContext) -> Iterator[Finding]:
        assert self._repeat is not None
        for m in self._matches(ctx, self._repeat):
            first, again = _txt(ctx, m, "first"), _txt(ctx, m, "again")
            if len(first) > 1 and first.isupper() != again.isupper():
                continue  # "AND and": a keyword or acronym next to the word, not a typo
            start = m.start("again")
            fix = Fix([Edit(m.end("first"), m.end(), "")], safe=self.spec.fix == "safe",
                      description="remove the repetition")
            word = _txt(ctx, m, "again")
            yield self._finding(ctx, start, m.end(), _format(self.spec.message, word, match=word), fix)

    def _consistency(self, ctx: LintContext) -> Iterator[Finding]:
        for rx_a, rx_b, a_src, b_src in self._either:
            ha = list(self._matches(ctx, rx_a))
            hb = list(self._matches(ctx, rx_b))
            if ha and hb:
                minority, other = (hb, ha) if len(hb) <= len(ha) else (ha, hb)
                m = minority[0]
                yield self._finding(ctx, m.start(), m.end(),
                                    _format(self.spec.message, _txt(ctx, m), _txt(ctx, other[0]), match=_txt(ctx, m)))


def _docstring(spec: PackRuleSpec) -> str:
    d = spec.docs
    return (
        f"{spec.summary}\n\n## What it does\n{d.what or spec.summary}\n\n## Why is this bad?\n{d.why or spec.summary}\n\n"
        f"## Example\n```{d.lang}\n{d.bad.rstrip()}\n```\n\n## Use instead\n```{d.lang}\n{d.good.rstrip()}\n```\n"
    )


def _needles(spec: PackRuleSpec, flags: int) -> tuple[str, ...] | None:
    lits = [required_literal(p, flags) for p in [*spec.tokens, *spec.patterns]]
    if not lits or any(x is None for x in lits):
        return None
    return tuple(x for x in lits if x is not None)


def _parts(spec: PackRuleSpec, flags: int) -> list[tuple[re.Pattern[str], str | None]]:
    """Each token and pattern as its own regex, with the text every match must contain.
    Global flags such as ``(?m)`` lifted from any of them apply to all, as documented."""
    all_flags = flags
    for p in [*spec.tokens, *spec.patterns]:
        all_flags = _lift_flags(p, all_flags)[1]
    out = []
    for t in spec.tokens:
        rx = _token_regex([t], [], all_flags)
        if rx is not None:
            out.append((rx, required_literal(t, all_flags)))
    for p in spec.patterns:
        rx = _token_regex([], [p], all_flags)
        if rx is not None:
            out.append((rx, required_literal(p, all_flags)))
    return out


def _repeat_regex(spec: PackRuleSpec, flags: int) -> re.Pattern[str] | None:
    """``first``, blanks, then the same text again (``again``): one regex pass finds the
    repetitions instead of pairing every token match in Python."""
    inner = _token_regex(spec.tokens, spec.patterns, flags)
    if inner is None:
        return None
    return re.compile(rf"(?P<first>{inner.pattern})[ \t]+(?P<again>(?P=first))(?![\w-])", inner.flags)


def make_rule(spec: PackRuleSpec, pack_path: str, bundled: bool, content_hash: str) -> type[PackRule]:
    flags = re.IGNORECASE if spec.ignorecase else 0
    attrs: dict[str, Any] = {
        "__doc__": _docstring(spec),
        "__module__": __name__,
        "code": spec.code,
        "name": spec.name,
        "severity": Severity(spec.severity),
        "fixable": spec.fix if spec.extends in ("substitution", "repetition") else None,
        "preview": spec.preview,
        "default_enabled": spec.default_enabled,
        "kinds": frozenset(spec.kinds) if spec.kinds else ALL_KINDS,
        "spec": spec,
        "pack_path": pack_path,
        "bundled": bundled,
        "content_hash": content_hash,
        "_regex": _token_regex(spec.tokens, spec.patterns, flags),
        "_parts": _parts(spec, flags),
        "_swaps": [(_token_regex([k], [], flags), v) for k, v in spec.swap.items()],
        "_either": [(_token_regex([a], [], flags), _token_regex([b], [], flags), a, b) for a, b in spec.either.items()],
        "_needles": _needles(spec, flags),
        "_swap_needles": [required_literal(k, flags) for k in spec.swap],
        "_repeat": _repeat_regex(spec, flags) if spec.extends == "repetition" else None,
    }
    for rx, _ in attrs["_parts"]:
        _fast_variant(rx)
    _fast_variant(attrs["_repeat"])
    for rx, rep in attrs["_swaps"]:
        if "\\" not in rep:
            _fast_variant(rx)
    cls_name = "Pack_" + re.sub(r"\W", "_", spec.name)
    return type(cls_name, (PackRule,), attrs)  # type: ignore[return-value]


# --------------------------------------------------------------------------- loading


def _error(path: Path, text: str, loc: tuple[Any, ...], message: str, hint: str = "") -> PromptkitError:
    import yaml

    span = None
    try:
        node = yaml.compose(text)
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value in (key, _kebab(str(key))):
                        nxt = v if key != loc[-1] else k
                        break
                if nxt is None:
                    break
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                break
        if node is not None:
            idx = LineIndex(text)
            span = idx.span(node.start_mark.index, node.start_mark.index)
    except yaml.YAMLError:
        pass
    return PromptkitError(Diagnostic(str(path), message, code=INVALID_CONFIG.code, name=INVALID_CONFIG.name, span=span,
                                     hint=hint or "see docs/lint.md, section 'Rule packs'"))


def read_pack(path: Path) -> tuple[Pack, str]:
    """Parse and validate one pack file."""
    import yaml

    from promptkit.template.source import read_text

    from promptkit.template.frontmatter import safe_load

    text = read_text(path, "rule pack", code=INVALID_CONFIG.code, name=INVALID_CONFIG.name)
    try:
        data = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        span = None
        if mark is not None:
            idx = LineIndex(text)
            span = idx.span(mark.index, mark.index)
        raise PromptkitError(Diagnostic(str(path), f"invalid YAML in rule pack: {getattr(exc, 'problem', exc)}",
                                        code=INVALID_CONFIG.code, name=INVALID_CONFIG.name, span=span)) from None
    if not isinstance(data, dict):
        raise _error(path, text, (), "a rule pack must be a mapping with 'pack' and 'rules'")
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        # a misspelled key also shows up as a missing one: report the misspelling
        err = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        loc = tuple(err["loc"])
        where = ".".join(str(x) for x in loc)
        rules = data.get("rules")
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(rules, list) \
                and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            where = f"rule {rules[loc[1]].get('code', '#' + str(loc[1] + 1))}" + (
                f", key '{'.'.join(str(x) for x in loc[2:])}'" if len(loc) > 2 else "")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise _error(path, text, loc, f"invalid rule pack ({where}): {msg}") from None
    return pack, hashlib.sha256(text.encode()).hexdigest()[:16]


#: (resolved pack file, content hash) -> the rule classes made from it. A cache of
#: immutable classes keyed by content, not a registry: two revisions of one pack (or two
#: packs using the same codes) are different keys, and which of them a lint run uses is
#: decided by its :class:`~promptkit.lint.ruleset.RuleSet`.
_MADE: dict[tuple[str, str], list[type[PackRule]]] = {}


def load_pack_file(path: Path, *, bundled: bool = False) -> list[type[PackRule]]:
    """The rules of one pack file, as classes (made again only when its bytes change).
    Nothing is registered: a :class:`~promptkit.lint.ruleset.RuleSet` takes them in, and
    checks their codes and names against the other rules it holds."""
    key = str(path.resolve())
    pack, digest = read_pack(path)
    made = _MADE.get((key, digest))
    if made is not None and all(getattr(r, "bundled", False) == bundled for r in made):
        return list(made)
    made = []
    text = path.read_text(encoding="utf-8-sig")
    for i, spec in enumerate(pack.rules):
        if any(m.code == spec.code for m in made):
            raise _error(path, text, ("rules", i, "code"), f"rule code {spec.code} is already used in this pack",
                         "give the rule a code no other rule uses")
        if any(m.name == spec.name for m in made):
            raise _error(path, text, ("rules", i, "name"), f"rule name {spec.name} is already used in this pack")
        made.append(make_rule(spec, key, bundled, digest))
    _MADE[(key, digest)] = made
    return list(made)


def conflict(rule: type[PackRule], existing: type[Rule], key: str = "code") -> PromptkitError:
    """The located error for a pack rule whose code (or name) another rule already has."""
    path = Path(rule.pack_path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        pack, _ = read_pack(path)
        index = next(i for i, spec in enumerate(pack.rules) if spec.code == rule.code)
    except (OSError, PromptkitError, StopIteration):
        text, index = "", 0
    if key == "name":
        return _error(path, text, ("rules", index, "name"), f"rule name {rule.name} is already used")
    by = f" by rule {existing.name}"
    origin = getattr(existing, "pack_path", None)
    if origin:
        by += f" (rule pack {origin})"
    return _error(path, text, ("rules", index, "code"), f"rule code {rule.code} is already used{by}",
                  "give the rule a code no other rule uses")


def pack_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path]


def load_pack_path(path: Path, config_source: Path | None = None) -> list[type[PackRule]]:
    """Load a pack file or a directory of them; returns their rules."""
    if not path.exists():
        where = str(config_source) if config_source else "promptkit config"
        raise PromptkitError(Diagnostic(where, f"rule pack not found: {path}", code=INVALID_CONFIG.code, name=INVALID_CONFIG.name,
                                        hint="rule-packs paths are relative to the config file's directory"))
    rules: list[type[PackRule]] = []
    for f in pack_files(path):
        if config_source is not None and path.is_dir():  # a pack folder's files: confined like the folder
            from promptkit.paths import confine, project_root

            f = confine(f, project_root(config_source=config_source), what="rule pack")
        rules.extend(load_pack_file(f))
    return rules


def bundled_rules_dir() -> Path | None:
    """Where the default packs are: the wheel's copy, else the repository's ``rules/``."""
    try:
        from promptkit import resources  # type: ignore[attr-defined]

        d = Path(resources.bundled_rules_dir())
        if d.is_dir():
            return d
    except (ImportError, AttributeError, OSError):
        pass
    repo = Path(__file__).resolve().parents[2] / "rules"
    return repo if repo.is_dir() else None


def load_builtin_rules() -> None:
    """Register the built-in Python rules and the bundled packs (which ship with
    promptkit, so they are built-in rules too) in :data:`~promptkit.lint.rule.REGISTRY`.
    Idempotent. Project packs are never registered: each configuration's
    :class:`~promptkit.lint.ruleset.RuleSet` holds its own."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    import promptkit.lint.rules  # noqa: F401 - importing the package registers every rule module

    d = bundled_rules_dir()
    if d is not None:
        for f in pack_files(d):
            for rule in load_pack_file(f, bundled=True):
                clash = REGISTRY.rules.get(rule.code)
                if clash is not None:
                    raise conflict(rule, clash)
                named = REGISTRY.by_name(rule.name)
                if named is not None:
                    raise conflict(rule, named, "name")
                REGISTRY.register(rule)
    _BUILTINS_LOADED = True
