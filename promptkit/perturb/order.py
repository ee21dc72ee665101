"""Order: component order, few-shot example order, answer-choice order (gold remapped).

Lu et al. ("Fantastically Ordered Prompts") show few-shot order alone moves accuracy from
near-chance to near-state-of-the-art; PromptSuite shuffles options and re-enumerates them
with the gold index remapped. Each mutation here swaps two neighbours, so shrinking finds
the one swap that matters, and every component or example is moved verbatim.
"""

from __future__ import annotations

import random
import re
import string
from typing import Any

from promptkit.perturb.operator import Context, Mutation, Operator, PerturbError, VarEdit, register
from promptkit.template.edit import Edit

__all__: list[str] = []


def _swap(text: str, a: tuple[int, int], b: tuple[int, int]) -> Edit:
    """Swap the texts at ``a`` and ``b`` (``a`` before ``b``), keeping the whitespace at
    the end of each slot where it was, so line structure survives the swap."""
    A, B, gap = text[a[0] : a[1]], text[b[0] : b[1]], text[a[1] : b[0]]
    a_core, b_core = A.rstrip(), B.rstrip()
    a_trail, b_trail = A[len(a_core) :], B[len(b_core) :]
    if not a_trail and not gap.startswith(("\n", "\r")):
        a_trail = "\n"
    return Edit((a[0], b[1]), b_core + a_trail + gap + a_core + b_trail)


def _in_limits(ctx: Context, i: int, role: str, key: str, kind: str | None) -> bool:
    if ctx.messages is not None and not (i in ctx.messages or role in ctx.messages):
        return False
    return ctx.components is None or key in ctx.components or kind in ctx.components


@register
class ComponentOrder(Operator):
    name = "component-order"
    family = "order"
    description = "two neighbouring top-level components of a message swapped (the role section stays first)"
    guarantee = "moves whole components verbatim; no component is changed, added or removed, none leaves its message"
    params = {"fixed": ["role"]}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        fixed = set(self.param(ctx, "fixed") or ())
        out: list[Mutation] = []
        for i, m in enumerate(ctx.template.messages):
            top = [c for c in m.components if c.parent is None]
            for x, y in zip(top, top[1:]):
                if x.kind in fixed or y.kind in fixed or x.key in fixed or y.key in fixed:
                    continue
                if not (_in_limits(ctx, i, m.role, x.key, x.kind) and _in_limits(ctx, i, m.role, y.key, y.kind)):
                    continue
                edit = _swap(text, (x.span.start.offset, x.span.end.offset), (y.span.start.offset, y.span.end.offset))
                out.append(Mutation(self.name, len(out), f"component-order: '{x.title}' <-> '{y.title}' "
                                    f"(lines {x.span.start.line}, {y.span.start.line})", (edit,)))
        return out


_BLOCK_SPLIT = re.compile(r"\n[ \t]*\n")
_LEAD = re.compile(r"\s*([^\s:]{1,30}:?)")


def _blocks(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """Blank-line separated blocks of ``text[s:e]`` (whitespace-trimmed offsets)."""
    out, pos = [], s
    for m in _BLOCK_SPLIT.finditer(text, s, e):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, e))
    trimmed = []
    for a, b in out:
        chunk = text[a:b]
        a2 = a + len(chunk) - len(chunk.lstrip())
        b2 = a + len(chunk.rstrip())
        if a2 < b2:
            trimmed.append((a2, b2))
    return trimmed


@register
class FewshotOrder(Operator):
    name = "fewshot-order"
    family = "order"
    description = ("two neighbouring few-shot examples swapped: sub-sections or blank-line separated blocks of an "
                   "examples component that start alike, or items of a list input named by `var`")
    guarantee = "moves whole examples verbatim; no example is changed, added or removed"
    params = {"var": None}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        out: list[Mutation] = []
        var = self.param(ctx, "var")
        if var:
            value = ctx.vars.get(var)
            if not isinstance(value, list):
                raise PerturbError(f"fewshot-order: input '{var}' is not a list of examples (got {type(value).__name__})")
            for k in range(len(value) - 1):
                new = list(value)
                new[k], new[k + 1] = new[k + 1], new[k]
                out.append(Mutation(self.name, len(out), f"fewshot-order: {var}[{k}] <-> {var}[{k + 1}]",
                                    var_edits=(VarEdit(var, value=new, whole=True),)))
            return out
        for i, m in enumerate(ctx.template.messages):
            for ci, c in enumerate(m.components):
                if c.kind != "examples" or not _in_limits(ctx, i, m.role, c.key, c.kind):
                    continue
                kids = [k for k in m.components if k.parent == ci]
                if len(kids) >= 2:
                    slots = [(k.span.start.offset, k.span.end.offset) for k in kids]
                else:
                    cs, ce = c.content_span.start.offset, c.content_span.end.offset
                    if "{%" in text[cs:ce]:
                        continue  # a loop or condition spans the blocks: order is the template's
                    blocks = _blocks(text, cs, ce)
                    leads = [(_LEAD.match(text, a, b) or _LEAD.match("")) for a, b in blocks]
                    heads = [x.group(1) if x else "" for x in leads]
                    common = max(set(heads), key=heads.count) if heads else ""
                    slots = [bl for bl, h in zip(blocks, heads) if h == common and common]
                for a, b in zip(slots, slots[1:]):
                    if text[a[1] : b[0]].strip():
                        continue  # something else sits between them: not neighbours
                    out.append(Mutation(self.name, len(out), f"fewshot-order: example at line "
                                        f"{text.count(chr(10), 0, a[0]) + 1} <-> line {text.count(chr(10), 0, b[0]) + 1}",
                                        (_swap(text, a, b),)))
        return out


def _remap(gold: Any, old: list[Any], new: list[Any], base: int) -> Any:
    """The gold answer after the choices were reordered: an index (int), a letter, or the
    choice itself (unchanged)."""
    if isinstance(gold, bool):
        return gold
    if isinstance(gold, int) and base <= gold < len(old) + base:
        return new.index(old[gold - base]) + base
    if isinstance(gold, str) and len(gold) == 1 and gold.upper() in string.ascii_uppercase[: len(old)]:
        at = new.index(old[string.ascii_uppercase.index(gold.upper())])
        letter = string.ascii_uppercase[at]
        return letter if gold.isupper() else letter.lower()
    if isinstance(gold, str) and gold.isdigit() and base <= int(gold) < len(old) + base:
        return str(new.index(old[int(gold) - base]) + base)
    return gold


@register
class ChoiceOrder(Operator):
    name = "choice-order"
    family = "order"
    target = "inputs"
    description = ("two answer choices of a list input swapped, with the gold answer remapped "
                   "(params: choices = the var holding the list, answer = the var holding the gold)")
    guarantee = "the same choices in another order; an index or letter answer is remapped to the same choice"
    params = {"choices": None, "answer": None, "answer_base": 0}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        cvar, avar = self.param(ctx, "choices"), self.param(ctx, "answer")
        if not cvar:
            raise PerturbError("choice-order needs the input that holds the choices: "
                               "perturb: {operators: [choice-order], params: {choice-order: {choices: options, answer: answer}}}")
        value = ctx.vars.get(cvar)
        if not isinstance(value, list):
            raise PerturbError(f"choice-order: input '{cvar}' is not a list of choices "
                               f"(got {type(value).__name__ if cvar in ctx.vars else 'nothing'})")
        base = int(self.param(ctx, "answer_base") or 0)
        out: list[Mutation] = []
        for i in range(len(value)):
            for j in range(i + 1, len(value)):
                new = list(value)
                new[i], new[j] = new[j], new[i]
                if new == value:
                    continue
                edits = [VarEdit(cvar, value=new, whole=True)]
                label = f"choice-order: {cvar}[{i}] <-> {cvar}[{j}]"
                if avar and avar in ctx.vars:
                    gold = _remap(ctx.vars[avar], value, new, base)
                    if gold != ctx.vars[avar]:
                        edits.append(VarEdit(avar, value=gold, whole=True))
                        label += f", {avar} {ctx.vars[avar]!r} -> {gold!r}"
                out.append(Mutation(self.name, len(out), label, var_edits=tuple(edits)))
        return out
