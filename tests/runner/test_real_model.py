"""End to end against a real model (SmolLM2-135M under llama-cpp-python), opt-in.

Runs with ``pytest -m real_model`` (or ``PROMPTKIT_REAL_MODEL=1``); skipped with the
reason otherwise, and when the model or the server package is not installed. It records
an example suite live through litellm, then replays it offline and checks that every case
ends the same way with the same outputs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from promptkit.runner.engine import RunConfig, run_suites
from promptkit.runner.recordings import Mode
from promptkit.runner.results import Outcome
from pytest_promptkit.local_model import LlamaServer, missing

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

pytestmark = pytest.mark.real_model


@pytest.fixture
def opted_in(request: pytest.FixtureRequest) -> None:
    asked = "real_model" in (request.config.getoption("markexpr") or "") or os.environ.get("PROMPTKIT_REAL_MODEL") == "1"
    if not asked:
        pytest.skip("real-model test is opt-in: run `pytest -m real_model` (takes about a minute)")
    why = missing()
    if why:
        pytest.skip(f"real-model test skipped: {why}")


@pytest.mark.usefixtures("opted_in")
def test_record_live_then_replay_offline(tmp_path: Path) -> None:
    for name in ("classify_ticket.prompty", "classify_ticket.prompttest.yaml", "summarize.prompty", "summarize.prompttest.yaml"):
        shutil.copy(TEMPLATES / name, tmp_path / name)
    suites = sorted(tmp_path.glob("*.prompttest.yaml"))
    with LlamaServer(log=tmp_path / "server.log") as server:
        live = run_suites(suites, RunConfig(mode=Mode.RECORD, api_base=server.base_url, concurrency=1, timeout_s=300))
        # same seed, same answer: llama.cpp at temperature 0 with seed 42 repeats itself
        again = run_suites(suites[:1], RunConfig(mode=Mode.LIVE, api_base=server.base_url, concurrency=1, timeout_s=300))
    assert live.cases and all(c.outcome is not Outcome.ERROR for c in live.cases), [c.samples for c in live.cases]
    assert all(c.usage.completion_tokens > 0 and c.usage.latency_s > 0 for c in live.cases)
    first = {c.id: c.samples[0].output for c in live.cases}
    assert all(first[c.id] == c.samples[0].output for c in again.cases)
    replay = run_suites(suites, RunConfig(mode=Mode.REPLAY, api_base=server.base_url))  # the server is gone
    assert [(c.id, c.outcome, [s.output for s in c.samples]) for c in replay.cases] == \
        [(c.id, c.outcome, [s.output for s in c.samples]) for c in live.cases]
    assert all(c.recordings_hit == c.repeat for c in replay.cases)


@pytest.mark.usefixtures("opted_in")
def test_every_example_suite_matches_its_committed_recordings_live(tmp_path: Path) -> None:
    """Every suite in templates/, run live against the local model, answers what its
    committed recordings say (so the recordings CI replays are the model's real answers)."""
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    suites = sorted(copy.glob("*.prompttest.yaml"))
    assert len(suites) == len(list(TEMPLATES.glob("*.prompttest.yaml"))) >= 7
    committed = run_suites(suites, RunConfig(mode=Mode.REPLAY))
    assert all(c.recordings_missed == 0 for c in committed.cases), "a committed recording is missing"
    with LlamaServer(log=tmp_path / "server.log") as server:
        live = run_suites(suites, RunConfig(mode=Mode.LIVE, api_base=server.base_url, concurrency=1, timeout_s=300))
    recorded = {c.id: [s.output for s in c.samples] for c in committed.cases}
    differ = [c.id for c in live.cases if [s.output for s in c.samples] != recorded.get(c.id)]
    assert not differ, f"live answers differ from the committed recordings for: {differ}"
    assert {c.id: c.outcome for c in live.cases} == {c.id: c.outcome for c in committed.cases}
