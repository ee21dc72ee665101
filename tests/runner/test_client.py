"""The model client against the scripted local server: replies, usage, retries with
backoff and Retry-After, and every failure classified as a ProviderError kind."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.runner.client import ModelClient, RetryPolicy, classify
from promptkit.runner.results import ModelResponse, ProviderError
from pytest_promptkit.server import OpenAIServer, Rule

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "ping"}]
FAST = RetryPolicy(max_retries=2, base_s=0.01, max_backoff_s=0.05, retry_after_cap_s=0.5)


def _client(server: OpenAIServer, **kw: object) -> ModelClient:
    kw.setdefault("retry", FAST)
    kw.setdefault("timeout_s", 2.0)
    return ModelClient(api_base=server.base_url, **kw)  # type: ignore[arg-type]


def _call(client: ModelClient, messages: list[dict[str, str]] = MESSAGES, **params: object) -> ModelResponse:
    return asyncio.run(client.complete("openai/scripted", messages, params))


def test_reply_usage_and_latency(openai_server: OpenAIServer) -> None:
    openai_server.add_rule(pattern=r"ping", reply="pong")
    r = _call(_client(openai_server), temperature=0)
    assert r.text == "pong"
    assert r.finish_reason == "stop"
    assert r.usage.prompt_tokens == 3 and r.usage.completion_tokens == 1
    assert r.usage.cost_usd == 0.0  # a local model has no price: 0, not an error
    assert r.usage.latency_s > 0
    assert openai_server.requests[-1]["body"]["temperature"] == 0


def test_rate_limit_honours_retry_after_then_succeeds(openai_server: OpenAIServer) -> None:
    openai_server.add_rule(fault="rate_limit", retry_after=0.3, times=1)
    openai_server.add_rule(reply="ok")
    client = _client(openai_server)
    t0 = time.perf_counter()
    r = _call(client)
    assert r.text == "ok"
    assert time.perf_counter() - t0 >= 0.3  # waited as the server asked
    assert client.retries == 1 and openai_server.calls == 2


def test_retry_after_is_capped(openai_server: OpenAIServer) -> None:
    client = _client(openai_server)
    _call(client)  # litellm's one-off lazy set-up is not timed
    openai_server.add_rule(fault="rate_limit", retry_after=3600, times=1)
    openai_server.add_rule(reply="ok")
    t0 = time.perf_counter()
    assert _call(client).text == "ok"
    assert time.perf_counter() - t0 < 2.0  # capped at 0.5 s, not an hour


@pytest.mark.parametrize(
    ("fault", "kind", "calls"),
    [
        ("server_error", "server", 3),  # retried: 1 + 2 retries
        ("rate_limit", "rate_limit", 3),
        ("drop", "connection", 3),
        ("malformed", "malformed", 1),  # not retried: the same server would send it again
        ("no_choices", "malformed", 1),
        ("bad_request", "bad_request", 1),
    ],
)
def test_failures_become_provider_errors(openai_server: OpenAIServer, fault: str, kind: str, calls: int) -> None:
    openai_server.add_rule(fault=fault, retry_after=0.01)
    with pytest.raises(ProviderError) as info:
        _call(_client(openai_server))
    assert info.value.kind == kind
    assert openai_server.calls == calls
    assert info.value.hint  # every kind says what to do


def test_hang_times_out_quickly(openai_server: OpenAIServer) -> None:
    openai_server.add_rule(pattern="warm-up", reply="ok")
    openai_server.add_rule(fault="hang")
    client = _client(openai_server, timeout_s=0.3, retry=RetryPolicy(max_retries=1, base_s=0.01))
    _call(client, [{"role": "user", "content": "warm-up"}])  # litellm's one-off lazy set-up is not timed
    t0 = time.perf_counter()
    with pytest.raises(ProviderError) as info:
        _call(client)
    assert info.value.kind == "timeout"
    assert "0.3" in str(info.value)
    assert time.perf_counter() - t0 < 6.0  # 2 attempts x 0.3 s + backoff (slack for a busy machine), never 2 x 10 s


def test_recovers_after_transient_500s(openai_server: OpenAIServer) -> None:
    openai_server.add_rule(fault="server_error", times=2)
    openai_server.add_rule(reply="fine")
    client = _client(openai_server)
    assert _call(client).text == "fine"
    assert client.retries == 2


def test_api_key_never_appears_in_errors(openai_server: OpenAIServer) -> None:
    openai_server.add_rule(fault="bad_request")
    secret = "sk-live-THIS-IS-SECRET-123456"
    client = ModelClient(api_base=openai_server.base_url, api_key=secret, retry=FAST, timeout_s=2)
    with pytest.raises(ProviderError) as info:
        asyncio.run(client.complete("openai/scripted", MESSAGES, {}))
    assert secret not in str(info.value) and secret not in info.value.hint
    # the server saw an Authorization header, but its log keeps header names only
    assert "authorization" in openai_server.requests[-1]["header_names"]
    assert secret not in repr(openai_server.requests)


def test_concurrency_is_bounded(openai_server: OpenAIServer) -> None:
    openai_server.latency_s = 0.1
    client = _client(openai_server, concurrency=4)

    async def many() -> list[ModelResponse]:
        return await asyncio.gather(*(client.complete("openai/scripted", MESSAGES, {}) for _ in range(8)))

    t0 = time.perf_counter()
    out = asyncio.run(many())
    elapsed = time.perf_counter() - t0
    assert len(out) == 8
    assert elapsed >= 0.2  # 8 calls / 4 at a time x 0.1 s: at least two rounds


@settings(max_examples=50, deadline=None)
@given(attempt=st.integers(0, 12), seed=st.integers(0, 2**32 - 1),
       retry_after=st.none() | st.floats(0, 10_000, allow_nan=False))
def test_backoff_is_full_jitter_within_bounds(attempt: int, seed: int, retry_after: float | None) -> None:
    policy = RetryPolicy(base_s=0.5, max_backoff_s=20.0, retry_after_cap_s=30.0)
    wait = policy.backoff(attempt, retry_after, random.Random(seed))
    if retry_after is not None:
        assert wait == min(retry_after, 30.0)
    else:
        assert 0.0 <= wait <= min(20.0, 0.5 * 2**attempt)


def test_classify_plain_exceptions() -> None:
    assert classify(asyncio.TimeoutError())[0] == "timeout"
    assert classify(RuntimeError("boom"))[0] == "provider"


def test_rule_table_and_echo() -> None:
    with OpenAIServer([Rule(pattern=r"capital of (\w+)", reply=r"The capital of \1 is unknown.")]) as server:
        client = _client(server)
        assert _call(client, [{"role": "user", "content": "capital of Peru?"}]).text == "The capital of Peru is unknown."
        assert _call(client, [{"role": "user", "content": "just echo me"}]).text == "just echo me"
    assert not server.running


def test_unpriced_models_are_priced_zero_once_known_ones_keep_their_price(openai_server: OpenAIServer,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A model litellm has no price for is registered at 0 (litellm then skips its slow
    search for a price on every call); litellm's known prices are left alone."""
    from promptkit.runner.client import _PRICE_CHECKED, _ensure_litellm

    litellm = _ensure_litellm()
    openai_server.add_rule(reply="pong")
    _PRICE_CHECKED.discard("openai/unpriced-local-model")
    r = asyncio.run(_client(openai_server, transport="litellm").complete("openai/unpriced-local-model", MESSAGES, {}))
    assert r.usage.cost_usd == 0.0 and "openai/unpriced-local-model" in _PRICE_CHECKED
    assert litellm.get_model_info("openai/unpriced-local-model")["input_cost_per_token"] == 0.0
    known = litellm.get_model_info("openai/gpt-4o-mini")["input_cost_per_token"]
    asyncio.run(_client(openai_server, transport="litellm").complete("openai/gpt-4o-mini", MESSAGES, {}))
    assert litellm.get_model_info("openai/gpt-4o-mini")["input_cost_per_token"] == known > 0
    assert "WARNING" not in capsys.readouterr().err  # registering says nothing to the user
