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
    JsonPath,
    Outcome,
    OutputSpan,
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


def test_failure_text_renders_the_location_and_the_test_file_line() -> None:
    """The place in the output and the entry's line come from the structured fields,
    rendered for people: a line and column in the output, a JSON path, ``[file:line]``."""
    output = '{"a": 1,\n "c": oops}'
    sample = SampleResult(outcome=Outcome.FAIL, output=output, assertions=[
        AssertionResult(index=0, type="is-json", passed=False, score=0, reason="output is not valid JSON: Expecting value",
                        location=OutputSpan(start=15, end=15), where="t.prompttest.yaml:4"),
        AssertionResult(index=1, type="json-path", passed=False, score=0, reason="output JSON lacks b",
                        location=JsonPath.of(["b"]), where="t.prompttest.yaml:5"),
        AssertionResult(index=2, type="contains", passed=False, score=0, reason="old text [t.prompttest.yaml:6]",
                        where="t.prompttest.yaml:6")])
    case = CaseResult(id="t::c[m]", suite="t", case="c", model="m", prompt="p", outcome=Outcome.FAIL, samples=[sample])
    lines = failure_text(case).splitlines()
    assert "  is-json failed: output is not valid JSON: Expecting value (at line 2 column 7) [t.prompttest.yaml:4]" in lines
    assert "  json-path failed: output JSON lacks b (at $.b) [t.prompttest.yaml:5]" in lines
    assert "  contains failed: old text [t.prompttest.yaml:6]" in lines  # an old reason is not tagged twice
    # without the output at hand (a tool reading a result) the span reads as offsets
    assert sample.assertions[0].describe() == ("output is not valid JSON: Expecting value (at output[15:15]) "
                                               "[t.prompttest.yaml:4]")


def test_write_results_is_atomic_json(tmp_path: Path) -> None:
    path = write_results(RunResults(cases=[]), tmp_path / "deep" / "r.json")
    assert json.loads(path.read_text())["cases"] == []
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temp file left behind
