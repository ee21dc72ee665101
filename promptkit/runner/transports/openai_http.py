"""The OpenAI-compatible fast path: one attempt as an HTTP POST with aiohttp.

Why: for a local or self-hosted OpenAI-compatible server, litellm's import (2.4-3.8 s
here) and its 3-15 ms of CPU per call dominate a run of a thousand cases at 50 ms a
call; the call itself is one JSON POST. This transport sends the same request litellm
sends (``{api_base}/chat/completions``, the model name without ``openai/``, the messages
and parameters as given, the key in the ``Authorization`` header only) and turns the
answer into what litellm would have given: the same text, finish reason (litellm's
mapping of non-OpenAI values), usage, tool calls in ``model_dump()`` shape, cost
(:mod:`promptkit.runner.pricing`), and for a failure an exception with litellm's message,
status code and class names, so :func:`promptkit.runner.client.classify` and the retry
policy treat it exactly as litellm's (tests/runner/test_transports.py runs both
transports against the same scripted server and compares everything).

It is used only where :func:`promptkit.runner.transports.fast_path_applies` says so.
One ``aiohttp.ClientSession`` per event loop, its pool sized to the concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final

from promptkit.runner.pricing import price_for, simple_usage
from promptkit.runner.transports import Reply

__all__ = ["CompatError", "OpenAIHTTPTransport"]

_PROVIDER: Final = "OpenAIException"


class CompatError(Exception):
    """A failed attempt, said as litellm says it: ``str()`` is litellm's message,
    ``status_code`` its status, ``litellm_names`` the exception classes litellm's chain
    would hold (``classify`` reads them), ``headers`` the reply's (``Retry-After``)."""

    def __init__(self, message: str, *, status_code: int | None, names: Sequence[str],
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.litellm_names = frozenset(names)
        #: The class litellm would have raised (messages name it where the text is empty).
        self.litellm_class = names[0]
        self.headers = headers


def _failure(cls: str, prefix: str | None, message: object, status: int, *extra: str,
             headers: Mapping[str, str] | None = None) -> CompatError:
    """litellm's ``litellm.<cls>: [<prefix>: ]OpenAIException - <message>``."""
    head = f"{prefix}: " if prefix else ""
    return CompatError(f"litellm.{cls}: {head}{_PROVIDER} - {message}", status_code=status,
                       names=(cls, "OpenAIError", *extra), headers=headers)


#: The openai SDK's exception class for a status (part of litellm's chain).
_SDK_CLASS: Final = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError",
                     404: "NotFoundError", 409: "ConflictError", 422: "UnprocessableEntityError",
                     429: "RateLimitError"}
#: litellm's class, message prefix and status per upstream status (its openai mapping).
_BY_STATUS: Final = {400: ("BadRequestError", None, 400), 401: ("AuthenticationError", "AuthenticationError", 401),
                     404: ("NotFoundError", "NotFoundError", 404), 408: ("Timeout", "Timeout Error", 408),
                     422: ("BadRequestError", None, 422), 429: ("RateLimitError", "RateLimitError", 429),
                     500: ("InternalServerError", "InternalServerError", 500),
                     502: ("BadGatewayError", "BadGatewayError", 502),
                     503: ("ServiceUnavailableError", "ServiceUnavailableError", 503),
                     504: ("Timeout", "Timeout Error", 504)}
#: litellm's classes that hand the upstream reply to the SDK's constructor, which then sets
#: the upstream status over the class's own (a context-window error from a 401 is a 401).
_KEEPS_UPSTREAM_STATUS: Final = frozenset({"BadRequestError", "ContextWindowExceededError",
                                           "ContentPolicyViolationError", "AuthenticationError", "NotFoundError"})
_CONTEXT_WINDOW: Final = (
    "exceed context limit", "this model's maximum context length is",
    "requested token count exceeds the model's maximum context length",
    "string too long. expected a string with maximum length", "model's maximum context limit",
    "is longer than the model's context length", "input tokens exceed the configured limit",
    "`inputs` tokens + `max_new_tokens` must be", "exceeds the available context size",
    "exceeds the maximum number of tokens allowed", '"code": "context_length_exceeded"', "prompt is too long",
)
_TIMEOUT_WORDS: Final = ("Request Timeout Error", "Request timed out", "Timed out generating response",
                         "The read operation timed out")


def _rate_limit_words(error: str, status: int) -> bool:
    if re.search(r"\b429\b", error) and status == 429:
        return True
    lower = error.lower()
    return bool(re.search(r"rate[\s_\-]*limit", lower)) or "service tier capacity exceeded" in lower


def _context_window_words(error: str) -> bool:
    lower = error.lower()
    if "string_above_max_length" in lower or ("invalid 'user'" in lower and "string too long" in lower):
        return False
    if any(s in lower for s in _CONTEXT_WINDOW):
        return True
    return "current length is" in lower and "while limit is" in lower


def status_failure(status: int, text: str, headers: Mapping[str, str] | None = None) -> CompatError:
    """What litellm raises for an OpenAI-compatible server's non-2xx reply.

    The openai SDK makes the message ``Error code: N[ - <error.message>]`` and keeps the
    JSON error object as the body; litellm then takes the body's message when it has one
    and picks its exception class from phrases in the message, else from the status.
    """
    err = f"Error code: {status}"
    body: Any = text.strip()
    try:
        body = json.loads(body)
    except ValueError:
        pass
    else:
        error = body.get("error", body) if isinstance(body, dict) else None
        msg = error.get("message") if isinstance(error, dict) else None
        if isinstance(msg, str) and msg:
            err += f" - {msg}"
    data = body.get("error", body) if isinstance(body, dict) else body
    message: object = err
    if isinstance(data, dict):
        if data.get("message"):
            message = data["message"]
        elif isinstance(data.get("error"), dict) and data["error"].get("message") is not None:
            message = data["error"]["message"]
    if isinstance(message, str):
        message = message.replace("openai.OpenAIError", "openai.openaiError")
    sdk = _SDK_CLASS.get(status) or ("InternalServerError" if status >= 500 else "APIStatusError")
    extra = (sdk, "HTTPStatusError")

    def fail(cls: str, prefix: str | None, code: int) -> CompatError:
        if cls in _KEEPS_UPSTREAM_STATUS:
            code = status
        return _failure(cls, prefix, message, code, *extra, headers=headers)

    if any(w in err for w in _TIMEOUT_WORDS):
        return CompatError(f"litellm.Timeout: APITimeoutError - Request timed out. Error_str: {err}",
                           status_code=408, names=("Timeout", "OpenAIError", *extra), headers=headers)
    if isinstance(data, dict) and data.get("code") == "cyber_policy":
        return CompatError(f"litellm.ContentPolicyViolationError: ContentPolicyViolationError: {_PROVIDER} - {err}",
                           status_code=status, names=("ContentPolicyViolationError", "OpenAIError", *extra), headers=headers)
    if _rate_limit_words(err, status) or "Request too large" in err:
        return fail("RateLimitError", "RateLimitError", 429)
    if _context_window_words(err):
        return fail("ContextWindowExceededError", "ContextWindowExceededError", 400)
    if "invalid_request_error" in err and "model_not_found" in err:
        return fail("NotFoundError", None, 404)
    if "A timeout occurred" in err:
        return fail("Timeout", None, 408)
    if (("invalid_request_error" in err and "content_policy_violation" in err)
            or ("Invalid prompt" in err and "violating our usage policy" in err)
            or "request was rejected as a result of the safety system" in err.lower()):
        return fail("ContentPolicyViolationError", "ContentPolicyViolationError", 400)
    if "invalid_encrypted_content" in err or "could not be verified" in err:
        return fail("BadRequestError", None, 400)
    if "invalid_request_error" in err and "Incorrect API key provided" not in err:
        return fail(*{401: ("AuthenticationError", None, 401), 404: ("NotFoundError", None, 404)}.get(
            status, ("BadRequestError", None, 400)))
    if "Web server is returning an unknown error" in err or "The server had an error processing your request." in err:
        return fail("InternalServerError", None, 500)
    if ("The api_key client option must be set either by passing api_key to the client or by setting the "
            "OPENAI_API_KEY environment variable") in err:
        return fail("AuthenticationError", "AuthenticationError", 401)
    if "Mistral API raised a streaming error" in err:
        return fail("APIError", None, 500)
    cls, prefix, code = _BY_STATUS.get(status, ("APIError", "APIError", status))
    return fail(cls, prefix, code)


def _timeout() -> CompatError:
    # the policy replaces a timeout's message with its own ("timed out after N s")
    return CompatError(f"litellm.Timeout: APITimeoutError - Request timed out. {_PROVIDER}", status_code=408,
                       names=("Timeout", "OpenAIError", "APITimeoutError"))


def _connection_error() -> CompatError:
    return CompatError(f"litellm.APIConnectionError: APIConnectionError: {_PROVIDER} - Connection error.",
                       status_code=500, names=("APIConnectionError", "OpenAIError"))


def _server_error(message: str, *extra: str) -> CompatError:
    return _failure("InternalServerError", "InternalServerError", message, 500, *extra)


#: litellm's mapping of finish reasons other providers use (``map_finish_reason``);
#: anything not listed becomes "stop".
_FINISH: Final = {
    "stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "function_call",
    "content_filter": "content_filter", "content_filtered": "content_filter",
    "stop_sequence": "stop", "end_turn": "stop", "max_tokens": "length", "tool_use": "tool_calls",
    "refusal": "content_filter", "compaction": "length", "pause_turn": "length",
    "model_context_window_exceeded": "length", "COMPLETE": "stop", "STOP_SEQUENCE": "stop",
    "TOOL_CALL": "tool_calls", "ERROR_TOXIC": "content_filter", "ERROR": "stop", "eos_token": "stop", "eos": "stop",
    "STOP": "stop", "MAX_TOKENS": "length", "CONTINUATION": "length", "SAFETY": "content_filter",
    "RECITATION": "content_filter", "FINISH_REASON_UNSPECIFIED": "stop", "MALFORMED_FUNCTION_CALL": "stop",
    "LANGUAGE": "content_filter", "OTHER": "content_filter", "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter", "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter", "TOO_MANY_TOOL_CALLS": "stop", "MALFORMED_RESPONSE": "stop",
    "NO_IMAGE": "content_filter", "IMAGE_RECITATION": "content_filter", "IMAGE_OTHER": "content_filter",
    "ESCALATION": "content_filter", "UNEXPECTED_TOOL_CALL": "stop", "MISSING_THOUGHT_SIGNATURE": "stop",
    "network_error": "stop", "sensitive": "content_filter", "guardrail_intervened": "content_filter", "error": "stop",
}


#: A leading reasoning block, as litellm's ``parse_content_for_reasoning`` finds it.
_THINKING: Final = re.compile(r"<(?:think|thinking|budget:thinking)>.*?</(?:think|thinking|budget:thinking)>(.*)", re.DOTALL)


def _tool_call(tc: Any) -> dict[str, Any]:
    """A tool call as litellm's ``ChatCompletionMessageToolCall.model_dump()`` has it:
    keys in name order, a missing id made up, ``arguments`` a JSON string."""
    tc = dict(tc) if isinstance(tc, Mapping) else {}
    fn = dict(tc.get("function") or {})
    args = fn.get("arguments")
    if not isinstance(args, str):
        fn["arguments"] = json.dumps(args) if args is not None else None
    tc["function"] = dict(sorted(fn.items()))
    tc["id"] = tc.get("id") or str(uuid.uuid4())
    tc["type"] = tc.get("type") or "function"
    return dict(sorted(tc.items()))


def parse_reply(model: str, data: Any) -> Reply:
    """litellm's reading of a chat-completion JSON reply (``data``, parsed)."""
    if not isinstance(data, dict):
        raise _server_error(f"Empty or invalid response from LLM endpoint. Received: {data!r}. "
                            "Check the reverse proxy or model server configuration.")
    reply_id = data.get("id") or f"chatcmpl-{uuid.uuid4()}"
    choices = data.get("choices")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    price = price_for(model)
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cost = price.cost(prompt, completion)
    if price.known and not simple_usage(data.get("usage")):
        cost = _litellm_cost(model, data)  # cached/reasoning tokens: litellm's own arithmetic
    if not isinstance(choices, list) or not choices:
        return Reply(id=reply_id, text=None, finish_reason=None, has_choices=False)
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content = message.get("content")
    if "reasoning_content" not in message and "reasoning" not in message and isinstance(content, str):
        thought = _THINKING.match(content)  # litellm moves a leading thinking block out of the text
        if thought:
            content = thought.group(1)
    calls = message.get("tool_calls")
    tool_calls = [_tool_call(tc) for tc in calls] if isinstance(calls, list) and calls else None
    finish = "tool_calls" if calls is not None else choice.get("finish_reason")
    return Reply(
        id=reply_id,
        text=content,
        finish_reason=_FINISH.get(finish, "stop") if isinstance(finish, str) else "stop",
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=cost,
        priced=price.known,
        tool_calls=tool_calls,
    )


def _litellm_cost(model: str, data: dict[str, Any]) -> float:
    """The cost of a priced model's reply that reports cached, reasoning or audio tokens,
    computed by litellm (imported for it: such replies are rare from local servers, and
    litellm's rules for them are many)."""
    from promptkit.runner.transports.litellm_sdk import ensure_litellm

    litellm = ensure_litellm()
    try:
        return float(litellm.completion_cost(completion_response=litellm.ModelResponse(**data), model=model) or 0.0)
    except Exception:  # noqa: BLE001 - as the litellm transport: an unpriceable reply costs 0
        return 0.0


async def _closed_with_the_loop(session: Any) -> AsyncIterator[None]:
    """Parked in its loop, this generator closes ``session`` when the loop shuts down:
    ``asyncio.run`` closes every live async generator of its loop before closing the loop,
    so a pool opened by ``asyncio.run(client.complete(...))`` is closed there, in its loop,
    instead of being reported as unclosed when collected."""
    try:
        yield
    finally:
        if not session.closed:
            await session.close()


class OpenAIHTTPTransport:
    """One attempt as a POST to ``{api_base}/chat/completions`` (see the module doc).

    Why aiohttp and not httpx: at 16 calls in flight httpx's connection pool re-checks every
    idle connection's socket on each request (~3 ms of CPU a call here, as much as litellm
    itself); aiohttp's costs ~0.6 ms (benchmarks/runner.py). One session per event loop,
    at most ``concurrency`` connections, kept alive.
    """

    name = "openai-http"

    def __init__(self, concurrency: int = 8) -> None:
        self.concurrency = max(1, int(concurrency))
        self._sessions: dict[asyncio.AbstractEventLoop, Any] = {}
        self._sentinels: dict[asyncio.AbstractEventLoop, Any] = {}

    async def _session(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            for old in [lp for lp in self._sessions if lp.is_closed()]:
                # a loop that ended without closing its pool (see _closed_with_the_loop): mark
                # it closed (its sockets went with the loop) so it does not warn when collected
                with contextlib.suppress(Exception):
                    self._sessions.pop(old).connector.close()
            connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=self.concurrency)
            # trust_env: proxies from the environment, as the openai SDK (httpx) honours them
            session = self._sessions[loop] = aiohttp.ClientSession(connector=connector, trust_env=True)
            sentinel = _closed_with_the_loop(session)
            await sentinel.__anext__()
            self._sentinels[loop] = sentinel
        return session

    def prepare(self, model: str) -> None:
        """Import aiohttp (a fraction of a second, once) outside the first attempt's timeout."""
        import aiohttp  # noqa: F401

    async def aclose(self) -> None:
        """Close the running loop's connection pool."""
        loop = asyncio.get_running_loop()
        session, sentinel = self._sessions.pop(loop, None), self._sentinels.pop(loop, None)
        if session is not None:
            await session.close()
        if sentinel is not None:
            await sentinel.aclose()

    async def send(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
                   timeout: float) -> Reply:
        import aiohttp

        body = {"model": model.split("/", 1)[1], "messages": list(messages)}
        body.update((k, v) for k, v in params.items() if k not in ("api_base", "api_key"))
        headers = {"Authorization": f"Bearer {params['api_key']}", "Content-Type": "application/json",
                   "Accept": "application/json"}
        url = str(params["api_base"]).rstrip("/") + "/chat/completions"
        # per phase, as the openai SDK's httpx.Timeout(timeout): connect (incl. the pool), each read
        limit = aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout, sock_read=timeout)
        try:
            async with (await self._session()).post(url, data=json.dumps(body).encode(), headers=headers, timeout=limit,
                                            allow_redirects=False) as response:
                status, content = response.status, await response.read()
                reply_headers, charset = response.headers, response.charset
        except asyncio.TimeoutError:  # aiohttp's ServerTimeoutError and ConnectionTimeoutError are ones too
            raise _timeout() from None
        except (aiohttp.ClientError, OSError):
            raise _connection_error() from None
        if not 200 <= status < 300:
            raise status_failure(status, content.decode(charset or "utf-8", errors="replace"), reply_headers)
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise _server_error(str(exc), "JSONDecodeError") from None
        return parse_reply(model, data)
