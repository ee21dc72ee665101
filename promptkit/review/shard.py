"""Deterministic sharding of a test run across CI jobs (``--promptkit-shard K/N``).

Every job of a CI matrix collects the same tests; each keeps the items of its shard and
deselects the rest, so the N jobs together run every item exactly once. The split depends
only on the items' node ids (sorted, then dealt round-robin), never on collection order,
the machine or the Python hash seed, so the same commit always gives every job the same
items, and the shards differ in size by at most one. The jobs' results files are then
combined with ``promptkit results merge`` (the merge the xdist controller uses).

This module has no pytest import; ``pytest_promptkit/shard.py`` holds the few lines of hook.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

__all__ = ["ShardSpec", "parse_shard", "shard_of", "split"]

T = TypeVar("T")

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


class ShardSpec(tuple):  # type: ignore[type-arg]
    """``(index, total)``, 1-based: shard 2 of 4 is ``ShardSpec(2, 4)``."""

    def __new__(cls, index: int, total: int) -> ShardSpec:
        return super().__new__(cls, (index, total))

    @property
    def index(self) -> int:
        return int(self[0])

    @property
    def total(self) -> int:
        return int(self[1])

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> ShardSpec:
    """``"2/4"`` -> ShardSpec(2, 4); :class:`ValueError` with the fix otherwise."""
    m = _SPEC.match(text or "")
    if not m:
        raise ValueError(f"--promptkit-shard {text!r}: expected K/N, e.g. 2/4 (the 2nd of 4 CI jobs)")
    k, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= k <= n:
        raise ValueError(f"--promptkit-shard {text!r}: K must be between 1 and N (N >= 1), e.g. 1/{max(n, 2)}")
    return ShardSpec(k, n)


def shard_of(ids: Sequence[str], spec: ShardSpec) -> set[str]:
    """The ids shard ``spec`` runs."""
    ordered = sorted(set(ids))
    return {i for pos, i in enumerate(ordered) if pos % spec.total == spec.index - 1}


def split(items: Sequence[T], ids: Sequence[str], spec: ShardSpec) -> tuple[list[T], list[T]]:
    """``(kept, deselected)`` of ``items`` (with node ids ``ids``), order preserved."""
    mine = shard_of(ids, spec)
    kept = [it for it, i in zip(items, ids) if i in mine]
    dropped = [it for it, i in zip(items, ids) if i not in mine]
    return kept, dropped
