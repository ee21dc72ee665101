"""Bad input as a new user meets it with ``promptkit test``: every mistake is one clear
line (or one ERROR per case) with a hint, the documented exit code, no traceback, and the
results of what did run are kept."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from promptkit.diagnostics import PromptkitError
from promptkit.runner.baseline import load_results
from promptkit.runner.client import ModelClient, RetryPolicy, classify
from promptkit.runner.engine import RunConfig, run_suites
from promptkit.runner.recordings import Mode
from promptkit.runner.results import Outcome, ProviderError, RunResults
from pytest_promptkit.server import OpenAIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "engine"
SUITE = """prompts: [answer.prompty]
cases:
  - id: france
    vars: {question: capital of France?}
    assert: [{icontains: paris}]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(FIXTURES / "answer.prompty", tmp_path / "answer.prompty")
    (tmp_path / "ok.prompttest.yaml").write_text(SUITE, encoding="utf-8")
    return tmp_path


def _env() -> dict[str, str]:
    drop = ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS", "OPENAI_API_KEY", "PROMPTKIT_API_BASE")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _test(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promptkit.cli", "test", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, check=False, timeout=120)


def _clean(proc: subprocess.CompletedProcess[str]) -> str:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    return out


# ---------------------------------------------------------------------- provider failures


def test_missing_api_key_is_auth_with_the_variable_to_set() -> None:
    """litellm reports a missing OpenAI key as a 500 ("InternalServerError"): it must not
    be retried as a server failure, and the hint names the variable."""

    async def call() -> ProviderError:
        client = ModelClient(retry=RetryPolicy(max_retries=3, base_s=5.0))  # a retry would take seconds
        with pytest.raises(ProviderError) as err:
            await client.complete("openai/gpt-4o-mini", [{"role": "user", "content": "hi"}], {"api_key": None})
        assert client.attempts == 1
        return err.value

    saved = os.environ.pop("OPENAI_API_KEY", None)
    try:
        err = asyncio.run(call())
    finally:
        if saved is not None:
            os.environ["OPENAI_API_KEY"] = saved
    assert err.kind == "auth"
    assert "OPENAI_API_KEY" in err.hint and "replay" in err.hint
    assert not str(err).startswith("openai/gpt-4o-mini: auth: litellm.")  # SDK class names stripped


@pytest.mark.parametrize(("message", "kind"), [
    ("litellm.InternalServerError: OpenAIException - Missing credentials. Please pass an `api_key`", "auth"),
    ("The api_key client option must be set either by passing api_key to the client", "auth"),
    ("litellm.BadRequestError: LLM Provider NOT provided. You passed model=gpt-x", "provider"),
])
def test_classify_messages(message: str, kind: str) -> None:
    assert classify(RuntimeError(message))[0] == kind


def test_unknown_model_and_unreachable_api_base_are_errors_with_hints(project: Path) -> None:
    """In process (the CLI shows a case's ERROR and hint as the plugin tests check)."""
    fast = RetryPolicy(max_retries=1, base_s=0.01, max_backoff_s=0.02)
    suite = project / "ok.prompttest.yaml"
    suite.write_text(SUITE.replace("prompts:", "models: [gpt-nonesuch-9]\nprompts:"), encoding="utf-8")
    [case] = run_suites([suite], RunConfig(mode=Mode.LIVE, retry=fast)).cases
    assert case.outcome is Outcome.ERROR
    assert "bad request: LLM Provider NOT provided" in (case.samples[0].error or "")
    assert "litellm model ids start with their provider: openai/gpt-4o-mini" in (case.samples[0].hint or "")

    suite.write_text(SUITE, encoding="utf-8")
    [case] = run_suites([suite], RunConfig(mode=Mode.LIVE, retry=fast, api_base="http://127.0.0.1:9/v1")).cases
    assert case.outcome is Outcome.ERROR
    assert (case.samples[0].error or "").endswith("connection: Connection error. (after 2 attempts)")
    assert "nothing answered at --api-base" in (case.samples[0].hint or "")


# ---------------------------------------------------------------------- files


def test_corrupt_recording_is_an_error_naming_the_file(project: Path) -> None:
    with OpenAIServer() as server:
        server.add_rule(reply="Paris.")
        run = run_suites([project / "ok.prompttest.yaml"], RunConfig(mode=Mode.RECORD, api_base=server.base_url))
        assert run.cases[0].outcome is Outcome.PASS
    [rec] = (project / "__recordings__" / "ok").glob("*.json")
    rec.write_text(rec.read_text()[:40], encoding="utf-8")  # truncated by a crash or a bad merge
    proc = _test(project, "--mode", "replay")
    out = _clean(proc)
    assert proc.returncode == 1 and f"{rec.name}: corrupt recording" in out and f"hint: delete {rec.relative_to(project)}" in out


@pytest.mark.parametrize(("content", "words"), [
    ("not json\n", [":1:2: error: PT006 not a promptkit results file: Invalid JSON"]),
    ('{"cases": 3}\n', ["PT006 not a promptkit results file: cases: Input should be a valid array"]),
])
def test_baseline_that_is_not_a_results_file(project: Path, content: str, words: list[str]) -> None:
    (project / "base.json").write_text(content, encoding="utf-8")
    proc = _test(project, "--mode", "replay", "--baseline", "base.json")
    out = _clean(proc)
    assert proc.returncode == 2
    for w in words:
        assert w in out
    assert not (project / ".promptkit").exists()  # refused before running anything


def test_baseline_pointing_nowhere(project: Path) -> None:
    proc = _test(project, "--mode", "replay", "--baseline", "nowhere/base.json")
    out = _clean(proc)
    assert proc.returncode == 2 and "nowhere/base.json: baseline file not found" in out and "--update-baseline" in out
    # creating it is what --update-baseline is for
    proc = _test(project, "--mode", "replay", "--baseline", "nowhere/base.json", "--update-baseline")
    assert proc.returncode == 1 and load_results(project / "nowhere" / "base.json").cases


@pytest.mark.parametrize(("target", "words"), [
    ("folder", "it is a folder"),
    ("ok.prompttest.yaml/results.json", "ok.prompttest.yaml is a file, not a folder"),
])
def test_results_path_that_cannot_be_written(project: Path, target: str, words: str) -> None:
    (project / "folder").mkdir()
    proc = _test(project, "--mode", "replay", "--results", target)
    out = _clean(proc)
    assert proc.returncode == 2 and f"{target}: cannot write the results file here: {words}" in out


def test_results_file_is_not_json_for_the_baseline_tool(tmp_path: Path) -> None:
    bad = tmp_path / "results.json"
    bad.write_text("{\n  \"cases\": [\n", encoding="utf-8")
    with pytest.raises(PromptkitError) as err:
        load_results(bad)
    assert err.value.diagnostic.format().startswith(f"{bad}:3:1: error: PT006 not a promptkit results file")


def test_broken_suite_and_broken_prompt(project: Path) -> None:
    (project / "bad.prompttest.yaml").write_text("prompts: [answer.prompty]\ncases:\n  - id: a\n    vars: {x: 1\n",
                                                 encoding="utf-8")
    proc = _test(project, "bad.prompttest.yaml")
    out = _clean(proc)
    assert proc.returncode == 2 and "bad.prompttest.yaml:5:1: error: PT001 invalid YAML" in out

    (project / "broken.prompty").write_text("---\nname: x\nmodel: [unclosed\n---\nuser:\n{{ question }}\n", encoding="utf-8")
    (project / "ok.prompttest.yaml").write_text(SUITE.replace("answer.prompty", "broken.prompty").replace(
        "prompts:", "models: [openai/x]\nprompts:"), encoding="utf-8")
    proc = _test(project, "ok.prompttest.yaml", "--mode", "replay")
    out = _clean(proc)
    # a broken prompt is a template error found at collection, before any model call (#14): exit 2
    assert proc.returncode == 2 and "broken.prompty:4:1: error: PK002 invalid YAML in front matter" in out


@pytest.mark.parametrize(("args", "words"), [
    (["--api-base", "localhost:8000"], "'localhost:8000': not a URL (write it as http://localhost:8000/v1"),
    (["--concurrency", "0"], "--promptkit-concurrency 0: must be a whole number >= 1"),
    (["--timeout", "0"], "--promptkit-timeout 0.0: must be a number of seconds > 0"),
    (["--retries", "-1"], "--promptkit-retries -1: must be a whole number >= 0"),
])
def test_bad_options_are_refused_before_any_call(project: Path, args: list[str], words: str) -> None:
    proc = _test(project, "--mode", "replay", *args)
    out = _clean(proc)
    assert proc.returncode == 2 and words in out


def test_bad_promptkit_mode_variable(project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "promptkit.cli", "test"], cwd=project,
                          env={**_env(), "PROMPTKIT_MODE": "offline"}, capture_output=True, text=True, timeout=60,
                          check=False)
    out = _clean(proc)
    assert proc.returncode == 2 and "PROMPTKIT_MODE='offline' is not a mode" in out


# ---------------------------------------------------------------------- Ctrl-C


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_keeps_the_cases_that_finished(project: Path) -> None:
    cases = "".join(f"  - id: c{i}\n    vars: {{question: q{i}}}\n    assert: [{{icontains: ok}}]\n" for i in range(4))
    (project / "ok.prompttest.yaml").write_text("prompts: [answer.prompty]\ncases:\n" + cases, encoding="utf-8")
    with OpenAIServer(hang_s=60) as server:
        server.add_rule(pattern=r"^q[01]$", reply="ok")
        server.add_rule(pattern=r"^q[23]$", fault="hang")
        proc = subprocess.Popen([sys.executable, "-m", "promptkit.cli", "test", "--mode", "live", "--api-base",
                                 server.base_url, "--timeout", "60", "--baseline", "base.json", "--update-baseline"],
                                cwd=project, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while len(server.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the two answered cases finish their assertions
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out  # 128 + SIGINT, as a shell reports it
    assert "KeyboardInterrupt" in out and "Traceback" not in out
    res = RunResults.from_json((project / ".promptkit" / "results.json").read_text())
    assert res.interrupted
    assert {c.case: c.outcome for c in res.cases} == {"c0": Outcome.PASS, "c1": Outcome.PASS}
    assert not (project / "base.json").exists()  # a partial run never becomes the baseline
    assert json.loads((project / ".promptkit" / "results.json").read_text())["interrupted"] is True
