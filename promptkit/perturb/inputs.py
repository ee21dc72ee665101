"""Inputs: perturb the case's variables, not the template -- typos, Unicode confusables
and invisible characters, truncation, and prompt-injection payloads.

Inputs are what users and attackers control. Each operator edits string inputs only
(by default every string input the template reads; ``vars: [...]`` narrows it), one
word, character or cut per mutation. ``injection`` appends one payload of the payload
list (:mod:`promptkit.perturb.payloads`) and records its canary in the mutation, so the
run can add the check "the output does not follow it".
"""

from __future__ import annotations

import random
import re

from promptkit.perturb.noise import TYPO_KINDS, typo
from promptkit.perturb.operator import Context, Mutation, Operator, PerturbError, VarEdit, register

__all__ = ["CONFUSABLES", "INVISIBLE"]

#: Latin letters and the Cyrillic/Greek letters that look the same (Unicode TR39 confusables).
CONFUSABLES = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "j": "\u0458", "o": "\u043e", "p": "\u0440",
    "s": "\u0455", "x": "\u0445", "y": "\u0443", "A": "\u0391", "B": "\u0392", "C": "\u0421", "E": "\u0395",
    "H": "\u0397", "I": "\u0399", "K": "\u039a", "M": "\u039c", "N": "\u039d", "O": "\u039f", "P": "\u03a1",
    "T": "\u03a4", "X": "\u03a7", "Y": "\u03a5",
}
#: Zero-width and invisible formatting characters.
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")

_WORD = re.compile(r"[^\W\d_]{4,}")


def _string_vars(ctx: Context, wanted: list[str] | None) -> list[str]:
    if wanted:
        missing = [v for v in wanted if v not in ctx.vars]
        if missing:
            have = ", ".join(sorted(ctx.vars)) or "none"
            raise PerturbError(f"no input {', '.join(missing)} in this case (inputs: {have})")
        bad = [v for v in wanted if not isinstance(ctx.vars[v], str)]
        if bad:
            raise PerturbError(f"input {', '.join(bad)} is not text; input operators change string inputs only")
        return list(wanted)
    used = ctx.analysis.free_names if ctx.template.engine.renders else frozenset(ctx.vars)
    return [k for k, v in ctx.vars.items() if isinstance(v, str) and v.strip() and (k in used or not used)]


class _InputOperator(Operator):
    family = "inputs"
    target = "inputs"
    params = {"vars": None}

    def words(self, ctx: Context) -> list[tuple[str, int, int, str]]:
        out = []
        for var in _string_vars(ctx, self.param(ctx, "vars")):
            for m in _WORD.finditer(ctx.vars[var]):
                out.append((var, m.start(), m.end(), m.group()))
        return out


@register
class InputTypo(_InputOperator):
    name = "input-typo"
    description = "one typo (adjacent key, swap, drop, double) in one word of a string input"
    guarantee = "changes one letter of one word of one input per edit; other inputs and the template stay"

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        out: list[Mutation] = []
        for var, a, b, w in self.words(ctx):
            kinds = list(TYPO_KINDS)
            rng.shuffle(kinds)
            for kind in kinds:
                new = typo(w, kind, rng)
                if new and new != w:
                    out.append(Mutation(self.name, len(out), f"input-typo: {var}: '{w}' -> '{new}'",
                                        var_edits=(VarEdit(var, a, b, new),)))
                    break
        return out


@register
class Confusables(_InputOperator):
    name = "confusables"
    description = "one letter of one input word replaced by a look-alike from another script (Latin a -> Cyrillic а)"
    guarantee = "the input looks the same on screen; one letter of one word changes per edit"

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        out: list[Mutation] = []
        for var, a, b, w in self.words(ctx):
            spots = [i for i, ch in enumerate(w) if ch in CONFUSABLES]
            if not spots:
                continue
            i = rng.choice(spots)
            out.append(Mutation(self.name, len(out), f"confusables: {var}: '{w}' letter {i + 1} "
                                f"'{w[i]}' -> U+{ord(CONFUSABLES[w[i]]):04X}",
                                var_edits=(VarEdit(var, a + i, a + i + 1, CONFUSABLES[w[i]]),)))
        return out


@register
class Invisible(_InputOperator):
    name = "invisible"
    description = "an invisible character (zero-width space, joiner, soft hyphen...) inside one input word"
    guarantee = "the input looks the same on screen; one invisible character is inserted per edit"

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        out: list[Mutation] = []
        for var, a, b, w in self.words(ctx):
            at = a + rng.randrange(1, len(w))
            ch = rng.choice(INVISIBLE)
            out.append(Mutation(self.name, len(out), f"invisible: {var}: U+{ord(ch):04X} inside '{w}'",
                                var_edits=(VarEdit(var, at, at, ch),)))
        return out


@register
class Truncate(_InputOperator):
    name = "truncate"
    description = "a string input cut at a word boundary, keeping a fraction of it (0.9, 0.75, 0.5 by default)"
    guarantee = "the input keeps its beginning verbatim; only its end is cut"
    params = {"vars": None, "keep": [0.9, 0.75, 0.5]}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        out: list[Mutation] = []
        for var in _string_vars(ctx, self.param(ctx, "vars")):
            value = ctx.vars[var]
            for keep in self.param(ctx, "keep"):
                cut = int(len(value) * float(keep))
                space = value.rfind(" ", 0, cut + 1)
                if space > 0:
                    cut = space
                if 0 < cut < len(value.rstrip()):
                    out.append(Mutation(self.name, len(out), f"truncate: {var} cut to {cut} of {len(value)} characters",
                                        var_edits=(VarEdit(var, cut, len(value), ""),)))
        return out


@register
class Injection(_InputOperator):
    name = "injection"
    description = ("a prompt-injection payload (shipped list, or your own) added to a string input; the variant "
                   "passes only when the output does not follow it (does not print the payload's canary)")
    guarantee = "adds one payload at the end (or start) of one input; the input's own text stays"
    params = {"vars": None, "position": "end", "payloads": None}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        from promptkit.perturb.payloads import default_payloads

        payloads = ctx.payloads if ctx.payloads is not None else default_payloads().payloads
        where = str(self.param(ctx, "position") or "end")
        if where not in ("end", "start", "random"):
            raise PerturbError(f"injection: position must be end, start or random (got {where!r})")
        out: list[Mutation] = []
        for var in _string_vars(ctx, self.param(ctx, "vars")):
            value = ctx.vars[var]
            for p in payloads:
                pos = where if where != "random" else rng.choice(("end", "start"))
                edit = VarEdit(var, len(value), len(value), "\n\n" + p.text) if pos == "end" else \
                    VarEdit(var, 0, 0, p.text + "\n\n")
                out.append(Mutation(self.name, len(out), f"injection: {var} + payload '{p.id}' ({p.technique or 'injection'}, {pos})",
                                    var_edits=(edit,), extra={"canary": p.canary, "payload": p.id}))
        return out
