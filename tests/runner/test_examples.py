"""The example suites in ``templates/`` run green: in replay from their committed
recordings (offline, what the README's test command does in CI), and live against the
scripted local server answering like a good model would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promptkit.runner.engine import RunConfig, run_suites
from promptkit.runner.recordings import Mode
from promptkit.runner.results import Outcome
from pytest_promptkit.server import OpenAIServer, Rule

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
SUITES = sorted(TEMPLATES.glob("*.prompttest.yaml"))
REPLIES = ROOT / "tests" / "fixtures" / "runner" / "engine" / "example_replies.json"


def _not_passing(run: object) -> list[str]:
    return [f"{c.id}: {c.outcome.value}: {[s.error or [a.reason for a in s.assertions if not a.passed] for s in c.samples]}"
            for c in run.cases if c.outcome is not Outcome.PASS]  # type: ignore[attr-defined]


def test_every_template_has_a_suite() -> None:
    prompts = {p.name.split(".")[0] for p in TEMPLATES.glob("*.prompty")}
    assert prompts and prompts <= {s.name.split(".")[0] for s in SUITES}


def test_examples_pass_in_replay_offline() -> None:
    run = run_suites(SUITES, RunConfig(mode=Mode.REPLAY, api_base="http://127.0.0.1:9/unreachable"))
    assert len(run.cases) >= 2 * len(SUITES)
    assert not _not_passing(run)
    assert all(c.recordings_hit == c.repeat and c.recordings_missed == 0 for c in run.cases)


def test_examples_pass_live_against_the_local_server(tmp_path: Path) -> None:
    for f in TEMPLATES.glob("*.prompt*"):
        shutil.copy(f, tmp_path / f.name)
    rules = [Rule(**r) for r in json.loads(REPLIES.read_text(encoding="utf-8"))]
    with OpenAIServer(rules, default_reply="(no scripted reply)") as server:
        run = run_suites(sorted(tmp_path.glob("*.prompttest.yaml")),
                         RunConfig(mode=Mode.LIVE, api_base=server.base_url, timeout_s=10))
        calls = server.calls
    assert not _not_passing(run)
    assert calls == len(run.cases)


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_recordings_are_reviewable_and_secret_free(suite: Path) -> None:
    folder = TEMPLATES / "__recordings__" / suite.name.split(".")[0]
    files = sorted(folder.glob("*.json"))
    assert files, f"no recordings for {suite.name}: run benchmarks/real_model.py --update"
    for f in files:
        text = f.read_text(encoding="utf-8")
        data = json.loads(text)
        assert data["model"] == "openai/smollm2" and data["samples"]
        assert "api_key" not in text and "api_base" not in text and "127.0.0.1" not in text
