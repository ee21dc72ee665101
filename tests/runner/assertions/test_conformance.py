"""Conformance with promptfoo's documented semantics, one fixture entry per behaviour.

The table is ``tests/fixtures/runner/assertions/conformance.yaml``: every entry names the
documented rule it pins down (``why``), so a failure reads as "promptkit differs from
promptfoo on <rule>", not as a bare boolean.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptkit.runner.assertions import AssertionContext, build_spec, evaluate, verdict
from promptkit.runner.results import ModelResponse, Outcome, Usage

TABLE = Path(__file__).resolve().parents[2] / "fixtures" / "runner" / "assertions" / "conformance.yaml"
ENTRIES: list[dict[str, Any]] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))


def _response(e: dict[str, Any]) -> ModelResponse:
    cost = e.get("cost")
    return ModelResponse(text=e["output"], model="openai/gpt-4o-mini", finish_reason=e.get("finish_reason"),
                         usage=Usage(prompt_tokens=10, completion_tokens=5, cost_usd=cost or 0.0),
                         raw={} if cost is None else {"priced": cost > 0})


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{i}:{e['why']}" for i, e in enumerate(ENTRIES)])
def test_conformance(entry: dict[str, Any]) -> None:
    raw = entry.get("asserts") or [entry["assert"]]
    specs = [build_spec(a) for a in raw]
    results = asyncio.run(evaluate(specs, _response(entry), AssertionContext()))
    if "outcome" in entry:
        outcome, _ = verdict(results, entry.get("threshold"))
        assert outcome is Outcome[entry["outcome"]], [r.reason for r in results]
        return
    (r,) = results
    if entry.get("error"):
        assert r.error, r.reason
        return
    assert not r.error, r.reason
    assert r.passed is entry["pass"], f"{entry['why']}: {r.reason}"
    if "score" in entry:
        assert r.score == pytest.approx(entry["score"])


def test_the_table_covers_every_shared_type() -> None:
    """Every assertion type promptkit shares with promptfoo has entries (and negations)."""
    shared = {"equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all",
              "starts-with", "regex", "is-json", "levenshtein", "cost", "finish-reason"}
    seen = set()
    for e in ENTRIES:
        for a in e.get("asserts") or [e["assert"]]:
            seen.add(build_spec(a).type)
    assert shared <= seen, shared - seen
    assert sum(1 for e in ENTRIES if "not-" in str(e.get("assert", ""))) >= 8
