"""Views of a file that many rules share, computed once per file through ``ctx.cached``.

A lint run visits ~6,000 prompts in a few seconds, so no rule may re-split lines, re-scan
code fences or re-parse Jinja on its own. Every expensive view lives here, keyed in the
per-file :class:`~promptkit.lint.rule.LintContext` cache: the first rule that asks pays,
the others read the result.

Also here: the small notation rule docs use for characters a docstring cannot hold
(tabs, carriage returns, trailing spaces, invisible characters), so the docs stay readable
and the meta-test can still turn each example into the exact bytes of a real file.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from promptkit.lint.rule import LintContext
from promptkit.template.model import FileKind

# --------------------------------------------------------------------------- config access


def conf(ctx: LintContext, attr: str, default: Any) -> Any:
    """A top-level config value (``required_components``, ``token_budget``...), or
    ``default`` when there is no config or it does not have the attribute."""
    if ctx.config is None:
        return default
    value = getattr(ctx.config, attr, None)
    return default if value is None else value


# --------------------------------------------------------------------------- lines and fences

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_FENCE_ANY = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})", re.M)


@dataclass(slots=True)
class Lines:
    """The file split into lines (without their line breaks), with code-fence flags.

    ``starts[i]`` is the offset of line ``i + 1``; ``fenced[i]`` is True for lines inside
    a fenced code block, fence lines included; ``first_body`` is the 0-based index of the
    first body line (after front matter)."""

    texts: list[str]
    starts: list[int]
    fenced: list[bool]
    first_body: int
    unclosed_fence: int | None = None  # 0-based line of a fence that never closes

    def prose(self) -> Iterator[tuple[int, int, str]]:
        """``(index, start_offset, text)`` for body lines outside code fences."""
        texts, starts, fenced = self.texts, self.starts, self.fenced
        for i in range(self.first_body, len(texts)):
            if not fenced[i]:
                yield i, starts[i], texts[i]


def lines(ctx: LintContext) -> Lines:
    return ctx.cached("_util.lines", lambda: _split_lines(ctx))


def _split_lines(ctx: LintContext) -> Lines:
    text = ctx.text
    raw = text.split("\n")
    starts = [0] * len(raw)
    pos = 0
    for i, r in enumerate(raw):
        starts[i] = pos
        pos += len(r) + 1
    texts = [r[:-1] if r.endswith("\r") else r for r in raw] if "\r" in text else raw
    first_body = ctx.template.body_line - 1
    fenced = [False] * len(texts)
    fence: str | None = None
    fence_at: int | None = None
    if "```" in text or "~~~" in text:
        # visit only the candidate fence lines (found at C speed), fill the spans between
        body_start = starts[first_body] if first_body < len(starts) else len(text)
        for m in _FENCE_ANY.finditer(text, body_start):
            i = bisect.bisect_right(starts, m.start()) - 1
            t = texts[i]
            mark = m.group(1)
            if fence is None:
                fence, fence_at = mark[0] * len(mark), i
            elif mark.startswith(fence) and not t[m.end() - starts[i] :].strip():
                for j in range(fence_at, i + 1):  # type: ignore[arg-type]
                    fenced[j] = True
                fence = None
        if fence is not None:
            for j in range(fence_at, len(texts)):  # type: ignore[arg-type]
                fenced[j] = True
    return Lines(texts, starts, fenced, first_body, fence_at if fence is not None else None)


def lower(ctx: LintContext) -> str:
    """The file's text in lower case, made once per file for the rules that look for
    keywords with ``str.find``."""
    return ctx.cached("_util.lower", lambda: ctx.text.lower())


def prose_matches(ctx: LintContext, pattern: re.Pattern[str]) -> Iterator[tuple[int, re.Match[str]]]:
    """``(line_index, match)`` for matches of ``pattern`` in the body outside code fences.

    The pattern runs over the whole text at C speed (use ``re.M`` anchors); only matches
    are mapped to lines, so rules never loop over every line in Python."""
    ls = lines(ctx)
    starts, fenced = ls.starts, ls.fenced
    body_start = starts[ls.first_body] if ls.first_body < len(starts) else len(ctx.text)
    for m in pattern.finditer(ctx.text, body_start):
        i = bisect.bisect_right(starts, m.start()) - 1
        if not fenced[i]:
            yield i, m


_HEADING_LINE = re.compile(r"#{1,6}[ \t]")


def paragraphs(ctx: LintContext) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of prose paragraphs: runs of non-blank body lines outside
    code fences; a Markdown heading is a paragraph of its own. Shared by the balance,
    repetition and leak rules."""
    return ctx.cached("_util.paragraphs", lambda: _paragraphs(ctx))


def _paragraphs(ctx: LintContext) -> list[tuple[int, int]]:
    ls = lines(ctx)
    texts, starts, fenced = ls.texts, ls.starts, ls.fenced
    out: list[tuple[int, int]] = []
    begin = -1
    end = 0
    for i in range(ls.first_body, len(texts)):
        t = texts[i]
        if fenced[i] or not t or t.isspace():
            if begin >= 0:
                out.append((begin, end))
                begin = -1
            continue
        if t[0] == "#" and _HEADING_LINE.match(t):
            if begin >= 0:
                out.append((begin, end))
                begin = -1
            out.append((starts[i], starts[i] + len(t)))  # a heading is a paragraph of its own
            continue
        if begin < 0:
            begin = starts[i]
        end = starts[i] + len(t)
    if begin >= 0:
        out.append((begin, end))
    return out


def is_record(ctx: LintContext) -> bool:
    """A prompt stored as a record of a data file (``prompts.jsonl#12``), not a file of
    its own: file-level conventions (final newline...) do not apply."""
    head, sep, _ = ctx.path.rpartition("#")
    return bool(sep) and head.lower().endswith((".jsonl", ".json", ".csv", ".yaml", ".yml", ".tsv"))


def line_span(ctx: LintContext, index: int, col0: int = 0, col1: int | None = None) -> Any:
    """Span of 0-based line ``index`` from column ``col0`` to ``col1`` (0-based, exclusive)."""
    ls = lines(ctx)
    start = ls.starts[index]
    end = start + (len(ls.texts[index]) if col1 is None else col1)
    return ctx.span(start + col0, end)


def offset_line(ctx: LintContext, offset: int) -> int:
    """0-based line index of a character offset."""
    return bisect.bisect_right(lines(ctx).starts, offset) - 1


def is_prose(ctx: LintContext) -> bool:
    """Markdown and plain-text prompts: no template language, Markdown conventions."""
    return ctx.template.kind in (FileKind.MARKDOWN, FileKind.TEXT)


def is_poml(ctx: LintContext) -> bool:
    return ctx.path.lower().endswith((".poml", ".xml"))


# --------------------------------------------------------------------------- inline JSON

#: A ``{`` that opens a JSON object (a quote follows), not a Jinja/Handlebars ``{{``/``{%``.
_JSON_OPEN = re.compile(r"(?<![{$])\{(?![{%#])[ \t]*[\"“”]")
_QUOTES = '"“”'


def inline_json(ctx: LintContext) -> list[tuple[int, int]]:
    """``(start, end)`` of each JSON-looking object written inside a prose line (``Reply
    like: {"category": "bug"}``), outside code fences: the ``{`` up to its matching ``}``
    on the same line, strings (straight or curly quoted) skipped. Shared by PK207 (is it
    valid for the output schema?) and PK315 (typographic quotes?); linear in the line."""
    return ctx.cached("_util.inline_json", lambda: _inline_json(ctx))


def _inline_json(ctx: LintContext) -> list[tuple[int, int]]:
    text = ctx.text
    if "{" not in text:
        return []
    ls = lines(ctx)
    out: list[tuple[int, int]] = []
    resume = 0
    for i, m in prose_matches(ctx, _JSON_OPEN):
        s = m.start()
        if s < resume:
            continue  # inside an object already found
        line_end = ls.starts[i] + len(ls.texts[i])
        depth, j, in_str = 0, s, False
        while j < line_end:
            c = text[j]
            if in_str:
                if c == "\\":
                    j += 1
                elif c in _QUOTES:
                    in_str = False
            elif c in _QUOTES:
                in_str = True
            elif c in "{[":
                depth += 1
            elif c in "}]":
                depth -= 1
                if depth == 0:
                    out.append((s, j + 1))
                    resume = j + 1
                    break
            j += 1
    return out


# --------------------------------------------------------------------------- delimited spans


def delimited(text: str, opener: str, closer: str, start: int = 0) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each ``opener ... closer`` (``{# ... #}``, ``<!-- ... -->``),
    the first closer after each opener, non-overlapping: what ``re.finditer`` with
    ``opener.*?closer`` and DOTALL finds, in linear time. (The lazy regex rescans the rest
    of the file for every opener that never closes: quadratic on ``{#`` repeated.)"""
    i = text.find(opener, start)
    while i != -1:
        j = text.find(closer, i + len(opener))
        if j == -1:
            return  # no closer after this opener: none after a later one either
        yield i, j + len(closer)
        i = text.find(opener, j + len(closer))


def handlebars_comments(text: str, start: int = 0) -> Iterator[tuple[int, int]]:
    r"""``{{!-- ... --}}`` and ``{{! ... }}`` comments (the short form ends at its first
    ``}``, which must be ``}}``), like ``\{\{!--.*?--\}\}|\{\{![^}]*\}\}``, linear."""
    long_end = brace = (-2, -1)  # memo of (searched from, found) per needle
    i = text.find("{{!", start)
    while i != -1:
        end = -1
        if text.startswith("{{!--", i):
            if not (long_end[0] <= i + 5 and (long_end[1] == -1 or long_end[1] >= i + 5)) or long_end[0] < 0:
                long_end = (i + 5, text.find("--}}", i + 5))
            if long_end[1] != -1:
                end = long_end[1] + 4
        if end == -1:
            if not (brace[0] <= i + 3 and (brace[1] == -1 or brace[1] >= i + 3)) or brace[0] < 0:
                brace = (i + 3, text.find("}", i + 3))
            if brace[1] != -1 and text.startswith("}}", brace[1]):
                end = brace[1] + 2
        if end == -1:
            i = text.find("{{!", i + 1)
            continue
        yield i, end
        i = text.find("{{!", end)


def without(text: str, spans: Iterator[tuple[int, int]]) -> str:
    """``text`` with the (sorted, disjoint) ``spans`` removed."""
    out: list[str] = []
    pos = 0
    for a, b in spans:
        out.append(text[pos:a])
        pos = b
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------- positions


def find_on_line(ctx: LintContext, line: int, pattern: re.Pattern[str], start_col: int = 0) -> Any:
    """Span of the first match of ``pattern`` on 1-based ``line``, else the whole line."""
    index = line - 1
    ls = lines(ctx)
    if not 0 <= index < len(ls.texts):
        return None
    m = pattern.search(ls.texts[index], start_col)
    if m:
        return line_span(ctx, index, m.start(), m.end())
    return line_span(ctx, index)


# --------------------------------------------------------------------------- docs notation

_DOC_MARKS = {"␉": "\t", "␍": "\r", "␠": " "}
_DOC_CODEPOINT = re.compile(r"<U\+([0-9A-Fa-f]{4,6})>")
_DOC_FENCE = re.compile(r"^(`{3,}|~{3,})([\w.+-]*)[ \t]*\n(.*?)^\1[ \t]*$", re.S | re.M)

#: Fence info string -> file name for the example.
DOC_FILE_NAMES = {
    "prompty": "example.prompty", "jinja": "example.jinja2", "j2": "example.j2",
    "markdown": "example.md", "md": "example.md", "mdc": "example.mdc",
    "prompt": "example.prompt", "dotprompt": "example.prompt", "poml": "example.poml",
    "text": "example.txt", "": "example.txt",
}


def doc_examples(doc: str, section: str) -> list[tuple[str, str]]:
    """The fenced blocks of a rule doc's ``section`` as ``(file_name, exact_text)``.

    Notation for characters a docstring cannot hold: ``␉`` tab, ``␍`` carriage return,
    ``␠`` a space (used for trailing spaces), ``<U+200B>`` any code point, and a final
    line holding only ``␄`` for "the file has no final newline"."""
    m = re.search(rf"^##[ \t]+{re.escape(section)}[ \t]*$", doc, re.M | re.I)
    if not m:
        return []
    rest = doc[m.end() :]
    nxt = re.search(r"^##[ \t]+(What it does|Why is this bad\?|Example|Use instead|Options|Fix)\s*:?\s*$", rest, re.M | re.I)
    if nxt:
        rest = rest[: nxt.start()]
    out = []
    for fm in _DOC_FENCE.finditer(rest):
        out.append((DOC_FILE_NAMES.get(fm.group(2), f"example.{fm.group(2)}"), decode_example(fm.group(3))))
    return out


def decode_example(block: str) -> str:
    text = block
    for k, v in _DOC_MARKS.items():
        text = text.replace(k, v)
    text = _DOC_CODEPOINT.sub(lambda m: chr(int(m.group(1), 16)), text)
    if text.endswith("␄\n"):
        text = text[: -len("␄\n")]
        text = text[:-1] if text.endswith("\n") else text
    return text


# --------------------------------------------------------------------------- misc


def redact(secret: str) -> str:
    """``sk-proj-abc...`` -> ``sk-p…(51 chars)``: enough to find it, never the secret."""
    keep = min(4, max(1, len(secret) // 6))
    return f"{secret[:keep]}…({len(secret)} chars)"
