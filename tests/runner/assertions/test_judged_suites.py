"""The G-Eval and RAG judges, each with its own recorded suite
(``tests/fixtures/runner/assertions/judged/``): re-recorded live against the local
scripted server (answers and judge replies below), and replayed offline from the
committed recordings. ``python -m tests.runner.assertions.test_judged_suites`` rewrites
the committed recordings."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from promptkit.runner.assertions import AssertionContext, build_spec, evaluate
from promptkit.runner.assertions.judges import JUDGES_DIR
from promptkit.runner.engine import RunConfig, run_suites
from promptkit.runner.recordings import Mode
from promptkit.runner.results import ModelResponse, Outcome
from pytest_promptkit.server import OpenAIServer, Rule

SUITES = Path(__file__).resolve().parents[2] / "fixtures" / "runner" / "assertions" / "judged"
NAMES = ("rag.prompttest.yaml", "geval.prompttest.yaml")


def _j(obj: dict[str, Any]) -> str:
    return json.dumps(obj)


ANSWERS = {
    r"How long is the X200 warranty\?": "The X200 has a two-year warranty covering manufacturing defects.",
    r"accidental damage": "Yes, the two-year warranty also covers accidental damage.",
    r"batteries covered": "Our company was founded in 1998 and is based in Lyon.",
    r"head office": "The head office is in Lyon.",
    r"warranty terms": "Well, warranties are an interesting topic. Many products have them. The X200 has one too, "
                       "for two years, and it probably covers most things, including spills and drops.",
}

JUDGE = [
    # g-eval: scoring (with <steps>) before step writing (criteria only)
    (r"<steps>.*<output>\s*The X200 has a two-year", _j({"score": 9, "reason": "States the length, nothing extra."})),
    (r"<steps>.*<output>\s*Well,", _j({"score": 3, "reason": "Rambling, and claims spill cover the context lacks."})),
    (r"</criteria>\s*$", _j({"steps": ["Find the warranty length in the answer.", "List claims not in the context.",
                                       "Judge whether the answer is concise."]})),
    # context-faithfulness: <context> then <output>
    (r"</context>\s*<output>\s*The X200 has a two-year", _j({"claims": [
        {"claim": "The X200 has a two-year warranty.", "supported": True, "reason": "sentence 1"},
        {"claim": "It covers manufacturing defects.", "supported": True, "reason": "sentence 1"}]})),
    (r"</context>\s*<output>\s*Yes, the two-year", _j({"claims": [
        {"claim": "The warranty lasts two years.", "supported": True, "reason": "sentence 1"},
        {"claim": "The warranty covers accidental damage.", "supported": False, "reason": "only defects are named"}]})),
    (r"</context>\s*<output>\s*Our company", _j({"claims": [
        {"claim": "The company was founded in 1998.", "supported": True, "reason": "sentence 4"},
        {"claim": "It is based in Lyon.", "supported": True, "reason": "sentence 3"}]})),
    # answer-relevance: <query> then <output>
    (r"</query>\s*<output>\s*The X200 has", _j({"needs": [{"need": "warranty length", "addressed": True}],
                                               "off_topic": False, "reason": "answers it"})),
    (r"</query>\s*<output>\s*Yes, the two-year", _j({"needs": [{"need": "is accidental damage covered",
                                                                "addressed": True}], "off_topic": False})),
    (r"</query>\s*<output>\s*Our company", _j({"needs": [{"need": "battery cover duration", "addressed": False}],
                                               "off_topic": True, "reason": "talks about the company"})),
    # context-relevance: numbered sentences after the query
    (r"How long is the X200 warranty\?\s*</query>\s*<context>", _j({"relevant": [1], "reason": "sentence 1"})),
    (r"Where is the head office\?\s*</query>\s*<context>", _j({"relevant": [4], "reason": "only sentence 4"})),
]


def script(server: OpenAIServer) -> None:
    for pattern, reply in JUDGE:
        server.add_rule(Rule(pattern=pattern, reply=reply, model="scripted-judge"))
    for pattern, reply in ANSWERS.items():
        server.add_rule(Rule(pattern=pattern, reply=reply, model="scripted"))


EXPECTED = {"grounded", "hallucinated", "evasive", "noisy-retrieval", "concise-and-grounded", "rambling"}


def _check(run: Any) -> None:
    bad = {c.case: [a.reason for s in c.samples for a in s.assertions if not a.passed] or [s.error for s in c.samples]
           for c in run.cases if c.outcome is not Outcome.PASS}
    assert not bad, bad
    assert {c.case for c in run.cases} == EXPECTED
    scores = {(c.case, a.type): a.score for c in run.cases for a in c.samples[0].assertions}
    assert scores[("hallucinated", "not-context-faithfulness")] == pytest.approx(0.5)  # 1 - 0.5
    assert scores[("noisy-retrieval", "context-relevance")] == pytest.approx(0.25)
    assert scores[("rambling", "not-g-eval")] == pytest.approx(0.7)  # 1 - 3/10


def test_judged_suites_record_live_against_the_scripted_server(tmp_path: Path) -> None:
    for f in SUITES.glob("*.p*"):
        shutil.copy(f, tmp_path / f.name)
    with OpenAIServer(default_reply="(no scripted reply)") as server:
        script(server)
        run = run_suites([tmp_path / n for n in NAMES],
                         RunConfig(mode=Mode.RECORD, api_base=server.base_url, timeout_s=10))
        calls = server.calls
    _check(run)
    assert calls == 6 + 12  # six answers; judge calls: 3+2+2+2 (rag) + 2+1 (g-eval)
    assert list((tmp_path / "__recordings__").rglob("*.json"))


def test_judged_suites_replay_offline_from_committed_recordings() -> None:
    run = run_suites([SUITES / n for n in NAMES], RunConfig(mode=Mode.REPLAY, api_base="http://127.0.0.1:9/unreachable"))
    _check(run)
    assert all(s.from_recording for c in run.cases for s in c.samples)


def test_judge_templates_are_lint_clean() -> None:
    from promptkit.lint.engine import lint_text

    for n in ("geval", "geval-steps", "context-faithfulness", "context-relevance", "answer-relevance", "refusal"):
        path = JUDGES_DIR / f"{n}.prompty"
        found = lint_text(path.read_text(encoding="utf-8"), str(path))
        assert not found, [f"{d.code} {d.message}" for d in found]


@pytest.mark.parametrize("spec, reply, words", [
    ({"type": "context-relevance", "query": "q?", "context": "One. Two."}, '{"relevant": [3]}', "between 1 and 2"),
    ({"type": "context-faithfulness", "context": "c"}, '{"claims": [{"claim": "x"}]}', "supported"),
    ({"type": "answer-relevance", "query": "q?"}, '{"needs": []}', "non-empty"),
    ({"type": "g-eval", "value": "good", "steps": ["a"]}, '{"score": 11}', "0 to 10"),
])
def test_unusable_judge_replies_are_errors_after_one_retry(spec: dict[str, Any], reply: str, words: str) -> None:
    calls: list[Any] = []

    async def judge(messages: list[dict[str, Any]], model: str | None, params: dict[str, Any]) -> ModelResponse:
        calls.append(messages)
        return ModelResponse(text=reply, model="j")

    r = asyncio.run(evaluate([build_spec(spec)], ModelResponse(text="out", model="m"), AssertionContext(judge=judge)))[0]
    assert r.error and words in r.reason and len(calls) == 2


def test_missing_query_or_context_is_an_error_that_names_the_variable() -> None:
    async def judge(*a: Any) -> ModelResponse:
        raise AssertionError("not called")

    r = asyncio.run(evaluate([build_spec({"type": "context-relevance"})], ModelResponse(text="x", model="m"),
                             AssertionContext(judge=judge, vars={"context": "c"})))[0]
    assert r.error and "query" in r.reason


if __name__ == "__main__":  # re-record the committed recordings
    shutil.rmtree(SUITES / "__recordings__", ignore_errors=True)
    with OpenAIServer(default_reply="(no scripted reply)") as srv:
        script(srv)
        result = run_suites([SUITES / n for n in NAMES], RunConfig(mode=Mode.RECORD, api_base=srv.base_url, timeout_s=10))
    _check(result)
    sys.exit(0)
