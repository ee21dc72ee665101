"""PK4xx: budget -- tokens against budgets and context windows, repetition, long lines.

Token counts come from :mod:`promptkit.tokens` (tiktoken with litellm's bundled, offline
encodings) and are computed at most once per file (``ctx.cached``). Counting is skipped
whenever the UTF-8 size of the text already proves the prompt fits: a BPE token is at
least one byte, so ``bytes + chat overhead`` bounds the count from above. Most files
never reach the tokenizer, which keeps the linter fast.

Rendering uses the file's samples only for ``.prompty`` files that declare them;
otherwise the static text of the messages is counted (template tags included), which is
what the prompt costs before any input is added.
"""

from __future__ import annotations

import bisect
from collections import Counter
import re
from collections.abc import Iterator
from typing import Any, ClassVar

from promptkit.diagnostics import Severity
from promptkit.lint.rule import Finding, LintContext, Rule, register
from promptkit.lint.rules import _util
from promptkit.template.model import FileKind

#: Upper bound of OpenAI-style chat overhead per message (3 + role) and for the reply.
_PER_MESSAGE = 8
_REPLY = 3


def _model(ctx: LintContext) -> str | None:
    spec = ctx.template.front_matter.model
    return (spec.litellm_id if spec else None) or _util.conf(ctx, "default_model", None)


def _messages(ctx: LintContext) -> tuple[list[dict[str, str]], bool]:
    """The messages to count and whether they were rendered with samples."""
    def build() -> tuple[list[dict[str, str]], bool]:
        t = ctx.template
        if t.kind is FileKind.PROMPTY and t.engine.can_render and t.samples() and t.ok:
            from promptkit.diagnostics import PromptkitError
            from promptkit.template.render import render

            try:
                return [m.to_dict() for m in render(t, t.samples())], True
            except PromptkitError:
                pass
        msgs = [{"role": m.role or "user", "content": m.content} for m in t.messages]
        return msgs or [{"role": "system", "content": t.body}], False

    return ctx.cached("budget.messages", build)


def _upper_bound(msgs: list[dict[str, str]]) -> int:
    return sum(_content_bound(m["content"]) + _PER_MESSAGE for m in msgs) + _REPLY


def _content_bound(content: object) -> int:
    """Bytes of text bound the tokens; a content part list (images...) counts its JSON
    size plus a generous allowance per non-text part (an image is priced in tokens)."""
    if isinstance(content, str):
        return len(content.encode("utf-8"))
    parts = content if isinstance(content, list) else []
    return len(str(content).encode("utf-8")) + 1000 * sum(1 for p in parts if isinstance(p, dict) and p.get("type") != "text")


def _tokens(ctx: LintContext) -> int:
    def count() -> int:
        from promptkit.tokens import count_tokens

        return count_tokens(_messages(ctx)[0], _model(ctx)).total

    return ctx.cached("budget.tokens", count)


def _info(model: str) -> tuple[dict[str, Any], str]:
    """litellm's table entry for ``model`` and a note for the message: empty when the id is
    in the table; when it is not (a new dated snapshot, ``gpt-4o-mini-2031-05-05``), the
    entry of its family (``gpt-4o-mini``) and a note saying so, rather than no check."""
    from promptkit.tokens import family_model_info, model_info

    info = model_info(model)
    if info is not None:
        return info, ""
    fam = family_model_info(model)
    if fam is None:
        return {}, ""
    key, entry = fam
    return entry, f" ({model} is not in litellm's model table: using the {key} family's entry)"


def _window(model: str) -> tuple[int | None, str]:
    info, note = _info(model)
    for key in ("max_input_tokens", "max_tokens"):
        value = info.get(key)
        if isinstance(value, int) and value > 0:
            return value, note
    return None, ""


def _where(ctx: LintContext) -> Any:
    t = ctx.template
    return t.span_of("model") or t.index.line_span(t.body_line if t.body_line <= t.index.line_count else 1)


@register
class TokenBudgetExceeded(Rule):
    """Token budget exceeded: the prompt is longer than the configured token budget.

    ## What it does
    With ``token-budget = N`` in ``[tool.promptkit]`` (or ``max-tokens`` in this rule's
    options), counts the prompt's tokens -- rendered with its samples when a
    ``.prompty`` file declares them, else its static text -- for the prompt's model (or
    ``default-model``) and reports prompts over the budget. Silent without a budget.

    ## Why is this bad?
    Every token is paid on every call and adds latency. A budget keeps prompts from
    growing one "just add this rule" at a time.

    ## Example
    ```prompty
    ---
    name: review
    ---
    system:
    You are a meticulous code reviewer. Check correctness, security, performance,
    readability, naming, tests, documentation, error handling and style. Explain each
    problem, quote the line, propose a fix and rate its severity from one to five.
    ```

    ## Use instead
    ```prompty
    ---
    name: review
    ---
    system:
    Review the code. List each bug with its line and a fix.
    ```
    """

    code = "PK400"
    name = "token-budget-exceeded"
    severity = Severity.WARNING
    example_config: ClassVar[dict[str, Any]] = {"token_budget": 40}

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        budget = ctx.setting(self.code, "max-tokens", None) or _util.conf(ctx, "token_budget", None)
        if not budget:
            return
        msgs, rendered = _messages(ctx)
        if _upper_bound(msgs) <= budget:
            return
        n = _tokens(ctx)
        if n > budget:
            how = "rendered with its samples" if rendered else "before inputs are added"
            yield Finding(_where(ctx), f"the prompt is {n:,} tokens ({how}), over the budget of {budget:,}",
                          hint="shorten the prompt, or raise token-budget in [tool.promptkit]")


@register
class ContextWindowExceeded(Rule):
    """Context window exceeded: the prompt (plus ``max_tokens``) does not fit the model.

    ## What it does
    Counts the prompt's tokens for its model (front matter ``model``, else the config's
    ``default-model``) and compares them, plus the ``max_tokens`` reserved for the answer,
    with the model's context window from litellm's bundled model table. An id missing
    from the table (a dated snapshot such as ``gpt-4o-mini-2031-05-05``) falls back to
    its family's window (``gpt-4o-mini``), and the message says so; only models of no
    known family are skipped.

    ## Why is this bad?
    The provider rejects the request (or truncates the prompt) on every call.

    ## Example
    ```prompty
    ---
    name: long-answer
    model:
      id: gpt-4o-mini
      parameters:
        max_tokens: 200000
    ---
    user:
    Write a novel.
    ```

    ## Use instead
    ```prompty
    ---
    name: long-answer
    model:
      id: gpt-4o-mini
      parameters:
        max_tokens: 4000
    ---
    user:
    Write a short story.
    ```
    """

    code = "PK401"
    name = "context-window-exceeded"
    severity = Severity.ERROR

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        model = _model(ctx)
        if not model:
            return
        spec = ctx.template.front_matter.model
        reserve = spec.params.get("max_tokens") or spec.params.get("max_completion_tokens") or 0 if spec else 0
        reserve = reserve if isinstance(reserve, int) and not isinstance(reserve, bool) else 0
        msgs, _ = _messages(ctx)
        bound = _upper_bound(msgs)
        if bound + reserve < 4096:
            return  # fits every chat model's window; skip the model table and tokenizer
        window, note = _window(model)
        if not window or bound + reserve <= window:
            return
        n = _tokens(ctx)
        if n + reserve > window:
            extra = f" + max_tokens {reserve:,}" if reserve else ""
            yield Finding(_where(ctx), f"the prompt needs {n:,} tokens{extra}, over {model}'s context window of {window:,}{note}",
                          hint="shorten the prompt, lower max_tokens, or use a model with a larger context window")


_ELSE = re.compile(r"\{%-?\s*el(?:se|if)\b")
_FILL_IN = re.compile(r"\[[^\]\n]{2,80}\](?!\()")
#: Fill-in slots of an output skeleton: ``[why]``, ``<name>``, ``{placeholder}``, ``___``, ``...``.
_SLOT = re.compile(r"\[[^\]\n]{1,80}\](?!\()|<[^<>\n]{1,60}>|(?<!\{)\{[^{}\n]{1,60}\}(?!\})|_{3,}|\.\.\.|…")
_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
#: A list marker or a Markdown emphasis/quote prefix, dropped before lines are compared.
_MARKER = re.compile(r"^\s*(?:[-*+>]|\d{1,3}[.)]|[a-z][.)])\s+", re.I)
#: Repetitions shorter than this are not worth a finding (PK402's ``min-length``).
_MIN_PARAGRAPH = 30


def _is_skeleton(norm: str) -> bool:
    """An output skeleton or a template slot, repeated on purpose: ``**Reasoning**: [why]``,
    ``Name: <name>``, a line that is mostly ``{{ tags }}``, a label (``Example:``), a table
    row or a separator."""
    if norm.startswith(("|", "{%", "{{", "<", "---", "===", "***")) or norm.endswith(":"):
        return True
    if _SLOT.search(norm):
        return True
    bare = _TAGS.sub("", norm).strip()
    return len(bare) < len(norm) / 2


_FIELD = re.compile(r"^[^:.!?]{1,40}:\s")
_FIRST_PERSON = re.compile(r"^(?:I|I'm|I've|I'd|My|We|We're|Our)\b")
_CODE_CHARS = re.compile(r"[{};=<>\\|`$]|\(\)|::|->|=>|//|\w\.\w+\(")


def _prose_like(norm: str) -> bool:
    """Words in sentences, not code, data (``"key": "value",``, ``Cost: 250x``) or a
    quoted user's line."""
    words = [w for w in norm.split() if any(ch.isalpha() for ch in w)]
    if len(words) < 4 or norm.startswith(("#", '"', "'", "“")) or _CODE_CHARS.search(norm) or '"""' in norm:
        return False
    if _FIELD.match(norm) or _FIRST_PERSON.match(norm) or norm.endswith((",", ":", "(", "[")):
        return False
    letters = sum(ch.isalpha() for ch in norm)
    return letters >= 0.7 * sum(not ch.isspace() for ch in norm)


def _instruction_like(line: str, norm: str) -> bool:
    """Is this line an instruction -- a list item or a sentence of words -- rather than
    code, data, a label or a skeleton pasted into the prompt?"""
    if _is_skeleton(norm) or not _prose_like(norm):
        return False
    bare = _MARKER.sub("", line).strip()
    if (bare.startswith("**") and bare.endswith(("**", "**:")) and bare.count("**") == 2
            and not bare.rstrip("*:").endswith((".", "!"))):
        return False  # a bold title: a heading in disguise (tables of contents repeat them)
    is_item = bool(_MARKER.match(line))
    return is_item or (norm[:1].isupper() and norm.endswith((".", "!")))


def _in_other_branch(elses: list[int], first: int, here: int) -> bool:
    """Do the two copies sit in different ``{% if %}``/``{% else %}`` branches?"""
    k = bisect.bisect_right(elses, first)
    return k < len(elses) and elses[k] < here


def _repeated_paragraphs(ctx: LintContext, min_len: int) -> list[tuple[int, int, int]]:
    """``(start, end, line_of_first_copy)`` of each paragraph that repeats an earlier one
    word for word (whitespace-normalized, at least ``min_len`` characters; skeletons and
    copies in other ``if``/``else`` branches skipped). Shared by PK402 and PK405, so a
    repeated one-line paragraph is reported once."""
    def build() -> list[tuple[int, int, int]]:
        text = ctx.text
        out: list[tuple[int, int, int]] = []
        items = [(s, e) for s, e in _util.paragraphs(ctx) if e - s >= min_len]
        if len(items) < 2:
            return out
        # Group first (cheap), judge only the groups that repeat: most paragraphs are unique.
        groups: dict[str, list[int]] = {}
        ends: dict[int, int] = {}
        for s, e in items:
            groups.setdefault(" ".join(text[s:e].split()), []).append(s)
            ends[s] = e
        elses = [m.start() for m in _ELSE.finditer(text)] if "{%" in text else []
        for norm, starts in groups.items():
            if len(starts) < 2 or len(norm) < min_len or norm.startswith("#") or _is_skeleton(norm):
                continue
            if "[" in norm and len(_FILL_IN.findall(norm)) >= 2:
                continue
            if len(norm) < 80 and not _prose_like(norm.replace("**", "")):
                continue  # a short repeated line of code, data or a label is structure, not a pasted paragraph
            first_line = ctx.template.index.position(starts[0]).line
            for s in starts[1:]:
                if not _in_other_branch(elses, starts[0], s):
                    out.append((s, ends[s], first_line))
        out.sort()
        return out

    return ctx.cached(f"budget.repeated_paragraphs.{min_len}", build)


@register
class RepeatedParagraph(Rule):
    """Repeated paragraph: the same paragraph appears more than once, word for word.

    ## What it does
    Compares the paragraphs of the prompt (outside code fences, whitespace-normalized,
    at least ``min-length`` characters, default 30) and reports each repetition.
    Headings are left to PK204 and single lines inside a paragraph to PK405. In Jinja
    templates a repetition across ``{% if %}``/``{% else %}`` branches is allowed, and so
    are output skeletons and template slots (``**Reasoning**: [why]``, ``Name: <name>``,
    a line of ``{{ tags }}``, labels ending in ``:``) that a prompt repeats on purpose.

    ## Why is this bad?
    The copy costs tokens on every call and, after the next edit, one copy will say
    something different from the other. Usually it is a paste mistake.

    ## Example
    ```markdown
    # Task
    Summarize the support ticket in two sentences.

    # Output format
    Plain text.

    Summarize the support ticket in two sentences.
    ```

    ## Use instead
    ```markdown
    # Task
    Summarize the support ticket in two sentences.

    # Output format
    Plain text.
    ```
    """

    code = "PK402"
    name = "repeated-paragraph"
    severity = Severity.WARNING

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        min_len = int(ctx.setting(self.code, "min-length", _MIN_PARAGRAPH))
        for s, e, first_line in _repeated_paragraphs(ctx, min_len):
            yield Finding(ctx.span(s, e), f"this paragraph repeats the one at line {first_line} word for word",
                          hint="delete one copy")


@register
class RepeatedInstruction(Rule):
    """Repeated instruction: the same instruction line appears twice in one message.

    ## What it does
    Compares the lines of each message (outside code fences; list markers, emphasis and
    whitespace dropped; at least four words) and reports a line -- a constraint bullet,
    a numbered step, an instruction sentence on its own line -- that repeats an earlier
    line of the same message word for word, when its paragraph is not itself a repeated
    paragraph (PK402 reports those). List skeletons and template slots (``- Name:
    <name>``, ``**Reasoning**: [why]``, ``{{ item }}``, labels ending in ``:``) and copies
    in different ``{% if %}``/``{% else %}`` branches are allowed.

    ## Why is this bad?
    A rule said twice costs tokens on every call and is edited in one place only: the
    next change makes the two copies disagree. Repetition is also a poor way to stress a
    rule; say once why it matters.

    ## Example
    ```markdown
    # Constraints
    - Answer in English.
    - Never mention competitors by name.
    - Keep answers under 100 words.

    # Style
    - Use a friendly tone.
    - Never mention competitors by name.
    ```

    ## Use instead
    ```markdown
    # Constraints
    - Answer in English.
    - Never mention competitors by name.
    - Keep answers under 100 words.

    # Style
    - Use a friendly tone.
    ```
    """

    code = "PK405"
    name = "repeated-instruction"
    severity = Severity.WARNING

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        text = ctx.text
        ls = _util.lines(ctx)
        # Group the lines by a key made with str methods only (C speed, no per-line Python
        # work beyond one comprehension), then judge only the keys that repeat: most
        # lines are unique.
        fb, texts, fenced = ls.first_body, ls.texts, ls.fenced
        keys = [t.strip().lstrip("-*+>").lstrip().lstrip("0123456789").lstrip(".)").strip().replace("**", "")
                if len(t) >= 12 and not fenced[j] else "" for j, t in enumerate(texts[fb:], fb)]
        counts = Counter(keys)
        repeated = {k for k, n in counts.items() if n > 1 and k}
        if not repeated:
            return
        pk402_len = int(ctx.setting(RepeatedParagraph.code, "min-length", _MIN_PARAGRAPH))
        whole = {s for s, _, _ in _repeated_paragraphs(ctx, pk402_len)}
        para_of = {s: (s, e) for s, e in _util.paragraphs(ctx)}
        elses = [m.start() for m in _ELSE.finditer(text)] if "{%" in text else []
        bounds = [m.content_span.start.offset for m in ctx.template.messages]
        # Examples, context and input sections quote material (sample dialogues, pasted
        # documents); their lines are not the prompt's instructions.
        quoted = sorted((c.content_span.start.offset, c.content_span.end.offset)
                        for _, c in ctx.template.components() if c.kind in ("examples", "context", "input"))
        q_starts = [a for a, _ in quoted]
        groups: dict[tuple[int, str], list[tuple[int, int, str]]] = {}
        if repeated:
            p_starts = sorted(para_of)
            for j, key in enumerate(keys):
                if key in repeated:
                    i = j + fb
                    start = ls.starts[i]
                    k = bisect.bisect_right(p_starts, start) - 1
                    p_start = p_starts[k] if k >= 0 else -1
                    groups.setdefault((bisect.bisect_right(bounds, start) - 1, key), []).append((i, p_start, texts[i]))
        found: list[tuple[int, int, int]] = []
        for (_, _), rows in groups.items():
            if len(rows) < 2:
                continue
            first_i, _, first_t = rows[0]
            norm = " ".join(_MARKER.sub("", first_t).replace("**", "").split())
            if not _instruction_like(first_t, norm) or self._quoted(quoted, q_starts, ls.starts[first_i]):
                continue
            for i, p_start, t in rows[1:]:
                start = ls.starts[i]
                para = para_of.get(p_start)
                if para is not None and p_start in whole and para[0] <= start <= para[1]:
                    continue  # the whole paragraph repeats: PK402 reports it
                if self._quoted(quoted, q_starts, start) or _in_other_branch(elses, ls.starts[first_i], start):
                    continue
                found.append((i, first_i, len(t) - len(t.lstrip())))
        for i, first_i, indent in sorted(found):
            yield Finding(_util.line_span(ctx, i, indent), f"this line repeats line {first_i + 1} of the same message word for word",
                          hint="keep one copy; to stress a rule, say once why it matters")

    @staticmethod
    def _quoted(quoted: list[tuple[int, int]], q_starts: list[int], offset: int) -> bool:
        return any(a <= offset < b for a, b in quoted)  # few components; nested ones too


@register
class LongLine(Rule):
    """Long line: a line longer than ``max-line-length`` characters (default 2000).

    ## What it does
    Reports body lines outside code fences longer than the limit (an option of this
    rule).

    ## Why is this bad?
    A wall of text in one line is hard to review and diff: a one-word change shows as
    the whole paragraph changed. It usually means generated or pasted text that nobody
    has read since.

    ## Example
    With ``max-line-length = 60``:

    ```markdown
    # Task
    Answer the question using only the documents below, and cite each one you use.
    ```

    ## Use instead
    ```markdown
    # Task
    Answer the question using only the documents below.
    Cite each document you use.
    ```
    """

    code = "PK403"
    name = "long-line"
    severity = Severity.INFO
    example_config: ClassVar[dict[str, Any]] = {"rules": {code: {"max-line-length": 60}}}

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        limit = int(ctx.setting(self.code, "max-line-length", 2000))
        if len(ctx.text) <= limit:
            return
        for i, _start, t in _util.lines(ctx).prose():
            if len(t) > limit:
                yield Finding(_util.line_span(ctx, i, limit, len(t)), f"line is {len(t):,} characters long (limit {limit:,})",
                              hint="break it into sentences or paragraphs, one per line")


@register
class MaxTokensOverModelLimit(Rule):
    """Max tokens over the model's limit: ``max_tokens`` is more than the model can write.

    ## What it does
    Compares ``max_tokens`` (or ``max_completion_tokens``) in the model parameters with
    the model's maximum output tokens from litellm's bundled model table. Like PK401, an
    id missing from the table falls back to its family's entry, with a note; only
    models of no known family are skipped.

    ## Why is this bad?
    Providers reject the request with a 400 error on every call.

    ## Example
    ```prompty
    ---
    name: essay
    model:
      id: gpt-4o-mini
      parameters:
        max_tokens: 100000
    ---
    user:
    Write an essay.
    ```

    ## Use instead
    ```prompty
    ---
    name: essay
    model:
      id: gpt-4o-mini
      parameters:
        max_tokens: 4000
    ---
    user:
    Write an essay.
    ```
    """

    code = "PK404"
    name = "max-tokens-over-model-limit"
    severity = Severity.ERROR

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        spec = ctx.template.front_matter.model
        if spec is None:
            return
        params = spec.params
        key = "max_tokens" if "max_tokens" in params else "max_completion_tokens"
        value = params.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 4096:
            return
        model = _model(ctx)
        if not model:
            return
        info, note = _info(model)
        limit = info.get("max_output_tokens")
        if isinstance(limit, int) and 0 < limit < value:
            t = ctx.template
            span = None
            for path in (("model", "parameters", key), ("model", "options", key)):
                span = span or t.span_of(*path)
            yield Finding(span or _where(ctx), f"{key} is {value:,} but {model} writes at most {limit:,} tokens{note}",
                          hint=f"set {key} to {limit:,} or less")
