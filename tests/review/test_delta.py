"""Results delta between a base and a head run: flips count only when stable across repeats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.cli import main
from promptkit.review.delta import results_delta
from promptkit.runner.results import Outcome

from .results_helpers import real_run, with_samples, write

P, F, E = Outcome.PASS, Outcome.FAIL, Outcome.ERROR


def _pair(before: list[Outcome], after: list[Outcome], **kw: float):  # type: ignore[no-untyped-def]
    base, head = real_run(), real_run()
    base.cases[0] = with_samples(base.cases[0], before)
    head.cases[0] = with_samples(head.cases[0], after, **kw)
    return results_delta(base, head), base.cases[0].id


@pytest.mark.parametrize(("before", "after", "bucket"), [
    ([P, P, P], [F, F, F], "newly_failing"),
    ([P], [F], "newly_failing"),
    ([F, F], [P, P], "newly_passing"),
    ([F, F, F], [F, F, F], "still_failing"),
    ([P, P, P], [P, F, F], "score_down"),       # still passes (min_pass 1): no flip, but its score fell
    ([P, P], [P, P, P], "unchanged"),
    ([F, F, F], [P, F, F], "unstable"),         # passes now, but only in one of three repeats
    ([P, F, F], [F, F, F], "unstable"),         # was flaky before: its failure now is not news
    ([P, P, P], [E, E, E], "errors"),
    ([P, P, E], [F, F, E], "newly_failing"),    # errors are no evidence either way
])
def test_buckets(before: list[Outcome], after: list[Outcome], bucket: str) -> None:
    delta, cid = _pair(before, after)
    counts = delta.counts()
    if bucket == "unchanged":
        assert counts["unchanged"] == len(real_run().cases)
        assert not any(counts[b] for b in delta.BUCKETS)
        return
    assert [c.id for c in getattr(delta, bucket)] == [cid]
    assert sum(counts[b] for b in delta.BUCKETS) == 1
    assert counts["unchanged"] == len(real_run().cases) - 1


def test_score_moves_beyond_the_tolerance() -> None:
    delta, cid = _pair([P], [P], score=0.7)
    assert [c.id for c in delta.score_down] == [cid]
    assert delta.score_down[0].score_delta == pytest.approx(-0.3)
    assert not delta.ok or delta.regressions  # a score drop is a regression, not a failure


def test_new_and_removed_cases() -> None:
    base, head = real_run(), real_run()
    gone = head.cases.pop()
    extra = base.cases.pop(0)
    d = results_delta(base, head)
    assert [c.id for c in d.removed_cases] == [gone.id]
    assert [c.id for c in d.new_cases] == [extra.id]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([P, F, E]), min_size=1, max_size=5),
       st.lists(st.sampled_from([P, F, E]), min_size=1, max_size=5))
def test_a_counted_flip_is_stable_on_both_sides(before: list[Outcome], after: list[Outcome]) -> None:
    delta, cid = _pair(before, after)
    if any(c.id == cid for c in delta.newly_failing):
        assert P not in after and F not in before
    if any(c.id == cid for c in delta.newly_passing):
        assert F not in after and P not in before
    placed = [b for b in delta.BUCKETS if any(c.id == cid for c in getattr(delta, b))]
    assert len(placed) <= 1


def test_markdown_carries_the_delta(git_repo, base_prompt: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    git_repo.write("prompts/answer.prompty", base_prompt)
    git_repo.commit("base")
    git_repo.write("prompts/answer.prompty", base_prompt.replace("version: 1.4.2", "version: 1.4.3")
                   .replace("Never invent", "Do not invent"))
    base, head = real_run(), real_run()
    head.cases[2] = with_samples(head.cases[2], [F, F, F], reason="expected a JSON object, got text")
    head.cases[3] = with_samples(head.cases[3], [P, F, F])
    base.cases[3] = with_samples(base.cases[3], [F, F, F])
    b, h = write(base, tmp_path / "base.json"), write(head, tmp_path / "head.json")
    monkeypatch.chdir(git_repo.path)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    rc = main(["diff", "--format", "markdown", "--base-results", str(b), "--head-results", str(h), "--no-lint"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "❌ results: 1 newly failing, 0 newly passing, 0 still failing, 1 unstable" in out
    assert "**❌ Newly failing (1)**" in out and "expected a JSON object, got text" in out
    assert "1/1 → 0/3" in out
    assert main(["diff", "--format", "json", "--base-results", str(b), "--head-results", str(h),
                 "--fail-on-regression"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["results_delta"]["counts"]["newly_failing"] == 1
