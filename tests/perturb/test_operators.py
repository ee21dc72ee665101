"""Operator guarantees on fixtures: label words, placeholders and examples untouched; the
gold answer remapped; limits to components and messages honoured; the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptkit.perturb import Context, PerturbError, apply, generate, get, mutations_for, names
from promptkit.perturb.operator import FAMILIES, REGISTRY
from promptkit.template import load, loads

REPO = Path(__file__).resolve().parents[2]
CLASSIFY = load(REPO / "templates" / "classify_ticket.prompty")
QA = load(REPO / "tests" / "fixtures" / "perturb" / "qa.prompty")


def test_registry_has_15_plus_operators_in_every_family_each_with_a_guarantee() -> None:
    assert len(names()) >= 15
    assert {REGISTRY[n].family for n in names()} == set(FAMILIES)
    assert all(REGISTRY[n].guarantee and REGISTRY[n].description for n in names())
    assert get("typo") is get("typo-mixed")
    with pytest.raises(PerturbError, match="is a family"):
        get("noise")


@pytest.mark.parametrize("name", ["typo-mixed", "typo-drop", "case", "word-deletion", "punctuation"])
def test_label_words_examples_and_placeholders_are_never_touched(name: str) -> None:
    labels = ("billing", "technical", "account", "shipping", "other", "category", "priority", "summary")
    for m in mutations_for(get(name), Context(CLASSIFY, {}), 0):
        for e in m.edits:
            old = CLASSIFY.text[e.start : e.end]
            assert old.lower().strip(" .,;:") not in labels, m.label
            assert "{" not in old and "```" not in old, m.label
    def examples(t: object) -> str:
        c = t.find_components("examples")[0].content_span  # type: ignore[attr-defined]
        return t.text[c.start.offset : c.end.offset].strip()  # type: ignore[attr-defined]

    for v in generate(CLASSIFY, get(name), n=20, seed=3, edits=3):
        assert examples(v.template) == examples(CLASSIFY), v.labels()
        assert "{{ ticket }}" in v.template.text


def test_protect_adds_label_words() -> None:
    ctx = Context(CLASSIFY, {}, protect=frozenset({"triage", "customer"}))
    touched = {CLASSIFY.text[e.start : e.end] for m in mutations_for(get("typo-swap"), ctx, 0) for e in m.edits}
    assert not touched & {"triage", "customer"}


def test_limits_to_components_and_messages() -> None:
    task = CLASSIFY.find_components("task")[0].content_span
    for m in mutations_for(get("typo-mixed"), Context(CLASSIFY, {}, components=("task",)), 0):
        assert task.start.offset <= m.edits[0].start < task.end.offset
    user = CLASSIFY.messages[1].content_span
    for m in mutations_for(get("spacing"), Context(CLASSIFY, {}, messages=("user",)), 0):
        assert user.start.offset <= m.edits[0].start <= user.end.offset
    with pytest.raises(PerturbError, match="no component"):
        mutations_for(get("typo"), Context(CLASSIFY, {}, components=("nope",)), 0)


@pytest.mark.parametrize(("gold", "base"), [("B", 0), (1, 0), (2, 1), ("Mars", 0)])
def test_choice_order_remaps_the_gold_answer(gold: object, base: int) -> None:
    values = {"options": ["Venus", "Mars", "Jupiter", "Saturn"], "answer": gold}
    ctx = Context(QA, values, params={"choices": "options", "answer": "answer", "answer_base": base})
    for m in mutations_for(get("choice-order"), ctx, 0):
        v = apply(QA, [m], values)
        opts, g = v.vars["options"], v.vars["answer"]
        if isinstance(g, str) and len(g) == 1:
            assert opts["ABCD".index(g)] == "Mars"
        elif isinstance(g, int):
            assert opts[g - base] == "Mars"
        else:
            assert g == "Mars" and "Mars" in opts


def test_overlapping_mutations_are_dropped_and_a_breaking_one_never_survives() -> None:
    muts = mutations_for(get("typo-mixed"), Context(CLASSIFY, {}), 0)
    same_word = [muts[0], muts[0]]
    v = apply(CLASSIFY, same_word)
    assert len(v.mutations) == 1 and len(v.dropped) == 1
    from promptkit.perturb.operator import Mutation
    from promptkit.template.edit import Edit

    tag = CLASSIFY.text.index("{{ ticket }}")
    breaking = Mutation("typo-mixed", 999, "breaks the placeholder", (Edit((tag + 3, tag + 9), "tikcet"),))
    v = apply(CLASSIFY, [muts[1], breaking])
    assert breaking in v.dropped and "{{ ticket }}" in v.template.text


def test_crlf_files_keep_their_line_endings() -> None:
    text = "---\nname: x\n---\nsystem:\r\n## Task\r\nRead the text and answer the question briefly.\r\n\r\nuser:\r\n{{ q }}\r\n"
    t = loads(text, path="x.prompty")
    for name in ("spacing", "irrelevant-context", "typo-mixed", "heading-style"):
        try:
            variants = generate(t, get(name), n=3, seed=1)
        except PerturbError:
            continue
        for v in variants:
            body = v.template.text.split("---", 2)[2][1:]  # after the fence's own LF
            assert body.count("\n") == body.count("\r\n"), (name, v.labels())


def test_paraphrase_goes_through_the_runner_recorded_then_replayed(tmp_path: Path) -> None:
    from promptkit.perturb.llm import recorded_llm
    from promptkit.runner import Mode, RunConfig
    from pytest_promptkit.server import OpenAIServer

    (tmp_path / "pyproject.toml").write_text("")
    near = tmp_path / "classify.prompttest.yaml"
    kept_tags = "Work out which team should take the ticket and how urgent it is, then answer."
    with OpenAIServer(default_reply=kept_tags) as server:
        llm = recorded_llm(near, "openai/scripted", config=RunConfig(mode=Mode.RECORD, api_base=server.base_url, api_key="t"))
        live = generate(CLASSIFY, get("paraphrase"), n=2, seed=0, ctx=Context(CLASSIFY, {}, components=("task",), llm=llm))
        assert server.calls == 1
    assert [m.label for m in live[0].mutations] == ["paraphrase: 'Task' reworded (line 44)"]
    assert kept_tags in live[0].template.text and "{{ ticket }}" in live[0].template.text
    replay = recorded_llm(near, "openai/scripted", config=RunConfig(mode=Mode.REPLAY, api_base="http://127.0.0.1:9/x"))
    again = generate(CLASSIFY, get("paraphrase"), n=2, seed=0, ctx=Context(CLASSIFY, {}, components=("task",), llm=replay))
    assert [v.template.text for v in again] == [v.template.text for v in live]
    # a paraphrase that drops a template tag is rejected
    tpl = loads("---\nname: t\n---\nsystem:\n## Task\nSummarize {{ text }} in three short sentences please.\n",
                path="t.prompty")
    with pytest.raises(PerturbError):
        mutations_for(get("paraphrase"), Context(tpl, {}, llm=lambda m, model: "Summarize the text in a few lines."), 0)
