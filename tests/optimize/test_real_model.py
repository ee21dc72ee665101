"""The optimizer against a real model, replayed: SmolLM2-135M (llama-cpp-python) was the
target and the proposer when `python benchmarks/optimize.py --real --update` recorded it.
The replay makes no call and must reproduce the recorded search: the same candidates with
the same verdicts (rejected proposals included), the same patch, the same calls spent; and
at least one candidate the model itself wrote was parsed, re-loaded and linted as a
template, and evaluated against the suite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from promptkit.optimize import Budget, suggest
from promptkit.runner import RunConfig

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "optimize" / "real_model"


def test_the_recorded_real_model_search_replays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.optimize.scenarios import summary

    expected_file = REAL / "expected.json"
    if not expected_file.is_file() or not (REAL / "__recordings__").is_dir():
        pytest.skip("no real-model recording yet: run `python benchmarks/optimize.py --real --update`")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    shutil.copytree(REAL, tmp_path / "real_model")
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "real_model")
    config = RunConfig(mode="replay", api_base="http://127.0.0.1:9/unreachable", api_key="x", progress=False)
    s = suggest("triage.prompttest.yaml", config=config, budget=Budget(calls=40), proposer_model="openai/smollm2")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert summary(s) == expected
    assert s.spent.live == 0
    assert s.failing_before, "the real model must fail some case of the original prompt"
    # the tiny model's own proposal was parsed, checked as a template and evaluated on the suite
    evaluated = [c for c in s.candidates if c.source.startswith("proposer") and c.verdict is not None]
    assert evaluated, [(c.source, c.status()) for c in s.candidates]
    assert all(c.hypothesis and c.hypothesis != "(no hypothesis given)" for c in evaluated)
    assert any(not c.verdict.accepted for c in s.candidates if c.verdict is not None), "a rejected proposal is shown"
    from promptkit.optimize.report import to_text

    text = to_text(s)
    for c in evaluated:
        assert f"{c.source}: {c.status()}" in text
