"""PK1xx: the template language itself -- syntax, variables, filters, foreign syntaxes.

These rules catch what would fail (or silently misbehave) at render time, before anyone
runs the prompt: a Jinja syntax error, a variable nobody declared, an input nobody uses, a
filter the sandbox does not have, a ``{var}`` written for another template language, a
misspelled role line, and unbalanced Handlebars blocks in dotprompt files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from promptkit.codes import JINJA_SYNTAX_ERROR
from promptkit.diagnostics import Severity, Span
from promptkit.lint.rule import JINJA_KINDS, Finding, LintContext, Rule, register
from promptkit.lint.rules import _util
from promptkit.template.model import ROLES, Engine, FileKind


def _input_span(ctx: LintContext, name: str) -> Span | None:
    """Where input ``name`` is declared in the front matter (any supported shape)."""
    t = ctx.template
    for key in (("inputs", name), ("input", "schema", name), ("input", "schema", f"{name}?")):
        span = t.span_of(*key)
        if span is not None:
            return span
    for key, span in t.field_spans.items():
        if len(key) >= 2 and key[0] in ("inputs", "input") and str(key[-1]).split("(")[0].rstrip("?") == name:
            return span
    schema = t.raw_front_matter.get("inputSchema")
    props = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(props, list):  # Prompty v2: a list of {name, kind...}
        for i, item in enumerate(props):
            if isinstance(item, dict) and item.get("name") == name:
                span = t.span_of("inputSchema", "properties", i, "name") or t.span_of("inputSchema", "properties", i)
                if span is not None:
                    return span
    return t.span_of("inputs") or t.span_of("input") or t.front_matter_span


def _declared(ctx: LintContext) -> set[str]:
    t = ctx.template
    names = set(t.inputs)
    if isinstance(t.front_matter.sample, dict):
        names |= set(t.front_matter.sample)
    return names


# =========================================================================== Jinja


@register
class JinjaSyntaxError(Rule):
    """Jinja syntax error: the template does not parse, so it cannot render at all.

    ## What it does
    Parses the body of Jinja templates (``.prompty``, ``.j2``, ``.jinja``, ``.jinja2``)
    and reports the parser's error at the line of the file it names -- for a block that
    is never closed, the line of its opening tag rather than the end of the file.

    ## Why is this bad?
    A template that does not parse fails on every call. The error usually comes from a
    ``{% for %}`` or ``{% if %}`` without its ``{% end... %}`` tag, or from unbalanced
    ``{{ }}`` / ``{% %}`` delimiters.

    ## Example
    ```prompty
    ---
    name: tools
    ---
    system:
    You can use these tools:
    {% for tool in tools %}
    - {{ tool.name }}
    ```

    ## Use instead
    ```prompty
    ---
    name: tools
    ---
    system:
    You can use these tools:
    {% for tool in tools %}
    - {{ tool.name }}
    {% endfor %}
    ```
    """

    code = JINJA_SYNTAX_ERROR.code
    name = JINJA_SYNTAX_ERROR.name
    severity = Severity.ERROR
    kinds = JINJA_KINDS

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        d = ctx.analysis.syntax_error
        if d is None:
            return
        yield Finding(d.span, d.message.rstrip("."), hint=d.hint)


@register
class UndefinedVariable(Rule):
    """Undefined variable: the body uses a variable the front matter does not declare.

    ## What it does
    When a file declares its inputs (Prompty ``inputs``, dotprompt ``input.schema``),
    reports every use of a variable that is neither declared, nor set in the template
    (``{% set %}``, loop variables, macro arguments), nor a Jinja global. Files that
    declare no inputs at all are not checked.

    ## Why is this bad?
    promptkit renders with ``StrictUndefined``: an undeclared variable is a render error
    for every caller who passes only the declared inputs. Usually it is a typo or a
    renamed input.

    ## Example
    ```prompty
    ---
    name: greet
    inputs:
      name:
        type: string
    ---
    user:
    Say hello to {{ nmae }}.
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    inputs:
      name:
        type: string
    ---
    user:
    Say hello to {{ name }}.
    ```
    """

    code = "PK101"
    name = "undefined-variable"
    severity = Severity.WARNING
    kinds = frozenset({FileKind.PROMPTY, FileKind.JINJA, FileKind.DOTPROMPT})

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        t = ctx.template
        if not t.inputs:
            return
        a = ctx.analysis
        if t.engine.renders:
            if not a.parsed:
                return  # PK100 reports the syntax error; guesses would be noise
            undeclared = set(a.undeclared)
            seen: set[tuple[str, int]] = set()
            for u in a.uses:
                if u.kind != "load" or u.name not in undeclared or (u.name, u.line) in seen:
                    continue
                seen.add((u.name, u.line))  # one finding per name and line
                yield Finding(
                    u.span,
                    f"variable '{u.name}' is used but not declared in inputs",
                    hint=f"declare it under inputs (inputs: {{{u.name}: {{type: string}}}}) or fix the name",
                )
        elif t.engine in (Engine.HANDLEBARS, Engine.MUSTACHE):
            undeclared = set(a.undeclared)
            for u in sorted(a.uses, key=lambda u: (u.name, u.offset)):
                if u.free and u.name in undeclared:
                    yield Finding(
                        u.span,
                        f"variable '{u.name}' is used but not declared in the input schema",
                        hint=f"add '{u.name}: string' under input.schema, or fix the name",
                    )


@register
class UnusedInput(Rule):
    """Unused input: an input is declared in the front matter but the body never uses it.

    ## What it does
    Reports each declared input (Prompty ``inputs``, dotprompt ``input.schema``) that
    the body never reads. Templates that include or extend other templates are skipped,
    since the other file may use it, and so are Prompty ``kind: thread`` inputs, which the
    runtime splices in as chat messages.

    ## Why is this bad?
    Callers must supply a value that changes nothing, and a reader assumes the prompt
    depends on it. Usually the variable was renamed in the body but not in the front
    matter, or the body forgot to mention it.

    ## Example
    ```prompty
    ---
    name: summarize
    inputs:
      text:
        type: string
      language:
        type: string
    ---
    user:
    Summarize this text:
    <text>{{ text }}</text>
    ```

    ## Use instead
    ```prompty
    ---
    name: summarize
    inputs:
      text:
        type: string
      language:
        type: string
    ---
    user:
    Summarize this text in {{ language }}:
    <text>{{ text }}</text>
    ```
    """

    code = "PK102"
    name = "unused-input"
    severity = Severity.WARNING
    kinds = frozenset({FileKind.PROMPTY, FileKind.JINJA, FileKind.DOTPROMPT})

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        t = ctx.template
        if not t.inputs:
            return
        # include/extends/partials, a body that does not parse, thread inputs: see unused
        for name in ctx.analysis.unused:
            yield Finding(
                _input_span(ctx, name),
                f"input '{name}' is declared but never used in the template",
                hint="use it in the body, or remove it from the inputs",
            )


@register
class UnknownFilter(Rule):
    """Unknown filter: the template applies a filter the sandboxed environment lacks.

    ## What it does
    Checks every ``| filter`` in a Jinja body against the filters of promptkit's
    sandboxed Jinja environment (Jinja2's built-ins).

    ## Why is this bad?
    Jinja looks filters up when it compiles the template: an unknown filter makes the
    template fail to load, even when the line is never reached. Filters registered by
    other tools (promptsource's ``choice``) do not exist here.

    ## Example
    ```jinja
    Answer with one of: {{ answer_choices | choice }}
    ```

    ## Use instead
    ```jinja
    Answer with one of: {{ answer_choices | join(", ") }}
    ```
    """

    code = "PK103"
    name = "unknown-filter"
    severity = Severity.ERROR
    kinds = JINJA_KINDS

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        yield from _unknown_names(ctx, "filter", r"\|\s*{name}\b")


@register
class UnknownTest(Rule):
    """Unknown test: an ``is test`` expression names a test Jinja does not have.

    ## What it does
    Checks every ``x is test`` in a Jinja body against the tests of promptkit's
    sandboxed Jinja environment.

    ## Why is this bad?
    Like unknown filters, unknown tests make the template fail to compile. Most are typos
    (``is defind``) or tests from another engine.

    ## Example
    ```jinja
    {% if context is defind %}Context: {{ context }}{% endif %}
    ```

    ## Use instead
    ```jinja
    {% if context is defined %}Context: {{ context }}{% endif %}
    ```
    """

    code = "PK104"
    name = "unknown-test"
    severity = Severity.ERROR
    kinds = JINJA_KINDS

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        yield from _unknown_names(ctx, "test", r"\bis\s+(not\s+)?{name}\b")


def _unknown_names(ctx: LintContext, what: str, pattern: str) -> Iterator[Finding]:
    """Filters or tests the body uses that promptkit's sandboxed environment lacks (both
    make the template fail to compile). ``pattern`` locates a use; ``{name}`` is the name."""
    a = ctx.analysis
    used = (a.filters if what == "filter" else a.tests) if a.jinja_ast is not None else ()
    if not used:
        return
    from promptkit.template.render import environment

    env = environment()
    known = env.filters if what == "filter" else env.tests
    for name, line in used:
        if name not in known:
            yield Finding(
                _util.find_on_line(ctx, line, re.compile(pattern.replace("{name}", re.escape(name)))),
                f"unknown {what} '{name}': the Jinja environment has no such {what}",
                hint=_close_hint(name, known),
            )


def _close_hint(name: str, known: object) -> str:
    from rapidfuzz import fuzz, process

    best = process.extractOne(name, list(known), scorer=fuzz.ratio, score_cutoff=75)  # type: ignore[call-overload]
    if best:
        return f"did you mean '{best[0]}'?"
    return "use a built-in Jinja filter/test, or compute the value before rendering"


# --------------------------------------------------------------------------- foreign syntax

_FOREIGN = [
    (re.compile(r"\{\{\s*\$([A-Za-z_]\w*)\s*\}\}"), "Semantic Kernel variable '{{{{${0}}}}}'", "write {{{{ {0} }}}} in Jinja"),
    (re.compile(r"\{\{[#/]\s*(if|each|unless|with)\b[^{}]*\}\}"), "Handlebars block '{{{{#{0}}}}}'",
     "write {{% if ... %}} / {{% for ... %}} ... {{% end... %}} in Jinja"),
]
_DOLLAR = re.compile(r"(?<![\\$])\$\{\s*([A-Za-z_][\w.]*)\s*\}")
_SINGLE = re.compile(r"(?<![{$\\\w])\{([A-Za-z_]\w{0,40})\}(?![}\w])")


def _tag_ranges(ctx: LintContext) -> tuple[list[int], list[tuple[int, int]]]:
    """Closed ``{{ }}`` / ``{% %}`` / ``{# #}`` tags of the body (Handlebars tags for
    Handlebars bodies) as sorted ``(start, end)`` offsets, from the template analysis."""
    def compute() -> tuple[list[int], list[tuple[int, int]]]:
        a = ctx.analysis
        ranges = [(t.start, t.end) for t in a.tags if t.closed and t.kind != "raw"]
        ranges += [(t.start, t.end) for t in a.handlebars_tags if t.closed]
        ranges.sort()
        return [r[0] for r in ranges], ranges
    return ctx.cached("template.tag_ranges", compute)  # type: ignore[no-any-return]


def _masked(ctx: LintContext, start: int, line: str) -> str:
    """``line`` (starting at file offset ``start``) with template tags blanked out, so a
    ``{var}`` inside ``{{ }}`` is not taken for a foreign placeholder. Linear: each tag
    is found by bisection, never by a lazy regex that rescans the line per ``{{``."""
    import bisect

    starts, ranges = _tag_ranges(ctx)
    end = start + len(line)
    i = max(0, bisect.bisect_right(starts, start) - 1)
    out: list[str] = []
    pos = start
    while i < len(ranges) and ranges[i][0] < end:
        s, e = ranges[i]
        i += 1
        if e <= pos:
            continue
        s = max(s, pos)
        e = min(e, end)
        out.append(line[pos - start : s - start])
        out.append(" " * (e - s))
        pos = e
    out.append(line[pos - start :])
    return "".join(out)


@register
class ForeignTemplateSyntax(Rule):
    """Foreign template syntax: a placeholder from another template language in Jinja.

    ## What it does
    Finds placeholders written for Semantic Kernel (``{{$var}}``), Handlebars
    (``{{#if}}``/``{{/if}}``), JavaScript/shell (``${var}``) or Python ``str.format``
    (``{var}``) in a Jinja template. ``${var}`` and ``{var}`` are reported only when the
    name is a declared input, or the file declares no inputs at all; code fences are
    skipped (they often hold JavaScript or shell code on purpose).

    ## Why is this bad?
    Jinja renders ``${var}`` and ``{var}`` literally: the model receives the raw
    placeholder instead of the value. ``{{$var}}`` and ``{{#if}}`` do not even parse.

    ## Example
    ```prompty
    ---
    name: translate
    inputs:
      text:
        type: string
    ---
    user:
    Translate into French: {text}
    ```

    ## Use instead
    ```prompty
    ---
    name: translate
    inputs:
      text:
        type: string
    ---
    user:
    Translate into French: {{ text }}
    ```
    """

    code = "PK105"
    name = "foreign-template-syntax"
    severity = Severity.WARNING
    kinds = frozenset({FileKind.PROMPTY, FileKind.JINJA, FileKind.DOTPROMPT})

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        t = ctx.template
        if not t.engine.renders and t.engine not in _HB_ENGINES:
            return
        if not t.engine.renders:
            # Handlebars: only str.format-style {var} of a declared input is foreign
            for i, start, line in _util.lines(ctx).prose():
                if "{" not in line:
                    continue
                masked = _masked(ctx, start, line)
                for m in _SINGLE.finditer(masked):
                    if m.group(1) in t.inputs:
                        yield Finding(_util.line_span(ctx, i, m.start(), m.end()),
                                      f"'{{{m.group(1)}}}' is rendered literally by Handlebars",
                                      hint=f"write {{{{{m.group(1)}}}}} to insert the value")
            return
        ls = _util.lines(ctx)
        inputs = set(t.inputs)
        for i, start, line in ls.prose():
            if "{" not in line:
                continue
            for pat, what, how in _FOREIGN:
                for m in pat.finditer(line):
                    yield Finding(_util.line_span(ctx, i, m.start(), m.end()),
                                  f"{what.format(m.group(1))} is not Jinja syntax", hint=how.format(m.group(1)))
            masked = _masked(ctx, start, line) if ("{{" in line or "{%" in line or "{#" in line) else line
            for pat, label in ((_DOLLAR, "${{{0}}}"), (_SINGLE, "{{{0}}}")):
                for m in pat.finditer(masked):
                    name = m.group(1).split(".")[0]
                    if inputs and name not in inputs:
                        continue
                    if not inputs and pat is _SINGLE:
                        continue  # without declared inputs, {word} is as often prose as a placeholder
                    yield Finding(
                        _util.line_span(ctx, i, m.start(), m.end()),
                        f"'{label.format(m.group(1))}' is rendered literally by Jinja",
                        hint=f"write {{{{ {m.group(1)} }}}} to insert the value",
                    )


# --------------------------------------------------------------------------- role lines

_ROLE_LIKE = re.compile(r"^([ \t]*#?[ \t]*)([A-Za-z]{3,12})([ \t]*:[ \t]*)$")
_NOT_TYPOS = frozenset({"users", "tools", "systems", "functions", "assistants", "developers", "use", "tol"})


@register
class RoleLineTypo(Rule):
    """Role line typo: a line like ``sytem:`` that was meant to start a chat message.

    ## What it does
    Finds lines holding a single word and a colon whose word is a near-miss of a chat
    role (``system``, ``user``, ``assistant``, ``developer``, ``tool``, ``function``),
    using edit-distance similarity. The (unsafe) fix writes the intended role.

    ## Why is this bad?
    A misspelled role line is not a role line: its text stays part of the previous
    message, so the system prompt silently swallows the user turn (or the other way).

    ## Example
    ```prompty
    ---
    name: support
    ---
    sytem:
    You are a support agent.

    user:
    My order is late.
    ```

    ## Use instead
    ```prompty
    ---
    name: support
    ---
    system:
    You are a support agent.

    user:
    My order is late.
    ```
    """

    code = "PK106"
    name = "role-line-typo"
    severity = Severity.WARNING
    fixable = "unsafe"
    kinds = JINJA_KINDS

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        from rapidfuzz.distance import Levenshtein

        ls = _util.lines(ctx)
        for _i, start, line in ls.prose():
            if ":" not in line or len(line) > 24:
                continue
            m = _ROLE_LIKE.match(line)
            if not m:
                continue
            word = m.group(2).lower()
            if word in ROLES or word in _NOT_TYPOS:
                continue
            best = min(ROLES, key=lambda r: Levenshtein.distance(word, r))
            dist = Levenshtein.distance(word, best)
            if dist == 0 or dist > (1 if len(best) <= 4 else 2) or word.rstrip("s") == best:
                continue
            s, e = start + m.start(2), start + m.end(2)
            yield Finding(
                ctx.span(s, e),
                f"'{m.group(2)}:' looks like a misspelled '{best}:' role line",
                fix=ctx.edit(s, e, best, safe=False, description=f"write '{best}:'"),
                hint=f"write '{best}:' to start a {best} message",
            )


@register
class RequiredInputWithoutSample(Rule):
    """Required input without a sample: the linter and tests cannot render the prompt.

    ## What it does
    Reports each required input of a ``.prompty`` file (no default, not
    ``required: false``) that has no ``sample`` value, neither on the input nor in the
    top-level ``sample`` mapping. Files whose ``sample`` is a file reference are skipped.

    ## Why is this bad?
    Samples let ``promptkit render``, the token-budget rules and regression tests render
    the real prompt. Without one for every required input, none of them can.

    ## Example
    ```prompty
    ---
    name: answer
    inputs:
      question:
        type: string
        required: true
    ---
    user:
    {{ question }}
    ```

    ## Use instead
    ```prompty
    ---
    name: answer
    inputs:
      question:
        type: string
        sample: What is the capital of France?
    ---
    user:
    {{ question }}
    ```
    """

    code = "PK107"
    name = "required-input-without-sample"
    severity = Severity.INFO
    kinds = frozenset({FileKind.PROMPTY})

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        t = ctx.template
        if isinstance(t.front_matter.sample, str):
            return
        samples = t.samples()
        for name, spec in t.inputs.items():
            if spec.is_required and name not in samples:
                yield Finding(
                    _input_span(ctx, name),
                    f"required input '{name}' has no sample value",
                    hint=f"add 'sample: ...' under inputs.{name} (or a default)",
                )


# =========================================================================== Handlebars (dotprompt)

_HB_ENGINES = (Engine.HANDLEBARS, Engine.MUSTACHE)


def _blocks(ctx: LintContext) -> tuple[list[tuple[int, str]], list[tuple[int, str, str | None]]]:
    """Unclosed opens ``(offset, name)`` and bad closes ``(offset, name, expected)``."""
    return ctx.cached("template.blocks", lambda: _scan_blocks(ctx))


def _scan_blocks(ctx: LintContext) -> tuple[list[tuple[int, str]], list[tuple[int, str, str | None]]]:
    stack: list[tuple[int, str]] = []
    open_names: Counter[str] = Counter()  # names on the stack: a close is matched in O(1)
    bad: list[tuple[int, str, str | None]] = []
    for tag in ctx.analysis.handlebars_tags:
        inner = tag.inner
        if not tag.closed or not inner:
            continue
        if inner[0] in "#^":
            head = inner[1:].strip()
            if head.startswith(">"):
                head = head[1:]  # {{#> partial}} ... {{/partial}}
            stack.append((tag.start, (head.split() or [""])[0]))
            open_names[stack[-1][1]] += 1
        elif inner[0] == "/":
            name = inner[1:].strip()
            if stack and stack[-1][1] == name:
                open_names[stack.pop()[1]] -= 1
            elif open_names[name] > 0:
                while stack and stack[-1][1] != name:
                    open_names[stack.pop()[1]] -= 1  # the inner ones are reported at the end as unclosed
                open_names[stack.pop()[1]] -= 1
            else:
                bad.append((tag.start, name, stack[-1][1] if stack else None))
    return stack, bad


@register
class UnclosedBlock(Rule):
    """Unclosed block: a Handlebars ``{{#block}}`` has no ``{{/block}}``.

    ## What it does
    In Handlebars and Mustache templates (dotprompt ``.prompt`` files, Prompty files with
    ``template: mustache``), matches every ``{{#name}}`` with its ``{{/name}}``.

    ## Why is this bad?
    Handlebars refuses to compile the template; the prompt fails on every call.

    ## Example
    ```prompt
    ---
    model: googleai/gemini-2.5-flash
    input:
      schema:
        premium: boolean
    ---
    Hello!
    {{#if premium}}
    Welcome back, VIP member!
    ```

    ## Use instead
    ```prompt
    ---
    model: googleai/gemini-2.5-flash
    input:
      schema:
        premium: boolean
    ---
    Hello!
    {{#if premium}}
    Welcome back, VIP member!
    {{/if}}
    ```
    """

    code = "PK108"
    name = "unclosed-block"
    severity = Severity.ERROR

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if ctx.template.engine not in _HB_ENGINES:
            return
        opens, _ = _blocks(ctx)
        for off, name in opens:
            yield Finding(ctx.span(off, off + len(name) + 3), f"block '{{{{#{name}}}}}' is never closed",
                          hint=f"add {{{{/{name}}}}} where the block ends")


@register
class UnmatchedClosingBlock(Rule):
    """Unmatched closing block: a ``{{/block}}`` closes a block that is not open.

    ## What it does
    In Handlebars and Mustache templates, reports closing tags with no matching open
    block, or that close a different block than the innermost open one.

    ## Why is this bad?
    Handlebars refuses to compile the template. Usually a block was renamed or its
    opening tag deleted.

    ## Example
    ```prompt
    ---
    model: googleai/gemini-2.5-flash
    ---
    Hello!
    {{/if}}
    ```

    ## Use instead
    ```prompt
    ---
    model: googleai/gemini-2.5-flash
    ---
    Hello!
    ```
    """

    code = "PK109"
    name = "unmatched-closing-block"
    severity = Severity.ERROR

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if ctx.template.engine not in _HB_ENGINES:
            return
        _, bad = _blocks(ctx)
        for off, name, expected in bad:
            what = f"the open block is '{{{{#{expected}}}}}'" if expected else "no block is open"
            yield Finding(ctx.span(off, off + len(name) + 5), f"'{{{{/{name}}}}}' closes nothing: {what}",
                          hint="remove it, or add the matching opening tag")


@register
class UnbalancedBraces(Rule):
    """Unbalanced braces: a Handlebars ``{{`` without ``}}``, or a stray ``}}``.

    ## What it does
    In Handlebars and Mustache templates, reports tags that are never closed (the next
    ``{{`` comes first, or the file ends) and ``}}`` that close no tag.

    ## Why is this bad?
    Handlebars fails to parse the template, or swallows the text up to the next ``}}``
    into one broken expression.

    ## Example
    ```prompt
    ---
    model: googleai/gemini-2.5-flash
    ---
    Hello, {{ name }}!
    This has an extra closing brace: }}
    ```

    ## Use instead
    ```prompt
    ---
    model: googleai/gemini-2.5-flash
    ---
    Hello, {{ name }}!
    ```
    """

    code = "PK110"
    name = "unbalanced-braces"
    severity = Severity.ERROR

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if ctx.template.engine not in _HB_ENGINES:
            return
        a = ctx.analysis
        for tag in a.handlebars_tags:
            if not tag.closed:
                yield Finding(ctx.span(tag.start, tag.start + 2), f"'{{{{{tag.inner.strip()[:20]}' is never closed with '}}}}'",
                              hint="close the tag with }} before the next {{")
        text = ctx.text
        for off in a.stray_close:
            before = text[text.rfind("\n", 0, off) + 1 : off]
            if before.count("{") > before.count("}"):
                continue  # `{a: {b: 1}}`: an object literal in prose, not a tag
            yield Finding(ctx.span(off, off + 2), "'}}' closes no tag", hint="remove it, or add the missing {{")


# =========================================================================== POML / XML markup

_TAG_NAME = re.compile(r"[A-Za-z][\w.:-]*")
_MARKUP_START = re.compile(r"<|\{\{")


def _markup(text: str) -> Iterator[tuple[int, int, str, str]]:
    """``(start, end, kind, name)`` of each tag of a POML/XML text, in order: ``kind`` is
    ``open``, ``close``, ``self`` (``<x/>``) or ``unterminated`` (``<x`` with no ``>``;
    ``end`` is then just past the name). Comments, CDATA, processing instructions and
    ``{{ }}`` are skipped.

    A hand-written scanner, not one regular expression: the lazy ``.*?`` alternatives and
    the attribute group of a regex rescan the rest of the file for every unclosed ``{{``
    or ``<!--`` and backtrack over long runs of spaces -- quadratic on a 100 kB file."""
    finds: dict[str, tuple[int, int]] = {}

    def find(needle: str, start: int) -> int:  # str.find with a memo: each search moves on
        hit = finds.get(needle)
        if hit is not None and hit[0] <= start and (hit[1] == -1 or hit[1] >= start):
            return hit[1]
        found = text.find(needle, start)
        finds[needle] = (start, found)
        return found

    n = len(text)
    pos = 0
    while True:
        m = _MARKUP_START.search(text, pos)
        if m is None:
            return
        i = m.start()
        skipped = False
        for opener, closer in (("{{", "}}"), ("<!--", "-->"), ("<![CDATA[", "]]>"), ("<?", "?>")):
            if text.startswith(opener, i):
                e = find(closer, i + len(opener))
                if e != -1:
                    pos = e + len(closer)
                    skipped = True
                break
        if skipped:
            continue
        j = i + 1
        slash = j < n and text[j] == "/"
        if slash:
            j += 1
        nm = _TAG_NAME.match(text, j)
        if nm is None:
            pos = i + 1
            continue
        name, k = nm.group(), nm.end()
        end = -1
        if k < n and text[k].isspace():
            while k < n:  # attributes: anything but < > up to '>', quoted values whole
                c = text[k]
                if c == ">":
                    end = k
                    break
                if c == "<":
                    break
                if c == '"' or c == "'":
                    q = find(c, k + 1)
                    if q == -1:
                        break
                    k = q + 1
                    continue
                k += 1
        elif text.startswith(">", k):
            end = k
        elif text.startswith("/>", k):
            end = k + 1
        if end == -1:
            yield i, nm.end(), "unterminated", ("/" if slash else "") + name
            pos = nm.end()
            continue
        kind = "close" if slash else "self" if text[nm.end() : end].rstrip().endswith("/") else "open"
        yield i, end + 1, kind, name
        pos = end + 1


@register
class MarkupSyntaxError(Rule):
    """Markup syntax error: a POML/XML prompt has an unterminated or unbalanced tag.

    ## What it does
    Scans ``.poml`` (and ``.xml``) prompts tag by tag and reports tags left open at the
    end of the file, closing tags that match no open tag, and tags whose ``>`` is
    missing. ``{{ }}`` expressions and comments are skipped.

    ## Why is this bad?
    POML is parsed as markup: an unbalanced tag makes the whole prompt fail to load, or
    nests every later component inside the wrong parent.

    ## Example
    ```poml
    <poml>
      <role>You are a helpful assistant.</role>
      <task>Summarize the document.
    </poml>
    ```

    ## Use instead
    ```poml
    <poml>
      <role>You are a helpful assistant.</role>
      <task>Summarize the document.</task>
    </poml>
    ```
    """

    code = "PK111"
    name = "markup-syntax-error"
    severity = Severity.ERROR
    kinds = frozenset({FileKind.TEXT})

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if not _util.is_poml(ctx):
            return
        text = ctx.text
        stack: list[tuple[int, str]] = []
        open_names: Counter[str] = Counter()  # names on the stack: a close is matched in O(1)
        for start, end, kind, name in _markup(text):
            if kind == "unterminated":
                yield Finding(ctx.span(start, end), f"tag '<{name}' is never terminated with '>'",
                              hint="finish the tag with '>' (or '/>')")
                continue
            if kind == "self":
                continue
            if kind == "open":
                stack.append((start, name))
                open_names[name] += 1
                continue
            if stack and stack[-1][1] == name:
                stack.pop()
                open_names[name] -= 1
            elif open_names[name] > 0:
                while stack and stack[-1][1] != name:
                    off, inner = stack.pop()
                    open_names[inner] -= 1
                    yield Finding(ctx.span(off, off + len(inner) + 1), f"'<{inner}>' is not closed before '</{name}>'",
                                  hint=f"add '</{inner}>'")
                stack.pop()
                open_names[name] -= 1
            else:
                yield Finding(ctx.span(start, end), f"'</{name}>' closes no open tag",
                              hint="remove it, or add the matching opening tag")
        for off, name in stack:
            yield Finding(ctx.span(off, off + len(name) + 1), f"'<{name}>' is never closed",
                          hint=f"add '</{name}>' (or write '<{name} />')")


# =========================================================================== leftovers

_PLACEHOLDER = re.compile(
    r"\b(TODO|FIXME|TBD)\b:|\[(?:INSERT|ADD|PUT|FILL[ _]IN)\b[^\]\n]{0,60}\]|<(?:INSERT|FILL[ _]IN)\b[^>\n]{0,60}>"
    r"|\blorem ipsum\b",
    re.I,
)
_INLINE_CODE = re.compile(r"`[^`\n]*`")


@register
class LeftoverPlaceholder(Rule):
    """Leftover placeholder: ``TODO:``, ``[INSERT ...]`` or lorem ipsum left in a prompt.

    ## What it does
    Finds drafting leftovers in the prompt text of templates: ``TODO:``, ``FIXME:``,
    ``TBD:``, ``[INSERT ...]``, ``<INSERT ...>``, ``[FILL IN ...]`` and lorem ipsum. Code
    fences and inline code are skipped. Markdown and plain-text prompts are not checked:
    prompt libraries publish fill-in forms (``[INSERT TOPIC]``) on purpose.

    ## Why is this bad?
    The model reads the placeholder as an instruction or as content: it improvises the
    missing part, or echoes the placeholder into the answer.

    ## Example
    ```prompty
    ---
    name: reply
    ---
    system:
    You answer customer e-mails. TODO: add the refund policy.
    ```

    ## Use instead
    ```prompty
    ---
    name: reply
    ---
    system:
    You answer customer e-mails. Refunds are possible within 30 days of delivery.
    ```
    """

    code = "PK112"
    name = "leftover-placeholder"
    severity = Severity.WARNING

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        if _util.is_prose(ctx):
            return  # prose prompt libraries use [INSERT ...] on purpose, as fill-in forms
        for i, _start, line in _util.lines(ctx).prose():
            m = _PLACEHOLDER.search(line)
            if not m:
                continue
            if "`" in line:
                masked = _INLINE_CODE.sub(lambda x: " " * len(x.group()), line)
                m = _PLACEHOLDER.search(masked)
                if not m:
                    continue
            yield Finding(_util.line_span(ctx, i, m.start(), m.end()), f"leftover placeholder '{m.group().strip()}'",
                          hint="write the missing text, or remove the placeholder")
