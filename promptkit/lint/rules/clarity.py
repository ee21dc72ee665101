"""PK6xx: clarity -- vague quantities, contradictions, negative-only rules, shouting.

These are judgement calls about wording, not defects, so the family is off unless
selected (``extend-select = ["PK6"]``). Each rule looks for a narrow, well-known pattern
from prompt-engineering guides (OpenAI's and Anthropic's: "be specific about length",
"say what to do, not only what not to do") and stays away from code fences.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from promptkit.diagnostics import Severity
from promptkit.lint.rule import Finding, LintContext, Rule, register
from promptkit.lint.rules import _util

_VAGUE = re.compile(
    r"\b(a few|a couple of|some|several|many|a number of|various|numerous|a handful of|multiple|not too many)\s+"
    r"(sentences|words|paragraphs|bullet points|bullets|items|examples|points|lines|steps|questions|ideas|"
    r"suggestions|options|tips|sections|paragraphs|characters|tokens|pages|results|keywords|tags)\b"
    r"|\b(not too (?:long|short)|(?:fairly|relatively|reasonably|somewhat) (?:short|long|brief))\b",
    re.I,
)
_NUMBER_NEAR = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty)\b", re.I)


@register
class VagueQuantity(Rule):
    """Vague quantity: "a few sentences", "several examples" instead of a number.

    ## What it does
    Finds vague amounts attached to countable things (sentences, bullet points,
    examples, words...) and "not too long"-style lengths, outside code fences, when the
    same sentence gives no number.

    ## Why is this bad?
    "A few" means two to one model and six to another, and changes with temperature.
    A number ("3 bullet points", "at most 50 words") makes the output testable.

    ## Example
    ```markdown
    # Output format
    Summarize the article in a few sentences.
    ```

    ## Use instead
    ```markdown
    # Output format
    Summarize the article in 2 or 3 sentences.
    ```
    """

    code = "PK600"
    name = "vague-quantity"
    severity = Severity.INFO
    default_enabled = False

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for i, _start, t in _util.lines(ctx).prose():
            for m in _VAGUE.finditer(t):
                sentence = re.split(r"(?<=[.!?])\s", t[: m.start()])[-1] + t[m.start() :].split(". ")[0]
                if _NUMBER_NEAR.search(sentence.replace(m.group(), "")):
                    continue
                yield Finding(_util.line_span(ctx, i, m.start(), m.end()), f"vague quantity '{m.group()}'",
                              hint="give a number or a range (e.g. '3 bullet points', 'at most 50 words')")


_CONCISE = re.compile(r"\b(be (?:very )?(?:concise|brief|succinct)|keep (?:it|your answers?|responses?) (?:short|brief|concise)|"
                      r"as short as possible|answer (?:briefly|concisely)|one[- ]sentence answers?)\b", re.I)
_DETAILED = re.compile(r"\b(explain (?:\w+ ){0,3}in (?:great |full )?detail|be (?:very )?(?:detailed|thorough|comprehensive|exhaustive)|"
                       r"(?:detailed|thorough|comprehensive|exhaustive|in-depth) (?:explanation|answer|response|analysis)s?|"
                       r"as detailed as possible|cover every(?:thing| aspect))\b", re.I)
_ALWAYS_NEVER = re.compile(r"\b(always|never)\s+((?:use|include|add|mention|start|end|answer|respond|reply|write|return|ask|say|"
                           r"output|give|provide|format|show|list|cite)(?:\s+[\w-]+){1,3})", re.I)
_FORMATS = re.compile(r"\b(?:respond|answer|reply|output|return|format (?:your|the) (?:answer|response|output))\s+"
                      r"(?:only\s+)?(?:in|as|with)\s+(?:valid\s+|plain\s+)?(json|yaml|xml|markdown|csv|plain text|html)\b", re.I)


@register
class ContradictoryInstructions(Rule):
    """Contradictory instructions: the prompt asks for opposite things.

    ## What it does
    Finds pairs of instructions that cannot both be followed: "be concise" with
    "explain in detail"; "always X" with "never X" for the same X; "respond in JSON"
    with "respond in Markdown". Code fences are skipped.

    ## Why is this bad?
    The model resolves the conflict differently from call to call, so outputs vary for
    no visible reason. Usually one instruction is older than the other.

    ## Example
    ```markdown
    # Task
    Review the pull request. Be concise.

    # Output format
    Explain each problem in detail.
    ```

    ## Use instead
    ```markdown
    # Task
    Review the pull request.

    # Output format
    One line per problem; explain in detail only the security problems.
    ```
    """

    code = "PK601"
    name = "contradictory-instructions"
    severity = Severity.WARNING
    default_enabled = False

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        text = ctx.text
        fenced = _util.lines(ctx).fenced
        body = ctx.template.body_offset

        def hits(pat: re.Pattern[str]) -> list[re.Match[str]]:
            return [m for m in pat.finditer(text, body) if not fenced[_util.offset_line(ctx, m.start())]]

        low = text.lower()
        # Gate every scan on its mandatory words (str "in" is far cheaper than the regexes):
        # a contradiction needs both sides present.
        both_lengths = any(w in low for w in ("concise", "brief", "succinct", "short", "one sentence", "one-sentence")) and any(
            w in low for w in ("detail", "thorough", "comprehensive", "exhaustive", "in-depth", "cover every"))
        concise, detailed = (hits(_CONCISE), hits(_DETAILED)) if both_lengths else ([], [])
        if concise and detailed:
            a, b = sorted((concise[0], detailed[0]), key=lambda m: m.start())
            yield Finding(ctx.span(b.start(), b.end()),
                          f"'{b.group()}' contradicts '{a.group()}' (line {_util.offset_line(ctx, a.start()) + 1})",
                          hint="decide which one applies, or say when each applies")
        seen: dict[str, re.Match[str]] = {}
        for m in hits(_ALWAYS_NEVER) if "always" in low and "never" in low else []:
            what = " ".join(m.group(2).lower().split())
            other = seen.get(what)
            if other is not None and other.group(1).lower() != m.group(1).lower():
                yield Finding(ctx.span(m.start(), m.end()),
                              f"'{m.group()}' contradicts '{other.group()}' (line {_util.offset_line(ctx, other.start()) + 1})",
                              hint="keep one of the two instructions")
            seen.setdefault(what, m)
        kinds = sum(1 for w in ("json", "yaml", "xml", "markdown", "csv", "plain text", "html") if w in low)
        formats = hits(_FORMATS) if kinds >= 2 else []
        first = formats[0] if formats else None
        for m in formats[1:]:
            if first is not None and m.group(1).lower() != first.group(1).lower():
                yield Finding(ctx.span(m.start(), m.end()),
                              f"'{m.group()}' asks for {m.group(1)}, but line {_util.offset_line(ctx, first.start()) + 1} asks for {first.group(1)}",
                              hint="ask for one output format")
                break


_NEGATIVE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\*\*)?(?:do not|don't|never|avoid|no|not|without|stop|refrain)\b", re.I)
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")


@register
class NegativeOnlyInstructions(Rule):
    """Negative-only instructions: a list of rules that only says what not to do.

    ## What it does
    Reports a bullet or numbered list of three or more items, outside code fences, in
    which every item is a prohibition ("Do not...", "Never...", "Avoid...").

    ## Why is this bad?
    Prohibitions name the unwanted behaviour (and can prime it) without saying what to
    do instead. Both OpenAI's and Anthropic's guides recommend stating the desired
    behaviour.

    ## Example
    ```markdown
    # Rules
    - Do not use jargon.
    - Never write long paragraphs.
    - Avoid passive voice.
    ```

    ## Use instead
    ```markdown
    # Rules
    - Use words a new customer knows.
    - Keep paragraphs under 4 sentences.
    - Write in the active voice.
    ```
    """

    code = "PK602"
    name = "negative-only-instructions"
    severity = Severity.INFO
    default_enabled = False

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        run: list[tuple[int, bool]] = []
        prev = -2

        def flush() -> Iterator[Finding]:
            if len(run) >= 3 and all(neg for _, neg in run):
                yield Finding(_util.line_span(ctx, run[0][0]), f"all {len(run)} items of this list are prohibitions",
                              hint="rephrase some as what to do instead")

        for i, _start, t in _util.lines(ctx).prose():
            if _ITEM.match(t):
                if i != prev + 1:
                    yield from flush()
                    run = []
                run.append((i, bool(_NEGATIVE.match(t))))
                prev = i
            elif t.strip() and not t.startswith((" ", "\t")):
                yield from flush()
                run = []
        yield from flush()


_CAPS_RUN = re.compile(r"\b(?:[A-Z]{2,}[,']?\s+){4,}[A-Z]{2,}\b")
_BANGS = re.compile(r"!{3,}")


@register
class Shouting(Rule):
    """Shouting: long ALL-CAPS runs or "!!!" in instructions.

    ## What it does
    Finds runs of five or more ALL-CAPS words and three or more exclamation marks in
    prose lines (headings and code fences are skipped).

    ## Why is this bad?
    Modern models follow instructions without emphasis; shouting makes them over-apply
    the rule (Anthropic's guidance for Claude 4 models says so explicitly) and hides
    which instruction actually matters most.

    ## Example
    ```markdown
    # Rules
    YOU MUST NEVER EVER SHARE PERSONAL DATA!!!
    ```

    ## Use instead
    ```markdown
    # Rules
    Never share personal data: it is the most important rule.
    ```
    """

    code = "PK603"
    name = "shouting"
    severity = Severity.INFO
    default_enabled = False
    #: New and tuned on one vendor's guidance: runs only with `preview = true` or when selected by code.
    preview = True

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for i, _start, t in _util.lines(ctx).prose():
            if t.lstrip().startswith("#"):
                continue
            m = _CAPS_RUN.search(t) or _BANGS.search(t)
            if m:
                yield Finding(_util.line_span(ctx, i, m.start(), m.end()), f"shouting: '{m.group()[:40]}'",
                              hint="state the rule plainly; say why it matters instead of raising the volume")
