"""Content: distractor sentences, irrelevant context, deletion of non-keywords, paraphrase.

These change what the prompt *says* without changing what it asks: promptbench's
StressTest appends tautologies (" and true is true"), PromptSuite inserts irrelevant
context and paraphrases an instruction with an LLM (keeping its placeholders), and
TextAttack-style deletion drops words that carry no requirement. Negations, modals,
quantifiers, numbers and label words are keywords and are never deleted.
"""

from __future__ import annotations

import random
import re

from promptkit.perturb.operator import Context, Mutation, Operator, PerturbError, register
from promptkit.perturb.text import allowed_spans, line_of, word_sites
from promptkit.template.edit import Edit

__all__ = ["DISTRACTORS", "IRRELEVANT", "KEYWORDS"]

#: Sentences that carry no task content (promptbench StressTest's tautologies, and ours).
DISTRACTORS = (
    "And true is true.",
    "And false is not true.",
    "The sky is blue.",
    "Water is wet.",
    "This sentence is here for no reason.",
    "One plus one is two.",
)

#: Paragraphs of irrelevant context, written for promptkit (no source to credit).
IRRELEVANT = (
    "The museum's east wing reopened last spring after a renovation that took four years.",
    "Tomatoes were first grown as a food crop in Mesoamerica, long before they reached Europe.",
    "The train to the coast leaves every hour on the hour, except on public holidays.",
    "Honeybees communicate the direction of flowers to each other with a waggle dance.",
    "A standard chessboard has sixty-four squares arranged in an eight-by-eight grid.",
    "The annual rainfall in the region has stayed roughly the same for the last decade.",
)

#: Words whose loss changes what is asked: negations, modals, quantifiers, comparisons.
KEYWORDS = frozenset("""
not no never none nothing nor neither cannot can't don't doesn't isn't aren't won't shouldn't mustn't without
must should shall always only exactly all any each every both either at most least more less than few many
one two three four five six seven eight nine ten first last before after if unless until except
json yaml xml csv markdown
""".split())

_SENTENCE_END = re.compile(r"(?<=[a-z)\]])[.!?](?=[ \t]*(?:\r?\n|$))")
_BREAK = re.compile(r"\r?\n[ \t]*\r?\n")


@register
class Distractor(Operator):
    name = "distractor"
    family = "content"
    description = "a content-free sentence ('And true is true.') appended to a line of instructions"
    guarantee = "only adds one sentence after a line's last sentence; nothing is removed or reworded"
    params = {"sentences": list(DISTRACTORS)}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        pool = list(self.param(ctx, "sentences"))
        out: list[Mutation] = []
        for s, e in allowed_spans(ctx):
            for m in _SENTENCE_END.finditer(text, s, e):
                at = m.end()
                sentence = rng.choice(pool)
                out.append(Mutation(self.name, len(out), f"distractor: + '{sentence}' (line {line_of(text, at)})",
                                    (Edit((at, at), " " + sentence),)))
        return out


@register
class IrrelevantContext(Operator):
    name = "irrelevant-context"
    family = "content"
    description = "a paragraph of unrelated facts inserted between two paragraphs of instructions"
    guarantee = "only adds one paragraph at a paragraph break; every existing line stays as it was"
    params = {"paragraphs": list(IRRELEVANT)}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        pool = list(self.param(ctx, "paragraphs"))
        out: list[Mutation] = []
        for s, e in allowed_spans(ctx):
            for m in _BREAK.finditer(text, s, e):
                nxt = text[m.end() : m.end() + 1]
                if not nxt or nxt in "#<" or m.start() == 0:
                    continue  # before a heading or tag the paragraph would join the next component
                eol = "\r\n" if "\r\n" in m.group() else "\n"
                para = rng.choice(pool)
                out.append(Mutation(self.name, len(out), f"irrelevant-context: + '{para[:40]}...' "
                                    f"(line {line_of(text, m.end())})", (Edit((m.end(), m.end()), para + eol + eol),)))
        return out


@register
class WordDeletion(Operator):
    name = "word-deletion"
    family = "content"
    description = "one prose word that is not a keyword deleted (negations, modals, numbers, labels are kept)"
    guarantee = ("deletes one non-keyword word with one space; never negations, modals, quantifiers, label words, "
                 "placeholders or syntax")
    params = {"keep": []}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        text = ctx.template.text
        keep = KEYWORDS | {str(w).lower() for w in self.param(ctx, "keep") or ()}
        out: list[Mutation] = []
        for w in word_sites(ctx, keep=keep):
            a, b = w.start, w.end
            if b < len(text) and text[b] == " ":
                b += 1
            elif a > 0 and text[a - 1] == " ":
                a -= 1
            else:
                continue  # a word alone on its line: deleting it would leave an empty item
            out.append(Mutation(self.name, len(out), f"word-deletion: - '{w.text}' (line {line_of(text, w.start)})",
                                (Edit((a, b), ""),)))
        return out


_INSTRUCTION_KINDS = ("role", "task", "constraints", "output_format", "context")
_TAGS = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
PARAPHRASE_SYSTEM = (
    "You rewrite one section of a prompt in other words. Keep its meaning and every requirement. "
    "Copy every template tag written with double braces or brace-percent exactly as it is. "
    "Reply with the rewritten section only, no preamble, no quotes."
)


@register
class Paraphrase(Operator):
    name = "paraphrase"
    family = "content"
    needs_llm = True
    description = ("an instruction component (role, task, constraints, output format) paraphrased by a model "
                   "through the runner: recorded once, replayed after")
    guarantee = ("rewrites the content of one instruction component; a paraphrase that drops or changes any "
                 "template tag is rejected; headings and other components stay")
    params = {"model": None, "kinds": list(_INSTRUCTION_KINDS)}

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        if ctx.llm is None:
            raise PerturbError("paraphrase needs a model: pass --model (CLI) or perturb: {model: ...} in the suite")
        text = ctx.template.text
        kinds = set(self.param(ctx, "kinds") or ())
        model = self.param(ctx, "model") or ""
        out: list[Mutation] = []
        for i, m in enumerate(ctx.template.messages):
            if ctx.messages is not None and not (i in ctx.messages or m.role in ctx.messages):
                continue
            for c in m.components:
                wanted = c.key in ctx.components if ctx.components is not None else c.kind in kinds
                if not wanted:
                    continue
                s, e = c.content_span.start.offset, c.content_span.end.offset
                body = text[s:e]
                core = body.strip()
                if len(core.split()) < 4:
                    continue
                reply = ctx.llm([{"role": "system", "content": PARAPHRASE_SYSTEM},
                                 {"role": "user", "content": core}], model).strip()
                if not reply or reply == core or sorted(_TAGS.findall(reply)) != sorted(_TAGS.findall(core)):
                    continue
                lead = body[: len(body) - len(body.lstrip())]
                trail = body[len(body.rstrip()) :]
                out.append(Mutation(self.name, len(out), f"paraphrase: '{c.title}' reworded (line {c.span.start.line})",
                                    (Edit((s, e), lead + reply + trail),)))
        return out
