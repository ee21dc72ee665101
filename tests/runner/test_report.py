"""Reports: merging per-worker results, the summary rows and table, failure texts."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.runner.report import (
    failure_text,
    format_summary,
    merge,
    summarize,
    write_results,
)
from promptkit.runner.results import (
    AssertionResult,
    CaseResult,
    Outcome,
    RunResults,
    SampleResult,
    Usage,
)

case_st = st.builds(
    lambda i, prompt, model, outcome, tokens, hit: CaseResult(
        id=f"s.prompttest.yaml::c{i}[{model}]", suite="s.prompttest.yaml", case=f"c{i}", model=model, prompt=prompt,
        outcome=outcome, usage=Usage(prompt_tokens=tokens, completion_tokens=1, cost_usd=0.001), recordings_hit=hit),
    st.integers(0, 30), st.sampled_from(["a.prompty", "b.prompty"]), st.sampled_from(["m1", "m2"]),
    st.sampled_from(list(Outcome)), st.integers(0, 100), st.integers(0, 3),
)


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.lists(case_st, max_size=8), min_size=1, max_size=4))
def test_merge_keeps_every_case_once_sorted(parts: list[list[CaseResult]]) -> None:
    runs = [RunResults(started_at=f"2026-01-0{i + 1}T00:00:00", finished_at=f"2026-01-0{i + 2}T00:00:00", cases=cs)
            for i, cs in enumerate(parts)]
    merged = merge(runs)
    ids = [c.id for c in merged.cases]
    assert ids == sorted(set(ids))
    assert set(ids) == {c.id for cs in parts for c in cs}
    assert merged.started_at == "2026-01-01T00:00:00"
    # worker order does not matter for which ids end up in the file
    assert {c.id for c in merge(reversed(runs)).cases} == set(ids)


@settings(max_examples=60, deadline=None)
@given(cases=st.lists(case_st, max_size=20))
def test_summary_rows_add_up(cases: list[CaseResult]) -> None:
    rows = summarize(cases)
    assert sum(r.total for r in rows) == len(cases)
    assert sum(r.usage.prompt_tokens for r in rows) == sum(c.usage.prompt_tokens for c in cases)
    for r in rows:
        decided = r.passed + r.failed
        assert r.pass_rate == (r.passed / decided if decided else None)
    text = format_summary(RunResults(cases=cases))
    assert f"{len(cases)} case(s)" in text
    for r in rows:
        assert r.prompt in text


def test_failure_text_lists_reasons_errors_and_output() -> None:
    failing = SampleResult(outcome=Outcome.FAIL, output="Barcelona", assertions=[
        AssertionResult(type="icontains", passed=False, score=0, reason="output does not contain 'madrid'"),
        AssertionResult(type="length", passed=True, score=1, reason="ok")])
    erroring = SampleResult(outcome=Outcome.ERROR, error="m: server: boom (after 4 attempts)", hint="retry later")
    case = CaseResult(id="s::c[m]", suite="s", case="c", model="m", prompt="p", outcome=Outcome.FAIL, repeat=3,
                      min_pass=2, passes=1, samples=[SampleResult(outcome=Outcome.PASS), failing, erroring, erroring])
    text = failure_text(case)
    assert text.splitlines()[0] == "s::c[m]: FAIL (1/3 samples passed, 2 needed)"
    assert "sample 2: icontains failed: output does not contain 'madrid'" in text
    assert "sample 2: output: 'Barcelona'" in text
    assert text.count("server: boom") == 1  # the same error on two samples is said once
    assert "hint: retry later" in text and "length" not in text


def test_write_results_is_atomic_json(tmp_path: Path) -> None:
    path = write_results(RunResults(cases=[]), tmp_path / "deep" / "r.json")
    assert json.loads(path.read_text())["cases"] == []
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temp file left behind
