"""Recordings that review well: re-recording an unchanged answer leaves the file
byte-identical (no latency, response id or date churn); a changed answer rewrites it."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from promptkit.runner.recordings import Mode, Recorder, RecordingStore
from promptkit.runner.results import ModelResponse, Usage

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]


class Provider:
    """Answers ``answers[prompt]``; latency and response id differ on every call, as a
    real provider's do."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls = itertools.count(1)

    async def __call__(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> ModelResponse:
        n = next(self.calls)
        return ModelResponse(text=self.answers[messages[-1]["content"]], model=model, finish_reason="stop",
                             usage=Usage(prompt_tokens=7, completion_tokens=3, latency_s=0.1234567 * n),
                             raw={"id": f"chatcmpl-{n:08x}"})


def _record(store: RecordingStore, provider: Provider, prompts: list[str], repeat: int = 1) -> None:
    rec = Recorder(Mode.RECORD, provider)

    async def go() -> None:
        for p in prompts:
            await rec.samples(store, "openai/m", [MSGS[0], {"role": "user", "content": p}], {"temperature": 0}, repeat)

    asyncio.run(go())


def _files(store: RecordingStore) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(store.directory.glob("*.json"))}


def test_rerecording_unchanged_answers_is_byte_identical(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "rec")
    prompts = [f"question {i}" for i in range(14)]
    provider = Provider({p: f"answer to {p}" for p in prompts})
    _record(store, provider, prompts, repeat=2)
    first = _files(store)
    assert len(first) == 14
    _record(store, provider, prompts, repeat=2)  # new latencies, new ids, a later date
    assert _files(store) == first
    data = json.loads(next(iter(first.values())))
    assert "id" not in data["samples"][0]["raw"]  # the provider's response id is never kept
    assert data["samples"][0]["usage"]["latency_s"] == round(data["samples"][0]["usage"]["latency_s"], 3)


def test_a_changed_answer_rewrites_only_its_file(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "rec")
    prompts = ["a", "b", "c"]
    answers = {"a": "one", "b": "two", "c": "three"}
    _record(store, Provider(answers), prompts)
    first = _files(store)
    _record(store, Provider({**answers, "b": "TWO"}), prompts)
    second = _files(store)
    changed = [name for name in first if first[name] != second[name]]
    assert len(changed) == 1
    assert json.loads(second[changed[0]])["samples"][0]["text"] == "TWO"
