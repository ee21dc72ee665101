"""Tool calls end to end: a prompt's declared tools reach the model (the local scripted
server), its calls come back into results and recordings, and the tool assertions check
them -- live, then replayed from the recordings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promptkit.runner.client import RetryPolicy
from promptkit.runner.engine import RunConfig, run_suites
from promptkit.runner.recordings import Mode
from promptkit.runner.results import Outcome
from promptkit.runner.tools import ToolsError, normalize_tools
from pytest_promptkit.server import OpenAIServer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runner" / "assertions" / "tools"
FAST = RetryPolicy(max_retries=0, base_s=0.01, max_backoff_s=0.02, retry_after_cap_s=0.1)


def _script(server: OpenAIServer) -> None:
    server.add_rule(pattern=r"weather in Paris", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    server.add_rule(pattern=r"Lisbon and flights", tool_calls=[
        {"name": "get_weather", "arguments": {"city": "Lisbon", "unit": "celsius"}},
        {"name": "search_flights", "arguments": {"origin": "LIS", "destination": "CDG", "date": "2025-03-01"}},
    ])
    server.add_rule(pattern=r"Rome", tool_calls=[{"name": "get_weather", "arguments": {"city": "Rome"}}])
    server.add_rule(pattern=r"lisbon to paris", reply="Let me look.", tool_calls=[
        {"name": "search_flights", "arguments": {"origin": "lis", "destination": "paris"}}])
    server.add_rule(pattern=r"thanks", reply="You are welcome!")
    server.add_rule(pattern=r"hotel", tool_calls=[{"name": "book_hotel", "arguments": "{\"city\": \"Rome\"}"}])


def _copy(tmp_path: Path) -> Path:
    for f in FIXTURES.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path / "travel.prompttest.yaml"


def test_tools_reach_the_model_and_calls_are_checked_live_and_replayed(openai_server: OpenAIServer,
                                                                      tmp_path: Path) -> None:
    _script(openai_server)
    openai_server.keep_requests = True
    suite = _copy(tmp_path)
    cfg = RunConfig(mode=Mode.RECORD, api_base=openai_server.base_url, retry=FAST, timeout_s=5)
    run = run_suites([suite], cfg)
    got = {c.case: c for c in run.cases}
    assert {k: v.outcome for k, v in got.items()} == dict.fromkeys(got, Outcome.PASS), \
        {k: [a.reason for s in v.samples for a in s.assertions if not a.passed] for k, v in got.items()}
    # the declared tools were sent, in OpenAI's shape (Prompty v2 entry converted)
    sent = openai_server.requests[0]["body"]["tools"]
    assert [t["function"]["name"] for t in sent] == ["get_weather", "search_flights"]
    assert sent[0]["function"]["parameters"]["required"] == ["city"]
    # a reply that is only tool calls: empty text, calls kept in the result
    weather = got["weather-call"].samples[0]
    assert weather.output == "" and weather.tool_calls == [
        {"id": weather.tool_calls[0]["id"], "name": "get_weather", "arguments": '{"city": "Paris"}'}]
    # recordings keep the calls, never the key
    recs = list((tmp_path / "__recordings__").rglob("*.json"))
    text = "".join(p.read_text(encoding="utf-8") for p in recs)
    assert "search_flights" in text and "promptkit-local" not in text and "api_key" not in text
    # replay gives the same verdicts offline
    replay = run_suites([suite], RunConfig(mode=Mode.REPLAY, retry=FAST, timeout_s=5))
    assert {c.case: c.outcome for c in replay.cases} == {k: v.outcome for k, v in got.items()}
    assert all(s.from_recording for c in replay.cases for s in c.samples)
    bad = next(c for c in replay.cases if c.case == "bad-arguments").samples[0]
    assert "'date' is a required property" in bad.assertions[0].reason


@pytest.mark.parametrize("raw, error", [
    ("get_weather", "must be a list"),
    ([{"kind": "function"}], "has no name"),
    ([{"name": "x", "kind": "code_interpreter"}], "not supported"),
    ([{"name": "x", "parameters": [{"type": "string"}]}], "needs a name"),
])
def test_malformed_tools_are_refused(raw: object, error: str) -> None:
    with pytest.raises(ToolsError, match=error):
        normalize_tools(raw)


def test_prompty_property_lists_become_a_schema() -> None:
    (tool,) = normalize_tools([{"name": "f", "kind": "function", "parameters": [
        {"name": "city", "kind": "string", "description": "where"}, {"name": "days", "kind": "integer",
                                                                      "required": False}]}])
    params = tool["function"]["parameters"]
    assert params == {"type": "object", "required": ["city"], "properties": {
        "city": {"type": "string", "description": "where"}, "days": {"type": "integer"}}}
    assert json.dumps(tool)  # JSON-serializable, as litellm sends it
