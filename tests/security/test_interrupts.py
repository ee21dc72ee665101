"""Interrupts: Ctrl-C (SIGINT) and a CI cancel (SIGTERM) stop a run the same way.

Real processes, as CI runs them: ``promptkit test`` or ``pytest`` in a subprocess against
the local server, with two cases answered at once and two that hang, so the signal lands
while some cases are done and others are in flight. Then: the results file is valid JSON
marked ``interrupted``, the finished cases are in it, the exit status is the documented
one, no traceback, no temporary file left behind, and the partial run cannot become (or be
used as) the baseline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from promptkit.diagnostics import PromptkitError
from promptkit.runner.baseline import load_baseline, main as baseline_main, store_baseline
from promptkit.runner.results import Outcome, RunResults
from pytest_promptkit.server import OpenAIServer
from tests.security.conftest import AttackProject, assert_no_traceback, clean_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals to a child process")


def _suite(project: AttackProject, name: str, prefix: str) -> None:
    cases = "".join(f"  - id: {prefix}{i}\n    vars: {{question: {prefix}{i}}}\n    assert: [{{icontains: ok}}]\n"
                    for i in range(4))
    project.write(f"{name}.prompttest.yaml", "prompts: [answer.prompty]\ncases:\n" + cases)


def _server() -> OpenAIServer:
    # idle_timeout_s: on a loaded machine starting promptkit takes a minute or more, and an
    # idle server that stopped itself would cut the hanging calls short
    server = OpenAIServer(hang_s=600, idle_timeout_s=900)
    server.add_rule(pattern=r"\b[a-z]+[01]\b", reply="ok")   # two cases per suite finish at once
    server.add_rule(pattern=r"\b[a-z]+[23]\b", fault="hang")  # two hang until the signal comes
    return server


def _start(project: AttackProject, argv: list[str], *, group: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", *argv], cwd=project.root, env=clean_env(ci=True),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=group)


def _when_in_flight(server: OpenAIServer, calls: int, proc: subprocess.Popen[str]) -> None:
    """Wait until ``calls`` requests reached the server (the answered ones are then done
    within a moment), failing early if the run ended by itself."""
    deadline = time.monotonic() + 300
    while len(server.requests) < calls:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the signal:\n{proc.communicate()[0]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"only {len(server.requests)} of {calls} calls arrived:\n{proc.communicate()[0]}")
        time.sleep(0.05)
    time.sleep(1.0)  # the answered cases record their reply and finish their assertions


def _stray_temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp") if ".git" not in p.parts]


def _check_partial_run(project: AttackProject, expect_cases: set[str]) -> RunResults:
    """The results file of an interrupted run: valid, marked, holding the finished cases."""
    path = project.root / ".promptkit" / "results.json"
    data = json.loads(path.read_text(encoding="utf-8"))  # valid JSON, not a torn file
    assert data["interrupted"] is True
    results = RunResults.model_validate(data)
    assert {c.case: c.outcome for c in results.cases} == {c: Outcome.PASS for c in expect_cases}
    assert _stray_temp_files(project.root) == []
    assert not (project.root / "base.json").exists()  # --update-baseline did not store it
    return results


def _cannot_be_a_baseline(project: AttackProject) -> None:
    results = project.root / ".promptkit" / "results.json"
    # as the baseline of a later run: refused before any case runs
    proc = project.run("test", "--mode", "replay", "--baseline", str(results))
    out = assert_no_traceback(proc)
    assert proc.returncode == 2, out
    assert f"{results}:1:1: error: PT006 cannot use this results file as the baseline: the run was interrupted" in out
    # stored by hand with the baseline tool: refused, nothing written
    code = baseline_main([str(project.root / "base.json"), str(results), "--update"])
    assert code == 2 and not (project.root / "base.json").exists()


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_promptkit_test_stopped_keeps_finished_cases(attack: AttackProject, sig: int, status: int) -> None:
    _suite(attack, "answers", "q")
    with _server() as server:
        proc = _start(attack, ["promptkit.cli", "test", "--mode", "record", "--api-base", server.base_url,
                               "--timeout", "60", "--retries", "0", "--baseline", "base.json", "--update-baseline"])
        _when_in_flight(server, 4, proc)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=150)  # a loaded CI machine; a run that ignored the stop takes 600 s
    assert "Traceback" not in out, out
    assert proc.returncode == status, out
    assert "KeyboardInterrupt" in out  # pytest's one-line notice, not a stack
    _check_partial_run(attack, {"q0", "q1"})
    recordings = list((attack.root / "__recordings__" / "answers").glob("*.json"))
    assert len(recordings) == 2  # the finished cases' recordings were written whole
    _cannot_be_a_baseline(attack)


def test_plain_pytest_sigterm_is_like_ctrl_c(attack: AttackProject) -> None:
    _suite(attack, "answers", "q")
    with _server() as server:
        proc = _start(attack, ["pytest", "-q", "-p", "no:cacheprovider", "answers.prompttest.yaml",
                               "--promptkit-mode", "live", "--promptkit-api-base", server.base_url,
                               "--promptkit-retries", "0"])
        _when_in_flight(server, 4, proc)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=150)  # a loaded CI machine; a run that ignored the stop takes 600 s
    assert "Traceback" not in out, out
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out  # pytest's own status for a stopped run
    _check_partial_run(attack, {"q0", "q1"})
    _cannot_be_a_baseline(attack)


#: Where the signal lands, injected deterministically by a conftest in the project: from
#: the event loop's thread at the await points of a case (the handler then runs in the main
#: thread, wherever it is waiting), or in the main thread between pytest's steps.
INJECT_CONFTEST = """
import asyncio, os, signal
from promptkit.runner import engine, recordings
from pytest_promptkit import plugin

POINT = os.environ["PK_INJECT"]
DONE = []

def _stop():
    os.kill(os.getpid(), signal.SIGTERM)

_samples = recordings.Recorder.samples
async def samples(self, store, model, messages, params, n, **kw):
    if POINT == "before-call" and kw.get("case_id") == "q2":
        while not DONE:  # cases run concurrently: let another one finish first
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        _stop()
    out = await _samples(self, store, model, messages, params, n, **kw)
    DONE.append(1)
    if POINT == "after-call" and kw.get("case_id") == "q2":
        _stop()
    return out
recordings.Recorder.samples = samples

_run_case = engine.Runner.run_case
async def run_case(self, job):
    result = await _run_case(self, job)
    if POINT == "case-done" and job.case_id == "q2":
        _stop()
    return result
engine.Runner.run_case = run_case

_record = plugin.PromptkitPlugin.record
def record(self, result):
    _record(self, result)
    if POINT == "main-after-record" and result.case == "q1":
        raise KeyboardInterrupt("injected")
plugin.PromptkitPlugin.record = record
"""


@pytest.mark.parametrize("point", ["before-call", "after-call", "case-done", "main-after-record"])
def test_interrupt_at_each_await_point_is_always_a_clean_partial_run(attack: AttackProject, point: str) -> None:
    """The rare race that once wrote a partial file marked ``interrupted: false`` (after an
    internal error): wherever the stop lands, the file is marked, every kept case really
    finished (none is an ERROR made by the cancel itself), the status is pytest's
    "interrupted" and there is no traceback."""
    _suite(attack, "answers", "q")
    attack.write("conftest.py", INJECT_CONFTEST)
    with OpenAIServer(idle_timeout_s=600) as server:
        server.add_rule(pattern="q", reply="ok", latency_s=0.2)
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "answers.prompttest.yaml",
                               "--promptkit-mode", "live", "--promptkit-api-base", server.base_url,
                               "--promptkit-concurrency", "1", "--promptkit-retries", "0"],
                              cwd=attack.root, env=clean_env(ci=True, extra={"PK_INJECT": point}), capture_output=True,
                              text=True, timeout=180, check=False)
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "TypeError" not in out and "INTERNALERROR" not in out, out
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    data = json.loads((attack.root / ".promptkit" / "results.json").read_text(encoding="utf-8"))
    assert data["interrupted"] is True
    results = RunResults.model_validate(data)
    assert results.cases and all(c.outcome is Outcome.PASS for c in results.cases), out
    assert _stray_temp_files(attack.root) == []


# ---------------------------------------------------------------------- baselines, in process


def test_an_interrupted_run_never_becomes_a_baseline(tmp_path: Path) -> None:
    partial = RunResults(interrupted=True)
    with pytest.raises(PromptkitError) as err:
        store_baseline(partial, tmp_path / "base.json")
    assert "not stored as the baseline: the run was interrupted" in err.value.diagnostic.format()
    assert not (tmp_path / "base.json").exists()
    stored = tmp_path / "old.json"  # written by hand or by an older promptkit
    stored.write_text(partial.to_json(), encoding="utf-8")
    with pytest.raises(PromptkitError) as err:
        load_baseline(stored)
    assert err.value.diagnostic.format().startswith(f"{stored}:1:1: error: PT006 cannot use this results file as the baseline")
    whole = RunResults()
    assert store_baseline(whole, tmp_path / "base.json").is_file()
    assert load_baseline(tmp_path / "base.json") == whole


@pytest.mark.parametrize("whom", ["group", "controller"])
def test_xdist_run_stops_promptly_on_sigterm(attack: AttackProject, whom: str) -> None:
    """``pytest -n 2`` cancelled by CI: SIGTERM to the whole process group (what a job
    runner's cancel does) or to the controller alone. The workers' calls in flight are
    abandoned at once -- not waited out for their 600 s -- the finished cases are kept,
    and the results file is marked interrupted."""
    _suite(attack, "answers", "q")
    _suite(attack, "more", "r")
    with _server() as server:
        proc = _start(attack, ["pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "answers.prompttest.yaml",
                               "more.prompttest.yaml", "--promptkit-mode", "live", "--promptkit-api-base",
                               server.base_url, "--promptkit-retries", "0", "--promptkit-timeout", "500"],
                      group=True)
        _when_in_flight(server, 4, proc)  # some answered, some hanging (how xdist shares them out varies)
        t0 = time.monotonic()
        if whom == "group":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"pytest -n 2 did not stop within 120 s of SIGTERM:\n{proc.communicate()[0]}")
        stopped_in = time.monotonic() - t0
    assert "Traceback" not in out, out
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    assert stopped_in < 60, stopped_in
    data = json.loads((attack.root / ".promptkit" / "results.json").read_text(encoding="utf-8"))
    assert data["interrupted"] is True
    outcomes = {c["case"]: c["outcome"] for c in data["cases"]}
    # the finished cases are kept; a call abandoned by the stop is not an ERROR of the prompt
    assert len(outcomes) >= 2 and set(outcomes.values()) == {"pass"}, outcomes
    assert set(outcomes) <= {"q0", "q1", "r0", "r1"}, outcomes
    assert _stray_temp_files(attack.root) == []
