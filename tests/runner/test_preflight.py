"""The collection preflight: a variable the template uses but nothing defines is one
located suite error before any model call -- and never a false one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from promptkit.runner.engine import jobs_for_suite
from promptkit.runner.preflight import MAX_RENDER_CHECKS, check_jobs
from promptkit.runner.suite_file import load_suite

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "preflight"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    for f in FIXTURES.iterdir():
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _problems(project: Path, prompt: str, cases: list[str]) -> list[str]:
    body = "\n".join(f"  - id: c{i}\n    vars: {v}\n    assert: [{{type: contains, value: x}}]" for i, v in enumerate(cases))
    (project / "s.prompttest.yaml").write_text(f"prompts: [{prompt}]\ncases:\n{body}\n", encoding="utf-8")
    jobs = jobs_for_suite(load_suite("s.prompttest.yaml"))
    return [d.format() for d in check_jobs(jobs, "s.prompttest.yaml")]


def test_a_misspelt_variable_in_the_template_is_one_located_error(project: Path) -> None:
    found = _problems(project, "typo.prompty", ["{customer: Ada, issue: late}", "{customer: Bo, issue: refund}",
                                                "{customer: Cy, issue: broken}"])
    assert len(found) == 1, found  # once per prompt, not once per case
    (msg,) = found
    assert msg.startswith("typo.prompty:17:16: error: PK022"), msg  # the use itself: line and column
    assert "'custmer'" in msg and "did you mean 'customer'?" in msg


@pytest.mark.parametrize("prompt, cases", [
    # guards, defaults, loop variables, set variables and macro arguments never fail
    ("guarded.prompty", ["{customer: Ada, items: [a, b], note: ok}"]),
    # a case that gives the undeclared name makes it defined
    ("typo.prompty", ["{customer: Ada, custmer: Ada, issue: late}"]),
    # a file that declares no inputs renders every free name empty (Prompty)
    ("undeclared.prompty", ["{}"]),
    # a use no case reaches (the short mode only)
    ("conditional.prompty", ["{mode: short}", "{mode: terse}"]),
])
def test_look_alikes_are_not_errors(project: Path, prompt: str, cases: list[str]) -> None:
    assert _problems(project, prompt, cases) == []


def test_a_use_that_one_case_reaches_is_reported(project: Path) -> None:
    (msg,) = _problems(project, "conditional.prompty", ["{mode: short}", "{mode: long}"])
    assert "conditional.prompty:15:36:" in msg and "'detials'" in msg and "did you mean 'details'?" in msg


def test_confirming_renders_are_bounded(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import promptkit.template as template_pkg

    calls = []
    real = template_pkg.render
    monkeypatch.setattr(template_pkg, "render", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    assert _problems(project, "conditional.prompty", ["{mode: short}"] * (MAX_RENDER_CHECKS + 30)) == []
    assert len(calls) == MAX_RENDER_CHECKS


def test_pytest_reports_it_at_collection_before_any_model_call(project: Path) -> None:
    """Replay with no recordings: had a case run, it would say 'recording missing'."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    proc = subprocess.run([sys.executable, "-m", "promptkit.cli", "test", "typo.prompttest.yaml", "--mode", "replay"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert out.count("typo.prompty:17:16: error: PK022") == 1, out
    assert "not a failure of the prompt" not in out and "recording" not in out.lower()
    assert not (project / "__recordings__").exists()
