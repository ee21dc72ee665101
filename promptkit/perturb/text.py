"""Where in a template an operator may write: prose, minus everything that must stay.

The template analysis (:func:`promptkit.template.analysis.analyze`) already cuts the file
into regions and calls *prose* only instruction text -- never template syntax, comments,
code, examples, JSON or quoted literals, role lines or front matter. Inside prose this
module masks what is still not safe to touch, so no operator has to think about it:

* Markdown heading lines and XML-style tags (they name the components: a typo in
  ``## Output format`` would make it another component);
* inline code, URLs, e-mail addresses, ``{single}`` / ``$name`` / ``%s`` placeholders of
  other template languages, words with digits or underscores, ALL-CAPS words;
* label words: the output schema's property names and enum values, the input names, and
  whatever the caller adds (``protect=``, a suite's expected values).

:func:`allowed_spans` gives the writable character ranges; :func:`word_sites` the words in
them. Both are limited to the components and messages the caller named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from promptkit.perturb.operator import Context, PerturbError

__all__ = ["Word", "allowed_spans", "label_words", "word_sites"]

_MASKS = re.compile(
    r"(?m)^[ \t]*#{1,6}[ \t].*$"  # a Markdown heading line
    r"|<[^<>\n]{0,200}>"  # an XML-style tag (component delimiters, <category>)
    r"|`[^`\n]*`"  # inline code
    r"|https?://\S+|www\.\S+|\S+@\S+\.\w+"  # URLs, e-mail addresses
    r"|\{[^{}\n]{0,80}\}|\$\{?\w+\}?|%[sdr]"  # other template languages' placeholders
    r"|\[[^\[\]\n]{0,80}\]\([^()\n]*\)"  # Markdown links
)
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?")
_NOT_WORD = re.compile(r"[\w]")


@dataclass(frozen=True, slots=True)
class Word:
    start: int
    end: int
    text: str

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def _limits(ctx: Context) -> list[tuple[int, int]] | None:
    """The ranges the caller limited edits to (components, messages), or None for all."""
    t = ctx.template
    if ctx.messages is None and ctx.components is None:
        return None
    out: list[tuple[int, int]] = []
    if ctx.messages is not None:
        for i, m in enumerate(t.messages):
            if i in ctx.messages or m.role in ctx.messages or str(i) in ctx.messages:
                out.append((m.content_span.start.offset, m.content_span.end.offset))
        if not out:
            roles = ", ".join(f"{i}:{m.role}" for i, m in enumerate(t.messages)) or "none"
            raise PerturbError(f"{t.path}: no message matches {list(ctx.messages)} (messages: {roles})")
    if ctx.components is not None:
        comps: list[tuple[int, int]] = []
        for _, c in t.components():
            if c.key in ctx.components or c.kind in ctx.components:
                comps.append((c.content_span.start.offset, c.content_span.end.offset))
        if not comps:
            keys = ", ".join(sorted({c.key for _, c in t.components()})) or "none"
            raise PerturbError(f"{t.path}: no component {', '.join(ctx.components)} (components: {keys})")
        out = _intersect(out, comps) if ctx.messages is not None else comps
    return out


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            s, e = max(s1, s2), min(e1, e2)
            if s < e:
                out.append((s, e))
    return sorted(out)


def allowed_spans(ctx: Context) -> list[tuple[int, int]]:
    """Character ranges of ``ctx.template.text`` an operator may rewrite, in order."""
    a = ctx.analysis
    text = ctx.template.text
    spans: list[tuple[int, int]] = []
    for r in a.regions:
        if r.kind != "prose" or r.start < ctx.template.body_offset:
            continue
        pos = r.start
        chunk = text[r.start : r.end]
        for m in _MASKS.finditer(chunk):
            s, e = r.start + m.start(), r.start + m.end()
            if s > pos:
                spans.append((pos, s))
            pos = max(pos, e)
        if pos < r.end:
            spans.append((pos, r.end))
    limits = _limits(ctx)
    if limits is not None:
        spans = _intersect(spans, limits)
    return spans


def label_words(ctx: Context) -> frozenset[str]:
    """Lower-cased words no operator may change: the output schema's keys and enum values,
    the input names, and the caller's ``protect`` words."""
    out: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("properties", "patternProperties") and isinstance(v, dict):
                    out.update(str(x) for x in v)
                if k == "enum" and isinstance(v, list):
                    out.update(str(x) for x in v)
                if k == "required" and isinstance(v, list):
                    out.update(str(x) for x in v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    fm = ctx.template.front_matter
    walk(fm.output_schema or {})
    out.update(ctx.template.inputs)
    out.update(fm.outputs)
    words = set()
    for w in out | set(ctx.protect):
        words.update(x.lower() for x in _WORD.findall(w))
        words.add(w.lower())
    return frozenset(words)


def word_sites(ctx: Context, spans: Iterable[tuple[int, int]] | None = None, *, min_len: int = 1,
               keep: frozenset[str] = frozenset()) -> list[Word]:
    """Words inside the writable spans that are not protected: not label words, not
    ALL-CAPS, not glued to digits or underscores, and not in ``keep`` (lower-cased)."""
    text = ctx.template.text
    protected = label_words(ctx) | keep
    out: list[Word] = []
    for s, e in spans if spans is not None else allowed_spans(ctx):
        for m in _WORD.finditer(text, s, e):
            w = m.group()
            a, b = m.start(), m.end()
            if len(w) < min_len or w.lower() in protected:
                continue
            if len(w) > 1 and w.isupper():
                continue
            if (a > 0 and _NOT_WORD.match(text[a - 1])) or (b < len(text) and _NOT_WORD.match(text[b])):
                continue  # part of a token like v2, snake_case, or a word the mask cut
            out.append(Word(a, b, w))
    return out


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
