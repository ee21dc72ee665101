"""Fault injection: under 429s, 500s, hangs, malformed replies and dropped connections
every case ends in PASS, FAIL or a clear ERROR, nothing hangs, and the results file
holds every case."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.runner.client import RetryPolicy
from promptkit.runner.engine import RunConfig, run_suites
from promptkit.runner.recordings import Mode
from promptkit.runner.results import Outcome, RunResults
from pytest_promptkit.server import OpenAIServer, Rule

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "engine"

#: fault -> (times it strikes per case: None = always, the outcome it must lead to)
PLAN: dict[str, tuple[int | None, Outcome, str | None]] = {
    "rate_limit_once": (1, Outcome.PASS, None),
    "rate_limit": (None, Outcome.ERROR, "rate limit"),
    "server_error_once": (1, Outcome.PASS, None),
    "server_error": (None, Outcome.ERROR, "server"),
    "drop_once": (1, Outcome.PASS, None),
    "drop": (None, Outcome.ERROR, "connection"),
    "hang": (None, Outcome.ERROR, "timed out"),
    "malformed": (None, Outcome.ERROR, "malformed"),
    "no_choices": (None, Outcome.ERROR, "malformed"),
    "wrong": (None, Outcome.FAIL, None),
    "fine": (None, Outcome.PASS, None),
}


def _write_suite(folder: Path, faults: list[str]) -> Path:
    shutil.copy(FIXTURES / "answer.prompty", folder / "answer.prompty")
    lines = ["prompts: [answer.prompty]", "models: [openai/scripted]", "defaults:", "  assert:",
             "    - icontains: ok", "cases:"]
    for i, fault in enumerate(faults):
        lines += [f"  - id: c{i}-{fault.replace('_', '-')}", f"    vars: {{question: 'case{i} please'}}"]
    path = folder / "faults.prompttest.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rules(faults: list[str]) -> list[Rule]:
    rules = []
    for i, fault in enumerate(faults):
        times, _, _ = PLAN[fault]
        pattern = rf"\bcase{i}\b"
        if fault == "wrong":
            rules.append(Rule(pattern=pattern, reply="no idea"))
        elif fault != "fine":
            rules.append(Rule(pattern=pattern, fault=fault.removesuffix("_once"), times=times, retry_after=0.05))
    return rules


def _check(run: RunResults, faults: list[str]) -> None:
    assert len(run.cases) == len(faults)  # complete: every case is there
    for case in run.cases:
        fault = faults[int(case.case.split("-")[0][1:])]  # ids are c<index>-<fault>
        _, want, words = PLAN[fault]
        assert case.outcome is want, (fault, case.samples)
        if want is Outcome.ERROR:
            assert words in (case.samples[0].error or ""), (fault, case.samples[0].error)
            assert case.samples[0].hint  # and what to do about it


def test_every_fault_ends_in_a_clear_outcome(tmp_path: Path) -> None:
    faults = list(PLAN)
    suite = _write_suite(tmp_path, faults)
    # the timeouts leave a local answer ample time on a busy CI machine, far below the hang
    with OpenAIServer(_rules(faults), default_reply="ok", hang_s=30) as server:
        t0 = time.perf_counter()
        run = run_suites([suite], RunConfig(mode=Mode.LIVE, api_base=server.base_url, timeout_s=1.5, concurrency=4,
                                            retry=RetryPolicy(max_retries=2, base_s=0.01, max_backoff_s=0.05)))
        elapsed = time.perf_counter() - t0
    _check(run, faults)
    assert elapsed < 25  # 3 attempts x 1.5 s plus start-up on a busy machine; a missed timeout would be 3 x 30 s


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(faults=st.lists(st.sampled_from(list(PLAN)), min_size=1, max_size=12))
def test_random_fault_mixes(tmp_path_factory: pytest.TempPathFactory, faults: list[str]) -> None:
    folder = tmp_path_factory.mktemp("mix")
    suite = _write_suite(folder, faults)
    with OpenAIServer(_rules(faults), default_reply="ok", hang_s=10) as server:
        run = run_suites([suite], RunConfig(mode=Mode.LIVE, api_base=server.base_url, timeout_s=1.0, concurrency=8,
                                            retry=RetryPolicy(max_retries=1, base_s=0.01, max_backoff_s=0.02)))
    # with one retry, "once" faults still recover
    _check(run, faults)


def test_results_file_is_complete_through_pytest(tmp_path: Path) -> None:
    faults = list(PLAN) * 2
    _write_suite(tmp_path, faults)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    with OpenAIServer(_rules(faults), default_reply="ok", hang_s=10) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "faults.prompttest.yaml", "-q",
             "--promptkit-mode", "live", "--promptkit-api-base", server.base_url, "--promptkit-timeout", "1.5",
             "--promptkit-retries", "1", "--promptkit-concurrency", "8", "--promptkit-results", "results.json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 1, proc.stdout  # the FAIL cases fail the run
    run = RunResults.from_json((tmp_path / "results.json").read_text())
    _check(run, faults)
    errors = sum(PLAN[f][1] is Outcome.ERROR for f in faults)
    assert f"{errors} errors" in proc.stdout and "2 failed" in proc.stdout
