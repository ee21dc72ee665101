"""Result types: the structured evidence of an assertion survives the results file, and
results files written before those fields existed still load (baselines are kept for
months)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.runner.results import AssertionResult, JsonPath, OutputSpan, RunResults

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "results"

keys = st.one_of(st.integers(-3, 20), st.text(min_size=1, max_size=6))
locations = st.one_of(
    st.none(),
    st.builds(lambda a, n: OutputSpan(start=a, end=a + n), st.integers(0, 100), st.integers(0, 20)),
    st.lists(keys, max_size=4).map(JsonPath.of),
)


@settings(max_examples=60, deadline=None)
@given(location=locations, index=st.one_of(st.none(), st.integers(0, 9)), feedback=st.one_of(st.none(), st.text(max_size=20)))
def test_assertion_results_round_trip_through_json(location: OutputSpan | JsonPath | None, index: int | None,
                                                   feedback: str | None) -> None:
    r = AssertionResult(index=index, type="not-contains", assertion_type="contains", passed=False, score=0.0,
                        reason="negated: output contains 'x'", location=location, feedback=feedback,
                        where="s.prompttest.yaml:3")
    again = AssertionResult.model_validate_json(r.model_dump_json())
    assert again == r and type(again.location) is type(location)


def test_json_paths_read_back_as_written() -> None:
    from promptkit.runner.assertions.structured import parse_path

    for parts in (["items", 0, "name"], ["a.b", -1], [], ["with space", "x-y"]):
        path = JsonPath.of(parts)
        assert list(parse_path(path.path)) == parts, path.path


def test_results_written_before_structured_assertions_still_load() -> None:
    """``old-results.json`` is a results file as promptkit wrote it before ``index``,
    ``location``, ``feedback`` and ``where``: the location glued into the reason."""
    old = RunResults.from_json((FIXTURES / "old-results.json").read_text(encoding="utf-8"))
    [case] = old.cases
    [check] = case.samples[0].assertions
    assert check.index is None and check.location is None and check.where is None and check.feedback is None
    assert check.reason.endswith("[tests/greet.prompttest.yaml:6]")
    assert check.describe() == check.reason
    assert RunResults.from_json(old.to_json()) == old
