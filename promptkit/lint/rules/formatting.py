"""PK3xx: formatting -- whitespace, line endings, Markdown structure, balance, Unicode.

The whitespace rules have *safe* fixes: they change only whitespace, so what the
template renders is the same once whitespace is normalized (a property test checks this
over generated files and the corpora). Fixes that change visible characters (curly
quotes, list markers, removing characters inside code) are *unsafe*.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from promptkit.diagnostics import Edit, Fix, Severity
from promptkit.lint.rule import Finding, LintContext, Rule, register
from promptkit.lint.rules import _util
from promptkit.template.structure import _HTML_TAGS

_TRAILING = re.compile(r"[ \t]+(?=\r?$)", re.M)


@register
class TrailingWhitespace(Rule):
    """Trailing whitespace: spaces or tabs at the end of a line.

    ## What it does
    Reports lines that end in spaces or tabs; the safe fix removes them.

    ## Why is this bad?
    Invisible characters cost tokens, make diffs noisy, and some editors strip them
    on save, which turns an unrelated commit into a prompt change.

    ## Example
    ```prompty
    ---
    name: greet
    ---
    user:
    Say hello.␠␠
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    ---
    user:
    Say hello.
    ```
    """

    code = "PK300"
    name = "trailing-whitespace"
    severity = Severity.INFO
    fixable = "safe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        text = ctx.text
        if not any(w in text for w in (" \n", "\t\n", " \r", "\t\r")) and not text.endswith((" ", "\t")):
            return  # substring checks are far cheaper than the regex scan
        for m in _TRAILING.finditer(text):
            s, e = m.start(), m.end()
            yield Finding(ctx.span(s, e), "trailing whitespace", fix=ctx.edit(s, e, "", description="remove trailing whitespace"))


_TAB_INDENT = re.compile(r"^(?=[ \t]*\t)[ \t]+", re.M)


@register
class TabIndentation(Rule):
    """Tab indentation: a line is indented with tab characters.

    ## What it does
    Reports body lines (outside code fences) whose indentation contains tabs; the safe
    fix replaces each tab with four spaces.

    ## Why is this bad?
    Tabs display at different widths in every editor and review tool, so nested lists
    and indented blocks look aligned to one person and broken to another. In Markdown a
    tab can turn a list item into a code block.

    ## Example
    ```markdown
    # Steps
    - Read the ticket.
    ␉- Find the product name.
    ```

    ## Use instead
    ```markdown
    # Steps
    - Read the ticket.
        - Find the product name.
    ```
    """

    code = "PK301"
    name = "tab-indentation"
    severity = Severity.INFO
    fixable = "safe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if "\t" not in ctx.text:
            return
        for _, m in _util.prose_matches(ctx, _TAB_INDENT):
            s, e = m.start(), m.end()
            yield Finding(ctx.span(s, e), "indentation uses tabs",
                          fix=ctx.edit(s, e, m.group().replace("\t", "    "), description="indent with spaces"))


def _endings(ctx: LintContext) -> tuple[int, int, int]:
    """Counts of LF, CRLF and lone-CR line breaks."""
    def count() -> tuple[int, int, int]:
        text = ctx.text
        crlf = text.count("\r\n")
        cr = text.count("\r") - crlf
        return text.count("\n") - crlf, crlf, cr

    return ctx.cached("formatting.endings", count)


def _normalize_endings(ctx: LintContext, to: str) -> Fix:
    text = ctx.text
    edits = [Edit(m.start(), m.end(), to) for m in re.finditer(r"\r\n|\r|\n", text) if m.group() != to]
    return Fix(edits, safe=True, description=f"use {'LF' if to == chr(10) else 'CRLF'} line endings")


@register
class MixedLineEndings(Rule):
    """Mixed line endings: the file mixes LF and CRLF (or lone CR) line breaks.

    ## What it does
    Reports files whose lines end in different ways; the safe fix converts every line
    break to the most common one.

    ## Why is this bad?
    The carriage returns are part of the rendered prompt: some lines reach the model
    with a stray ``\\r``. Usually part of the file was pasted from another system.

    ## Example
    ```prompty
    ---
    name: greet
    ---␍
    user:
    Say hello.␍
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    ---
    user:
    Say hello.
    ```
    """

    code = "PK302"
    name = "mixed-line-endings"
    severity = Severity.WARNING
    fixable = "safe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        lf, crlf, cr = _endings(ctx)
        if sum(1 for n in (lf, crlf, cr) if n) < 2:
            return
        to = "\r\n" if crlf > lf and crlf >= cr else "\n"
        m = re.search(r"\r(?!\n)" if to == "\r\n" else r"\r", ctx.text)
        if to == "\r\n" and lf:
            m = re.search(r"(?<!\r)\n", ctx.text)
        off = m.start() if m else 0
        yield Finding(ctx.span(off, off), f"mixed line endings ({lf} LF, {crlf} CRLF, {cr} CR)",
                      fix=_normalize_endings(ctx, to), hint="convert the file to one kind of line ending")


@register
class CrlfLineEndings(Rule):
    """CRLF line endings: the file uses Windows line breaks.

    ## What it does
    Reports files whose every line break is CRLF; the safe fix converts them to LF.

    ## Why is this bad?
    The carriage returns reach the model as part of the prompt text (an extra token on
    many lines) and make diffs and hashes depend on the editor that saved the file.

    ## Example
    ```prompty
    ---␍
    name: greet␍
    ---␍
    user:␍
    Say hello.␍
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    ---
    user:
    Say hello.
    ```
    """

    code = "PK303"
    name = "crlf-line-endings"
    severity = Severity.INFO
    fixable = "safe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        lf, crlf, cr = _endings(ctx)
        if crlf and not lf and not cr:
            off = ctx.text.find("\r\n")
            yield Finding(ctx.span(off, off + 2), f"the file uses CRLF line endings ({crlf} lines)",
                          fix=_normalize_endings(ctx, "\n"), hint="save the file with LF line endings")


@register
class MissingFinalNewline(Rule):
    """Missing final newline: the file does not end with a line break.

    ## What it does
    Reports non-empty files whose last character is not a newline; the safe fix adds
    one (matching the file's line endings).

    ## Why is this bad?
    Tools that concatenate or diff files glue the last line to what follows, and POSIX
    tools may drop it.

    ## Example
    ```prompty
    ---
    name: greet
    ---
    user:
    Say hello.
    ␄
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    ---
    user:
    Say hello.
    ```
    """

    code = "PK304"
    name = "missing-final-newline"
    severity = Severity.INFO
    fixable = "safe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        text = ctx.text
        if not text or text.endswith(("\n", "\r")) or _util.is_record(ctx):
            return
        n = len(text)
        nl = "\r\n" if _endings(ctx)[1] > _endings(ctx)[0] else "\n"
        yield Finding(ctx.span(n, n), "no newline at end of file", fix=ctx.edit(n, n, nl, description="add a final newline"))


@register
class TooManyBlankLines(Rule):
    """Too many blank lines: more consecutive blank lines than the maximum (default 2).

    ## What it does
    Reports runs of blank lines longer than ``max-blank-lines`` (an option of this rule,
    default 2) outside code fences; the safe fix removes the extra ones.

    ## Why is this bad?
    Long gaps cost tokens and split a prompt visually where nothing is split logically.
    They are usually left over from deleted text.

    ## Example
    ```markdown
    # Task
    Summarize the ticket.




    # Output format
    One sentence.
    ```

    ## Use instead
    ```markdown
    # Task
    Summarize the ticket.

    # Output format
    One sentence.
    ```
    """

    code = "PK305"
    name = "too-many-blank-lines"
    severity = Severity.INFO
    fixable = "safe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        limit = int(ctx.setting(self.code, "max-blank-lines", 2))
        if not re.search(rf"\n(?:[ \t\r]*\n){{{limit + 1}}}", ctx.text):
            return  # no run long enough anywhere: skip the line scan
        ls = _util.lines(ctx)
        texts, starts, fenced = ls.texts, ls.starts, ls.fenced
        n = len(texts)
        i = 0
        while i < n:
            if texts[i].strip() or fenced[i]:
                i += 1
                continue
            j = i
            while j < n and not texts[j].strip() and not fenced[j]:
                j += 1
            # a run ending at EOF includes the empty string after the final newline
            run = j - i - (1 if j == n and texts[-1] == "" else 0)
            if run > limit:
                s = starts[i + limit]
                e = starts[j] if j < n else len(ctx.text)
                yield Finding(ctx.span(starts[i], starts[i]), f"{run} blank lines in a row (at most {limit})",
                              fix=ctx.edit(s, e, "", description="remove the extra blank lines"))
            i = j + 1


@register
class HeadingLevelSkip(Rule):
    """Heading level skip: a heading is more than one level deeper than the one before.

    ## What it does
    Reports Markdown headings that jump levels (``#`` followed by ``###``) within a
    message, outside code fences.

    ## Why is this bad?
    Heading levels tell the model (and readers) what belongs to what. A skipped level
    usually means a section was deleted or pasted from another prompt, and the hierarchy
    no longer says what the author meant.

    ## Example
    ```markdown
    # Task
    Review the pull request.

    ### Output format
    A bullet list of problems.
    ```

    ## Use instead
    ```markdown
    # Task
    Review the pull request.

    ## Output format
    A bullet list of problems.
    ```
    """

    code = "PK306"
    name = "heading-level-skip"
    severity = Severity.INFO

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for m in ctx.template.messages:
            prev = 0
            for c in m.components:
                if c.style != "heading":
                    continue
                if prev and c.level > prev + 1:
                    yield Finding(c.title_span, f"heading level {c.level} follows level {prev}",
                                  hint=f"use a level-{prev + 1} heading ({'#' * (prev + 1)})")
                prev = c.level


_NO_SPACE_HEADING = re.compile(r"^(#{1,6})([A-Z][A-Za-z]+(?: [A-Za-z]+)*)[ \t]*\r?$", re.M)


@register
class HeadingMissingSpace(Rule):
    """Heading missing space: ``#Title`` is not a Markdown heading.

    ## What it does
    Reports lines like ``##Output Format`` (hashes directly followed by a capitalized
    title) outside code fences; the safe fix inserts the space.

    ## Why is this bad?
    CommonMark needs a space after the hashes: without it the line is plain text, so the
    section the author meant to start does not exist for any tool that reads the structure.

    ## Example
    ```markdown
    # Task
    Review the pull request.

    ##Output Format
    A bullet list of problems.
    ```

    ## Use instead
    ```markdown
    # Task
    Review the pull request.

    ## Output Format
    A bullet list of problems.
    ```
    """

    code = "PK307"
    name = "heading-missing-space"
    severity = Severity.WARNING
    fixable = "safe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for _, m in _util.prose_matches(ctx, _NO_SPACE_HEADING):
            if m.group(2).lower() not in ("include", "define", "pragma", "region", "endregion", "if", "endif"):
                off = m.end(1)
                line = m.group().strip()
                yield Finding(ctx.span(m.start(), m.start() + len(line)), f"'{line[:30]}' is not a heading: no space after '{m.group(1)}'",
                              fix=ctx.edit(off, off, " ", description="insert a space"))


_LIST_ITEM = re.compile(r"^([ \t]*)([-*+])[ \t]+\S")
_STAR_OR_PLUS_ITEM = re.compile(r"^[ \t]*[*+][ \t]+\S", re.M)


@register
class MixedListMarkers(Rule):
    """Mixed list markers: one list uses both ``-`` and ``*`` (or ``+``) bullets.

    ## What it does
    Reports list items whose bullet differs from the first item of the same list (same
    indentation, consecutive lines). The unsafe fix uses the first item's marker.

    ## Why is this bad?
    In Markdown a change of bullet character starts a new list, so what reads as one
    list is two; it also signals text pasted together from different sources.

    ## Example
    ```markdown
    # Rules
    - Be brief.
    * Cite your sources.
    ```

    ## Use instead
    ```markdown
    # Rules
    - Be brief.
    - Cite your sources.
    ```
    """

    code = "PK308"
    name = "mixed-list-markers"
    severity = Severity.INFO
    fixable = "unsafe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if not _STAR_OR_PLUS_ITEM.search(ctx.text):
            return  # only '-' items: nothing can be mixed
        current: dict[str, str] = {}  # indentation -> marker of the list in progress
        last = -2
        for i, start, t in _util.lines(ctx).prose():
            m = _LIST_ITEM.match(t) if t[:1] in "-*+ \t" else None
            if not m:
                if t.strip() and not t.startswith((" ", "\t")):
                    current.clear()
                continue
            if i != last + 1 and i != last + 2:
                current.clear()
            last = i
            indent, mark = m.group(1), m.group(2)
            first = current.setdefault(indent, mark)
            if mark != first:
                off = start + m.start(2)
                yield Finding(ctx.span(off, off + 1), f"list item uses '{mark}' but the list started with '{first}'",
                              fix=ctx.edit(off, off + 1, first, safe=False, description=f"use '{first}'"))


@register
class UnclosedCodeFence(Rule):
    """Unclosed code fence: a ``` fence is opened and never closed.

    ## What it does
    Reports a Markdown code fence (``` or ~~~) in the body with no closing fence before
    the end of the file.

    ## Why is this bad?
    Everything after the fence, instructions included, becomes "code" to the model and
    to every tool that reads the prompt's structure.

    ## Example
    ````markdown
    # Example
    ```json
    {"label": "bug"}

    # Output format
    Answer in JSON.
    ````

    ## Use instead
    ````markdown
    # Example
    ```json
    {"label": "bug"}
    ```

    # Output format
    Answer in JSON.
    ````
    """

    code = "PK309"
    name = "unclosed-code-fence"
    severity = Severity.WARNING

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        ls = _util.lines(ctx)
        if ls.unclosed_fence is None:
            return
        i = ls.unclosed_fence
        fence = ls.texts[i].strip()[:3]
        yield Finding(_util.line_span(ctx, i), "this code fence is never closed",
                      hint=f"close it with a '{fence}' line where the code ends")


_ATTRS = r"(?:\s+[\w:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s<>]+))*\s*"
_TAG_LINE_OPEN = re.compile(rf"^[ \t]*<([A-Za-z][\w\-]*){_ATTRS}>[ \t]*\r?$", re.M)
_TAG_CLOSE = re.compile(r"</([A-Za-z][\w\-]*)\s*>")
_TAG_OPEN = re.compile(r"<([A-Za-z][\w\-]*)(?:\s[^<>]*)?(?<!/)>")


@register
class UnclosedTag(Rule):
    """Unclosed tag: an XML-style section tag is opened on its own line and never closed.

    ## What it does
    Reports a non-HTML tag that stands alone on a line (``<context>``) with no matching
    ``</context>`` after it, and closing tags with no opening tag before them. Code
    fences and HTML tags are skipped; POML files are checked by PK111.

    ## Why is this bad?
    Tags delimit data from instructions (Anthropic's and OpenAI's prompting guides
    recommend them). An unclosed ``<document>`` tells the model that every instruction
    after it is part of the document.

    ## Example
    ```prompty
    ---
    name: summarize
    ---
    system:
    Summarize the document.
    <document>
    {{ document }}

    Use at most three sentences.
    ```

    ## Use instead
    ```prompty
    ---
    name: summarize
    ---
    system:
    Summarize the document.
    <document>
    {{ document }}
    </document>

    Use at most three sentences.
    ```
    """

    code = "PK310"
    name = "unclosed-tag"
    severity = Severity.WARNING

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if _util.is_poml(ctx):
            return
        opens: dict[str, list[int]] = {}
        line_opens: list[tuple[str, int, int]] = []
        closes: list[tuple[str, int, int]] = []
        if "<" not in ctx.text:
            return
        for _, lm in _util.prose_matches(ctx, _TAG_LINE_OPEN):
            if lm.group(1).lower() not in _HTML_TAGS:
                line_opens.append((lm.group(1), lm.start(1) - 1, lm.end(1)))
        for _, m in _util.prose_matches(ctx, _TAG_OPEN):
            opens.setdefault(m.group(1), []).append(m.start())
        for _, m in _util.prose_matches(ctx, _TAG_CLOSE):
            if m.group(1).lower() not in _HTML_TAGS:
                closes.append((m.group(1), m.start(), m.end()))
        close_at: dict[str, list[int]] = {}
        for name, s, _ in closes:
            close_at.setdefault(name, []).append(s)
        for name, s, e in line_opens:
            if not any(c > s for c in close_at.get(name, ())):
                yield Finding(ctx.span(s, e + 1), f"<{name}> is never closed", hint=f"add </{name}> where the block ends")
        body = ctx.template.body_offset
        text = ctx.text
        first_open: dict[str, int] = {}  # earliest '<name' anywhere (also multi-line tags)
        for name, s, e in closes:
            if name not in first_open:
                found = re.search(rf"<{re.escape(name)}[\s/>]", text[body:])
                first_open[name] = body + found.start() if found else len(text)
            if not any(o < s for o in opens.get(name, ())) and first_open[name] >= s:
                yield Finding(ctx.span(s, e), f"</{name}> closes a tag that was never opened",
                              hint=f"add <{name}> where the block starts, or remove the closing tag")


_BRACKETS = {")": "(", "]": "["}
_INLINE_LABEL = re.compile(r"(?:^|\s)(?:\d{1,2}|[a-z])\)$")
_LIST_PAREN = re.compile(
    r"(?m)^[ \t]*(?:[-*+][ \t]+|#{1,6}[ \t]+)?(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})\)"  # list labels: 1) a) iv)
    r"|(?:(?<=\s)|^)[:;=]-?[()\[\]](?=\s|$)|\(:"  # emoticons
)
#: Code spans, template tags, URLs and task boxes, blanked before brackets are counted. The
#: tag bodies exclude ``{``: a lazy ``.*?`` would rescan the rest of the line for every
#: unclosed ``{{`` (quadratic on a long line of them).
_STRIP = re.compile(r"`[^`\n]*`|\{\{[^{\n]*?\}\}|\{%[^{\n]*?%\}|\{#[^{\n]*?#\}|https?://[^\s()]+|\[[ xX]\]")


@register
class UnbalancedBrackets(Rule):
    """Unbalanced brackets: a paragraph opens more ( or [ than it closes, or the reverse.

    ## What it does
    Checks that round and square brackets balance within each paragraph of prose,
    outside code fences, inline code, template tags and URLs. List labels like ``1)``
    and ``a)`` and emoticons are ignored.

    ## Why is this bad?
    An unclosed parenthesis makes the rest of the paragraph an aside; the model may read
    a mandatory instruction as optional. It is usually an editing slip.

    ## Example
    ```markdown
    # Task
    Classify the ticket (bug, feature or question and explain why.
    ```

    ## Use instead
    ```markdown
    # Task
    Classify the ticket (bug, feature or question) and explain why.
    ```
    """

    code = "PK311"
    name = "unbalanced-brackets"
    severity = Severity.INFO

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        yield from _paragraph_balance(ctx, self._check_paragraph, (("(", ")"), ("[", "]")))

    @staticmethod
    def _check_paragraph(text: str) -> tuple[int, str] | None:
        # two flat lists, not a list of tuples: 100,000 open brackets would otherwise be
        # 100,000 tuples for the garbage collector to walk again and again
        chars: list[str] = []
        where: list[int] = []
        for i, ch in enumerate(text):
            if ch in "([":
                chars.append(ch)
                where.append(i)
            elif ch in ")]":
                if chars and chars[-1] == _BRACKETS[ch]:
                    chars.pop()
                    where.pop()
                elif not chars and ch == ")" and _INLINE_LABEL.search(text, max(0, i - 4), i + 1):
                    continue  # an inline list label: "1) first 2) second"
                elif not chars:
                    return i, f"'{ch}' has no matching '{_BRACKETS[ch]}'"
                else:
                    return where[-1], f"'{chars[-1]}' is closed by '{ch}'"
        if chars:
            return where[0], f"'{chars[0]}' is never closed"
        return None


def _paragraph_balance(ctx: LintContext, check, pairs: tuple[tuple[str, str], ...]):  # type: ignore[no-untyped-def]
    """Run ``check(masked_paragraph) -> (offset, message) | None`` on each prose paragraph
    whose raw character counts of ``pairs`` do not already balance (the fast path)."""
    text = ctx.text
    for start, end in _util.paragraphs(ctx):
        raw = text[start:end]
        if all(raw.count(a) == raw.count(b) for a, b in pairs):
            continue
        masked = _STRIP.sub(lambda m: " " * len(m.group()), raw)
        masked = _LIST_PAREN.sub(lambda m: " " * len(m.group()), masked)
        res = check(masked)
        if res is not None:
            off, msg = res
            yield Finding(ctx.span(start + off, start + off + 1), msg, hint="add the missing character, or remove the stray one")


@register
class UnbalancedQuotes(Rule):
    """Unbalanced quotes: a paragraph has an opening curly quote with no closing one.

    ## What it does
    Checks that typographic double quotes (“ and ”) pair up within each paragraph of
    prose, outside code fences and inline code.

    ## Why is this bad?
    Quotes mark the exact words the model must use or look for. An unclosed quote
    leaves it guessing where the quoted text ends.

    ## Example
    ```markdown
    # Task
    If the user asks for a refund, answer “Please contact billing. Then stop.
    ```

    ## Use instead
    ```markdown
    # Task
    If the user asks for a refund, answer “Please contact billing.” Then stop.
    ```
    """

    code = "PK312"
    name = "unbalanced-quotes"
    severity = Severity.INFO

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if "“" not in ctx.text and "”" not in ctx.text:
            return
        yield from _paragraph_balance(ctx, self._check_paragraph, (("“", "”"),))

    @staticmethod
    def _check_paragraph(text: str) -> tuple[int, str] | None:
        depth = 0
        first = -1
        for i, ch in enumerate(text):
            if ch == "“":
                if depth:
                    return first, "“ is opened again before it is closed"
                depth, first = 1, i
            elif ch == "”":
                if not depth:
                    return i, "” closes no opening “"
                depth = 0
        if depth:
            return first, "“ is never closed"
        return None


#: Invisible characters: zero-width space, word joiner, invisible math operators,
#: soft hyphen, mid-file BOM, Mongolian vowel separator, Hangul fillers.
_INVISIBLE = re.compile("[\u200b\u2060\u2061\u2062\u2063\u2064\u00ad\ufeff\u180e\u115f\u1160\u3164\uffa0]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CHAR_NAMES = {
    "\u200b": "ZERO WIDTH SPACE", "\u2060": "WORD JOINER", "\u00ad": "SOFT HYPHEN", "\ufeff": "ZERO WIDTH NO-BREAK SPACE",
    "\u202a": "LEFT-TO-RIGHT EMBEDDING", "\u202b": "RIGHT-TO-LEFT EMBEDDING", "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE", "\u202e": "RIGHT-TO-LEFT OVERRIDE", "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE", "\u2068": "FIRST STRONG ISOLATE", "\u2069": "POP DIRECTIONAL ISOLATE",
}


def _char_name(ch: str) -> str:
    import unicodedata

    known = _CHAR_NAMES.get(ch)
    return known if known is not None else str(unicodedata.name(ch, "FORMAT CHARACTER"))


def _in_code(ctx: LintContext, offset: int) -> bool:
    """Inside a code fence, or inside a Jinja tag on its line."""
    ls = _util.lines(ctx)
    i = _util.offset_line(ctx, offset)
    if ls.fenced[i] or i < ls.first_body:
        return ls.fenced[i]
    col = offset - ls.starts[i]
    per_line: dict[int, list[tuple[int, int]]] = ctx.cached("formatting.code_ranges", dict)
    ranges = per_line.get(i)
    if ranges is None:
        ranges = per_line[i] = _code_ranges(ls.texts[i])
    import bisect

    k = bisect.bisect_right(ranges, (col, len(ls.texts[i]) + 1)) - 1
    return k >= 0 and ranges[k][0] <= col < ranges[k][1]


_CLOSERS = {"{{": "}}", "{%": "%}", "`": "`"}


def _code_ranges(line: str) -> list[tuple[int, int]]:
    """``{{ }}``, ``{% %}`` and inline-code ranges of one line, as the regex
    ``\\{\\{.*?\\}\\}|\\{%.*?%\\}|`[^`]*``` finds them, computed once per line with
    memoized ``str.find`` (the regex run per character, or its lazy ``.*?`` on unclosed
    ``{{``, is quadratic on a long line)."""
    memo: dict[str, tuple[int, int]] = {}

    def find(needle: str, start: int) -> int:
        hit = memo.get(needle)
        if hit is not None and hit[0] <= start and (hit[1] == -1 or hit[1] >= start):
            return hit[1]
        found = line.find(needle, start)
        memo[needle] = (start, found)
        return found

    out: list[tuple[int, int]] = []
    pos, n = 0, len(line)
    while pos < n:
        best, opener = -1, ""
        for o in _CLOSERS:
            j = find(o, pos)
            if j != -1 and (best == -1 or j < best):
                best, opener = j, o
        if best == -1:
            break
        close = find(_CLOSERS[opener], best + len(opener))
        if close == -1:
            pos = best + 1
            continue
        out.append((best, close + len(_CLOSERS[opener])))
        pos = close + len(_CLOSERS[opener])
    return out


@register
class InvisibleCharacter(Rule):
    """Invisible character: a zero-width space, soft hyphen or similar hidden character.

    ## What it does
    Finds invisible format characters (U+200B zero-width space, U+2060 word joiner,
    U+00AD soft hyphen, a BOM inside the file, Hangul fillers...). The fix removes the
    character: safe in prose, unsafe inside code fences, inline code or template tags,
    where it might be intended. Zero-width joiners (emoji, Indic scripts) are allowed.

    ## Why is this bad?
    They change tokenization, break exact-match instructions ("answer ``yes``" does not
    match ``ye<U+200B>s``) and are a known way to smuggle hidden text into prompts.

    ## Example
    ```markdown
    # Task
    Answer with ye<U+200B>s or no.
    ```

    ## Use instead
    ```markdown
    # Task
    Answer with yes or no.
    ```
    """

    code = "PK313"
    name = "invisible-character"
    severity = Severity.WARNING
    fixable = "safe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for m in _INVISIBLE.finditer(ctx.text):
            ch = m.group()
            safe = not _in_code(ctx, m.start())
            yield Finding(ctx.span(m.start(), m.end()), f"invisible character U+{ord(ch):04X} {_char_name(ch)}",
                          fix=ctx.edit(m.start(), m.end(), "", safe=safe, description="remove the invisible character"),
                          hint="remove it" + ("" if safe else " (it is inside code: check it is not intended)"))


@register
class BidiControlCharacter(Rule):
    """Bidi control character: a bidirectional override or isolate hides the real text order.

    ## What it does
    Finds Unicode bidirectional embedding, override and isolate characters (U+202A to
    U+202E, U+2066 to U+2069). The unsafe fix removes them.

    ## Why is this bad?
    They make text display in a different order than it is stored ("Trojan Source",
    CVE-2021-42574): a reviewer reads one instruction, the model receives another.

    ## Example
    ```markdown
    # Task
    Reply only with <U+202E>etelpmoc<U+202C>.
    ```

    ## Use instead
    ```markdown
    # Task
    Reply only with complete.
    ```
    """

    code = "PK314"
    name = "bidi-control-character"
    severity = Severity.ERROR
    fixable = "unsafe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for m in _BIDI.finditer(ctx.text):
            ch = m.group()
            yield Finding(ctx.span(m.start(), m.end()), f"bidirectional control character U+{ord(ch):04X} {_char_name(ch)}",
                          fix=ctx.edit(m.start(), m.end(), "", safe=False, description="remove the bidi control character"),
                          hint="remove it; write right-to-left text without override characters")


_CURLY_JSON = re.compile(r"(?<=[{\[,:])\s*([“”])|([“”])(?=\s*[,}\]:])")
_JSON_BLOCK = re.compile(r"^```[ \t]*json[^\n]*\n(.*?)^```", re.S | re.M | re.I)


@register
class CurlyQuotesInJson(Rule):
    """Curly quotes in JSON: a JSON example uses “typographic” quotes around keys or strings.

    ## What it does
    In ```json code fences, in lines that look like JSON objects and in JSON objects
    written inline on a prose line (``Reply like: {“category”: “bug”}``), finds curly
    quotes (“ ”) where JSON needs straight ones: around keys and string values. The
    unsafe fix replaces them with ``"``.

    ## Why is this bad?
    The example is not valid JSON. Models copy examples closely, so they answer with
    curly quotes too, and the parser on the other end fails. Word processors and chat
    apps insert them silently.

    ## Example
    ````markdown
    # Output format
    ```json
    {“label”: “bug”}
    ```
    ````

    ## Use instead
    ````markdown
    # Output format
    ```json
    {"label": "bug"}
    ```
    ````
    """

    code = "PK315"
    name = "curly-quotes-in-json"
    severity = Severity.WARNING
    fixable = "unsafe"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        text = ctx.text
        if "“" not in text and "”" not in text:
            return
        regions = [(m.start(1), m.end(1)) for m in _JSON_BLOCK.finditer(text)]
        for m in re.finditer(r"^[ \t]*\{.*[“”].*\}[ \t]*$", text, re.M):
            if not any(s <= m.start() < e for s, e in regions):
                regions.append((m.start(), m.end()))
        for s0, e0 in _util.inline_json(ctx):  # Reply like: {“category”: “bug”} inside a prose line
            if not any(s <= s0 < e for s, e in regions):
                regions.append((s0, e0))
        for s, e in regions:
            chunk = text[s:e]
            hits = sorted({s + m.start(g) for m in _CURLY_JSON.finditer(chunk) for g in (1, 2) if m.group(g)})
            if not hits:
                continue
            edits = [Edit(h, h + 1, '"') for h in hits]
            yield Finding(ctx.span(hits[0], hits[0] + 1), f"JSON example uses curly quotes ({len(hits)} of them)",
                          fix=Fix(edits, safe=False, description="use straight double quotes"),
                          hint='use straight double quotes (") in JSON')
