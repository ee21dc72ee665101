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


_NUM = r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|a hundred|one hundred)"
_UNIT = r"(?:words?|sentences?|lines?|paragraphs?|bullet(?:s| points?)|characters|tokens|pages?)"
#: Asking for a short answer.
_CONCISE = re.compile(
    r"\b(be (?:very |extremely |as )?(?:concise|brief|succinct|terse)|keep (?:it|this|everything|your (?:answers?|responses?|replies|reply|output|summary)|"
    r"(?:the )?(?:answers?|responses?|replies|reply|output|summary)) (?:very )?(?:short|brief|concise|tight|to the point)|"
    r"as short as possible|(?:answer|respond|reply) (?:briefly|concisely|in brief)|one[- ](?:sentence|line)(?! per\b| for each\b| each\b)(?: answers?| summary| replies| reply)?|"
    rf"(?:keep (?:it|your \w+|the \w+) )?(?:under|below|within|no (?:more|longer) than|at most|fewer than|less than|max(?:imum)?(?: of)?|up to) {_NUM} {_UNIT}|"
    rf"(?:in|with) {_NUM} {_UNIT} or (?:fewer|less)|limit (?:it|yourself|your \w+|the \w+) to {_NUM} {_UNIT}|no (?:long|lengthy) (?:answers?|explanations?|responses?))\b",
    re.I,
)
#: Asking for a long, complete answer.
_DETAILED = re.compile(
    r"\b(explain (?:\w+ ){0,3}in (?:great |full |exhaustive |more )?detail|be (?:very |extremely )?(?:detailed|exhaustive)|"
    r"(?:provide|give|write|produce|deliver|present|return|include|offer) (?:an? |the )?(?:very )?(?:detailed|thorough|comprehensive|exhaustive|in-depth|long-form|lengthy) "
    r"(?:explanations?|answers?|responses?|analys[ie]s|reports?|descriptions?|walkthroughs?)|"
    r"as (?:detailed|thorough|complete|comprehensive) as possible|cover (?:every(?:thing| aspect| point| detail| angle| case)|all (?:the )?(?:points|aspects|details))(?: \w+){0,3}? (?:thoroughly|in depth|in detail|exhaustively)|"
    r"cover every(?:thing| aspect| point| detail| angle)|(?:leave|leaving) nothing out|(?:do not|don't) leave (?:anything|any detail) out|"
    r"include (?:all|every) (?:the )?(?:details?|relevant details?|nuances?)|elaborate on (?:each|every|all)|(?:write|answer|explain) (?:at length|exhaustively)|"
    rf"at least {_NUM} (?:words|paragraphs|pages))\b",
    re.I,
)
#: "When each applies": a condition in the sentence makes the pair a rule, not a conflict.
_CONDITIONAL = re.compile(r"\b(?:unless|if|when|whenever|otherwise|except|only for|for (?:simple|short|complex|long|technical|quick|detailed|easy|hard)|"
                          r"but (?:for|when|if)|where needed|if needed|on request|when asked|only (?:the|for|when|if|in|on))\b", re.I)
_POS = r"(?:always|must(?! not)|make sure (?:to|you)|be sure to)"
_NEG = r"(?:never|do not|don't|must not|mustn't|should not|shouldn't)"
_VERBS = (r"(?:use|include|add|mention|start|begin|end|finish|answer|respond|reply|write|return|ask|say|output|give|provide|format|show|"
          r"list|cite|number|explain|apologi[sz]e|refer|reveal|wrap|quote|translate|sign|greet|offer|recommend|suggest|link|repeat|summari[sz]e|"
          r"capitali[sz]e|bold|use)")
_ALWAYS_NEVER = re.compile(rf"\b({_POS}|{_NEG})\s+({_VERBS}(?:\s+(?!and\b|or\b|but\b|unless\b|if\b|when\b)[\w'-]+){{1,3}})", re.I)
_ARTICLES = frozenset({"a", "an", "the", "any", "your", "all", "every", "each"})
_FORMAT_NAMES = r"(json|yaml|xml|markdown|csv|plain text|plain-text|html|prose|a table|bullet points|a bulleted list|numbered list)"
_FORMATS = re.compile(
    r"\b(?:(?:respond|answer|reply|output|return|write|give|provide|produce|send|format)(?: (?:your|the|an?|each|every))?"
    r"(?: (?:answers?|responses?|output|reply|replies|results?|summary|everything))?(?: only)?|only (?:output|return|respond|reply|answer)|"
    r"(?:your|the) (?:answer|response|output|reply) (?:must|should) be)\s+(?:only\s+)?(?:in|as|with|using|formatted as)?\s*"
    rf"(?:valid\s+|plain\s+|raw\s+|pure\s+|well-formed\s+|a\s+|an\s+)?{_FORMAT_NAMES}\b"
    rf"|\buse (?:only )?{_FORMAT_NAMES}(?: formatting| format| syntax)?\b|\b(?:format|write) (?:it|everything|your answer|the answer) (?:in|as) {_FORMAT_NAMES}\b",
    re.I,
)
_NO_MARKDOWN = re.compile(r"\b(?:no|without|do not use|don't use|never use|avoid) (?:any )?markdown\b|\bplain text only\b", re.I)
#: Formats that do not exclude each other: JSON in a Markdown code block, a table in Markdown.
_COMPATIBLE = [{"json", "markdown"}, {"markdown", "a table"}, {"markdown", "bullet points"}, {"markdown", "a bulleted list"},
               {"markdown", "numbered list"}, {"xml", "markdown"}, {"csv", "markdown"}, {"html", "markdown"}, {"yaml", "markdown"},
               {"bullet points", "a bulleted list"}, {"plain text", "prose"}, {"plain-text", "plain text"}, {"plain-text", "prose"},
               {"prose", "markdown"}, {"numbered list", "markdown"}]


_CONCISE_KEYS = ("concise", "brief", "succinct", "terse", "short", "one sentence", "one-sentence", "one line", "one-line", "under ",
                 "below ", "within ", "at most", "no more than", "no longer than", "fewer than", "less than", "max", "up to", "limit ",
                 "or fewer", "or less", "tight", "to the point", "no long", "no lengthy")
_DETAILED_KEYS = ("detail", "thorough", "comprehensive", "exhaustive", "in-depth", "long-form", "lengthy", "cover ", "leave",
                  "elaborate", "at length", "at least")
_POS_KEYS = ("always", "must", "make sure", "be sure")
_NEG_KEYS = ("never", "do not", "don't", "must not", "mustn't", "should not", "shouldn't")
_FORMAT_KEYS = ("json", "yaml", "xml", "markdown", "csv", "plain", "html", "prose", "table", "bullet", "numbered")


def _windows(low: str, keys: tuple[str, ...], start: int, before: int, after: int) -> list[tuple[int, int]]:
    """Merged ``(start, end)`` windows around every occurrence of the keys (found with
    ``str.find`` at C speed): the regexes run only there, never over the whole file."""
    found: list[tuple[int, int]] = []
    for key in keys:
        i = low.find(key, start)
        while i != -1:
            found.append((max(start, i - before), i + len(key) + after))
            i = low.find(key, i + len(key))
    found.sort()
    out: list[tuple[int, int]] = []
    for a, b in found:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


_NEGATED_BEFORE = re.compile(r"\b(?:not|never|no|don't|do not|without|avoid|instead of|rather than)\b[^.!?\n]*$", re.I)
#: The long side scoped to a part ("detailed explanations of each change"), not the whole answer.
_SCOPED = re.compile(r"\s+(?:of|for|on|about) (?:each|every|the (?:\w+ )?(?:parts?|items?|sections?|steps?|changes?))\b|\s+per\b", re.I)
#: "a Markdown list", "Markdown headings": formatting inside the answer, not the answer's format.
_FORMATTING = re.compile(r"\s+(?:lists?|tables?|headings?|headers?|code|blocks?|syntax|formatting|links?|bullets?|sections?)\b", re.I)


def _canon_format(name: str) -> str:
    n = name.lower()
    return {"plain-text": "plain text", "a bulleted list": "bullet points"}.get(n, n)


def _what(verb_phrase: str) -> str:
    """``use the bullet points`` -> ``use bullet points``: what an always/never is about."""
    words = [w for w in verb_phrase.lower().rstrip(".,;:!").split() if w not in _ARTICLES]
    return " ".join(words[:3])


@register
class ContradictoryInstructions(Rule):
    """Contradictory instructions: the prompt asks for opposite things.

    ## What it does
    Finds pairs of instructions that cannot both be followed, in their common phrasings:
    a short answer ("be concise", "keep it under 50 words", "answer in one sentence",
    "at most 2 sentences") with a long one ("cover every point thoroughly", "explain in
    detail", "leave nothing out", "elaborate on every issue"); "always X" (or "must X")
    with "never X" (or "do not X") for the same X; and two answer formats ("respond only
    with JSON" and "format your answer as Markdown"; "plain text, without Markdown" and
    "use Markdown headings"). A pair is not reported when a condition says when each
    applies ("be concise unless asked for detail", "for complex questions..."), when the
    long side is about a part ("a detailed description of each part"), when one format
    sits inside the other (JSON in a Markdown code fence, a Markdown list), in the same
    sentence, in code fences, or in examples, context and input sections.

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
        # Examples, context and input sections quote other people's prompts and documents.
        quoted = [(c.content_span.start.offset, c.content_span.end.offset)
                  for _, c in ctx.template.components() if c.kind in ("examples", "context", "input")]

        def sentence(m: re.Match[str]) -> str:
            a = max(text.rfind(". ", 0, m.start()), text.rfind("\n", 0, m.start()), text.rfind("? ", 0, m.start()), body - 1)
            ends = [i for i in (text.find(". ", m.end()), text.find("\n", m.end())) if i != -1]
            return text[a + 1 : min(ends) if ends else len(text)]

        def hits(pat: re.Pattern[str], keys: tuple[str, ...], before: int, after: int, *, negatable: bool = False) -> list[re.Match[str]]:
            found: dict[int, re.Match[str]] = {}
            for ws, we in _windows(low, keys, body, before, after):
                for m in pat.finditer(text, ws, we):
                    found.setdefault(m.start(), m)
            return [found[k] for k in sorted(found) if not fenced[_util.offset_line(ctx, k)]
                    and not any(a <= k < b for a, b in quoted) and not _CONDITIONAL.search(sentence(found[k]))
                    and not _label(text, found[k]) and not (negatable and _NEGATED_BEFORE.search(text[max(0, k - 40) : k]))]

        def line(m: re.Match[str]) -> int:
            return _util.offset_line(ctx, m.start()) + 1

        low = text.lower()
        # Gate every scan on its mandatory words (str "in" is far cheaper than the regexes):
        # a contradiction needs both sides present.
        short_words = ("concise", "brief", "succinct", "terse", "short", "one sentence", "one-sentence", "one line", "one-line",
                       "under ", "below ", "within ", "at most", "no more than", "fewer than", "less than", "max", "up to", "limit", "tight",
                       "no long", "no lengthy", "to the point")
        long_words = ("detail", "thorough", "comprehensive", "exhaustive", "in-depth", "long-form", "lengthy", "cover ", "leave nothing",
                      "leave anything", "leave any", "elaborate", "at length", "at least")
        if any(w in low for w in short_words) and any(w in low for w in long_words):
            concise = hits(_CONCISE, _CONCISE_KEYS, 40, 60, negatable=True)
            detailed = [m for m in hits(_DETAILED, _DETAILED_KEYS, 40, 80, negatable=True) if not _SCOPED.match(text, m.end())]
            if concise and detailed:
                a, b = sorted((concise[0], detailed[0]), key=lambda m: m.start())
                if sentence(a) != sentence(b):
                    yield Finding(ctx.span(b.start(), b.end()), f"'{b.group()}' contradicts '{a.group()}' (line {line(a)})",
                                  hint="decide which one applies, or say when each applies ('be brief unless asked for detail')")
        if ("always" in low or "must" in low or "make sure" in low or "be sure" in low) and any(
                w in low for w in ("never", "do not", "don't", "must not", "mustn't", "should not", "shouldn't")):
            seen: dict[str, re.Match[str]] = {}
            for m in hits(_ALWAYS_NEVER, _POS_KEYS + _NEG_KEYS, 0, 90):
                what = _what(m.group(2))
                positive = not re.match(_NEG, m.group(1), re.I)
                other = seen.get(what)
                if other is not None and other[1] != positive:
                    yield Finding(ctx.span(m.start(), m.end()),
                                  f"'{m.group()}' contradicts '{other[0].group()}' (line {line(other[0])})",
                                  hint="keep one of the two instructions, or say when each applies")
                    seen[what] = (m, positive)
                    continue
                seen.setdefault(what, (m, positive))
        kinds = sum(1 for w in ("json", "yaml", "xml", "markdown", "csv", "plain text", "plain-text", "html", "table", "bullet", "prose")
                    if w in low)
        if kinds >= 2 or (kinds and "markdown" in low):
            # (match, format, whole answer?): "respond in JSON" fixes the whole answer's format;
            # "use Markdown", "a Markdown list" and "no Markdown" only its formatting.
            asked = [(m, next(g for g in m.groups() if g), m.group(2) is None and not _FORMATTING.match(text, m.end()))
                     for m in hits(_FORMATS, _FORMAT_KEYS, 90, 30, negatable=True)]
            asked += [(m, "plain text (no Markdown)", False) for m in hits(_NO_MARKDOWN, ("markdown", "plain text"), 30, 15)]
            asked.sort(key=lambda x: x[0].start())
            reported = False
            for j, (m, fmt, whole) in enumerate(asked):
                for first, fmt0, whole0 in asked[:j]:
                    if reported or _conflict(fmt0, whole0, fmt, whole) is False or sentence(first) == sentence(m):
                        continue
                    yield Finding(ctx.span(m.start(), m.end()),
                                  f"'{m.group()}' asks for {fmt}, but line {line(first)} asks for {fmt0}",
                                  hint="ask for one output format, or say which part uses which")
                    reported = True


def _label(text: str, m: re.Match[str]) -> bool:
    """A section name or a title, not an instruction: ``DETAILED EXPLANATION:``,
    ``One-Sentence-Summary``, ``(one line)``."""
    after = text[m.end() : m.end() + 1]
    before = text[max(0, m.start() - 1) : m.start()]
    return after in (":", "-") or before in ("-", "(") or (m.group().isupper() and len(m.group()) > 3)


def _conflict(fmt_a: str, whole_a: bool, fmt_b: str, whole_b: bool) -> bool:
    a, b = _canon_format(fmt_a), _canon_format(fmt_b)
    no_md_a, no_md_b = "no Markdown" in fmt_a, "no Markdown" in fmt_b
    a, b = a.replace(" (no markdown)", ""), b.replace(" (no markdown)", "")
    if a == b or {a, b} == {"plain text", "prose"}:
        return False
    if no_md_a or no_md_b:  # "no Markdown" conflicts with Markdown only (JSON, CSV are plain text)
        return "markdown" in (a, b) and not (no_md_a and no_md_b)
    if "markdown" in (a, b):
        other = b if a == "markdown" else a
        if other in ("a table", "bullet points", "numbered list"):
            return False  # lists and tables are Markdown
        return whole_a and whole_b  # JSON in a Markdown code block is one format inside another
    if {a, b} <= {"a table", "bullet points", "numbered list", "prose", "plain text"}:
        return whole_a and whole_b and {a, b} != {"bullet points", "numbered list"}
    return True


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
