"""Noise: character typos, case, extra whitespace and punctuation in instruction prose.

After promptbench's DeepWordBug/TextBugger character attacks and CheckList's ``add_typos``:
one mutation changes one word (or one gap, one mark), keeping the word's first and last
letter, so the text stays readable. Placeholders, template syntax, headings, tags, code,
examples and label words are never touched (see :mod:`promptkit.perturb.text`).
"""

from __future__ import annotations

import random
import re

from promptkit.perturb.operator import ALIASES, Context, Mutation, Operator, register
from promptkit.perturb.text import allowed_spans, line_of, word_sites
from promptkit.template.edit import Edit

__all__ = ["KEYBOARD", "typo"]

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
#: QWERTY neighbours of each letter (same row and the rows above and below).
KEYBOARD: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _i, _ch in enumerate(_row):
        near = []
        for _rr in (_r - 1, _r, _r + 1):
            if 0 <= _rr < len(_ROWS):
                for _j in (_i - 1, _i, _i + 1):
                    if 0 <= _j < len(_ROWS[_rr]) and _ROWS[_rr][_j] != _ch:
                        near.append(_ROWS[_rr][_j])
        KEYBOARD[_ch] = "".join(near)

TYPO_KINDS = ("adjacent", "swap", "drop", "double")


def _match_case(new: str, old: str) -> str:
    return new.upper() if old.isupper() else new


def typo(word: str, kind: str, rng: random.Random) -> str | None:
    """``word`` with one typo of ``kind``, first and last letter kept; None when the word
    is too short for it or the typo would leave it unchanged."""
    if len(word) < 4:
        return None
    inner = range(1, len(word) - 1)
    if kind == "adjacent":
        spots = [i for i in inner if word[i].lower() in KEYBOARD]
        if not spots:
            return None
        i = rng.choice(spots)
        return word[:i] + _match_case(rng.choice(KEYBOARD[word[i].lower()]), word[i]) + word[i + 1 :]
    if kind == "swap":
        spots = [i for i in range(1, len(word) - 2) if word[i] != word[i + 1]]
        if not spots:
            return None
        i = rng.choice(spots)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        i = rng.choice(list(inner))
        return word[:i] + word[i + 1 :]
    if kind == "double":
        i = rng.choice(list(inner))
        return word[: i + 1] + word[i] + word[i + 1 :]
    raise ValueError(f"unknown typo kind {kind!r}")


class _Typo(Operator):
    family = "noise"
    guarantee = ("changes one letter (first and last kept) of one prose word per edit; never placeholders, "
                 "template syntax, headings, tags, code, examples or label words")
    kinds: tuple[str, ...] = TYPO_KINDS

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        out: list[Mutation] = []
        for w in word_sites(ctx, min_len=4):
            kinds = list(self.kinds)
            rng.shuffle(kinds)
            for kind in kinds:
                new = typo(w.text, kind, rng)
                if new is not None and new != w.text:
                    out.append(Mutation(self.name, len(out), f"{self.name}: '{w.text}' -> '{new}' (line {line_of(text, w.start)})",
                                        (Edit(w.span, new),)))
                    break
        return out


@register
class TypoMixed(_Typo):
    name = "typo-mixed"
    description = "one typo per word: adjacent key, swapped, dropped or doubled letter (chosen by the seed)"


ALIASES["typo"] = "typo-mixed"


@register
class TypoAdjacent(_Typo):
    name = "typo-adjacent"
    description = "a letter replaced by a neighbouring key on a QWERTY keyboard"
    kinds = ("adjacent",)


@register
class TypoSwap(_Typo):
    name = "typo-swap"
    description = "two neighbouring letters swapped"
    kinds = ("swap",)


@register
class TypoDrop(_Typo):
    name = "typo-drop"
    description = "a letter dropped"
    kinds = ("drop",)


@register
class TypoDouble(_Typo):
    name = "typo-double"
    description = "a letter doubled"
    kinds = ("double",)


@register
class Case(Operator):
    name = "case"
    family = "noise"
    description = "one prose word lower-cased, upper-cased or capitalized"
    guarantee = "changes only the letter case of one prose word per edit; never placeholders, syntax or label words"

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        out: list[Mutation] = []
        for w in word_sites(ctx, min_len=2):
            options = [x for x in (w.text.upper(), w.text.lower(), w.text.capitalize()) if x != w.text]
            new = rng.choice(options) if options else None
            if new:
                out.append(Mutation(self.name, len(out), f"case: '{w.text}' -> '{new}' (line {line_of(text, w.start)})",
                                    (Edit(w.span, new),)))
        return out


_GAP = re.compile(r"(?<=\S) (?=\S)")


@register
class Whitespace(Operator):
    name = "whitespace"
    family = "noise"
    description = "extra whitespace: a doubled space, a tab, or trailing spaces at a line end"
    guarantee = "adds only spaces or tabs between words or at line ends; line breaks and all non-space text stay"
    params = {"styles": ["double", "tab", "trailing"]}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        styles = list(self.param(ctx, "styles"))
        out: list[Mutation] = []
        for s, e in allowed_spans(ctx):
            for m in _GAP.finditer(text, s, e):
                style = rng.choice([x for x in styles if x != "trailing"] or ["double"])
                new = "  " if style == "double" else " \t"
                out.append(Mutation(self.name, len(out), f"whitespace: {style} space (line {line_of(text, m.start())})",
                                    (Edit((m.start(), m.end()), new),)))
            if "trailing" in styles:
                for m in re.finditer(r"(?<=\S)\n", text[s:e]):
                    at = s + m.start()
                    if text[at - 1] in "\\":
                        continue
                    out.append(Mutation(self.name, len(out), f"whitespace: trailing spaces (line {line_of(text, at)})",
                                        (Edit((at, at), "   "),)))
        return out


_PUNCT = re.compile(r"[.,;:!?](?=\s|$)")
_SWITCH = {".": ";", ",": ";", ";": ",", ":": " -", "!": ".", "?": "."}


@register
class Punctuation(Operator):
    name = "punctuation"
    family = "noise"
    description = "one punctuation mark after a word removed or switched (. -> ;, , -> ;, : -> -)"
    guarantee = "changes one sentence mark per edit; never marks inside numbers, placeholders, code or syntax"
    params = {"remove": 0.5}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        p_remove = float(self.param(ctx, "remove"))
        out: list[Mutation] = []
        for s, e in allowed_spans(ctx):
            for m in _PUNCT.finditer(text, s, e):
                at = m.start()
                if at == 0 or not text[at - 1].isalpha():
                    continue
                mark = m.group()
                new = "" if rng.random() < p_remove else _SWITCH[mark]
                shown = "removed" if not new else f"-> '{new.strip()}'"
                out.append(Mutation(self.name, len(out), f"punctuation: '{mark}' {shown} (line {line_of(text, at)})",
                                    (Edit((at, at + 1), new),)))
        return out
