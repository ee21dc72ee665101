"""`promptkit suggest` as users type it: output formats, --apply, and one clear message
for each kind of bad input, with nothing written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from promptkit.cli import main
from promptkit.runner import RunConfig, load_suite, run_cases
from pytest_promptkit.server import OpenAIServer, Rule
from tests.optimize.scenarios import by_kind, server_for, setup_project


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.delenv("CI", raising=False)


def _tracked_changes(root: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                          capture_output=True, text=True, check=True).stdout


def _project(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    suite = setup_project(by_kind(kind), tmp_path)
    monkeypatch.chdir(tmp_path)
    return str(suite.relative_to(tmp_path))


def test_text_output_then_apply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    suite = _project("missing_label", tmp_path, monkeypatch)
    server, _ = server_for(by_kind("missing_label"))
    with server:
        args = ["suggest", suite, "--api-base", server.base_url, "--proposer", "openai/proposer"]
        assert main(args) == 0
        out = capsys.readouterr()
        assert "+- refund: returns and requests for money back" in out.out
        assert "version: 2.0.0 -> 2.0.1 (patch)" in out.out
        assert "fixes: refund, refund-again" in out.out
        assert "budget: 60 model calls" in out.err and "spent:" in out.out
        assert _tracked_changes(tmp_path) == ""  # printing writes nothing
        assert main([*args, "--apply", "-q"]) == 0
        capsys.readouterr()
    text = (tmp_path / "missing_label" / "router.prompty").read_text(encoding="utf-8")
    assert "version: 2.0.1" in text and "- refund: returns" in text
    assert _tracked_changes(tmp_path).strip() == "M missing_label/router.prompty"


def test_json_and_github_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    suite = _project("date_format", tmp_path, monkeypatch)
    server, _ = server_for(by_kind("date_format"))
    with server:
        base = ["suggest", suite, "--api-base", server.base_url, "--proposer", "openai/proposer", "-q"]
        assert main([*base, "--format", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["status"] == "fixed" and data["patch"]["new_version"] == "1.1.1"
        assert data["spent"]["calls"] <= data["budget"]["calls"]
        assert {c["status"] for c in data["candidates"]} >= {"accepted"}
        assert main([*base, "--format", "github"]) == 0
        gh = capsys.readouterr().out
    assert "```suggestion\n" in gh and "YYYY-MM-DD" in gh
    assert "invoice_dates.prompty:" in gh


def test_results_file_of_another_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    suite = _project("json_format", tmp_path, monkeypatch)
    other = tmp_path / "other.json"
    with OpenAIServer(default_reply="hello") as server:
        other_suite = setup_project(by_kind("preamble"), tmp_path / "p2")
        res = run_cases(load_suite(other_suite), config=RunConfig(mode="live", api_base=server.base_url, api_key="x"))
    other.write_text(res.to_json(), encoding="utf-8")
    assert main(["suggest", suite, "--results", str(other)]) == 2
    err = capsys.readouterr().err
    assert "PT040" in err and "holds no case of json_format/triage.prompttest.yaml" in err
    assert err.count("\n") <= 2 and "Traceback" not in err
    assert _tracked_changes(tmp_path) == ""


def test_nothing_failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    suite = _project("json_format", tmp_path, monkeypatch)
    reply = '{"queue": "shipping", "urgent": true}'
    with OpenAIServer([Rule(pattern="parcel", reply=reply), Rule(pattern="charged", reply=reply.replace("shipping", "billing")),
                       Rule(reply=reply.replace("shipping", "technical"))]) as server:
        assert main(["suggest", suite, "--api-base", server.base_url]) == 0
    out = capsys.readouterr().out
    assert "PT043 nothing to fix: no case of json_format/triage.prompttest.yaml fails; nothing written" in out
    assert _tracked_changes(tmp_path) == ""


@pytest.mark.parametrize("how", ["replay-without-recordings", "provider-refuses", "env-api-base"])
def test_cases_that_error_are_not_an_all_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], how: str) -> None:
    """Every case ERROR (no recording, a provider that keeps failing): the prompt was never
    judged, so 'nothing to fix' (exit 0) would pass CI silently. PROMPTKIT_API_BASE is read
    as `promptkit test` reads it."""
    suite = _project("json_format", tmp_path, monkeypatch)
    if how == "replay-without-recordings":
        assert main(["suggest", suite, "--mode", "replay", "-q"]) == 2
    else:
        with OpenAIServer([Rule(fault="bad_request")]) as server:
            if how == "env-api-base":
                monkeypatch.setenv("PROMPTKIT_API_BASE", server.base_url)
                assert main(["suggest", suite, "--mode", "live", "-q"]) == 2
            else:
                assert main(["suggest", suite, "--mode", "live", "-q", "--api-base", server.base_url]) == 2
            assert server.calls > 0  # the calls went to the server named by either way
    err = capsys.readouterr().err
    assert "PT044" in err and "ended in ERROR, which no prompt edit fixes; first:" in err
    assert "PT043" not in err and "Traceback" not in err
    assert _tracked_changes(tmp_path) == ""


@pytest.mark.parametrize(("args", "why", "fix"), [
    (["--max-calls", "0"], "a budget of 0 model calls allows no call", "give --max-calls 1 or more"),
    (["--max-calls", "-3"], "a budget of -3 model calls allows no call", "give --max-calls 1 or more"),
    (["--max-tokens", "0"], "a budget of 0 tokens allows no call", "give --max-tokens 1 or more"),
    (["--max-cost", "0"], "a budget of $0 allows no paid call", "give --max-cost above 0"),
    (["--rounds", "-1"], "rounds must be >= 0", "give --rounds 0 or more"),
    (["--beam", "0"], "candidates and beam >= 1", "--beam 1 or more"),
])
def test_a_budget_that_allows_nothing_is_refused_before_any_call(
        args: list[str], why: str, fix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The message says which limit is wrong, and the fix names that limit's option."""
    suite = _project("json_format", tmp_path, monkeypatch)
    with OpenAIServer() as server:
        assert main(["suggest", suite, *args, "--api-base", server.base_url]) == 2
        assert server.calls == 0
    err = capsys.readouterr().err
    assert "PT041" in err and why in err and fix in err and "Traceback" not in err
    assert _tracked_changes(tmp_path) == ""


def test_a_budget_smaller_than_the_first_run_is_refused_before_any_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The suite's own run counts against the budget: one too small to hold it would be
    overspent by that run alone, so it is refused up front, saying how many it takes."""
    suite = _project("json_format", tmp_path, monkeypatch)
    needed = sum(run.case.repeat for run in load_suite(tmp_path / suite).expand())
    assert needed >= 2
    with OpenAIServer() as server:
        assert main(["suggest", suite, "--max-calls", str(needed - 1), "--api-base", server.base_url]) == 2
        assert server.calls == 0
    err = capsys.readouterr().err
    assert "PT041" in err and f"takes {needed} model calls, more than the budget of {needed - 1}" in err
    assert f"give --max-calls {needed} or more" in err and "--results FILE" in err


def test_proposer_reply_not_in_the_requested_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from tests.optimize.scenarios import Scenario

    base = by_kind("missing_label")
    scenario = Scenario(base.kind, base.suite, base.target, raw_reply="I would add a refund team to the list.")
    suite = setup_project(scenario, tmp_path)
    monkeypatch.chdir(tmp_path)
    server, proposer = server_for(scenario)
    with server:
        code = main(["suggest", str(suite.relative_to(tmp_path)), "--api-base", server.base_url,
                     "--proposer", "openai/proposer", "-q", "--rounds", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "PT042 the proposer's reply was not in the requested format: the reply has no candidate" in out
    assert "nothing written" in out
    assert proposer.calls == 2  # one critique, one proposal, no retry storm
    assert _tracked_changes(tmp_path) == ""
