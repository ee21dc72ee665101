"""Every operator over the corpora's Jinja templates (PromptSource, Prompty, promptflow):
each variant still parses, keeps the variable set, the message roles and the
components, never edits template syntax, and is identical for the same seed.

The checks here are independent of the operators' own post-check
(:func:`promptkit.perturb.check`): the variant's text is loaded afresh and compared with
the original through the loader, the Jinja parser and the analysis.

By default a deterministic sample (every template of Prompty and promptflow, every 12th
PromptSource template) keeps this within ~20 s; ``PROMPTKIT_PERTURB_CORPUS=all`` runs every
template (``-m corpora`` selects these tests, ``-m "not corpora"`` skips them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from promptkit.perturb import Context, PerturbError, generate, get, names
from promptkit.template import loads
from promptkit.template.analysis import analyze
from promptkit.template.model import PromptTemplate

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO / ".." / "shared" / "corpora"
FULL = os.environ.get("PROMPTKIT_PERTURB_CORPUS") == "all"

pytestmark = pytest.mark.corpora

#: Regions an operator must never edit.
FROZEN = {"front_matter", "role_line", "syntax", "comment", "raw"}
SAMPLE_TEXT = "The quick brown fox jumps over the lazy dog, and the committee approved the budget in March."


def _templates() -> list[PromptTemplate]:
    if not CORPORA.is_dir():
        return []
    from promptkit.template import load

    out = [load(p) for p in sorted((CORPORA / "prompty").glob("*.prompty"))]
    out += [load(p) for p in sorted((CORPORA / "promptflow-jinja").iterdir()) if p.suffix in (".jinja2", ".j2")]
    step = 1 if FULL else 12
    with open(CORPORA / "promptsource.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step == 0:
                out.append(loads(json.loads(line)["jinja"], path=f"promptsource.jsonl#{i}.j2"))
    if not FULL:
        out = out[::2]  # every other file of every corpus: still all three corpora
    return [t for t in out if t.engine.renders and analyze(t).parsed]


@pytest.fixture(scope="module")
def templates() -> list[PromptTemplate]:
    found = _templates()
    if not found:
        pytest.skip(f"corpora not found at {CORPORA.resolve()} (../shared/corpora)")
    return found


def _jinja_parses(t: PromptTemplate) -> bool:
    from promptkit.template.render import parse_body

    return parse_body(t)[0] is not None


def _frozen_spans(t: PromptTemplate) -> list[tuple[int, int]]:
    return [(r.start, r.end) for r in analyze(t).regions if r.kind in FROZEN]


def test_every_operator_keeps_parse_variables_roles_and_seed(templates: list[PromptTemplate]) -> None:
    template_ops = [n for n in names() if get(n).target == "template" and not get(n).needs_llm]
    input_ops = [n for n in names() if get(n).target == "inputs" and n != "choice-order"]
    made = dict.fromkeys(template_ops + input_ops, 0)
    every = template_ops + input_ops
    for ti, t in enumerate(templates):
        a = analyze(t)
        roles = [m.role for m in t.messages]
        frozen = _frozen_spans(t)
        values = {name: SAMPLE_TEXT for name in sorted(a.free_names)}
        # each template meets a third of the operators (rotating), every operator ~80 templates
        for name in (every if FULL else every[ti % 3 :: 3]):
            op = get(name)
            seed = len(t.text) % 97
            try:
                first = generate(t, op, n=2, seed=seed, vars=values, ctx=Context(t, dict(values)))
            except PerturbError:
                continue  # nothing this operator may change in this template (checked elsewhere)
            again = first if ti % 4 else generate(t, op, n=2, seed=seed, vars=values, ctx=Context(t, dict(values)))
            assert [v.template.text for v in first] == [v.template.text for v in again], (t.path, name)
            assert [v.vars for v in first] == [v.vars for v in again], (t.path, name)
            for v in first:
                made[name] += 1
                if op.target == "inputs":
                    assert v.template.text == t.text, (t.path, name)
                    continue
                fresh = loads(v.template.text, path=t.path, kind=t.kind)
                where = f"{t.path} {name}: {v.labels()}"
                assert _jinja_parses(fresh), where
                fa = analyze(fresh)
                assert fa.parsed and fa.free_names == a.free_names and fa.used == a.used, where
                assert [m.role for m in fresh.messages] == roles, where
                if op.family == "order":
                    continue  # moves whole components verbatim (tags compared as a multiset below)
                for m in v.mutations:
                    for e in m.edits:
                        assert not any(s < e.end and e.start < f for s, f in frozen), f"{where}: edit touches syntax"
    # the property was exercised: every operator made variants on real templates
    assert all(made[n] > 0 for n in made), {n: c for n, c in made.items() if not c}
    assert sum(made.values()) > 300


def test_operators_leave_placeholders_of_every_corpus_template_verbatim(templates: list[PromptTemplate]) -> None:
    """The rendered variable tags of each variant are the original's, in the same order
    (component and example order operators move whole blocks, so compare as a multiset)."""
    from collections import Counter

    for t in templates[::3]:
        tags = Counter(t.text[x.start : x.end] for x in analyze(t).tags if x.kind != "raw")
        for name in ("typo-mixed", "case", "punctuation", "separator", "word-deletion", "component-order"):
            try:
                variants = generate(t, get(name), n=1, seed=3)
            except PerturbError:
                continue
            for v in variants:
                after = Counter(v.template.text[x.start : x.end] for x in analyze(v.template).tags if x.kind != "raw")
                assert after == tags, (t.path, name, v.labels())
