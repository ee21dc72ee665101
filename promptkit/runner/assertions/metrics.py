"""Budgets: latency, cost and token bounds.

Latency and cost come from the response's :class:`~promptkit.runner.results.Usage` as
the runner measured it. A *replayed* response has no latency worth checking (reading a
file takes microseconds), so the latency check refuses it -- an ERROR that says so,
unless the test opts into ``on_replay: pass`` -- rather than pass meaninglessly. Cost
and token counts are properties of the recorded answer and are checked in replay too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.assertions.text import bounds_check
from promptkit.runner.results import ModelResponse


class LatencyOptions(Options):
    #: Upper bound in milliseconds.
    max_ms: float = Field(gt=0)
    #: What to do with a replayed response: ``error`` (default) or ``pass``.
    on_replay: Literal["error", "pass"] = "error"


@assertion("latency", LatencyOptions, negatable=False)
def latency(output: str, o: LatencyOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The model call took at most ``max_ms`` milliseconds (live runs only)."""
    if response.from_recording:
        msg = "latency cannot be checked on a replayed response: run live (--promptkit-mode live) to measure it"
        if o.on_replay == "pass":
            return Check.of(True, f"{msg}; passed because on_replay: pass")
        return Check.failed_to_run(msg)
    ms = response.usage.latency_s * 1000.0
    ok = ms <= o.max_ms
    return Check.of(ok, f"latency {ms:.0f} ms {'within' if ok else 'over'} the {o.max_ms:g} ms bound")


class CostOptions(Options):
    #: Upper bound in US dollars for this call.
    max_usd: float = Field(ge=0)


def price_known(response: ModelResponse) -> bool:
    """Whether litellm had a price for the model. The client says so in ``raw["priced"]``;
    an older recording without it: a cost of exactly $0 means no price (litellm records
    an unpriced call as $0, and a priced call with tokens never costs exactly 0)."""
    flag = response.raw.get("priced")
    if isinstance(flag, bool):
        return flag
    return response.usage.cost_usd > 0


@assertion("cost", CostOptions, negatable=False)
def cost(output: str, o: CostOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The call cost at most ``max_usd`` dollars (litellm's price table; unknown price: ERROR)."""
    if not price_known(response):
        return Check.failed_to_run(
            f"the price of {response.model or 'this model'} is unknown (litellm has no price for it, so its cost is "
            "recorded as $0): a cost bound cannot be checked; remove the cost assertion for this model, or use a "
            "model id litellm prices (litellm.model_cost)")
    usd = response.usage.cost_usd
    ok = usd <= o.max_usd
    return Check.of(ok, f"cost ${usd:.6f} {'within' if ok else 'over'} the ${o.max_usd:g} bound")


class TokensOptions(Options):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)
    #: ``output``: tokens of the output text, counted offline with the model's encoding;
    #: ``completion``/``prompt``/``total``: as reported by the provider in ``usage``.
    of: Literal["output", "completion", "prompt", "total"] = "output"

    @model_validator(mode="after")
    def _bounds(self) -> TokensOptions:
        if self.min is None and self.max is None:
            raise ValueError("give 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


@assertion("tokens", TokensOptions, negatable=False)
def tokens(output: str, o: TokensOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output (or the call) has between ``min`` and ``max`` tokens."""
    if o.of == "output":
        from promptkit.tokens import count_tokens

        counted = count_tokens(output, response.model or None)
        n = counted.total
        what = f"output tokens ({counted.encoding}{', approximate' if not counted.exact else ''})"
    else:
        u = response.usage
        n = {"completion": u.completion_tokens, "prompt": u.prompt_tokens, "total": u.total_tokens}[o.of]
        what = f"{o.of} tokens (provider usage)"
    return bounds_check(n, o.min, o.max, what)


class FinishReasonOptions(Options):
    #: Expected finish reason: ``stop`` (the model ended its answer), ``length`` (cut
    #: off at max_tokens), ``tool_calls``, ``content_filter``...
    value: str = "stop"


@assertion("finish-reason", FinishReasonOptions)
def finish_reason(output: str, o: FinishReasonOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The model stopped for the expected reason (default ``stop``: not truncated)."""
    got = response.finish_reason
    if got is None:
        return Check.failed_to_run("the provider reported no finish reason for this response")
    ok = got.lower() == o.value.lower()
    hint = "; the answer was cut off at max_tokens" if got == "length" and not ok else ""
    return Check.of(ok, f"finish reason is {got!r}" + ("" if ok else f", expected {o.value!r}{hint}"))
