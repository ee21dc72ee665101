"""Which model-call parameters a data file may set, and where calls may go.

A prompt's front matter (``model.parameters`` / ``options``) and a suite's targets are
written by whoever opened the pull request. litellm accepts far more than sampling knobs
as keyword arguments: ``api_base`` sends the call -- and the provider key litellm finds in
the environment -- to any server; ``extra_headers``, ``aws_web_identity_token``,
``azure_password`` or ``custom_llm_provider`` change credentials and code paths. So call
parameters from files go through a **closed allow-list** (:data:`CALL_PARAMS`): what
changes the model's answer, nothing else. Everything else is refused with a message that
names the parameter.

Endpoint parameters (:data:`ENDPOINT_PARAMS`) are the one widening: a file may name an
endpoint only when the project config (``[tool.promptkit.test] allow-endpoints``) or the
command line (``--allow-endpoint``) lists its host. ``--api-base`` on the command line is
the user's own choice and always allowed; it overrides every file's endpoint.

The same allow-list decides what a recording keeps and keys on
(:func:`recordable`), so nothing a file adds beyond it can reach a committed recording.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "CALL_PARAMS",
    "ENDPOINT_PARAMS",
    "TRANSPORT_PARAMS",
    "ParamRefused",
    "check_call_params",
    "endpoint_allowed",
    "recordable",
]

#: Parameters that shape the model's answer (OpenAI's chat-completions parameters, as
#: litellm maps them to every provider, plus the common provider-specific sampling ones).
#: Passed to the model, recorded and part of the recording key.
CALL_PARAMS = frozenset({
    "temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "n", "stop",
    "seed", "presence_penalty", "frequency_penalty", "repetition_penalty", "logit_bias", "logprobs",
    "top_logprobs", "response_format", "tools", "tool_choice", "parallel_tool_calls", "functions",
    "function_call", "reasoning_effort", "thinking", "modalities", "prediction", "web_search_options",
    "verbosity", "service_tier",
    # litellm's offline stand-in for the model: the answer itself (or an error class name to
    # simulate), no network; lets a suite run before any key or server exists (promptkit init)
    "mock_response",
})

#: How we call, not what the model answers: accepted from files, never recorded or keyed.
TRANSPORT_PARAMS = frozenset({"timeout", "max_retries", "num_retries", "stream", "stream_options"})

#: Parameters that choose the server a call (and its credentials) goes to.
ENDPOINT_PARAMS = frozenset({"api_base", "base_url", "api_host", "azure_endpoint", "endpoint"})


@dataclass(frozen=True)
class ParamRefused(Exception):
    """A call parameter a file may not set; ``param`` is its name."""

    param: str
    message: str
    hint: str

    def __str__(self) -> str:
        return self.message


def endpoint_allowed(url: str, allowed: Iterable[str]) -> bool:
    """Whether ``url`` matches one entry of ``allowed``.

    An entry is a host (``llm.internal.example``: any scheme and port), a ``host:port``,
    or a URL prefix (``https://llm.internal.example/v1``). Hosts compare case-insensitively;
    a URL with credentials (``user:pass@``) never matches."""
    try:
        parts = urlsplit(url if "//" in url else f"//{url}")
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return False
    if not host or parts.username or parts.password:
        return False
    for entry in allowed:
        entry = entry.strip()
        if not entry:
            continue
        if "://" in entry:
            want = urlsplit(entry)
            if (want.scheme, (want.hostname or "").lower(), want.port) != (parts.scheme, host, port):
                continue
            if parts.path.rstrip("/").startswith(want.path.rstrip("/")):
                return True
            continue
        want_host, _, want_port = entry.lower().rpartition(":") if entry.count(":") == 1 else (entry.lower(), "", "")
        if want_host == host and (not want_port or (want_port.isdigit() and int(want_port) == port)):
            return True
    return False


def check_call_params(params: Mapping[str, Any], *, allow_endpoints: Iterable[str] = (),
                      override_endpoint: bool = False) -> dict[str, Any]:
    """The parameters a file set, checked: returns those to pass to the model.

    Raises :class:`ParamRefused` for a parameter outside :data:`CALL_PARAMS`,
    :data:`TRANSPORT_PARAMS` and :data:`ENDPOINT_PARAMS`, and for an endpoint whose host is
    not in ``allow_endpoints``. With ``override_endpoint`` (``--api-base`` given), a file's
    endpoint is dropped instead: the command line decides where calls go."""
    allowed = list(allow_endpoints)
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in CALL_PARAMS or key in TRANSPORT_PARAMS:
            out[key] = value
        elif key in ENDPOINT_PARAMS:
            if override_endpoint:
                continue
            if not isinstance(value, str) or not endpoint_allowed(value, allowed):
                shown = value if isinstance(value, str) else type(value).__name__
                raise ParamRefused(
                    key,
                    f"model parameter {key}: {shown!r} is not an allowed endpoint: a prompt or test file may not "
                    "choose where model calls (and the provider keys sent with them) go",
                    "list the host in [tool.promptkit.test] allow-endpoints, pass --allow-endpoint HOST, "
                    "or give --api-base on the command line",
                )
            out[key] = value
        else:
            raise ParamRefused(
                key,
                f"model parameter {key!r} is not one promptkit passes from a file: only sampling and "
                "output parameters are (credentials, headers and provider settings come from the "
                "environment and the command line)",
                f"remove it; allowed: {', '.join(sorted(CALL_PARAMS | TRANSPORT_PARAMS))}",
            )
    return out


def recordable(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as a recording keeps and keys them: the allow-list only, sorted."""
    return {k: v for k, v in sorted(params.items()) if k in CALL_PARAMS}
