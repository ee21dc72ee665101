"""Format: the FormatSpread grammar over a template's own layout.

Sclar et al. ("Quantifying Language Models' Sensitivity to Spurious Features in Prompt
Design", FormatSpread) vary a prompt's *format* only -- the separator between a field
label and its value, the spacing between fields, the casing of labels, how list items are
enumerated and how each enumerator is wrapped -- and find accuracy swings of up to 76
points. These operators make the same moves on a structured template: each mutation
changes formatting only, never a word of the instructions, and never the set, order or
keys of the components.
"""

from __future__ import annotations

import random
import re

from promptkit.perturb.operator import Context, Mutation, Operator, register
from promptkit.perturb.text import allowed_spans, line_of
from promptkit.template.edit import Edit

__all__ = ["ENUMERATIONS", "SEPARATORS", "WRAPPERS"]

#: Field separators (FormatSpread's list, those that keep one line).
SEPARATORS = (": ", " - ", " :: ", " = ", " | ", ":\t", " -> ", ":  ")
#: Item enumerations: bullets, arabic, upper/lower letters, lower/upper roman.
ENUMERATIONS = ("-", "*", "•", "1", "A", "a", "i", "I")
#: Wrappers of an enumerator (``{}`` is the number or letter).
WRAPPERS = ("{}.", "{})", "({})", "[{}]", "{}:", "<{}>")

_FIELD = re.compile(r"(?m)^([ \t]*)([A-Z][\w'/-]*(?: [\w'/-]+){0,3})(:[ \t]+|:[ \t]*$)")


@register
class Separator(Operator):
    name = "separator"
    family = "format"
    description = "the separator after a field label ('Question: ...') replaced by another (' - ', ' :: ', ' = ' ...)"
    guarantee = "changes only the characters between a label and its value; label, value and placeholders stay"
    params = {"separators": list(SEPARATORS)}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        seps = list(self.param(ctx, "separators"))
        out: list[Mutation] = []
        for s, e in allowed_spans(ctx):
            for m in _FIELD.finditer(text, s, e):
                a, b = m.start(3), m.end(3)
                old = m.group(3)
                eol = b >= len(text) or text[b] in "\r\n"
                choices = sorted({x.rstrip(" \t") if eol else x for x in seps} - {old, ""})
                if not choices:
                    continue
                new = rng.choice(choices)
                out.append(Mutation(self.name, len(out),
                                    f"separator: '{m.group(2)}{old.rstrip()}' -> '{m.group(2)}{new.rstrip()}' "
                                    f"(line {line_of(text, a)})", (Edit((a, b), new),)))
        return out


_BREAKS = re.compile(r"(\r?\n)(?:[ \t]*\r?\n)*")


@register
class Spacing(Operator):
    name = "spacing"
    family = "format"
    description = "the number of line breaks between two prose lines changed (a blank line added or removed)"
    guarantee = "changes only line breaks between lines (never to zero); every character of every line stays"

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        out: list[Mutation] = []
        for s, e in allowed_spans(ctx):
            for m in _BREAKS.finditer(text, s, e):
                a, b = m.start(), m.end()
                if b >= len(text) or a == 0 or text[a - 1] in "\r\n":
                    continue  # the file's end, or a run we only see part of
                eol = m.group(1)
                n = m.group().count("\n")
                new = eol * (n + 1) if n == 1 or rng.random() < 0.5 else eol
                out.append(Mutation(self.name, len(out), f"spacing: {n} -> {new.count(chr(10))} line break(s) "
                                    f"(line {line_of(text, a)})", (Edit((a, b), new),)))
        return out


def _headings(ctx: Context) -> list[tuple[int, object, object]]:
    """(message index, message, component) of every Markdown-heading component the caller's
    limits allow."""
    out = []
    for i, m in enumerate(ctx.template.messages):
        if ctx.messages is not None and not (i in ctx.messages or m.role in ctx.messages):
            continue
        for c in m.components:
            if c.style != "heading":
                continue
            if ctx.components is not None and c.key not in ctx.components and c.kind not in ctx.components:
                continue
            out.append((i, m, c))
    return out


@register
class HeadingStyle(Operator):
    name = "heading-style"
    family = "format"
    description = "every Markdown heading of a message one level deeper or shallower (## Task -> ### Task)"
    guarantee = "shifts all headings of a message by the same level, so nesting, titles and order of components stay"

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        by_msg: dict[int, list] = {}
        for i, _, c in _headings(ctx):
            by_msg.setdefault(i, []).append(c)
        out: list[Mutation] = []
        for i, comps in by_msg.items():
            levels = [c.level for c in comps]
            for delta in (1, -1):
                if not 1 <= min(levels) + delta or max(levels) + delta > 6:
                    continue
                edits = []
                for c in comps:
                    s = c.span.start.offset
                    hashes = len(text[s:]) - len(text[s:].lstrip("#"))
                    edits.append(Edit((s, s + hashes), "#" * (hashes + delta)))
                role = ctx.template.messages[i].role
                out.append(Mutation(self.name, len(out), f"heading-style: headings of the {role} message "
                                    f"{'deeper' if delta > 0 else 'shallower'} by one level", tuple(edits)))
        return out


_CASINGS = ("upper", "lower", "title")


@register
class Casing(Operator):
    name = "casing"
    family = "format"
    description = "a heading's casing changed: UPPER, lower or Title Case (FormatSpread's casings)"
    guarantee = "changes only the letter case of one heading title; the component's key and kind stay"

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        out: list[Mutation] = []
        for _, _, c in _headings(ctx):
            s, e = c.title_span.start.offset, c.title_span.end.offset
            old = text[s:e]
            if "{" in old or "}" in old:
                continue
            options = [x for x in (old.upper(), old.lower(), old.title()) if x != old]
            if not options:
                continue
            new = rng.choice(options)
            out.append(Mutation(self.name, len(out), f"casing: heading '{old}' -> '{new}' (line {c.span.start.line})",
                                (Edit((s, e), new),)))
        return out


_ITEM = re.compile(r"[ \t]*(?:([-*+•])|(\(?)(\d{1,2}|[A-Za-z]|[ivxIVX]{1,4})([.):\]>]))[ \t]+(?=\S)")


def _roman(n: int) -> str:
    out = ""
    for v, s in ((10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        while n >= v:
            out += s
            n -= v
    return out


def _counter(enum: str, k: int) -> str:
    if enum == "1":
        return str(k + 1)
    if enum in ("A", "a"):
        c = chr(ord("a") + k % 26)
        return c.upper() if enum == "A" else c
    if enum in ("i", "I"):
        r = _roman(k + 1)
        return r.upper() if enum == "I" else r
    return enum


def _lists(ctx: Context) -> list[list[tuple[int, int, str, str | None]]]:
    """Lists in the writable prose: runs of consecutive item lines with the same indent.
    Each item is (marker start, marker end, indent, wrapper or None for bullets)."""
    text = ctx.template.text
    runs: list[list[tuple[int, int, str, str | None]]] = []
    for s, e in allowed_spans(ctx):
        if s == 0 or text[s - 1] == "\n":
            pos = s
        else:
            nl = text.find("\n", s, e)
            if nl == -1:
                continue
            pos = nl + 1
        current: list[tuple[int, int, str, str | None]] = []
        while pos < e:
            line_end = text.find("\n", pos, e)
            m = _ITEM.match(text, pos, e)
            if m:
                indent = text[pos : pos + len(m.group()) - len(m.group().lstrip(" \t"))]
                wrapper = None if m.group(1) else (m.group(2) + "{}" + (")" if m.group(2) and m.group(4) == ")" else m.group(4)))
                if current and current[-1][2] != indent:
                    runs.append(current)
                    current = []
                current.append((pos + len(indent), m.end(), indent, wrapper))
            elif current:
                runs.append(current)
                current = []
            if line_end == -1:
                break
            pos = line_end + 1
        if current:
            runs.append(current)
    return [r for r in runs if len(r) >= 2]


class _ListFormat(Operator):
    family = "format"

    def rewrite(self, items: list[tuple[int, int, str, str | None]], rng: random.Random,
                text: str) -> tuple[str, list[str]] | None:
        raise NotImplementedError

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        out: list[Mutation] = []
        for items in _lists(ctx):
            got = self.rewrite(items, rng, text)
            if got is None:
                continue
            what, markers = got
            edits = tuple(Edit((a, b), mk + " ") for (a, b, _, _), mk in zip(items, markers))
            if all(text[a:b] == mk + " " for (a, b, _, _), mk in zip(items, markers)):
                continue
            out.append(Mutation(self.name, len(out), f"{self.name}: list at line {line_of(text, items[0][0])} -> {what}",
                                edits))
        return out


@register
class ListStyle(_ListFormat):
    name = "list-style"
    description = "how a list's items are enumerated: bullets (-, *, •), 1., A., a., i., I."
    guarantee = "changes only the item markers of one whole list, consistently; item text and order stay"
    params = {"enumerations": list(ENUMERATIONS)}

    def rewrite(self, items, rng, text):  # type: ignore[no-untyped-def]
        wrapper = next((w for *_, w in items if w), None) or "{}."
        current = "-" if items[0][3] is None else None
        choices = [x for x in ENUMERATIONS if x != current]
        enum = rng.choice(choices)
        if enum in ("-", "*", "•"):
            return f"'{enum}' bullets", [enum] * len(items)
        return f"'{wrapper.format(_counter(enum, 0))}' items", [wrapper.format(_counter(enum, k)) for k in range(len(items))]


@register
class ItemWrapper(_ListFormat):
    name = "item-wrapper"
    description = "how an enumerated list's numbers or letters are wrapped: 1. -> (1), [1], 1), 1:"
    guarantee = "changes only the wrapper of one numbered list's markers; numbering, item text and order stay"

    def rewrite(self, items, rng, text):  # type: ignore[no-untyped-def]
        if any(w is None for *_, w in items):
            return None
        wrapper = items[0][3]
        new = rng.choice([w for w in WRAPPERS if w != wrapper])
        counters = [re.sub(r"[^0-9A-Za-z]", "", text[a:b]) for a, b, _, _ in items]
        return f"'{new.format(counters[0])}' wrappers", [new.format(c) for c in counters]
