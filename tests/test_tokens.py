"""Token counting: offline, per message, provider prefixes, fallbacks, context windows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.template import RenderedMessage
from promptkit.tokens import (
    FALLBACK_ENCODING,
    REPLY_PRIMING_TOKENS,
    TOKENS_PER_MESSAGE,
    bundled_tiktoken_cache,
    context_window,
    count_tokens,
    encoding_for,
    normalize_model,
)

needs_bundle = pytest.mark.skipif(bundled_tiktoken_cache() is None, reason="litellm's bundled tiktoken files are not installed")

_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys

    class _NoNetwork(socket.socket):
        def __init__(self, *a, **k):
            raise OSError("network disabled for this test")

    socket.socket = _NoNetwork
    socket.create_connection = lambda *a, **k: (_ for _ in ()).throw(OSError("network disabled"))
    from promptkit.tokens import count_tokens
    out = {}
    for model in ["gpt-4o", "openai/gpt-4o-mini", "gpt-4", "gpt-3.5-turbo", "azure/gpt-35-turbo", "claude-3-haiku", None]:
        c = count_tokens([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hello there!"}], model)
        out[str(model)] = [c.encoding, c.total, c.notice]
    out["litellm_imported"] = "litellm" in sys.modules
    print(json.dumps(out))
    """
)


@needs_bundle
def test_counts_with_network_unavailable_and_no_cache_dir() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR")}
    proc = subprocess.run([sys.executable, "-c", _OFFLINE_SCRIPT], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out.pop("litellm_imported") is False
    enc, _ = encoding_for("gpt-4o")
    by_hand = sum(3 + len(enc.encode(r)) + len(enc.encode(t)) for r, t in [("system", "You are terse."), ("user", "Hello there!")]) + 3
    assert out["gpt-4o"][:2] == ["o200k_base", by_hand]
    assert out["openai/gpt-4o-mini"][0] == "o200k_base"
    assert out["gpt-4"][0] == "cl100k_base"
    assert out["azure/gpt-35-turbo"][0] == "cl100k_base"
    assert out["claude-3-haiku"][0] == FALLBACK_ENCODING and "approximate" in out["claude-3-haiku"][2]
    assert all(v[2] is None for k, v in out.items() if k != "claude-3-haiku")


@needs_bundle
def test_user_cache_dir_is_respected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = "import os; from promptkit.tokens import count_tokens; c = count_tokens('hi', 'gpt-4o'); print(os.environ['TIKTOKEN_CACHE_DIR'])"
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(bundled_tiktoken_cache())}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.stdout.strip() == str(bundled_tiktoken_cache())
    env["TIKTOKEN_CACHE_DIR"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.stdout.strip() == str(tmp_path)


@needs_bundle
def test_chat_overhead_matches_openai_recipe() -> None:
    # OpenAI cookbook example for gpt-4o style models: 3 per message + role + content, +3 priming.
    enc, notice = encoding_for("gpt-4o")
    assert notice is None
    msgs = [RenderedMessage(role="system", content="You are a helpful assistant."), RenderedMessage(role="user", content="Hi")]
    c = count_tokens(msgs, "gpt-4o")
    expected = [TOKENS_PER_MESSAGE + len(enc.encode(m.role)) + len(enc.encode(m.content)) for m in msgs]
    assert [m.tokens for m in c.messages] == expected
    assert c.total == sum(expected) + REPLY_PRIMING_TOKENS
    assert [m.role for m in c.messages] == ["system", "user"]
    assert c.messages[0].content_tokens == len(enc.encode("You are a helpful assistant."))
    named = count_tokens([{"role": "user", "name": "bob", "content": "Hi"}], "gpt-4o")
    assert named.messages[0].tokens == expected[1] + len(enc.encode("bob")) + 1


@needs_bundle
def test_plain_string_has_no_chat_overhead() -> None:
    enc, _ = encoding_for("gpt-4o")
    c = count_tokens("The quick brown fox", "gpt-4o")
    assert c.total == len(enc.encode("The quick brown fox")) and not c.chat and c.messages == ()
    # special-token text is counted as text, never rejected
    assert count_tokens("<|endoftext|>", "gpt-4o").total > 1


def test_provider_prefixes_are_stripped() -> None:
    assert normalize_model("openai/gpt-4o") == "gpt-4o"
    assert normalize_model("openrouter/openai/gpt-4o-mini ") == "gpt-4o-mini"
    assert normalize_model("gpt-4o") == "gpt-4o"


@needs_bundle
def test_unknown_model_falls_back_with_notice() -> None:
    c = count_tokens("hello", "ollama/llama3.1:8b")
    assert c.encoding == FALLBACK_ENCODING and not c.exact
    assert "llama3.1" in (c.notice or "") and "approximate" in (c.notice or "")
    assert count_tokens("hello").notice is None  # no model: the default, not a guess


def test_context_window_from_litellm_table() -> None:
    if bundled_tiktoken_cache() is None:
        pytest.skip("litellm is not installed")
    assert context_window("gpt-4o") == 128000
    assert context_window("openai/gpt-4o") == 128000
    assert context_window("definitely-not-a-model") is None
    assert context_window(None) is None


@needs_bundle
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["system", "user", "assistant"]), st.text(max_size=200)), max_size=6))
def test_total_is_sum_of_messages_plus_priming(msgs: list[tuple[str, str]]) -> None:
    c = count_tokens([{"role": r, "content": t} for r, t in msgs], "gpt-4o-mini")
    assert len(c.messages) == len(msgs)
    assert c.total == sum(m.tokens for m in c.messages) + (REPLY_PRIMING_TOKENS if msgs else 0)
    for m in c.messages:
        assert m.tokens >= m.content_tokens + TOKENS_PER_MESSAGE
    assert json.loads(json.dumps(c.to_dict()))["total"] == c.total


@needs_bundle
def test_counts_a_template_and_its_source_messages() -> None:
    from pathlib import Path

    from promptkit.template import load

    t = load(Path(__file__).resolve().parents[1] / "templates" / "summarize.prompty")
    c = count_tokens(t, "gpt-4o")
    assert [m.role for m in c.messages] == ["system", "user"]
    assert c.total == count_tokens([{"role": m.role, "content": m.content} for m in t.messages], "gpt-4o").total
    assert count_tokens({"role": "user", "content": [{"type": "text", "text": "hi"}]}, "gpt-4o").messages[0].content_tokens == 1
