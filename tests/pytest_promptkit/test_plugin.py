"""The pytest plugin, driven the way users drive it: a real ``pytest`` process on real
suite files, talking to the scripted server (or to recordings)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from promptkit.runner.results import Outcome, RunResults
from pytest_promptkit.server import OpenAIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "engine"


def _script(server: OpenAIServer) -> None:
    server.add_rule(pattern=r"capital of France", reply="Paris.")
    server.add_rule(pattern=r"capital of Spain", reply="Barcelona, I think.")
    server.add_rule(pattern=r"Say hello", reply="hello there")


def _copy(dest: Path, suite_name: str = "mixed.prompttest.yaml") -> Path:
    for f in ("answer.prompty", "broken.prompty"):
        shutil.copy(FIXTURES / f, dest / f)
    shutil.copy(FIXTURES / "mixed.prompttest.yaml", dest / suite_name)
    return dest / suite_name


def _pytest(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def server() -> OpenAIServer:
    with OpenAIServer(idle_timeout_s=300) as s:
        _script(s)
        yield s


def test_items_outcomes_summary_results_and_junit(server: OpenAIServer, tmp_path: Path) -> None:
    _copy(tmp_path)
    proc = _pytest(tmp_path, "mixed.prompttest.yaml", "-rA", "--promptkit-mode", "live",
                   "--promptkit-api-base", server.base_url, "--promptkit-results", "out/results.json",
                   "--junitxml", "junit.xml")
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "PASSED mixed.prompttest.yaml::capital[openai/scripted]" in out
    assert "FAILED mixed.prompttest.yaml::wrong-answer[openai/scripted]" in out
    assert "ERROR mixed.prompttest.yaml::render-error[openai/scripted]" in out
    assert "XFAIL mixed.prompttest.yaml::flaky-one[openai/scripted]" in out
    assert "icontains failed: " in out and "Barcelona, I think." in out  # the reason and the output
    assert "ERROR (not a failure of the prompt)" in out and "PK022" in out
    assert "Traceback" not in out
    # terminal summary: a row per prompt x model with counts, tokens, recordings
    assert "promptkit: 5 case(s), mode live" in out
    assert "answer.prompty" in out and "rec hit/miss" in out
    # the results file has every case
    res = RunResults.from_json((tmp_path / "out" / "results.json").read_text())
    assert {c.case: c.outcome for c in res.cases} == {
        "capital": Outcome.PASS, "wrong-answer": Outcome.FAIL, "render-error": Outcome.ERROR,
        "flaky-one": Outcome.FAIL, "sampled": Outcome.PASS}
    # junit: FAIL is a failure, ERROR an error, flaky an (x)skip
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("5", "1", "1", "1")


def test_xdist_workers_results_are_merged(server: OpenAIServer, tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    _copy(tmp_path, "a.prompttest.yaml")
    _copy(tmp_path, "b.prompttest.yaml")
    proc = _pytest(tmp_path, "a.prompttest.yaml", "b.prompttest.yaml", "-n", "2", "--dist", "loadfile",
                   "--promptkit-mode", "live", "--promptkit-api-base", server.base_url,
                   "--promptkit-results", "results.json")
    assert proc.returncode == 1, proc.stdout
    res = RunResults.from_json((tmp_path / "results.json").read_text())
    assert len(res.cases) == 10
    assert {c.suite for c in res.cases} == {"a.prompttest.yaml", "b.prompttest.yaml"}
    assert res.counts()[Outcome.PASS] == 4
    assert "promptkit: 10 case(s)" in proc.stdout


def test_record_replay_and_baseline_regression(tmp_path: Path) -> None:
    _copy(tmp_path)
    args = ["mixed.prompttest.yaml", "-k", "capital or sampled", "--promptkit-results", "r.json"]
    with OpenAIServer() as s:
        _script(s)
        rec = _pytest(tmp_path, *args, "--promptkit-mode", "record", "--promptkit-api-base", s.base_url,
                      "--promptkit-baseline", "base.json", "--promptkit-update-baseline")
    assert rec.returncode == 0, rec.stdout
    assert len(list((tmp_path / "__recordings__" / "mixed").glob("*.json"))) == 2
    assert json.loads((tmp_path / "base.json").read_text())["cases"]
    # replay, offline (the server is gone), against the baseline: no regressions
    env_ci = _pytest(tmp_path, *args, "--promptkit-baseline", "base.json")  # default mode is auto: recordings hit
    assert env_ci.returncode == 0, env_ci.stdout
    assert "4/0" in env_ci.stdout  # recordings hit/missed (1 + 3 samples) in the summary
    # a changed recording makes "capital" fail: a regression fails the run even if... it is reported
    for f in (tmp_path / "__recordings__" / "mixed").glob("*.json"):
        data = json.loads(f.read_text())
        if "France" in data["messages"][-1]["content"]:
            data["samples"][0]["text"] = "Lyon."
            f.write_text(json.dumps(data))
    reg = _pytest(tmp_path, *args, "--promptkit-mode", "replay", "--promptkit-baseline", "base.json")
    assert reg.returncode == 1
    assert "REGRESSIONS" in reg.stdout and "capital" in reg.stdout


def test_missing_recording_in_replay_names_the_command(tmp_path: Path) -> None:
    _copy(tmp_path)
    proc = _pytest(tmp_path, "mixed.prompttest.yaml", "-k", "capital", "--promptkit-mode", "replay")
    assert proc.returncode == 1
    assert "hint: record it: promptkit test mixed.prompttest.yaml --mode record -k capital" in proc.stdout
    assert "ERROR mixed.prompttest.yaml::capital" in proc.stdout or "1 error" in proc.stdout


def test_bad_suite_is_a_collection_error_with_position(tmp_path: Path) -> None:
    (tmp_path / "bad.prompttest.yaml").write_text("prompts: [nowhere.prompty]\ncases:\n  - id: a\n    vars: 3\n")
    proc = _pytest(tmp_path, "bad.prompttest.yaml")
    assert proc.returncode == 2  # collection error: pytest's interrupted status
    assert "bad.prompttest.yaml:" in proc.stdout and "error:" in proc.stdout
    assert "Traceback" not in proc.stdout


def test_prompt_runner_fixture_records_next_to_the_test(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "answer.prompty", tmp_path / "answer.prompty")
    (tmp_path / "test_prompts.py").write_text(
        "import pytest\n"
        "from promptkit.runner.results import Outcome\n\n"
        "def test_paris(prompt_runner, openai_server):\n"
        "    openai_server.add_rule(pattern='France', reply='Paris is the capital.')\n"
        "    prompt_runner.api_base = openai_server.base_url\n"
        "    r = prompt_runner.check('answer.prompty', {'question': 'capital of France?'},\n"
        "                            [{'type': 'icontains', 'value': 'paris'}, {'type': 'length', 'max': 10, 'unit': 'words'}])\n"
        "    assert r.outcome is Outcome.PASS and r.samples[0].output == 'Paris is the capital.'\n\n"
        "def test_fails_with_reason(prompt_runner, openai_server):\n"
        "    openai_server.add_rule(reply='Rome')\n"
        "    prompt_runner.api_base = openai_server.base_url\n"
        "    prompt_runner.check('answer.prompty', {'question': 'capital of Italy?'}, [{'type': 'equals', 'value': 'Paris'}])\n",
        encoding="utf-8",
    )
    proc = _pytest(tmp_path, "test_prompts.py", "-m", "promptkit", "--promptkit-mode", "auto")
    assert "1 passed" in proc.stdout and "1 failed" in proc.stdout, proc.stdout
    assert "FAIL: test_prompts.py::test_fails_with_reason" in proc.stdout or "equals failed" in proc.stdout
    assert len(list((tmp_path / "__recordings__" / "test_prompts").glob("*.json"))) == 2


def test_promptkit_test_command(tmp_path: Path) -> None:
    templates = Path(__file__).resolve().parents[2] / "templates"
    for f in ("classify_ticket.prompty", "classify_ticket.prompttest.yaml"):
        shutil.copy(templates / f, tmp_path / f)
    shutil.copytree(templates / "__recordings__" / "classify_ticket", tmp_path / "__recordings__" / "classify_ticket")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE")}
    exe = [sys.executable, "-m", "promptkit.cli"]
    proc = subprocess.run([*exe, "test", ".", "--mode", "replay", "-k", "double", "--results", "r.json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout and (tmp_path / "r.json").is_file()
    missing = subprocess.run([*exe, "test", "nope/"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert missing.returncode == 2 and "nope/:1:1: error:" in missing.stderr


def test_cli_translates_options() -> None:
    import argparse

    from promptkit.runner.cli import TEST

    p = argparse.ArgumentParser()
    TEST.add_arguments(p)
    ns = p.parse_args([str(FIXTURES / "mixed.prompttest.yaml"), "--mode", "replay", "--concurrency", "4",
                       "-n", "2", "--baseline", "b.json", "--update-baseline", "-k", "capital"])
    argv = TEST.pytest_args(ns)
    for pair in (["--promptkit-mode", "replay"], ["--promptkit-concurrency", "4"], ["-n", "2"], ["--dist", "loadfile"],
                 ["--promptkit-baseline", "b.json"], ["-k", "capital"]):
        i = argv.index(pair[0])
        assert argv[i: i + 2] == pair
    assert "--promptkit-update-baseline" in argv
    found = TEST.pytest_args(p.parse_args([str(FIXTURES)]))
    assert found[0].endswith("mixed.prompttest.yaml")
