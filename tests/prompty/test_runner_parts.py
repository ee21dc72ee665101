"""Content parts and threads through the runner: what the model receives, what the
recording keeps, and that replay needs no server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from promptkit.runner.client import RetryPolicy
from promptkit.runner.engine import RunConfig, run_suites
from promptkit.runner.recordings import Mode
from promptkit.runner.results import Outcome
from pytest_promptkit.server import OpenAIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prompty"
FAST = RetryPolicy(max_retries=1, base_s=0.01, max_backoff_s=0.02, retry_after_cap_s=0.1)
IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}


def test_image_parts_and_threads_reach_the_model_and_the_recording(tmp_path: Path) -> None:
    for f in ("describe.prompty", "describe.prompttest.yaml"):
        shutil.copy(FIXTURES / f, tmp_path / f)
    suite = tmp_path / "describe.prompttest.yaml"
    with OpenAIServer() as server:
        server.add_rule(pattern=r"What is in this picture", reply="A cat on a sofa.")
        recorded = run_suites([suite], RunConfig(mode=Mode.RECORD, api_base=server.base_url, retry=FAST))
        (request,) = server.requests
    assert recorded.cases[0].outcome is Outcome.PASS, recorded.cases[0].samples[0].error
    sent = request["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[3]["content"] == [{"type": "text", "text": "What is in this picture?"}, IMAGE]
    assert sent[1]["content"] == "Hi" and "{'role'" not in json.dumps(sent)
    (rec,) = (tmp_path / "__recordings__").rglob("*.json")
    assert json.loads(rec.read_text())["messages"][3]["content"][1] == IMAGE
    replayed = run_suites([suite], RunConfig(mode=Mode.REPLAY, retry=FAST))
    assert replayed.cases[0].outcome is Outcome.PASS and replayed.cases[0].samples[0].from_recording
