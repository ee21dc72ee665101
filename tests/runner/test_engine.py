"""The engine end to end: suite file -> render -> scripted server or recordings ->
assertions -> PASS / FAIL / ERROR per case, with repeats, flaky cases and isolation."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.runner.client import RetryPolicy
from promptkit.runner.engine import CaseJob, RunConfig, _finish, run_suites
from promptkit.runner.recordings import Mode, RecordingStore
from promptkit.runner.results import CaseResult, Outcome, SampleResult
from pytest_promptkit.server import OpenAIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "engine"
FAST = RetryPolicy(max_retries=1, base_s=0.01, max_backoff_s=0.02, retry_after_cap_s=0.1)


def _script(server: OpenAIServer) -> None:
    server.add_rule(pattern=r"capital of France", reply="Paris.")
    server.add_rule(pattern=r"capital of Spain", reply="Barcelona, I think.")
    server.add_rule(pattern=r"Say hello", reply="hello there", times=2)
    server.add_rule(pattern=r"Say hello", reply="goodbye")


def _suite(tmp_path: Path) -> Path:
    for f in ("answer.prompty", "broken.prompty", "mixed.prompttest.yaml"):
        shutil.copy(FIXTURES / f, tmp_path / f)
    return tmp_path / "mixed.prompttest.yaml"


def _by_case(cases: list[CaseResult]) -> dict[str, CaseResult]:
    return {c.case: c for c in cases}


def test_outcomes_live(openai_server: OpenAIServer, tmp_path: Path) -> None:
    _script(openai_server)
    suite = _suite(tmp_path)
    run = run_suites([suite], RunConfig(mode=Mode.LIVE, api_base=openai_server.base_url, retry=FAST, timeout_s=5))
    got = _by_case(run.cases)
    assert list(got) == ["capital", "wrong-answer", "render-error", "flaky-one", "sampled"]  # file order kept
    assert got["capital"].outcome is Outcome.PASS and got["capital"].samples[0].output == "Paris."
    wrong = got["wrong-answer"]
    assert wrong.outcome is Outcome.FAIL
    assert "madrid" in wrong.samples[0].assertions[0].reason.lower()
    err = got["render-error"]
    assert err.outcome is Outcome.ERROR
    assert "broken.prompty:15:" in (err.samples[0].error or "") and "PK022" in (err.samples[0].error or "")
    assert got["flaky-one"].outcome is Outcome.FAIL and got["flaky-one"].flaky
    sampled = got["sampled"]
    assert (sampled.outcome, sampled.passes, sampled.repeat, sampled.min_pass) == (Outcome.PASS, 2, 3, 2)
    assert len(sampled.samples) == 3
    assert run.cases[0].id.endswith("mixed.prompttest.yaml::capital[openai/scripted]")
    assert got["capital"].usage.prompt_tokens > 0 and got["capital"].usage.latency_s > 0
    assert not (tmp_path / "__recordings__").exists()  # live mode writes nothing


def test_record_then_replay_offline(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    with OpenAIServer() as server:
        _script(server)
        recorded = run_suites([suite], RunConfig(mode=Mode.RECORD, api_base=server.base_url, retry=FAST))
        calls, base = server.calls, server.base_url
    assert calls == 1 + 1 + 1 + 3  # the render error never calls the model
    files = sorted((tmp_path / "__recordings__" / "mixed").glob("*.json"))
    assert len(files) == 4  # one per distinct request; the 3 samples share a file
    # the server is gone: replay must not need it
    replayed = run_suites([suite], RunConfig(mode=Mode.REPLAY, api_base=base, retry=FAST))
    assert [(c.id, c.outcome, c.passes) for c in replayed.cases] == [(c.id, c.outcome, c.passes) for c in recorded.cases]
    by = _by_case(replayed.cases)
    assert by["sampled"].recordings_hit == 3 and by["capital"].recordings_missed == 0
    assert all(s.from_recording for s in by["capital"].samples)


def test_replay_without_recordings_errors_with_command(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    run = run_suites([suite], RunConfig(mode=Mode.REPLAY))
    cap = _by_case(run.cases)["capital"]
    assert cap.outcome is Outcome.ERROR and cap.recordings_missed == 1
    assert cap.samples[0].hint == f"record it: promptkit test {cap.suite} --mode record -k capital"


def test_provider_failure_is_error_never_fail(openai_server: OpenAIServer, tmp_path: Path) -> None:
    openai_server.add_rule(fault="server_error")
    run = run_suites([_suite(tmp_path)], RunConfig(mode=Mode.LIVE, api_base=openai_server.base_url, retry=FAST))
    assert {c.outcome for c in run.cases} == {Outcome.ERROR}
    assert "server" in (_by_case(run.cases)["capital"].samples[0].error or "")


def test_hung_case_does_not_lose_the_others(openai_server: OpenAIServer, tmp_path: Path) -> None:
    from pytest_promptkit.server import Rule

    openai_server.add_rule(Rule(pattern="capital of Spain", fault="hang"))
    _script(openai_server)
    t0 = time.perf_counter()
    # 2 s: ample for a local answer on a CI machine busy with `-n auto` (0.4 s was not), far below the 10 s hang
    run = run_suites([_suite(tmp_path)], RunConfig(mode=Mode.LIVE, api_base=openai_server.base_url, timeout_s=2.0,
                                                   retry=RetryPolicy(max_retries=0)))
    assert time.perf_counter() - t0 < 8  # the hung call ends at its timeout; it does not hold the run for 10 s
    got = _by_case(run.cases)
    assert len(got) == 5
    assert got["wrong-answer"].outcome is Outcome.ERROR and "timed out" in (got["wrong-answer"].samples[0].error or "")
    assert got["capital"].outcome is Outcome.PASS


def test_model_override_runs_each_case_once(openai_server: OpenAIServer, tmp_path: Path) -> None:
    _script(openai_server)
    run = run_suites([_suite(tmp_path)], RunConfig(mode=Mode.LIVE, model="openai/other", api_base=openai_server.base_url))
    assert all(c.id.endswith("[openai/other]") for c in run.cases)
    assert {r["body"]["model"] for r in openai_server.requests} == {"other"}


@settings(max_examples=80, deadline=None)
@given(outcomes=st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=6), data=st.data())
def test_aggregation_rule(outcomes: list[Outcome], data: st.DataObject) -> None:
    min_pass = data.draw(st.integers(1, len(outcomes)))
    base = CaseResult(id="s::c[m]", suite="s", case="c", model="m", prompt="p", outcome=Outcome.ERROR,
                      repeat=len(outcomes), min_pass=min_pass)
    samples = [SampleResult(outcome=o, score=1.0 if o is Outcome.PASS else 0.0) for o in outcomes]
    res = _finish(base, samples)
    passes, errors = outcomes.count(Outcome.PASS), outcomes.count(Outcome.ERROR)
    assert res.passes == passes
    if passes >= min_pass:
        assert res.outcome is Outcome.PASS
    elif passes + errors >= min_pass:
        assert res.outcome is Outcome.ERROR  # the errored samples could have passed: undecided
    else:
        assert res.outcome is Outcome.FAIL  # fails even if every error had passed
    decided = [o for o in outcomes if o is not Outcome.ERROR]
    assert res.score == pytest.approx(passes / len(decided) if decided else 0.0)


def test_python_api_job(openai_server: OpenAIServer, tmp_path: Path) -> None:
    """Jobs can be built from a Suite made in Python (what prompt_runner does)."""
    from promptkit.runner.engine import Runner
    from promptkit.runner.suite import Suite

    openai_server.add_rule(pattern="France", reply="Paris")
    suite = Suite.from_cases(FIXTURES / "answer.prompty",
                             [{"id": "py", "vars": {"question": "capital of France?"}, "assert": [{"type": "equals", "value": "Paris"}]}])
    [cr] = suite.expand()
    runner = Runner(RunConfig(mode=Mode.AUTO, api_base=openai_server.base_url))
    try:
        [res] = runner.run([CaseJob(case_run=cr, suite_path="py", store=RecordingStore(tmp_path))])
        [again] = runner.run([CaseJob(case_run=cr, suite_path="py", store=RecordingStore(tmp_path))])
    finally:
        runner.close()
    assert res.outcome is Outcome.PASS and again.outcome is Outcome.PASS
    assert again.recordings_hit == 1 and openai_server.calls == 1


def _judge_suite(tmp_path: Path) -> Path:
    shutil.copy(FIXTURES / "answer.prompty", tmp_path / "answer.prompty")
    suite = tmp_path / "judged.prompttest.yaml"
    suite.write_text(
        "prompts: [answer.prompty]\nmodels: [openai/scripted]\ndefaults:\n  judge: openai/judge\ncases:\n"
        "  - id: graded\n    vars: {question: 'What is the capital of France?'}\n    assert:\n"
        "      - type: llm-rubric\n        value: Names Paris as the capital.\n",
        encoding="utf-8",
    )
    return suite


def test_judge_calls_are_recorded_and_replayed(tmp_path: Path) -> None:
    suite = _judge_suite(tmp_path)
    with OpenAIServer(default_reply='{"pass": true, "score": 0.9, "reason": "names Paris"}') as server:
        server.add_rule(pattern="capital of France", model="scripted", reply="Paris.")
        recorded = run_suites([suite], RunConfig(mode=Mode.RECORD, api_base=server.base_url, retry=FAST))
        base = server.base_url
        assert {r["body"]["model"] for r in server.requests} == {"scripted", "judge"}
    [case] = recorded.cases
    assert case.outcome is Outcome.PASS and "names Paris" in case.samples[0].assertions[0].reason
    assert len(list((tmp_path / "__recordings__" / "judged").glob("*.json"))) == 2  # answer + judge
    [again] = run_suites([suite], RunConfig(mode=Mode.REPLAY, api_base=base)).cases
    assert again.outcome is Outcome.PASS and again.samples[0].assertions[0].reason == case.samples[0].assertions[0].reason


def test_failing_judge_is_error_not_fail(openai_server: OpenAIServer, tmp_path: Path) -> None:
    openai_server.add_rule(pattern="capital of France", model="scripted", reply="Paris.")
    openai_server.add_rule(model="judge", fault="server_error")
    [case] = run_suites([_judge_suite(tmp_path)], RunConfig(mode=Mode.LIVE, api_base=openai_server.base_url, retry=FAST)).cases
    assert case.outcome is Outcome.ERROR
    assert case.samples[0].assertions[0].error


def test_progress_bar_does_not_disturb_results(openai_server: OpenAIServer, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _script(openai_server)
    run = run_suites([_suite(tmp_path)], RunConfig(mode=Mode.LIVE, api_base=openai_server.base_url, progress=True))
    assert len(run.cases) == 5
    assert capsys.readouterr().out == ""  # the bar draws on stderr only


@pytest.mark.parametrize("written", ["replay", "REPLAY", Mode.REPLAY])
def test_run_config_takes_the_mode_as_written_in_config(written: object) -> None:
    assert RunConfig(mode=written).mode is Mode.REPLAY  # type: ignore[arg-type]


def test_run_config_rejects_an_unknown_mode_with_the_choices() -> None:
    with pytest.raises(ValueError, match="use one of live, record, replay, auto"):
        RunConfig(mode="playback")  # type: ignore[arg-type]
