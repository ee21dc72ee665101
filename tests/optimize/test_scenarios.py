"""The optimizer end to end on every offline scenario: it finds the real fix, verifies it,
and the patch applies with `git apply` and makes the whole suite pass; where no safe
patch exists it says so and shows the best rejected candidate."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import promptkit
from promptkit.optimize import Budget, suggest
from promptkit.runner import Outcome, RunConfig, load_suite, run_cases
from tests.optimize.scenarios import SCENARIOS, Scenario, server_for, setup_project


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _run(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    suite_path = setup_project(scenario, tmp_path)
    monkeypatch.chdir(tmp_path)
    server, proposer = server_for(scenario)
    with server:
        config = RunConfig(mode="auto", api_base=server.base_url, api_key="sk-test", progress=False)
        s = suggest(suite_path.relative_to(tmp_path), config=config, budget=Budget(calls=60),
                    proposer_model="openai/proposer")
        after = None
        if s.patch is not None:
            patch = tmp_path / "fix.patch"
            patch.write_text(s.patch.diff, encoding="utf-8")
            subprocess.run(["git", "apply", "--check", str(patch)], cwd=tmp_path, check=True, capture_output=True)
            subprocess.run(["git", "apply", str(patch)], cwd=tmp_path, check=True, capture_output=True)
            after = run_cases(load_suite(suite_path.relative_to(tmp_path)), config=config)
            if any(c.perturb for c in load_suite(suite_path.relative_to(tmp_path)).cases):
                from promptkit.perturb.run import run_perturbations

                rows = run_perturbations(load_suite(suite_path.relative_to(tmp_path)), config=config, say=None)
                assert rows and all(r.outcome is Outcome.PASS for r in rows), [(r.case, r.pass_rate) for r in rows]
    return s, after, proposer


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.kind for s in SCENARIOS])
def test_scenario(scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = promptkit.load(next(scenario.folder.glob("*.prompty")))
    s, after, _ = _run(scenario, tmp_path, monkeypatch)
    assert s.failing_before, "the scenario must start with failing cases"
    if scenario.expect == "none":
        assert s.patch is None and s.status == "none"
        assert s.best_rejected is not None and s.best_rejected.verdict is not None
        assert s.best_rejected.verdict.regressed or not s.best_rejected.verdict.fixed
        assert "no safe patch" in s.message
        assert not subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=tmp_path, capture_output=True,
                                  text=True).stdout.strip(), "nothing may be written"
        return
    assert s.status == "fixed", s.message
    assert after is not None and all(c.outcome is Outcome.PASS for c in after.cases), \
        [(c.case, c.outcome, [a.reason for a in c.samples[0].assertions if not a.passed]) for c in after.cases]
    assert sorted(s.fixed) == sorted(s.failing_before)
    patched = promptkit.load(tmp_path / scenario.kind / original.path.split("/")[-1])
    assert set(patched.inputs) == set(original.inputs)
    # front matter unchanged but for the version bump
    assert patched.front_matter.model_dump(exclude={"version"}) == original.front_matter.model_dump(exclude={"version"})
    assert patched.front_matter.version != original.front_matter.version
    assert s.patch is not None and s.patch.changed_lines <= 4
    assert s.spent.calls <= 60


def test_the_overfitted_fix_is_rejected_for_breaking_passing_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.optimize.scenarios import by_kind

    s, _, _ = _run(by_kind("obvious_breaks"), tmp_path, monkeypatch)
    overfit = [c for c in s.candidates if "answer refund" in c.hypothesis]
    assert overfit and overfit[0].verdict is not None and not overfit[0].verdict.accepted
    assert set(overfit[0].verdict.regressed) == {"invoice", "tracking", "crash"}
    assert "Always use the team refund" not in s.patch.diff  # type: ignore[union-attr]
    assert "+- refund:" in s.patch.diff  # type: ignore[union-attr]


def test_ddmin_keeps_only_the_needed_hunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.optimize.scenarios import by_kind

    s, _, _ = _run(by_kind("verbose_rewrite"), tmp_path, monkeypatch)
    assert s.patch is not None
    assert "+- mixed:" in s.patch.diff
    assert "carefully and consistently" not in s.patch.diff and "Read the whole review" not in s.patch.diff
    assert any(c.source == "ddmin" for c in s.candidates)
