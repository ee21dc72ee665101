"""Record/replay: the key recipe, modes, repeat samples, secrets, corrupt files, and
atomic writes from concurrent processes."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.runner.recordings import (
    RECORDING_FORMAT,
    Mode,
    RecordedSample,
    Recorder,
    Recording,
    RecordingStore,
    default_mode,
    recording_key,
)
from promptkit.runner.results import ModelResponse, ProviderError, Usage

MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]


class FakeModel:
    """Counts calls; answers "answer <n>" so every sample is distinguishable."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.fail_after = fail_after

    async def __call__(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> ModelResponse:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise ProviderError("boom", kind="server")
        return ModelResponse(text=f"answer {self.calls}", model=model, usage=Usage(prompt_tokens=3, completion_tokens=2),
                             raw={"id": f"c{self.calls}"})


def _samples(rec: Recorder, store: RecordingStore, n: int = 1, params: dict[str, Any] | None = None,
             ) -> list[ModelResponse | ProviderError]:
    return asyncio.run(rec.samples(store, "openai/m", MSGS, params or {"temperature": 0}, n,
                                   suite_path="suites/x.prompttest.yaml", case_id="greet"))


params_st = st.dictionaries(st.sampled_from(["temperature", "top_p", "max_tokens", "seed"]),
                            st.integers(0, 5) | st.floats(0, 1, allow_nan=False), max_size=4)


@settings(max_examples=60, deadline=None)
@given(params=params_st, key=st.text(min_size=4, max_size=20), base=st.text(min_size=1, max_size=20))
def test_key_ignores_secrets_transport_and_order(params: dict[str, Any], key: str, base: str) -> None:
    plain = recording_key("openai/m", MSGS, params)
    noisy = {**params, "api_key": key, "api_base": base, "timeout": 3, "num_retries": 2}
    assert recording_key("openai/m", MSGS, dict(reversed(list(noisy.items())))) == plain
    assert len(plain) == 16 and int(plain, 16) >= 0


@settings(max_examples=60, deadline=None)
@given(params=params_st, text=st.text(max_size=40))
def test_key_changes_with_prompt_model_and_params(params: dict[str, Any], text: str) -> None:
    k = recording_key("openai/m", MSGS, params)
    other_msgs = [MSGS[0], {"role": "user", "content": "hi" + text + "!"}]
    assert recording_key("openai/m", other_msgs, params) != k
    assert recording_key("openai/other", MSGS, params) != k
    assert recording_key("openai/m", MSGS, {**params, "temperature": 7}) != k


def test_auto_records_then_replays(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "rec")
    model = FakeModel()
    first = _samples(Recorder(Mode.AUTO, model), store)
    assert [r.text for r in first] == ["answer 1"] and not first[0].from_recording  # type: ignore[union-attr]
    again = _samples(Recorder(Mode.AUTO, model), store)
    assert again[0].text == "answer 1" and again[0].from_recording  # type: ignore[union-attr]
    assert model.calls == 1
    files = list((tmp_path / "rec").glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["format"] == RECORDING_FORMAT and data["model"] == "openai/m" and data["messages"] == MSGS
    assert files[0].read_text().startswith("{\n  ")  # pretty-printed, reviewable


def test_repeat_keeps_all_samples_and_tops_up(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    model = FakeModel()
    assert [r.text for r in _samples(Recorder(Mode.RECORD, model), store, n=2)] == ["answer 1", "answer 2"]  # type: ignore[union-attr]
    # auto with repeat raised to 3: replays the 2 recorded samples, calls once more
    out = _samples(Recorder(Mode.AUTO, model), store, n=3)
    assert [r.text for r in out] == ["answer 1", "answer 2", "answer 3"]  # type: ignore[union-attr]
    assert model.calls == 3
    [f] = tmp_path.glob("*.json")
    assert len(json.loads(f.read_text())["samples"]) == 3


def test_replay_missing_is_error_with_record_command(tmp_path: Path) -> None:
    model = FakeModel()
    [err] = _samples(Recorder(Mode.REPLAY, model), RecordingStore(tmp_path))
    assert isinstance(err, ProviderError) and err.kind == "missing_recording"
    assert err.hint == "record it: promptkit test suites/x.prompttest.yaml --mode record -k greet"
    assert model.calls == 0  # replay never calls


def test_replay_too_few_samples(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    _samples(Recorder(Mode.RECORD, FakeModel()), store, n=1)
    out = _samples(Recorder(Mode.REPLAY, FakeModel()), store, n=2)
    assert isinstance(out[0], ModelResponse) and isinstance(out[1], ProviderError)
    assert "only 1 of 2 samples" in str(out[1])


def test_live_never_writes_and_record_overwrites(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path / "r")
    _samples(Recorder(Mode.LIVE, FakeModel()), store)
    assert not (tmp_path / "r").exists()
    model = FakeModel()
    _samples(Recorder(Mode.RECORD, model), store)
    _samples(Recorder(Mode.RECORD, model), store)
    [f] = (tmp_path / "r").glob("*.json")
    assert json.loads(f.read_text())["samples"][0]["text"] == "answer 2"


def test_failed_samples_are_not_recorded(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    out = _samples(Recorder(Mode.RECORD, FakeModel(fail_after=1)), store, n=3)
    assert [type(r).__name__ for r in out] == ["ModelResponse", "ProviderError", "ProviderError"]
    [f] = tmp_path.glob("*.json")
    assert len(json.loads(f.read_text())["samples"]) == 1


@pytest.mark.parametrize("content", ["", "{", '{"format": 1, "key": "abc"', "[1, 2]", '{"format": 1}', "\x00\x01garbage"])
def test_corrupt_recording_is_a_clear_error(tmp_path: Path, content: str) -> None:
    store = RecordingStore(tmp_path)
    key = recording_key("openai/m", MSGS, {"temperature": 0})
    store.path_for(key).write_text(content)
    [err] = _samples(Recorder(Mode.REPLAY, FakeModel()), store)
    assert isinstance(err, ProviderError) and err.kind == "corrupt_recording"
    assert str(store.path_for(key)) in str(err) and "delete" in err.hint
    # auto mode re-records over it instead
    model = FakeModel()
    [ok] = _samples(Recorder(Mode.AUTO, model), store)
    assert isinstance(ok, ModelResponse) and model.calls == 1
    assert Recording.model_validate_json(store.path_for(key).read_text()).samples[0].text == "answer 1"


def test_secrets_are_never_written(tmp_path: Path) -> None:
    secret = "sk-proj-SECRET-abcdef0123456789"
    store = RecordingStore(tmp_path)
    params = {"temperature": 0, "api_key": secret, "api_base": "https://user:pw@example.invalid/v1",
              "extra_headers": {"Authorization": f"Bearer {secret}"}, "aws_secret_access_key": secret}

    async def model(m: str, msgs: Sequence[Mapping[str, Any]], p: Mapping[str, Any]) -> ModelResponse:
        return ModelResponse(text="ok", model=m, raw={"id": "x", "api_key": secret, "authorization": secret})

    asyncio.run(Recorder(Mode.RECORD, model).samples(store, "openai/m", MSGS, params, 1))
    [f] = tmp_path.glob("*.json")
    text = f.read_text()
    for bad in (secret, "user:pw", "example.invalid", "Authorization", "api_key", "api_base"):
        assert bad not in text
    assert json.loads(text)["params"] == {"temperature": 0}


def test_identical_requests_in_one_run_call_once(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    model = FakeModel()
    rec = Recorder(Mode.AUTO, model)

    async def both() -> list[list[ModelResponse | ProviderError]]:
        return await asyncio.gather(*(rec.samples(store, "openai/m", MSGS, {}, 1) for _ in range(5)))

    outs = asyncio.run(both())
    assert model.calls == 1
    assert {o[0].text for o in outs} == {"answer 1"}  # type: ignore[union-attr]


def test_default_mode_follows_ci() -> None:
    assert default_mode({"CI": "true"}) is Mode.REPLAY
    assert default_mode({"CI": "false"}) is Mode.AUTO
    assert default_mode({}) is Mode.AUTO
    assert default_mode({"CI": "1", "PROMPTKIT_MODE": "live"}) is Mode.LIVE


def _writer(directory: str, worker: int, rounds: int) -> None:
    store = RecordingStore(directory)
    for i in range(rounds):
        text = f"worker {worker} round {i} " + "x" * (2000 + worker * 997)  # different sizes: torn writes would show
        store.save(Recording(key="samekey00000000a", model="openai/m", messages=MSGS,
                             samples=[RecordedSample(text=text)]))


def test_concurrent_processes_never_tear_a_file(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 100)) for w in range(4)]
    for p in procs:
        p.start()
    store = RecordingStore(tmp_path)
    reads = 0
    while any(p.is_alive() for p in procs):
        path = store.path_for("samekey00000000a")
        if path.exists():
            rec = store.load("samekey00000000a")  # raises on a torn file
            assert rec is not None and rec.samples[0].text.startswith("worker ")
            reads += 1
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert store.load("samekey00000000a") is not None
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))  # no leftovers
    assert reads > 0
