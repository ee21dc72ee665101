"""The model client: the call policy (bounded concurrency, timeouts, retries, failure
classification, the response) around a transport that sends one attempt.

Why our own retry loop instead of litellm's/openai's: retries at several layers multiply
each other (promptfoo's maintainers warn about exactly this), and we need to classify
every failure into an :class:`~promptkit.runner.results.ProviderError` kind so the run
reports ERROR (never FAIL) with a reason. So the SDK's retries are switched off
(``max_retries=0``) and this module retries 429, 5xx, timeouts and dropped connections
with exponential backoff and *full jitter* (sleep uniform(0, min(cap, base * 2**n))),
honouring a server's ``Retry-After`` (capped, so a hostile header cannot stall a run).

The transport (:mod:`promptkit.runner.transports`) is litellm for every provider, or for
an ``openai/<name>`` model at an explicit ``api_base`` with plain parameters the
OpenAI-compatible fast path, which gives the same replies, costs and failures without
importing litellm. litellm is imported on its first call only (importing it costs
seconds and tries the network unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is set, which we
do first).

Secrets: the client receives ``api_key``/``api_base`` in ``params`` and passes them to
the transport (the fast path puts the key in the ``Authorization`` header only), but
nothing it returns (``ModelResponse.raw``, error messages) contains them:
``raw`` keeps only the reply's id, model and choice-level extras (tool calls).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptkit.runner.results import ModelResponse, ProviderError, Usage
from promptkit.runner.transports import Reply, Transport, fast_path_applies, transport_setting
from promptkit.runner.transports.litellm_sdk import PRICE_CHECKED, UNPRICED, LitellmTransport, ensure_litellm

#: Parameters that never go into a recording, a key or a report.
SECRET_PARAMS = frozenset({
    "api_key", "api_base", "base_url", "api_version", "organization", "headers", "extra_headers",
    "azure_ad_token", "azure_ad_token_provider", "aws_access_key_id", "aws_secret_access_key",
    "aws_session_token", "vertex_credentials", "client_secret", "token",
})
#: Parameters that change how we call, not what the model answers: kept out of recording keys.
TRANSPORT_PARAMS = frozenset({"timeout", "max_retries", "num_retries", "stream", "metadata", "caching", "mock_response"})

_RETRYABLE = frozenset({"rate_limit", "server", "timeout", "connection"})


@dataclass
class RetryPolicy:
    """How often and how long to retry. ``retry_after_cap_s`` bounds a server's Retry-After."""

    max_retries: int = 3
    base_s: float = 0.5
    max_backoff_s: float = 20.0
    retry_after_cap_s: float = 30.0

    def backoff(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.retry_after_cap_s)
        ceiling = min(self.max_backoff_s, self.base_s * (2**attempt))
        return (rng or random).uniform(0.0, ceiling)


# litellm's transport lives in promptkit.runner.transports.litellm_sdk; these names stay
# importable from here (benchmarks and tests reach for them).
_ensure_litellm = ensure_litellm
_PRICE_CHECKED = PRICE_CHECKED
_UNPRICED = UNPRICED


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 10:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def _retry_after(exc: BaseException) -> float | None:
    for attr in ("litellm_response_headers", "headers"):
        headers = getattr(exc, attr, None)
        if headers:
            value = headers.get("retry-after") or headers.get("Retry-After")
            if value is not None:
                try:
                    return max(0.0, float(value))
                except ValueError:
                    return None  # HTTP-date form: fall back to our own backoff
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers:
        value = headers.get("retry-after")
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


#: How SDKs say that no API key was given. litellm reports a missing OpenAI key as an
#: ``InternalServerError`` (a 500), which would otherwise be retried as a server failure.
_MISSING_KEY = re.compile(r"missing credentials|api[_ ]key (client option )?must be set|no api[_ ]key|"
                          r"api[_ ]key (is )?(not set|missing|required)|set the `?[A-Z0-9_]*API_KEY", re.IGNORECASE)
_ENV_KEY = re.compile(r"\b([A-Z][A-Z0-9_]*_API_KEY)\b")
#: litellm's wording for a model id without a provider prefix it knows.
_NO_PROVIDER = "LLM Provider NOT provided"
#: Exception class names litellm/openai repeat at the front of their messages.
_NOISE = re.compile(r"^(litellm\.)?\w+(Error|Exception)(: | - )|^\w+Exception - ")


def classify(exc: BaseException) -> tuple[str, int | None]:
    """Map an exception from litellm/openai/httpx (or the fast path's litellm-shaped
    :class:`~promptkit.runner.transports.openai_http.CompatError`) to ``(kind, http status)``."""
    chain = _chain(exc)
    # the fast path's CompatError names the classes litellm's exception chain would hold
    names = {type(e).__name__ for e in chain} | set(getattr(exc, "litellm_names", ()))
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    if any(_MISSING_KEY.search(str(e)) for e in chain):
        return "auth", status
    if any(isinstance(e, (json.JSONDecodeError,)) for e in chain) or "JSONDecodeError" in names:
        return "malformed", status
    if isinstance(exc, asyncio.TimeoutError) or names & {"Timeout", "APITimeoutError", "ReadTimeout", "ConnectTimeout", "TimeoutException"}:
        return "timeout", status
    if names & {"APIConnectionError", "ConnectError", "RemoteProtocolError", "ReadError", "ConnectionError"} or "Connection error" in str(exc):
        return "connection", status
    if status == 429 or "RateLimitError" in names:
        return "rate_limit", status
    if status in (401, 403) or "AuthenticationError" in names or "PermissionDeniedError" in names:
        return "auth", status
    if status is not None and status >= 500:
        return "server", status
    if status is not None and 400 <= status < 500:
        return "bad_request", status
    return "provider", status


def _redact(text: str, params: Mapping[str, Any]) -> str:
    """Remove secret values from an error message: the call's own credentials (api keys,
    bases with credentials, header values) and every secret the environment holds."""
    from promptkit.redact import redact

    extra: list[object] = [params.get(key) for key in SECRET_PARAMS]
    for key in ("headers", "extra_headers"):
        if isinstance(params.get(key), Mapping):
            extra.extend(params[key].values())
    return redact(text, extra)


def _first_line(exc: BaseException) -> str:
    """The message's first line without the class names SDKs stack in front of it
    (``litellm.InternalServerError: InternalServerError: OpenAIException - ...``)."""
    name = getattr(exc, "litellm_class", None) or type(exc).__name__  # the fast path's CompatError says litellm's
    text = str(exc).strip().splitlines()
    if not text:
        return name
    line = text[0]
    for _ in range(4):
        cleaned = _NOISE.sub("", line, count=1)
        if cleaned == line:
            break
        line = cleaned
    return line.strip()[:300] or name


class ModelClient:
    """Calls models: the retry/concurrency/classification policy around a transport
    (:mod:`promptkit.runner.transports`): litellm, or for an OpenAI-compatible server at
    an explicit ``api_base`` the fast path that answers identically.

    ``concurrency`` bounds calls in flight across everything sharing this client (one
    client per run). ``timeout_s`` is per attempt. ``api_base``/``api_key`` override what
    the case's params say (the test server fixture uses this). ``transport``: "auto"
    (default: the fast path where it applies) or "litellm" (always litellm);
    ``PROMPTKIT_TRANSPORT`` wins over it.
    """

    def __init__(
        self,
        *,
        concurrency: int = 8,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        api_base: str | None = None,
        api_key: str | None = None,
        seed: int | None = None,
        transport: str | None = None,
    ) -> None:
        from promptkit.runner.transports.openai_http import OpenAIHTTPTransport

        self.concurrency = max(1, int(concurrency))
        self.transport = transport_setting(transport)
        self._litellm: Transport = LitellmTransport()
        self._fast: Transport = OpenAIHTTPTransport(self.concurrency)
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.api_base = api_base
        if api_key:
            from promptkit.redact import register

            register(api_key)
        self.api_key = api_key
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._rng = random.Random(seed)
        #: Calls sent (attempts, retries included) and retries made, for reports/benchmarks.
        self.attempts = 0
        self.retries = 0
        #: Attempts per transport name ("litellm", "openai-http"), for benchmarks and tests.
        self.sent: dict[str, int] = {}

    async def aclose(self) -> None:
        """Close the running loop's connection pools (``Runner.close`` calls it)."""
        for transport in (self._fast, self._litellm):
            await transport.aclose()

    def transport_for(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> Transport:
        """The transport a call goes through (``params`` with credentials merged)."""
        if self.transport == "auto" and fast_path_applies(model, messages, params):
            return self._fast
        return self._litellm

    def _sem(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore = asyncio.Semaphore(self.concurrency)
            self._loop = loop
        return self._semaphore

    async def complete(
        self,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
    ) -> ModelResponse:
        """One chat completion, retried as the policy says. Raises :class:`ProviderError`."""
        params = dict(params or {})
        if self.api_base:
            params["api_base"] = self.api_base
        if self.api_key:
            params["api_key"] = self.api_key
        if params.get("api_base") and not params.get("api_key") and model.startswith("openai/"):
            params["api_key"] = "promptkit-local"  # local OpenAI-compatible servers need some key
        timeout = float(timeout_s or params.pop("timeout", None) or self.timeout_s)
        for k in ("max_retries", "num_retries", "stream"):
            params.pop(k, None)
        transport = self.transport_for(model, messages, params)
        transport.prepare(model)  # litellm's import (seconds) is not part of an attempt's timeout
        last: ProviderError | None = None
        for attempt in range(self.retry.max_retries + 1):
            async with self._sem():
                self.attempts += 1
                self.sent[transport.name] = self.sent.get(transport.name, 0) + 1
                started = time.perf_counter()
                try:
                    reply = await asyncio.wait_for(
                        transport.send(model, messages, params, timeout),
                        timeout=timeout + 1.0,  # backstop if the SDK ignores its timeout
                    )
                    latency = time.perf_counter() - started
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - every provider failure becomes a ProviderError
                    kind, status = classify(exc)
                    msg = _redact(_first_line(exc), params)
                    if kind == "timeout":
                        msg = f"timed out after {timeout:g} s"
                    last = ProviderError(f"{model}: {kind.replace('_', ' ')}: {msg}", kind=kind, status=status,
                                         hint=_hint(kind, msg, local=bool(self.api_base)))
                    wait = self.retry.backoff(attempt, _retry_after(exc) if kind == "rate_limit" else None, self._rng)
                    retryable = kind in _RETRYABLE
            if last is not None and retryable:
                if attempt < self.retry.max_retries:
                    self.retries += 1
                    await asyncio.sleep(wait)  # outside the semaphore: a waiting retry frees its slot
                    last = None
                    continue
                raise ProviderError(f"{last} (after {attempt + 1} attempts)", kind=last.kind, status=last.status,
                                    hint=last.hint)
            if last is not None:
                raise last
            return self._response(reply, model, latency)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _response(reply: Reply, model: str, latency: float) -> ModelResponse:
        if not reply.has_choices:
            raise ProviderError(f"{model}: malformed: the reply has no choices", kind="malformed", hint=_hint("malformed"))
        if reply.text is None and not reply.tool_calls:
            raise ProviderError(f"{model}: malformed: the reply has no content", kind="malformed", hint=_hint("malformed"))
        extra: dict[str, Any] = {"id": reply.id, "priced": reply.priced}
        if reply.tool_calls:
            extra["tool_calls"] = reply.tool_calls
        return ModelResponse(
            text=reply.text or "",
            model=model,
            usage=Usage(
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                cost_usd=reply.cost_usd,
                latency_s=latency,
            ),
            finish_reason=reply.finish_reason,
            raw={k: v for k, v in extra.items() if v is not None},
        )


def _hint(kind: str, message: str = "", *, local: bool = False) -> str:
    """What the user can do about a failure of ``kind`` (``message`` and whether calls go
    to an ``--api-base`` server sharpen it)."""
    if kind == "auth":
        env = _ENV_KEY.search(message)
        if env:
            return f"set {env.group(1)} in the environment (never in the test file), or run offline with --mode replay"
    if kind == "bad_request" and _NO_PROVIDER in message:
        return ("litellm model ids start with their provider: openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, "
                "ollama/llama3 (see https://docs.litellm.ai/docs/providers)")
    if kind == "connection" and local:
        return "nothing answered at --api-base: is the server running on that host and port?"
    return {
        "rate_limit": "the provider kept rate-limiting; lower --promptkit-concurrency or retry later",
        "server": "the provider kept failing (5xx); retry later or use recordings (--promptkit-mode replay)",
        "timeout": "raise the case's timeout_s or check the provider; a hung call never blocks other cases",
        "connection": "check the network/api_base; recordings run offline with --promptkit-mode replay",
        "malformed": "the provider returned an unparseable reply; retry, or check api_base points at a chat-completions API",
        "auth": "set the provider's API key in the environment (never in the test file)",
        "bad_request": "the provider rejected the request: check the model id and parameters",
    }.get(kind, "")
