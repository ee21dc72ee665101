"""Baseline comparison: buckets, tolerance, errors kept apart, atomic storage, CLI."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import PromptkitError
from promptkit.runner.baseline import (
    baseline_outputs,
    compare,
    load_results,
    main,
    store_baseline,
)
from promptkit.runner.results import (
    AssertionResult,
    CaseResult,
    Outcome,
    RunResults,
    SampleResult,
)

P, F, E = Outcome.PASS, Outcome.FAIL, Outcome.ERROR


def case(cid: str, outcome: Outcome, score: float | None = None, *, flaky: bool = False, output: str = "out") -> CaseResult:
    sc = score if score is not None else (1.0 if outcome is P else 0.0)
    sample = SampleResult(
        outcome=outcome, output=output, score=sc,
        assertions=[AssertionResult(type="contains", passed=outcome is P, score=sc, reason=f"reason of {cid}")],
        error="judge failed" if outcome is E else None,
    )
    return CaseResult(id=f"s.prompttest.yaml::{cid}[m]", suite="s.prompttest.yaml", case=cid, model="m",
                      prompt="p.prompty", outcome=outcome, score=sc, passes=int(outcome is P), flaky=flaky,
                      samples=[sample])


def results(*cases: CaseResult) -> RunResults:
    return RunResults(cases=list(cases), mode="replay")


def test_every_bucket() -> None:
    base = results(
        case("regressed", P), case("fixed", F), case("broken", F), case("dropped", P, 0.95),
        case("wobble", P, 0.95), case("flaky", P), case("now-error", P), case("was-error", E), case("gone", P),
    )
    cur = results(
        case("regressed", F), case("fixed", P), case("broken", F), case("dropped", P, 0.6),
        case("wobble", P, 0.9), case("flaky", F, flaky=True), case("now-error", E), case("was-error", F),
        case("brand-new", P),
    )
    cmp = compare(base, cur, tolerance=0.1)
    names = {k: [c.case for c in getattr(cmp, k)] for k in
             ("newly_failing", "score_drops", "newly_passing", "still_failing", "errors", "flaky_failing",
              "new_cases", "removed_cases")}
    assert names == {
        "newly_failing": ["regressed"],
        "score_drops": ["dropped"],
        "newly_passing": ["fixed"],
        "still_failing": ["broken"],
        "errors": ["now-error", "was-error"],
        "flaky_failing": ["flaky"],
        "new_cases": ["brand-new"],
        "removed_cases": ["gone"],
    }
    assert cmp.unchanged == 1  # wobble: 0.05 drop is within the tolerance
    assert [c.case for c in cmp.regressions] == ["regressed", "dropped"]
    assert not cmp.ok
    text = cmp.format()
    assert text.index("REGRESSIONS: newly failing") < text.index("newly passing")
    assert "s.prompttest.yaml::regressed[m]  pass -> fail" in text and "reason of regressed" in text
    assert "2 regressions" in text.splitlines()[-1]
    data = json.loads(cmp.to_json())
    assert data["regressions"] == 2 and data["counts"]["errors"] == 2 and data["ok"] is False


def test_score_drops_can_be_reported_without_failing() -> None:
    cmp = compare(results(case("a", P, 0.9)), results(case("a", P, 0.5)), fail_on_score_drop=False)
    assert cmp.ok and len(cmp.score_drops) == 1
    assert "(not failing)" in cmp.format()


outcomes = st.sampled_from([P, F, E])


@settings(max_examples=60, deadline=None)
@given(pairs=st.lists(st.tuples(outcomes, outcomes, st.floats(0, 1), st.floats(0, 1)), max_size=8),
       tolerance=st.floats(0, 0.5))
def test_errors_are_never_regressions_or_fixes(pairs: list[tuple[Outcome, Outcome, float, float]], tolerance: float) -> None:
    base = results(*[case(str(i), b, sb) for i, (b, _, sb, _) in enumerate(pairs)])
    cur = results(*[case(str(i), a, sa) for i, (_, a, _, sa) in enumerate(pairs)])
    cmp = compare(base, cur, tolerance=tolerance)
    error_ids = {str(i) for i, (b, a, *_) in enumerate(pairs) if E in (a, b)}
    assert {c.case for c in cmp.errors} == error_ids
    for bucket in (cmp.newly_failing, cmp.newly_passing, cmp.score_drops, cmp.still_failing):
        assert not error_ids & {c.case for c in bucket}
    # every case lands in exactly one bucket
    total = sum(v for k, v in cmp.counts().items() if k != "removed_cases")
    assert total == len(pairs)
    # comparing a run with itself finds nothing
    same = compare(cur, cur, tolerance=tolerance)
    assert same.ok and not same.newly_passing and same.unchanged + len(same.errors) + len(same.still_failing) == len(pairs)


def test_store_and_load_round_trip(tmp_path: Path) -> None:
    run = results(case("a", P), case("b", F))
    dest = store_baseline(run, tmp_path / "nested" / "baseline.json")
    assert load_results(dest) == run
    # a results *file* can be stored as the baseline too
    src = tmp_path / "results.json"
    src.write_text(run.to_json(), encoding="utf-8")
    assert load_results(store_baseline(src, tmp_path / "b2.json")) == run
    assert not [p for p in dest.parent.iterdir() if p.name.endswith(".tmp")]


def test_concurrent_stores_never_leave_a_torn_file(tmp_path: Path) -> None:
    dest = tmp_path / "baseline.json"
    runs = [results(*[case(f"{w}-{i}", P, output="x" * 2000) for i in range(30)]) for w in range(4)]
    errors: list[BaseException] = []

    def worker(r: RunResults) -> None:
        try:
            for _ in range(5):
                store_baseline(r, dest)
                load_results(dest)  # always a whole file
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert load_results(dest) in runs


def test_bad_results_files_are_diagnostics(tmp_path: Path) -> None:
    with pytest.raises(PromptkitError, match="cannot read results file"):
        load_results(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"cases": [{"id": 3}]}', encoding="utf-8")
    with pytest.raises(PromptkitError, match="not a promptkit results file") as info:
        load_results(bad)
    assert info.value.diagnostic.path == str(bad)


_WHOLE = results(case("a", P), case("b", F, output="multi\nline \"quoted\" out"), case("c", E)).to_json()


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=1, max_value=len(_WHOLE) - 2))
def test_a_cut_off_results_file_is_located_and_named_cut_off(tmp_path_factory: pytest.TempPathFactory, cut: int) -> None:
    """Cut anywhere (a partial copy or download), a results file is one located
    diagnostic: it points into the file, says it ends early and how to get it whole."""
    part = _WHOLE[:cut]
    if not part.strip():
        return
    bad = tmp_path_factory.mktemp("cut") / "results.json"
    bad.write_text(part, encoding="utf-8")
    with pytest.raises(PromptkitError) as info:
        load_results(bad)
    d = info.value.diagnostic
    assert "not a promptkit results file" in d.message
    if "Invalid JSON" in d.message:  # (a cut right after a whole value can be valid JSON of the wrong shape)
        assert d.span is not None and d.span.start.line <= part.count("\n") + 1
        assert "it was cut off" in d.message and "whole file again" in (d.hint or "")


def test_baseline_outputs_prefer_a_passing_sample() -> None:
    c = case("a", P, output="good")
    c.samples.insert(0, SampleResult(outcome=F, output="bad"))
    err = case("b", E)
    err.samples = [SampleResult(outcome=E, output=None, error="x")]
    assert baseline_outputs(results(c, err)) == {c.id: "good"}


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    store_baseline(results(case("a", P), case("b", P)), base)
    store_baseline(results(case("a", P), case("b", F)), cur)
    assert main([str(base), str(cur)]) == 1
    assert "REGRESSIONS" in capsys.readouterr().out
    assert main([str(base), str(cur), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["regressions"] == 1
    assert main([str(base), str(cur), "--update"]) == 1
    assert main([str(base), str(cur)]) == 0  # the baseline is now the current run
    assert main([str(base), str(tmp_path / "missing.json")]) == 2
    assert "cannot read results file" in capsys.readouterr().err
