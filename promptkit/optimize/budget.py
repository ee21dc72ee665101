"""The optimizer's budget: how many model calls, tokens and dollars one search may spend.

Why a budget object and not a loop count: every step of the search (a critique, a proposal,
each case a candidate is evaluated on) costs model calls, and users decide before the run
what they are willing to pay. The budget is stated before the run, checked before every
step that calls a model, and printed after (``spent``).

A *call* is one model answer the optimizer asked for -- a target-model sample or a
critique/proposer call -- whether it came live or from a recording, so the figures of a
run are the same when it is replayed in CI.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Budget:
    """Limits of one search. ``calls``: model answers (target samples + meta calls);
    ``tokens``: prompt + completion tokens; ``cost_usd``: provider cost as litellm prices
    it (0 for local models). ``None`` means no limit on that axis. ``rounds`` bounds the
    critique/propose rounds, ``candidates`` the proposals asked for per round, ``beam``
    how many improving parents are kept between rounds."""

    calls: int | None = 60
    tokens: int | None = None
    cost_usd: float | None = None
    rounds: int = 3
    candidates: int = 3
    beam: int = 2

    def describe(self) -> str:
        parts = [f"{self.calls} model calls" if self.calls is not None else "unlimited model calls"]
        if self.tokens is not None:
            parts.append(f"{self.tokens:,} tokens")
        if self.cost_usd is not None:
            parts.append(f"${self.cost_usd:.2f}")
        parts.append(f"{self.rounds} rounds x {self.candidates} candidates, beam {self.beam}")
        return ", ".join(parts)

    def problem(self) -> tuple[str, str] | None:
        """Why this budget cannot run a search and how to fix it (two sentences: the
        fix names the limit that is wrong, not always the call budget), or None."""
        if self.calls is not None and self.calls <= 0:
            return (f"a budget of {self.calls} model calls allows no call",
                    "give --max-calls 1 or more (the default is 60)")
        if self.tokens is not None and self.tokens <= 0:
            return (f"a budget of {self.tokens} tokens allows no call",
                    "give --max-tokens 1 or more, or leave it out for no token limit")
        if self.cost_usd is not None and self.cost_usd <= 0:
            return (f"a budget of ${self.cost_usd:g} allows no paid call",
                    "give --max-cost above 0 (in USD), or leave it out for no cost limit")
        if self.rounds < 0 or self.candidates <= 0 or self.beam <= 0:
            return ("rounds must be >= 0, candidates and beam >= 1",
                    "give --rounds 0 or more and --candidates, --beam 1 or more")
        return None


@dataclass
class Spend:
    """What a search has spent so far; ``live`` counts the calls that reached a model
    (not answered from a recording)."""

    calls: int = 0
    live: int = 0
    meta_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    def add(self, *, calls: int, live: int, tokens: int, cost_usd: float, meta: bool = False) -> None:
        self.calls += calls
        self.live += live
        self.tokens += tokens
        self.cost_usd += cost_usd
        if meta:
            self.meta_calls += calls

    def describe(self) -> str:
        text = f"{self.calls} model calls ({self.meta_calls} critique/proposer, {self.live} live), {self.tokens:,} tokens"
        if self.cost_usd:
            text += f", ${self.cost_usd:.4f}"
        return text


@dataclass
class Meter:
    """A :class:`Budget` and its :class:`Spend`: asks whether ``n`` more calls fit."""

    budget: Budget
    spent: Spend = field(default_factory=Spend)

    def allows(self, calls: int = 1) -> bool:
        b, s = self.budget, self.spent
        if b.calls is not None and s.calls + calls > b.calls:
            return False
        if b.tokens is not None and s.tokens >= b.tokens:
            return False
        return not (b.cost_usd is not None and s.cost_usd >= b.cost_usd)

    @property
    def exhausted(self) -> bool:
        return not self.allows(1)
