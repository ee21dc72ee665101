"""The OpenAI-compatible fast path answers exactly as litellm does.

Differential: every scenario runs twice, through ``transport="litellm"`` and through the
fast path, each against its own fresh scripted server with the same rules, and
everything a run keeps is compared: the ModelResponse (text, usage, cost, priced flag,
finish reason, raw tool calls), or the ProviderError's message, kind, status and hint;
the attempts, retries and backoff waits (seeded jitter); the request bodies the server
received; and the recording files a record run writes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.runner.client import ModelClient, RetryPolicy
from promptkit.runner.pricing import NOT_SIMPLE, price_for
from promptkit.runner.results import ProviderError
from promptkit.runner.transports import fast_path_applies
from pytest_promptkit.server import OpenAIServer, Rule

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "ping"}]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object",
                                                                           "properties": {"q": {"type": "string"}}}}}]


class _Policy(RetryPolicy):
    """Records every backoff it hands out (the seeded jitter sequence)."""

    def __init__(self) -> None:
        super().__init__(max_retries=2, base_s=0.01, max_backoff_s=0.04, retry_after_cap_s=0.05)
        self.waits: list[float] = []

    def backoff(self, attempt: int, retry_after: float | None = None, rng: Any = None) -> float:
        wait = super().backoff(attempt, retry_after, rng)
        self.waits.append(wait)
        return wait


def _chat(content: Any = "hi", *, finish: Any = "stop", usage: Any = None, model: str = "scripted",
          **message: Any) -> str:
    reply: dict[str, Any] = {"id": "chatcmpl-fixed", "object": "chat.completion", "created": 1, "model": model,
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **message},
                                          "finish_reason": finish}]}
    if usage is not None:
        reply["usage"] = usage
    return json.dumps(reply)


@dataclass
class Scenario:
    id: str
    rules: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    model: str = "openai/scripted"
    timeout_s: float = 2.0
    refused: bool = False  # nothing listens at api_base


USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
SCENARIOS = [
    Scenario("plain", [{"reply": "pong"}], {"temperature": 0, "max_tokens": 20, "seed": 7, "top_p": 1}),
    Scenario("all-allowed-params", [{"reply": "ok"}],
             {"temperature": 0.5, "stop": ["\n", "END"], "n": 1, "presence_penalty": 0.1, "frequency_penalty": 0.2,
              "max_tokens": 5}),
    Scenario("stop-string", [{"reply": "ok"}], {"stop": "END"}),
    Scenario("response-format-json", [{"reply": '{"answer": 42}'}], {"response_format": {"type": "json_object"}}),
    Scenario("response-format-schema", [{"reply": '{"a": 1}'}],
             {"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}),
    Scenario("tool-call", [{"tool_calls": [{"name": "lookup", "arguments": {"q": "x"}}]}],
             {"tools": TOOLS, "tool_choice": "auto"}),
    Scenario("tool-call-with-text", [{"reply": "calling", "tool_calls": [{"name": "lookup", "arguments": '{"q":"y"}'},
                                                                          {"name": "lookup", "arguments": {}}]}],
             {"tools": TOOLS}),
    Scenario("tool-call-extra-keys", [{"body": _chat(None, finish="stop", tool_calls=[
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}, "zz": 1, "aa": 2}])}]),
    Scenario("priced-model", [{"reply": "pong"}], model="openai/gpt-4o-mini"),
    Scenario("priced-model-usage", [{"body": _chat("hi", usage=USAGE, model="gpt-4o-mini")}], model="openai/gpt-4o-mini"),
    Scenario("priced-reply-names-another-model", [{"body": _chat("hi", usage=USAGE, model="llama-3-8b")}],
             model="openai/gpt-4o"),
    Scenario("finish-reason-mapped", [{"body": _chat("hi", finish="eos")}]),
    Scenario("finish-reason-unknown", [{"body": _chat("hi", finish="weird")}]),
    Scenario("finish-reason-null", [{"body": _chat("hi", finish=None)}]),
    Scenario("finish-length-usage", [{"body": _chat("hi", finish="length", usage=USAGE)}]),
    Scenario("usage-null", [{"body": _chat("hi", usage=None)}]),
    Scenario("empty-content", [{"body": _chat("")}]),
    Scenario("unicode", [{"reply": "héllo ✓ 日本"}]),
    Scenario("think-block", [{"body": _chat("<think>hmm\nyes</think>\nanswer")}]),
    Scenario("thinking-block-empty-rest", [{"body": _chat("<thinking>x</thinking>")}]),
    Scenario("think-not-leading", [{"body": _chat("a <think>b</think> c")}]),
    Scenario("think-with-reasoning-field", [{"body": _chat("<think>k</think>v", reasoning_content="r")}]),
    Scenario("no-content", [{"body": _chat(None)}]),
    Scenario("no-choices", [{"fault": "no_choices"}]),
    Scenario("choices-empty-list", [{"body": '{"id": "x", "choices": []}'}]),
    Scenario("not-json", [{"fault": "malformed"}]),
    Scenario("not-json-text", [{"body": "<html>oops</html>"}]),
    Scenario("json-not-object", [{"body": "[]"}]),
    Scenario("rate-limit-retry-after", [{"fault": "rate_limit", "retry_after": 0.02}]),
    Scenario("rate-limit-no-retry-after", [{"fault": "rate_limit", "retry_after": None}]),
    Scenario("rate-limit-then-ok", [{"fault": "rate_limit", "retry_after": 0.01, "times": 2}, {"reply": "ok"}]),
    Scenario("server-500", [{"fault": "server_error"}]),
    Scenario("server-502", [{"fault": "server_error", "status": 502}]),
    Scenario("server-503", [{"fault": "server_error", "status": 503}]),
    Scenario("server-504", [{"fault": "server_error", "status": 504}]),
    Scenario("500-then-ok", [{"fault": "server_error", "times": 1}, {"reply": "fine"}]),
    Scenario("bad-request-400", [{"fault": "bad_request"}]),
    Scenario("auth-401", [{"body": json.dumps({"error": {"message": "Incorrect API key provided: pk-***. Set OPENAI_API_KEY",
                                                         "type": "invalid_request_error", "code": "invalid_api_key"}}),
                           "status": 401}]),
    Scenario("auth-401-missing-key", [{"body": json.dumps({"error": {"message": "You didn't provide an API key",
                                                                     "type": "invalid_request_error"}}),
                                       "status": 401}]),
    Scenario("forbidden-403", [{"fault": "bad_request", "status": 403}]),
    Scenario("not-found-404", [{"body": '{"detail": "Not Found"}', "status": 404}]),
    Scenario("model-not-found-404", [{"body": json.dumps({"error": {
        "message": "The model `x` does not exist (invalid_request_error: model_not_found)"}}), "status": 404}]),
    Scenario("unprocessable-422", [{"fault": "bad_request", "status": 422}]),
    Scenario("teapot-418", [{"fault": "bad_request", "status": 418}]),
    Scenario("redirect-301", [{"body": "{}", "status": 301}]),
    Scenario("error-without-message", [{"body": '{"error": {"type": "server_error"}}', "status": 500}]),
    Scenario("error-string", [{"body": '{"error": "plain string"}', "status": 400}]),
    Scenario("error-top-level-message", [{"body": '{"message": "top level"}', "status": 400}]),
    Scenario("error-multiline", [{"body": json.dumps({"error": {"message": "first line\nsecond line"}}), "status": 400}]),
    Scenario("error-html-502", [{"body": "<html><body>Bad Gateway</body></html>", "status": 502}]),
    Scenario("error-says-rate-limit", [{"body": json.dumps({"error": {"message": "Rate limit reached for requests"}}),
                                        "status": 500}]),
    Scenario("error-context-window", [{"body": json.dumps({"error": {
        "message": "This model's maximum context length is 8192 tokens"}}), "status": 400}]),
    Scenario("error-timeout-words", [{"body": json.dumps({"error": {"message": "Request timed out upstream"}}),
                                      "status": 500}]),
    Scenario("drop", [{"fault": "drop"}]),
    Scenario("timeout", [{"fault": "hang"}], timeout_s=0.3),
    Scenario("connection-refused", [], refused=True),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _outcome(client: ModelClient, model: str, messages: Any, params: dict[str, Any]) -> dict[str, Any]:
    try:
        r = asyncio.run(client.complete(model, messages, dict(params)))
    except ProviderError as exc:
        return {"error": str(exc), "kind": exc.kind, "status": exc.status, "hint": exc.hint}
    out = r.model_dump()
    out["usage"].pop("latency_s")
    return out


def _run(sc: Scenario, transport: str, *, api_key: str | None = None, messages: Any = MESSAGES) -> dict[str, Any]:
    policy = _Policy()
    with OpenAIServer([Rule(**r) for r in sc.rules], hang_s=3.0) as server:
        base = f"http://127.0.0.1:{_free_port()}/v1" if sc.refused else server.base_url
        client = ModelClient(api_base=base, api_key=api_key, retry=policy, timeout_s=sc.timeout_s, seed=1234,
                             transport=transport)
        result = _outcome(client, sc.model, messages, sc.params)
        bodies = [r["body"] for r in server.requests]
    return {"result": result, "attempts": client.attempts, "retries": client.retries, "waits": policy.waits,
            "bodies": bodies, "sent": client.sent}


@pytest.fixture(autouse=True)
def _no_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMPTKIT_TRANSPORT", raising=False)


@pytest.fixture(scope="module", autouse=True)
def _warm_litellm() -> None:
    """litellm's import and first call take seconds: not inside a scenario's timeout."""
    with OpenAIServer() as server:
        client = ModelClient(api_base=server.base_url, transport="litellm", timeout_s=60)
        asyncio.run(client.complete("openai/warm-up", MESSAGES, {}))


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_fast_path_is_litellm_exactly(sc: Scenario) -> None:
    slow = _run(sc, "litellm")
    fast = _run(sc, "auto")
    assert fast["sent"] == {"openai-http": fast["attempts"]}, "the scenario must take the fast path"
    assert slow["sent"] == {"litellm": slow["attempts"]}
    fast.pop("sent"), slow.pop("sent")
    assert fast == slow


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=st.sampled_from([400, 401, 402, 403, 404, 405, 408, 409, 413, 422, 429, 500, 501, 502, 503, 504, 520]),
       message=st.one_of(st.text(min_size=0, max_size=40),
                         st.sampled_from(["rate limit exceeded", "429 Too Many Requests", "Request too large",
                                          "prompt is too long", "Request timed out", "A timeout occurred",
                                          "invalid_request_error", "missing credentials", "Connection error.",
                                          "InternalServerError: nested", "The server had an error processing your request."])),
       shape=st.sampled_from(["nested", "top", "string", "text"]))
def test_any_error_reply_is_said_as_litellm_says_it(status: int, message: str, shape: str) -> None:
    body = {"nested": json.dumps({"error": {"message": message, "type": "x"}}), "top": json.dumps({"message": message}),
            "string": json.dumps({"error": message}), "text": message}[shape]
    sc = Scenario("prop", [{"body": body, "status": status}], timeout_s=20.0)
    slow, fast = _run(sc, "litellm"), _run(sc, "auto")
    assert fast.pop("sent") == {"openai-http": fast["attempts"]}
    slow.pop("sent")
    assert fast == slow


def _record(tmp: Path, transport: str) -> dict[str, bytes]:
    from promptkit.runner.engine import CaseJob, RunConfig, Runner
    from promptkit.runner.recordings import Mode, RecordingStore
    from promptkit.runner.suite import Suite

    tpl = tmp / "t.prompty"
    tpl.write_text("---\nname: t\nmodel:\n  id: openai/scripted\n  parameters:\n    temperature: 0\n    seed: 3\n"
                   "inputs:\n  q:\n    type: string\n---\nsystem:\nAnswer briefly.\n\nuser:\n{{ q }}\n", encoding="utf-8")
    cases = [{"id": f"c{i}", "vars": {"q": q}, "assert": [{"type": "contains", "value": "o"}]}
             for i, q in enumerate(["hello", "tool please", "json please", "ünïcode ✓"])]
    suite = Suite.from_cases(tpl, cases, name="t.prompttest.yaml")
    store = RecordingStore(tmp / "__recordings__" / transport)
    rules = [Rule(pattern="tool", tool_calls=[{"id": "call_o", "name": "lookup", "arguments": {"q": "o"}}]),
             Rule(pattern="json", reply='{"o": 1}'), Rule(reply="{echo} ok")]
    with OpenAIServer(rules) as server:
        client = ModelClient(api_base=server.base_url, api_key="sk-record-SECRET-42", transport=transport, concurrency=2)
        runner = Runner(RunConfig(mode=Mode.RECORD, progress=False), client=client)
        try:
            runner.run([CaseJob(case_run=cr, suite_path="t.prompttest.yaml", store=store) for cr in suite.expand()])
        finally:
            runner.close()
    assert set(client.sent) == {"litellm" if transport == "litellm" else "openai-http"}
    volatile = re.compile(rb'("latency_s": )[0-9.e-]+|("recorded_at": )"[^"]*"')
    return {p.name: volatile.sub(rb"\1\2X", p.read_bytes()) for p in sorted(store.directory.glob("**/*.json"))}


def test_recordings_are_byte_identical(tmp_path: Path) -> None:
    """Except the call's latency and the recording date, which differ between any two runs."""
    slow, fast = _record(tmp_path, "litellm"), _record(tmp_path, "auto")
    assert len(fast) == 4 and fast == slow
    assert not any(b"SECRET" in data for data in fast.values())


def test_secrets_stay_in_the_authorization_header(tmp_path: Path) -> None:
    secret = "sk-live-FASTPATH-SECRET-987"
    with OpenAIServer([Rule(pattern="fail", fault="bad_request"), Rule(reply="ok")]) as server:
        client = ModelClient(api_base=server.base_url, api_key=secret, transport="auto", retry=_Policy())
        ok = asyncio.run(client.complete("openai/scripted", MESSAGES, {}))
        with pytest.raises(ProviderError) as info:
            asyncio.run(client.complete("openai/scripted", [{"role": "user", "content": "fail"}], {}))
        assert client.sent == {"openai-http": 2}
        assert secret not in ok.model_dump_json() and secret not in str(info.value) + info.value.hint
        assert all("authorization" in r["header_names"] for r in server.requests)
        assert secret not in repr(server.requests)  # not in any body: the header only


def test_fast_path_never_imports_litellm(tmp_path: Path) -> None:
    """A whole record run through the engine, in a fresh interpreter."""
    code = """
import sys
from pathlib import Path
from promptkit.runner.engine import CaseJob, RunConfig, Runner
from promptkit.runner.recordings import Mode, RecordingStore
from promptkit.runner.suite import Suite
from pytest_promptkit.server import OpenAIServer
tmp = Path(sys.argv[1])
tpl = tmp / "t.prompty"
tpl.write_text("---\\nname: t\\nmodel:\\n  id: openai/gpt-4o-mini\\n---\\nuser:\\nhi {{ n }}\\n", encoding="utf-8")
suite = Suite.from_cases(tpl, [{"id": f"c{i}", "vars": {"n": i}, "assert": [{"type": "contains", "value": "hi"}]}
                               for i in range(5)], name="t.prompttest.yaml")
with OpenAIServer() as server:
    runner = Runner(RunConfig(mode=Mode.RECORD, api_base=server.base_url, progress=False))
    results = runner.run([CaseJob(case_run=cr, suite_path="t", store=RecordingStore(tmp / "rec")) for cr in suite.expand()])
    runner.close()
assert [r.outcome.value for r in results] == ["pass"] * 5, results
assert runner.client.sent == {"openai-http": 5}, runner.client.sent
assert results[0].samples[0].usage.cost_usd > 0  # priced without litellm
print(sorted(m for m in sys.modules if m.split(".")[0] in ("litellm", "openai", "tiktoken")))
"""
    env = {k: v for k, v in os.environ.items() if k != "PROMPTKIT_TRANSPORT"}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize(("model", "params", "fast"), [
    ("openai/local", {"temperature": 0}, True),
    ("openai/gpt-4o-mini", {"tools": TOOLS, "tool_choice": "auto"}, True),
    ("openai/local", {"mock_response": "hi"}, False),
    ("openai/local", {"logprobs": True}, False),
    ("openai/local", {"user": "ci"}, False),  # litellm drops it for an OpenAI-compatible server
    ("openai/local", {"extra_headers": {"x": "y"}}, False),
    ("openai/o3-mini", {"max_tokens": 5}, False),  # litellm renames max_tokens for reasoning models
    ("openai/gpt-5", {}, False),
    ("anthropic/claude-3-5-haiku-latest", {}, False),
    ("ollama/llama3", {}, False),
    ("gpt-4o-mini", {}, False),
])
def test_which_calls_take_the_fast_path(model: str, params: dict[str, Any], fast: bool) -> None:
    assert fast_path_applies(model, MESSAGES, {**params, "api_base": "http://127.0.0.1:1/v1", "api_key": "k"}) is fast
    assert not fast_path_applies(model, MESSAGES, {**params, "api_key": "k"})  # no api_base: litellm routes it


@pytest.mark.parametrize("messages", [
    [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    [{"role": "assistant", "content": None, "tool_calls": []}],
    [{"role": "tool", "content": "x", "tool_call_id": "c1"}],
])
def test_structured_messages_go_through_litellm(messages: list[dict[str, Any]]) -> None:
    assert not fast_path_applies("openai/local", messages, {"api_base": "http://127.0.0.1:1/v1", "api_key": "k"})


def test_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"api_base": "http://127.0.0.1:1/v1", "api_key": "k"}
    assert ModelClient(transport="auto").transport_for("openai/x", MESSAGES, params).name == "openai-http"
    assert ModelClient(transport="litellm").transport_for("openai/x", MESSAGES, params).name == "litellm"
    monkeypatch.setenv("PROMPTKIT_TRANSPORT", "litellm")
    assert ModelClient().transport_for("openai/x", MESSAGES, params).name == "litellm"
    monkeypatch.setenv("PROMPTKIT_TRANSPORT", "fast")
    with pytest.raises(ValueError, match="unknown transport 'fast'"):
        ModelClient()


def test_one_pool_per_event_loop() -> None:
    with OpenAIServer() as server:
        client = ModelClient(api_base=server.base_url, concurrency=3)

        async def twice() -> list[int]:
            await client.complete("openai/x", MESSAGES, {})
            await client.complete("openai/x", MESSAGES, {})
            return [id(c) for c in client._fast._sessions.values()]  # type: ignore[attr-defined]

        first, second = asyncio.run(twice()), asyncio.run(twice())
    assert len(first) == 1 and len(second) == 1 and first != second  # reused in a loop, fresh per loop


# --------------------------------------------------------------------------- prices


def _openai_chat_models() -> Iterator[str]:
    from promptkit.tokens import _model_table

    for key, entry in sorted(_model_table().items()):
        if isinstance(entry, dict) and entry.get("litellm_provider") == "openai" and entry.get("mode") == "chat":
            yield "openai/" + key.removeprefix("openai/")


SIMPLE = [m for m in _openai_chat_models() if price_for(m) is not NOT_SIMPLE]


def test_simple_prices_exist() -> None:
    assert "openai/gpt-4o-mini" in SIMPLE and len(SIMPLE) >= 10


@settings(max_examples=150, deadline=None)
@given(model=st.sampled_from(SIMPLE), prompt=st.integers(0, 100_000), completion=st.integers(0, 20_000))
def test_prices_match_litellm(model: str, prompt: int, completion: int) -> None:
    from promptkit.runner.transports.litellm_sdk import ensure_litellm

    litellm = ensure_litellm()
    expected = sum(litellm.cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion))
    assert price_for(model).cost(prompt, completion) == pytest.approx(expected, rel=1e-12, abs=0)


@settings(max_examples=60, deadline=None)
@given(name=st.from_regex(r"[a-z][a-z0-9\-]{0,20}", fullmatch=True))
def test_unknown_models_are_unknown_to_litellm_too(name: str) -> None:
    from promptkit.runner.transports.litellm_sdk import ensure_litellm

    price = price_for(f"openai/{name}")
    if price is NOT_SIMPLE or price.known:
        return
    litellm = ensure_litellm()
    try:
        info = litellm.get_model_info(f"openai/{name}")
    except Exception:  # noqa: BLE001 - "not mapped": unknown, as we say
        return
    assert info.get("input_cost_per_token") is None and info.get("output_cost_per_token") is None


def test_transport_setting_in_the_config_table(tmp_path: Path) -> None:
    from promptkit.diagnostics import PromptkitError
    from promptkit.runner.config import load_test_settings

    (tmp_path / "pyproject.toml").write_text('[tool.promptkit.test]\ntransport = "litellm"\n', encoding="utf-8")
    assert load_test_settings(tmp_path).transport == "litellm"
    (tmp_path / "pyproject.toml").write_text('[tool.promptkit.test]\ntransport = "fast"\n', encoding="utf-8")
    with pytest.raises(PromptkitError, match="transport"):
        load_test_settings(tmp_path)
