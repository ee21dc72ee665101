"""What a reply costs, from litellm's bundled price table, without importing litellm.

Why: the OpenAI-compatible fast path (:mod:`promptkit.runner.transports.openai_http`)
must report the same ``cost_usd`` and "priced" flag as litellm's ``completion_cost``
without paying litellm's import. litellm prices a chat reply of an ``openai/<name>``
model as ``prompt_tokens * input_cost_per_token + completion_tokens *
output_cost_per_token`` when nothing else applies; much else can apply (tiered prices
above N tokens, cached or reasoning or audio tokens, service tiers, per-second or
per-character prices). :func:`price_for` therefore answers only for what it knows to be
simple and says :data:`NOT_SIMPLE` otherwise, and the caller sends that model through
litellm. The table is the same file litellm reads with ``LITELLM_LOCAL_MODEL_COST_MAP``
set (see :func:`promptkit.tokens.model_info`'s table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

__all__ = ["NOT_SIMPLE", "Price", "price_for"]


@dataclass(frozen=True)
class Price:
    """USD per token. ``known`` is False for a model litellm has no price for (a local
    server's model): its replies cost 0 and are reported as unpriced."""

    input_per_token: float = 0.0
    output_per_token: float = 0.0
    known: bool = True

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """The reply's cost, summed as litellm sums it (prompt cost + completion cost)."""
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


#: A model whose price litellm computes in ways this module does not reproduce.
NOT_SIMPLE: Final = Price(known=False)
_UNKNOWN: Final = Price(0.0, 0.0, known=False)

#: Cost fields that cannot change a plain chat reply's price: they apply only to cached,
#: batched, priority/flex-tier, web-search or data-residency calls (none of which the
#: fast path makes)
#: or to token kinds :func:`simple_usage` requires to be absent.
_INERT_COST = re.compile(
    r"^(cache_(read|creation)_input_(audio_|image_)?token_cost.*"
    r"|.*_(batches|priority|flex)$"
    r"|search_context_cost_per_query|output_cost_per_reasoning_token|.*_uplift_multiplier"
    r"|input_cost_per_(audio|image)_token|output_cost_per_(audio|image)_token)$"
)
#: Model names litellm sends through another request shape (o-series, gpt-5 reasoning
#: models: ``max_tokens`` renamed, ``temperature`` dropped) or another endpoint.
_SPECIAL_NAME = re.compile(r"^(o\d|gpt-5|gpt-oss|codex|computer-use)|audio|realtime|search|transcribe|tts|image",
                           re.IGNORECASE)


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    from promptkit.tokens import _model_table

    return _model_table()


def _entry(name: str) -> tuple[bool, dict[str, Any] | None]:
    """(found, entry) for an OpenAI model ``name`` as litellm finds it: ``openai/<name>``
    first, then ``<name>`` listed under the openai provider. ``found`` is True also when
    the name exists for another provider or in a form litellm may match loosely (it then
    is not ours to price)."""
    table = _table()
    for key in (f"openai/{name}", name):
        entry = table.get(key)
        if isinstance(entry, dict):
            return True, entry if entry.get("litellm_provider") == "openai" else None
    return False, None


@lru_cache(maxsize=1024)
def price_for(model: str) -> Price:
    """The price of an ``openai/<name>`` model: a known simple price, an unknown model
    (``known=False``, cost 0), or :data:`NOT_SIMPLE`."""
    provider, sep, name = model.partition("/")
    if provider != "openai" or not sep or not name or _SPECIAL_NAME.search(name):
        return NOT_SIMPLE
    if name.startswith("ft:") or ":" in name or "@" in name:
        return NOT_SIMPLE  # litellm strips fine-tune and version suffixes to find a price
    found, entry = _entry(name)
    if not found:
        if not _table():
            return NOT_SIMPLE  # the table is missing: we cannot tell "unknown" from "unread"
        return _UNKNOWN
    if entry is None or entry.get("mode") not in (None, "chat"):
        return NOT_SIMPLE
    costs = {k: v for k, v in entry.items() if "cost" in k or "uplift" in k or "pricing" in k}
    base = {k: costs.pop(k, None) for k in ("input_cost_per_token", "output_cost_per_token")}
    if any(not _INERT_COST.match(k) for k in costs):
        return NOT_SIMPLE
    if not all(isinstance(v, (int, float)) for v in base.values()):
        return NOT_SIMPLE
    return Price(float(base["input_cost_per_token"] or 0.0), float(base["output_cost_per_token"] or 0.0))


def simple_usage(usage: Any) -> bool:
    """Whether a reply's ``usage`` holds only prompt and completion tokens (no cached,
    reasoning, audio or image token counts that litellm would price apart)."""
    if not isinstance(usage, dict):
        return usage is None
    for key in ("prompt_tokens_details", "completion_tokens_details"):
        details = usage.get(key)
        if details is None:
            continue
        if not isinstance(details, dict) or any(v for v in details.values()):
            return False
    return not any(k.startswith(("cache_", "prompt_cache")) and usage[k] for k in usage)
