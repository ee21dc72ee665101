"""Suppression comments: ``noqa`` on a line, ``promptkit: noqa`` for a whole file.

Prompt files mix languages, so each part uses the comment syntax that is invisible
there and never reaches the model:

* Jinja bodies (``.prompty``, ``.j2``): ``{# noqa: PK301 #}``, ``{# noqa #}``;
* Markdown, text and XML-like files: ``<!-- noqa: PK301 -->``;
* dotprompt (Handlebars): ``{{! noqa: PK301 }}``;
* YAML front matter: ``# noqa: PK201`` at the end of the line.

A file-level directive (``{# promptkit: noqa #}``, ``{# promptkit: noqa: PK301,PK302 #}``,
``<!-- promptkit: noqa ... -->``, or ``# promptkit: noqa`` in front matter) may sit on
any line. Codes may also be rule names. A line directive covers diagnostics that start
(or end) on its line.

A directive that suppresses nothing is reported as ``PK009 unused-noqa`` (with a safe
fix that removes it), like ruff's RUF100, so stale suppressions do not pile up.
``add_noqa`` writes directives for current findings (``promptkit lint --add-noqa``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from promptkit.codes import INTERNAL_ERROR, UNUSED_NOQA
from promptkit.diagnostics import Diagnostic, Edit, Fix, Severity
from promptkit.template.model import FileKind, PromptTemplate

if TYPE_CHECKING:
    from promptkit.lint.config import LintConfig
    from promptkit.lint.rule import Rule

UNUSED_NOQA_CODE = UNUSED_NOQA.code
UNUSED_NOQA_NAME = UNUSED_NOQA.name
#: Codes a directive never suppresses (crashes must stay visible).
UNSUPPRESSABLE = frozenset({INTERNAL_ERROR.code, UNUSED_NOQA_CODE})

_CODES = r"(?P<codes>[A-Za-z][\w\-]*(?:[ \t]*,?[ \t]*[A-Za-z][\w\-]*)*)"
_OPEN = r"(?P<open>\{#-?|<!--|\{\{!--|\{\{!)"
_CLOSE = r"(?P<close>-?#\}|-->|--\}\}|\}\})"
_DIRECTIVE = re.compile(
    _OPEN + r"[ \t]*(?P<file>promptkit:[ \t]*)?noqa(?:[ \t]*:[ \t]*" + _CODES + r")?[ \t]*" + _CLOSE,
    re.IGNORECASE,
)
_YAML_DIRECTIVE = re.compile(
    r"(?:^|[ \t])(?P<open>#)[ \t]*(?P<file>promptkit:[ \t]*)?noqa(?:[ \t]*:[ \t]*" + _CODES + r")?[ \t]*(?P<close>)(?=\r?$)",
    re.IGNORECASE | re.MULTILINE,
)
_HAS_NOQA = re.compile("noqa", re.IGNORECASE)
_PAIRS = {"{#": "#}", "{#-": "-#}", "<!--": "-->", "{{!--": "--}}", "{{!": "}}", "#": ""}


@dataclass
class Directive:
    """One ``noqa`` comment."""

    line: int
    start: int  # offset of the comment's first character
    end: int  # offset just past it
    codes: tuple[str, ...] | None  # None: blanket (every code)
    file_level: bool
    opener: str
    used: set[str] = field(default_factory=set)

    def matches(self, d: Diagnostic) -> bool:
        return self.codes is None or d.code in self.codes or (bool(d.name) and d.name in self.codes)

    def render(self, codes: Sequence[str] | None) -> str:
        close = _PAIRS.get(self.opener, "")
        head = "promptkit: noqa" if self.file_level else "noqa"
        body = head if codes is None else f"{head}: {', '.join(codes)}"
        if self.opener == "#":
            return f"# {body}"
        return f"{self.opener} {body} {close}"


def _split_codes(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    return tuple(c for c in re.split(r"[\s,]+", raw.strip()) if c)


def parse(template: PromptTemplate) -> list[Directive]:
    """All noqa directives in the file."""
    text = template.text
    if _HAS_NOQA.search(text) is None:
        return []
    index = template.index
    out: list[Directive] = []
    for m in _DIRECTIVE.finditer(text):
        out.append(Directive(index.position(m.start()).line, m.start(), m.end(), _split_codes(m.group("codes")),
                             bool(m.group("file")), m.group("open")))
    fm = template.front_matter_span
    if fm is not None and template.front_matter_text:
        lo, hi = fm.start.offset, fm.end.offset
        for m in _YAML_DIRECTIVE.finditer(text, lo, hi):
            start = m.start("open")
            if any(d.start <= start < d.end for d in out):
                continue
            out.append(Directive(index.position(start).line, start, m.end(), _split_codes(m.group("codes")),
                                 bool(m.group("file")), "#"))
    return out


def apply_noqa(template: PromptTemplate, diagnostics: list[Diagnostic], config: LintConfig | None,
               rules: Iterable[type[Rule]]) -> list[Diagnostic]:
    """Drop suppressed diagnostics; add ``PK009`` for directives that suppressed nothing
    (when PK009 is among ``rules``)."""
    directives = parse(template)
    if not directives:
        return diagnostics
    by_line: dict[int, list[Directive]] = {}
    file_level = [d for d in directives if d.file_level]
    for d in directives:
        if not d.file_level:
            by_line.setdefault(d.line, []).append(d)
    kept: list[Diagnostic] = []
    for diag in diagnostics:
        if diag.code in UNSUPPRESSABLE or not diag.code:
            kept.append(diag)
            continue
        hit = _suppressor(diag, file_level, by_line)
        if hit is None:
            kept.append(diag)
        else:
            hit.used.add(diag.code)
    active = {r.code: r for r in rules}
    if UNUSED_NOQA_CODE in active:
        kept.extend(_unused(template, directives, active, config))
    return kept


def _suppressor(diag: Diagnostic, file_level: list[Directive], by_line: dict[int, list[Directive]]) -> Directive | None:
    for d in file_level:
        if d.matches(diag):
            return d
    lines = {diag.line}
    if diag.span is not None:
        lines.add(diag.span.end.line)
    for line in lines:
        for d in by_line.get(line, ()):
            if d.matches(diag):
                return d
    return None


def _unused(template: PromptTemplate, directives: list[Directive], active: dict[str, type[Rule]],
            config: LintConfig | None) -> list[Diagnostic]:
    from promptkit.lint.ruleset import RuleSet

    known = config.ruleset if config is not None else RuleSet.builtin()
    out: list[Diagnostic] = []
    names = {r.name: r.code for r in known}
    for d in directives:
        if d.codes is None:
            if d.used:
                continue
            msg = "unused blanket noqa directive: nothing on this line is reported"
            if d.file_level:
                msg = "unused file-level noqa directive: nothing in this file is reported"
            out.append(_unused_diag(template, d, msg, None, config))
            continue
        unknown = [c for c in d.codes if c not in known and c not in names]
        unused = [c for c in d.codes if c not in unknown and c not in d.used
                  and names.get(c, c) not in d.used and names.get(c, c) in active
                  and not any((r := known.get(u)) is not None and r.name == c for u in d.used)]
        if not unknown and not unused:
            continue
        parts = []
        if unused:
            parts.append(f"unused noqa code{'s' if len(unused) > 1 else ''} {', '.join(unused)}")
        if unknown:
            parts.append(f"unknown code{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
        keep = [c for c in d.codes if c not in unused and c not in unknown]
        out.append(_unused_diag(template, d, "; ".join(parts), keep, config))
    return out


def _unused_diag(template: PromptTemplate, d: Directive, message: str, keep: list[str] | None,
                 config: LintConfig | None) -> Diagnostic:
    text = template.text
    if keep:
        edit = Edit(d.start, d.end, d.render(keep))
        desc = "remove the unused codes"
    else:
        # remove the comment and the blanks before it (the line keeps its newline)
        start = d.start
        while start > 0 and text[start - 1] in " \t":
            start -= 1
        line_start = template.index.line_start(d.line)
        end = d.end
        if start == line_start:
            # the directive is the whole line: drop the line
            while end < len(text) and text[end] in " \t":
                end += 1
            if text.startswith("\r\n", end):
                end += 2
            elif text.startswith("\n", end):
                end += 1
        edit = Edit(start, end, "")
        desc = "remove the noqa directive"
    sev = config.rule_severity(UNUSED_NOQA_CODE) if config is not None else None
    return Diagnostic(
        template.path,
        message,
        severity=Severity(sev) if sev else Severity.WARNING,
        code=UNUSED_NOQA_CODE,
        name=UNUSED_NOQA_NAME,
        span=template.index.span(d.start, d.end),
        hint="remove it, or the codes that no longer apply",
        fix=Fix([edit], safe=True, description=desc),
    )


# --------------------------------------------------------------------------- --add-noqa


def _style(template: PromptTemplate, offset: int) -> tuple[str, str]:
    fm = template.front_matter_span
    if fm is not None and fm.start.offset <= offset < fm.end.offset:
        return "#", ""
    if template.kind in (FileKind.PROMPTY, FileKind.JINJA):
        return "{#", "#}"
    if template.kind is FileKind.DOTPROMPT:
        return "{{!", "}}"
    return "<!--", "-->"


_YAML_KEY_LINE = re.compile(r"^[ \t]*(?:-[ \t]+)?[\w.\-\"' ]+:(?:[ \t]+\S.*)?$")
_STRUCTURAL = re.compile(
    r"^[ \t]*(?:#|```|~~~|---|\{\{~?[ \t]*role\b|<[A-Za-z/][^>]*>[ \t]*$)"  # heading, fence, role/tag lines
)


def _appendable(template: PromptTemplate, line: int) -> bool:
    """Can a comment go at the end of ``line`` without changing what the file means?
    Not on blank lines (blank-line runs), role lines, headings (the component title would
    change), fences, tag-only lines, or YAML lines that may be block-scalar content."""
    from promptkit.template.structure import DYNAMIC_ROLE_LINE, ROLE_LINE

    content = template.index.line_text(line)
    if not content.strip():
        return False
    fm = template.front_matter_span
    last_fm_line = template.index.position(max(fm.end.offset - 1, fm.start.offset)).line if fm is not None else 0
    if fm is not None and fm.start.line <= line <= last_fm_line:
        if _inside_multiline_string(template, line):
            return False  # a comment there would become part of the text
        return bool(_YAML_KEY_LINE.match(content)) and not content.rstrip().endswith((":", "|", ">", "|-", ">-"))
    return not (ROLE_LINE.match(content) or DYNAMIC_ROLE_LINE.match(content) or _STRUCTURAL.match(content))


def _inside_multiline_string(template: PromptTemplate, line: int) -> bool:
    """Is ``line`` a continuation line of a multi-line YAML string (block or folded)?"""
    for key, span in template.field_spans.items():
        if not (span.start.line < line <= span.end.line):
            continue
        value: object = template.raw_front_matter
        for k in key:
            if isinstance(value, dict):
                value = value.get(k)
            elif isinstance(value, list) and isinstance(k, int) and k < len(value):
                value = value[k]
            else:
                value = None
                break
        if isinstance(value, str):
            return True
    return False


def add_noqa(template: PromptTemplate, diagnostics: Iterable[Diagnostic]) -> tuple[str, int]:
    """Text with a noqa directive added for every diagnostic; returns ``(text, count)``
    where ``count`` is the number of directives written or extended."""
    text = template.text
    index = template.index
    existing = {d.line: d for d in parse(template) if not d.file_level}
    per_line: dict[int, list[str]] = {}
    file_codes: list[str] = []
    fm = template.front_matter_span
    fence_lines = set()
    if fm is not None:
        fence_lines = {fm.start.line, index.position(max(fm.end.offset - 1, fm.start.offset)).line}
    for d in diagnostics:
        if not d.code or d.code in UNSUPPRESSABLE:
            continue
        if d.span is None or d.line in fence_lines or (d.line not in existing and not _appendable(template, d.line)):
            if d.code not in file_codes:
                file_codes.append(d.code)
            continue
        codes = per_line.setdefault(d.line, [])
        if d.code not in codes:
            codes.append(d.code)
    edits: list[Edit] = []
    for line, codes in per_line.items():
        if line in existing:
            directive = existing[line]
            if directive.codes is None:
                continue
            merged = list(directive.codes) + [c for c in codes if c not in directive.codes]
            if merged != list(directive.codes):
                edits.append(Edit(directive.start, directive.end, directive.render(merged)))
            continue
        end = index.line_end(line)
        open_, close = _style(template, index.line_start(line))
        content = index.line_text(line)
        sep = "" if not content or content[-1:] in " \t" else " "
        comment = f"{open_} noqa: {', '.join(codes)}" + (f" {close}" if close else "")
        edits.append(Edit(end, end, sep + comment))
    if file_codes:
        open_, close = ("{#", "#}") if template.kind in (FileKind.PROMPTY, FileKind.JINJA) else \
            (("{{!", "}}") if template.kind is FileKind.DOTPROMPT else ("<!--", "-->"))
        nl = "\r\n" if "\r\n" in text else "\n"
        lead = "" if not text or text.endswith(("\n", "\r")) else nl
        edits.append(Edit(len(text), len(text), f"{lead}{open_} promptkit: noqa: {', '.join(file_codes)} {close}{nl}"))
    count = len(edits)
    for e in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: e.start] + e.content + text[e.end :]
    return text, count
