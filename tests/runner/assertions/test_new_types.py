"""Good and bad outputs for the assertion types added for promptfoo users
(``tests/fixtures/runner/assertions/new_types.yaml``), plus case-level transforms."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptkit.runner.assertions import AssertionContext, build_spec, evaluate, verdict
from promptkit.runner.results import Outcome
from tests.runner.assertions.test_conformance import _response

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "runner" / "assertions"
ENTRIES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "new_types.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{i}:{e['why']}" for i, e in enumerate(ENTRIES)])
def test_new_type(entry: dict[str, Any]) -> None:
    specs = [build_spec(a) for a in entry.get("asserts") or [entry["assert"]]]
    results = asyncio.run(evaluate(specs, _response(entry), AssertionContext(base_dir=FIXTURES)))
    if "outcome" in entry:
        assert verdict(results, entry.get("threshold"))[0] is Outcome[entry["outcome"]], [r.reason for r in results]
        return
    (r,) = results
    if entry.get("error"):
        assert r.error, r.reason
        return
    assert not r.error, r.reason
    assert r.passed is entry["pass"], f"{entry['why']}: {r.reason}"
    if "score" in entry:
        assert r.score == pytest.approx(entry["score"])


def test_every_new_type_has_a_good_and_a_bad_fixture() -> None:
    outcomes: dict[str, set[bool]] = {}
    for e in ENTRIES:
        if "pass" in e:
            t = build_spec(e["assert"]).type
            outcomes.setdefault(t, set()).add(e["pass"])
    for t in ("contains-json", "rouge-n", "bleu", "is-xml", "contains-xml", "is-sql", "contains-sql", "is-refusal",
              "assert-set"):
        assert outcomes.get(t) == {True, False}, t


def test_case_and_defaults_transforms_apply_before_every_assertion() -> None:
    from promptkit.runner.suite_file import load_suite
    from promptkit.runner.results import ModelResponse

    suite = load_suite(FIXTURES / "case_transform.prompttest.yaml")
    first, second = suite.cases

    def outcome(case: Any, output: str) -> Outcome:
        specs = [*suite.defaults.assertions, *case.assertions] if case is first else case.assertions
        ctx = AssertionContext(case=case, base_dir=FIXTURES)
        results = asyncio.run(evaluate(specs, ModelResponse(text=output, model="m"), ctx))
        return verdict(results, None)[0]

    assert first.transform is not None and [s.kind for s in first.transform.steps] == ["strip-fences"]
    assert outcome(first, '```json\n{"name": "Ada"}\n```') is Outcome.PASS
    assert outcome(first, '```json\n{"name": "Bob"}\n```') is Outcome.FAIL
    assert outcome(second, "Thinking about France... Answer: PARIS") is Outcome.PASS
    assert outcome(second, "Answer: Lyon") is Outcome.FAIL
