"""Applying mutations: a :class:`Variant` of a template and its inputs, checked.

:func:`apply` takes any subset of the mutations operators proposed (a seeded pick, or
what Hypothesis drew), drops those that would overlap an earlier one, applies the rest
through the template edit service in one go, and checks the result with :func:`check`:
the body still parses, reads the same variables, has the same message roles and the same
components. Should the combined result fail the check, mutations are re-applied one at a
time and a failing one is dropped (reported in ``Variant.dropped``), so a variant never
breaks the template -- whatever the operators did.

:func:`generate` is the seeded entry point (CLI, ``perturb:`` in suites): ``n`` variants
of one operator, byte-identical for the same seed in every process.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptkit.perturb.operator import Context, Mutation, Operator, PerturbError, VarEdit, rng_for
from promptkit.template.edit import Edit, EditError, apply_edits, conflicts, unified_diff
from promptkit.template.model import PromptTemplate

__all__ = ["Variant", "apply", "check", "generate", "mutations_for"]


@dataclass(frozen=True)
class Variant:
    """A perturbed template and inputs, with the mutations that made them."""

    original: PromptTemplate
    template: PromptTemplate
    vars: dict[str, Any]
    original_vars: dict[str, Any]
    mutations: tuple[Mutation, ...]
    dropped: tuple[Mutation, ...] = ()
    index: int = 0
    operator: str = ""

    @property
    def changed(self) -> bool:
        return self.template.text != self.original.text or self.vars != self.original_vars

    @property
    def canaries(self) -> list[str]:
        """Canaries of the injection payloads in this variant (the output must not contain them)."""
        return [str(m.extra["canary"]) for m in self.mutations if "canary" in m.extra]

    @property
    def extra_vars(self) -> dict[str, Any]:
        return {k: v for k, v in self.vars.items() if self.original_vars.get(k, object()) != v}

    @property
    def key(self) -> str:
        """A stable id of the variant's content (template text and inputs)."""
        h = hashlib.sha256(self.template.text.encode("utf-8"))
        h.update(json.dumps(self.vars, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        return h.hexdigest()[:12]

    def labels(self) -> list[str]:
        return [m.label for m in self.mutations]

    def diff(self, path: str | None = None) -> str:
        """The variant as a readable patch: the template's unified diff (``git apply``
        accepts it) followed by one for each changed input."""
        shown = path or self.original.path
        out = unified_diff(self.original.text, self.template.text, shown)
        for k in sorted(set(self.vars) | set(self.original_vars)):
            old, new = self.original_vars.get(k), self.vars.get(k)
            if old == new:
                continue
            a = old if isinstance(old, str) else json.dumps(old, ensure_ascii=False, indent=1, default=str)
            b = new if isinstance(new, str) else json.dumps(new, ensure_ascii=False, indent=1, default=str)
            lines = difflib.unified_diff(_visible(a).splitlines(keepends=True), _visible(b).splitlines(keepends=True),
                                         f"a/vars.{k}", f"b/vars.{k}", lineterm="")
            body = "".join(x if x.endswith("\n") else x + "\n" for x in lines)
            out += body
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"operator": self.operator, "index": self.index, "key": self.key, "edits": self.labels(),
                "dropped": [m.label for m in self.dropped], "diff": self.diff(),
                "vars": self.extra_vars, "canaries": self.canaries}


def _visible(s: str) -> str:
    """Invisible and look-alike characters shown as escapes, so a diff of them reads."""
    out = []
    for ch in s:
        if ch in "\n\t" or (32 <= ord(ch) < 127):
            out.append(ch)
        elif ch.isprintable() and ch.isalpha() and ord(ch) < 0x250:
            out.append(ch)
        elif not ch.isprintable() or ord(ch) in range(0x200B, 0x2070) or ch in "\ufeff\u00ad":
            out.append(f"<U+{ord(ch):04X}>")
        elif ch.isalpha() and ord(ch) >= 0x370 and ord(ch) < 0x530:
            out.append(f"{ch}<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out)


# --------------------------------------------------------------------------- checks


def _shape(t: PromptTemplate) -> tuple[Any, ...]:
    from promptkit.template.analysis import analyze

    a = analyze(t)
    comps = tuple(tuple(sorted(Counter((c.key, c.parent is None) for c in m.components).items())) for m in t.messages)
    return (a.parsed, a.free_names, a.used, tuple(m.role for m in t.messages), comps)


def check(original: PromptTemplate, new: PromptTemplate) -> str | None:
    """Why ``new`` is not an acceptable variant of ``original`` (None when it is): it must
    parse whenever the original does, read the same variables (free and bound), keep the
    message roles in order and the same components in each message."""
    from promptkit.template.analysis import analyze

    a, b = _shape(original), _shape(new)
    if a[0] and not b[0]:
        err = analyze(new).syntax_error
        return f"the body no longer parses ({err.message if err else 'syntax error'})"
    if a[1] != b[1] or a[2] != b[2]:
        return f"the variables changed ({sorted(a[2] ^ b[2]) or sorted(a[1] ^ b[1])})"
    if a[3] != b[3]:
        return f"the message roles changed ({list(a[3])} -> {list(b[3])})"
    if a[4] != b[4]:
        return "the components changed"
    return None


# --------------------------------------------------------------------------- apply


def _var_conflict(a: VarEdit, b: VarEdit) -> bool:
    if a.var != b.var:
        return False
    if a.whole or b.whole:
        return True
    return conflicts((a.start, a.end), (b.start, b.end))


def _compatible(m: Mutation, kept: Sequence[Mutation]) -> bool:
    for k in kept:
        for e in m.edits:
            if any(conflicts((e.start, e.end), (f.start, f.end)) for f in k.edits):
                return False
        for v in m.var_edits:
            if any(_var_conflict(v, w) for w in k.var_edits):
                return False
    return True


def _apply_vars(values: Mapping[str, Any], muts: Iterable[Mutation]) -> dict[str, Any]:
    out = dict(values)
    by_var: dict[str, list[VarEdit]] = {}
    for m in muts:
        for v in m.var_edits:
            if v.whole:
                out[v.var] = v.value
            else:
                by_var.setdefault(v.var, []).append(v)
    for var, edits in by_var.items():
        s = str(out[var])
        for v in sorted(edits, key=lambda x: (x.start, x.end), reverse=True):
            s = s[: v.start] + v.text + s[v.end :]
        out[var] = s
    return out


def _apply_template(template: PromptTemplate, muts: Sequence[Mutation]) -> PromptTemplate | str:
    edits: list[Edit] = [e for m in muts for e in m.edits]
    if not edits:
        return template
    try:
        new = apply_edits(template, edits).template
    except EditError as exc:
        return str(exc)
    problem = check(template, new)
    return problem if problem is not None else new


def apply(template: PromptTemplate, mutations: Iterable[Mutation], vars: Mapping[str, Any] | None = None, *,
          index: int = 0, operator: str = "") -> Variant:
    """Apply ``mutations`` (in order; one that overlaps an earlier one is dropped) to
    ``template`` and ``vars``; the result always passes :func:`check`."""
    base_vars = dict(vars or {})
    kept: list[Mutation] = []
    dropped: list[Mutation] = []
    for m in mutations:
        (kept if _compatible(m, kept) else dropped).append(m)
    new = _apply_template(template, kept)
    if isinstance(new, str):  # the combination broke something: keep what passes alone, in order
        good: list[Mutation] = []
        current = template
        for m in kept:
            trial = _apply_template(template, [*good, m]) if m.edits else current
            if isinstance(trial, str):
                dropped.append(m)
            else:
                good.append(m)
                current = trial
        kept, new = good, current
    return Variant(template, new, _apply_vars(base_vars, kept), base_vars, tuple(kept), tuple(dropped), index,
                   operator or (kept[0].operator if kept else ""))


# --------------------------------------------------------------------------- seeded generation


def mutations_for(op: Operator, ctx: Context, seed: int | str = 0) -> list[Mutation]:
    """``op``'s mutations of ``ctx`` with the site choices of ``seed`` (deterministic);
    an empty list is a :class:`PerturbError` that says why nothing can be changed."""
    muts = op.mutations(ctx, rng_for(seed, op.name, "sites"))
    if not muts:
        raise impossible(op, ctx)
    return muts


def impossible(op: Operator, ctx: Context) -> PerturbError:
    """The located error for an operator that has nothing it may change."""
    from promptkit.codes import IMPOSSIBLE_PERTURBATION
    from promptkit.diagnostics import Diagnostic, Severity
    from promptkit.template.analysis import analyze

    t = ctx.template
    span = None
    where = ""
    if ctx.components is not None:
        comps = [c for _, c in t.components() if c.key in ctx.components or c.kind in ctx.components]
        if comps:
            span = comps[0].span
            where = f" in component '{comps[0].title}'"
    elif ctx.messages is not None:
        msgs = [m for i, m in enumerate(t.messages) if i in ctx.messages or m.role in ctx.messages]
        if msgs:
            span = msgs[0].span
            where = f" in the {msgs[0].role} message"
    if op.target == "inputs":
        have = ", ".join(f"{k} ({type(v).__name__})" for k, v in ctx.vars.items()) or "none"
        message = f"operator '{op.name}' has no input it may change (inputs: {have})"
        hint = "input operators change string inputs: give the case a text input, or name it with vars: [...]"
    else:
        inside = []
        if span is not None:
            inside = [u for u in analyze(t).uses if span.start.offset <= u.offset < span.end.offset]
        if inside:
            names = ", ".join(sorted({"{{ " + u.name + " }}" for u in inside}))
            message = (f"operator '{op.name}' would have to touch a placeholder{where}: its only text there is "
                       f"{names}, and placeholders are never perturbed")
            hint = f"perturb the input instead (e.g. --op input-typo --var {inside[0].name}), or choose another component"
        else:
            message = f"operator '{op.name}' finds nothing it may change{where} (no {op.family} site in the prose)"
            hint = "prose outside placeholders, headings, tags, code and examples is what template operators change"
    if span is None and t.messages:
        span = t.messages[0].content_span
    d = Diagnostic(t.path, message, Severity.ERROR, IMPOSSIBLE_PERTURBATION.code, IMPOSSIBLE_PERTURBATION.name, span, hint)
    return PerturbError(message, diagnostic=d)


def generate(template: PromptTemplate, op: Operator, *, n: int = 5, seed: int | str = 0,
             vars: Mapping[str, Any] | None = None, edits: int = 1, ctx: Context | None = None,
             mutations: Sequence[Mutation] | None = None) -> list[Variant]:
    """``n`` distinct variants of ``template`` (and ``vars``) by ``op``, each made of
    ``edits`` mutations picked with a string-seeded RNG: the same seed gives the same
    variants, byte for byte, in every process. Fewer come back when fewer exist."""
    ctx = ctx or Context(template, dict(vars or {}))
    muts = list(mutations) if mutations is not None else mutations_for(op, ctx, seed)
    out: list[Variant] = []
    seen: set[str] = set()
    tried: set[tuple[int, ...]] = set()
    attempt = 0
    while len(out) < n and attempt < n * 4 + 8:
        rng = rng_for(seed, op.name, "variant", attempt)
        attempt += 1
        picked = rng.sample(muts, min(max(1, edits), len(muts)))
        combo = tuple(m.index for m in picked)  # in order: with overlaps, the order decides what is dropped
        if combo in tried:  # the same pick makes the same variant: already kept or refused
            continue
        tried.add(combo)
        v = apply(template, picked, ctx.vars, index=len(out), operator=op.name)
        if not v.mutations or not v.changed or v.key in seen:
            continue
        seen.add(v.key)
        out.append(v)
    return out
