"""How one call attempt reaches a model, apart from the policy around it.

:class:`~promptkit.runner.client.ModelClient` owns the policy: retries with full jitter,
``Retry-After``, the concurrency bound, classifying failures into
:class:`~promptkit.runner.results.ProviderError` kinds and building the
:class:`~promptkit.runner.results.ModelResponse`. A :class:`Transport` sends *one*
attempt and returns a :class:`Reply`, or raises what the provider said.

Two transports:

* :class:`~promptkit.runner.transports.litellm_sdk.LitellmTransport` -- every provider,
  through ``litellm.acompletion`` (the provider layer of promptkit);
* :class:`~promptkit.runner.transports.openai_http.OpenAIHTTPTransport` -- a fast path for
  an OpenAI-compatible server at an explicit ``api_base`` (a local or self-hosted model):
  the same request on the wire, the same reply, cost and errors as litellm gives, without
  importing litellm (seconds) or paying its per-call CPU (milliseconds). Chosen by
  :func:`fast_path_applies` only for calls whose every part it reproduces; anything else
  goes through litellm, and ``PROMPTKIT_TRANSPORT=litellm`` (or ``transport = "litellm"``
  in ``[tool.promptkit.test]``) turns the fast path off.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from promptkit.runner.pricing import NOT_SIMPLE, price_for

__all__ = ["ALLOWED_PARAMS", "TRANSPORTS", "Reply", "Transport", "fast_path_applies", "transport_setting"]

#: Request parameters the fast path sends itself: litellm puts each of them on the wire
#: unchanged for an OpenAI-compatible chat model (tests/runner/test_transports.py checks
#: the request bodies of both transports are equal). Anything else goes through litellm.
ALLOWED_PARAMS = frozenset({
    "temperature", "top_p", "max_tokens", "seed", "stop", "n", "presence_penalty", "frequency_penalty",
    "response_format", "tools", "tool_choice",
})
#: What the policy adds to a call's parameters (credentials: header only, never the body).
_CREDENTIALS = frozenset({"api_base", "api_key"})
#: Message fields a plain-text chat message may carry on the fast path.
_MESSAGE_KEYS = frozenset({"role", "content", "name"})
#: Values of ``PROMPTKIT_TRANSPORT`` / ``transport =``: "auto" uses the fast path where it applies.
TRANSPORTS = ("auto", "litellm")


@dataclass(frozen=True)
class Reply:
    """One attempt's answer as the policy needs it (litellm's reply, reduced).

    ``text`` is None when the reply carried no content; ``has_choices`` is False for a
    reply without choices (both are malformed unless there are tool calls).
    ``tool_calls`` has the shape of litellm's ``ChatCompletionMessageToolCall.model_dump()``.
    """

    id: str | None
    text: str | None
    finish_reason: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    priced: bool = False
    tool_calls: list[dict[str, Any]] | None = None
    has_choices: bool = True


class Transport(Protocol):
    """Sends one attempt. ``params`` holds the call's parameters plus ``api_base`` and
    ``api_key``; ``timeout`` is seconds for this attempt. Raises the provider's failure
    (:func:`promptkit.runner.client.classify` maps it to a kind)."""

    name: str

    def prepare(self, model: str) -> None:
        """Once per call, before any attempt and outside its timeout (imports, set-up)."""

    async def send(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
                   timeout: float) -> Reply: ...

    async def aclose(self) -> None:
        """Close what the transport holds on the running loop (connection pools)."""


def transport_setting(configured: str | None = None) -> str:
    """``PROMPTKIT_TRANSPORT`` if set, else the configured value, else "auto"."""
    value = (os.environ.get("PROMPTKIT_TRANSPORT") or configured or "auto").strip().lower()
    if value not in TRANSPORTS:
        raise ValueError(f"unknown transport {value!r}: use one of {', '.join(TRANSPORTS)}")
    return value


def _litellm_hooks() -> bool:
    """Whether the process configured litellm callbacks (logging, tracing): those calls
    must go through litellm so the callbacks see them."""
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return False
    names = ("callbacks", "success_callback", "failure_callback", "input_callback", "_async_success_callback",
             "_async_failure_callback", "_async_input_callback", "service_callback")
    return any(getattr(litellm, n, None) for n in names)


def _plain_messages(messages: Sequence[Mapping[str, Any]]) -> bool:
    for m in messages:
        if not isinstance(m, Mapping) or not set(m) <= _MESSAGE_KEYS or not isinstance(m.get("role"), str):
            return False
        if not isinstance(m.get("content"), str) or ("name" in m and not isinstance(m["name"], str)):
            return False
    return True


def fast_path_applies(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> bool:
    """Whether a call can take the OpenAI-compatible fast path with a reply, cost and
    errors identical to litellm's: an ``openai/<name>`` model at an explicit http(s)
    ``api_base``, plain-text messages, only :data:`ALLOWED_PARAMS`, a price litellm
    computes simply (:func:`promptkit.runner.pricing.price_for`), no litellm callbacks."""
    if not model.startswith("openai/") or not set(params) <= ALLOWED_PARAMS | _CREDENTIALS:
        return False
    base = params.get("api_base")
    if not isinstance(base, str) or not base.startswith(("http://", "https://")) or not isinstance(params.get("api_key"), str):
        return False
    if not _plain_messages(messages) or _litellm_hooks():
        return False
    return price_for(model) is not NOT_SIMPLE
