"""The litellm transport: one attempt through ``litellm.acompletion``, for every provider.

litellm is imported on the first call only (importing it costs seconds and tries the
network unless ``LITELLM_LOCAL_MODEL_COST_MAP`` is set, which :func:`ensure_litellm`
does first). The SDK's own retries are off (``max_retries=0``): the policy in
:mod:`promptkit.runner.client` retries.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from promptkit.runner.transports import Reply

__all__ = ["LitellmTransport", "ensure_litellm"]

#: Model ids whose price litellm has been asked about in this process.
PRICE_CHECKED: set[str] = set()
#: Model ids litellm had no price for (registered at $0 here): their cost is unknown.
UNPRICED: set[str] = set()


def ensure_litellm() -> Any:
    """litellm, imported offline-safe and quiet."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback" banners in test output
    litellm.telemetry = False
    return litellm


def price_unknown_model(litellm: Any, model: str) -> None:
    """Give a model litellm has no price for (a local server's ``openai/my-model``) an
    explicit price of zero, once per process.

    Why: litellm prices every reply; for a model missing from its price map it searches
    ~10 name variants and generalisations per call before giving up, and then runs a
    "zero cost" diagnosis -- about 1 ms of CPU per call, a fifth of litellm's own overhead,
    to arrive at "unknown". The reported cost is 0 either way (an unpriced call costs 0 in
    our results); models litellm does know keep their real prices.
    """
    if model in PRICE_CHECKED:
        return
    PRICE_CHECKED.add(model)
    provider, sep, _name = model.partition("/")
    if not sep:
        return  # litellm cannot route it either: the call fails with a clear error
    with contextlib.suppress(Exception):  # "not mapped" raises: exactly the case handled below
        info = litellm.get_model_info(model)
        if info.get("input_cost_per_token") is not None or info.get("output_cost_per_token") is not None:
            return
    UNPRICED.add(model)
    with contextlib.suppress(Exception):  # an optimisation only: never fail a call over it
        litellm.register_model({model: {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                                        "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0,
                                        "litellm_provider": provider, "mode": "chat"}})


class LitellmTransport:
    """One attempt through ``litellm.acompletion`` (any provider litellm supports)."""

    name = "litellm"

    def prepare(self, model: str) -> None:
        """Import litellm (seconds, once) before the first attempt's timeout starts."""
        price_unknown_model(ensure_litellm(), model)

    async def send(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any],
                   timeout: float) -> Reply:
        litellm = ensure_litellm()
        raw = await litellm.acompletion(model=model, messages=list(messages), timeout=timeout, max_retries=0, **params)
        return _reply(litellm, raw, model)

    async def aclose(self) -> None:
        """Nothing to close: litellm keeps its own clients."""


def _reply(litellm: Any, raw: Any, model: str) -> Reply:
    choices = getattr(raw, "choices", None)
    if not choices:
        return Reply(id=getattr(raw, "id", None), text=None, finish_reason=None, has_choices=False)
    choice = choices[0]
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None)
    tool_calls = getattr(message, "tool_calls", None)
    usage = getattr(raw, "usage", None)
    hidden = getattr(raw, "_hidden_params", None) or {}
    priced = model not in UNPRICED  # the cost assertion needs to know "$0" from "no price"
    if "response_cost" in hidden:  # litellm already priced the call (None: unknown model)
        cost = float(hidden.get("response_cost") or 0.0)
        priced = priced and hidden.get("response_cost") is not None
    else:
        try:
            cost = float(litellm.completion_cost(completion_response=raw) or 0.0)
        except Exception:  # noqa: BLE001 - unknown models (local servers) have no price
            cost, priced = 0.0, False
    return Reply(
        id=getattr(raw, "id", None),
        text=text,
        finish_reason=getattr(choice, "finish_reason", None),
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=cost,
        priced=priced,
        tool_calls=[tc.model_dump() if hasattr(tc, "model_dump") else dict(tc) for tc in tool_calls] if tool_calls else None,
    )
