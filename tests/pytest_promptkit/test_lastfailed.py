"""Rerun what failed: ``promptkit test --lf``, ``promptkit test -- --lf`` and plain
``pytest --lf`` with pytest's cache plugin off (pytest_promptkit/lastfailed.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_promptkit.server import OpenAIServer
from tests.pytest_promptkit.test_progress import _env, _project


def _ran(out: str) -> set[str]:
    """The case ids a -v run reported."""
    return set(re.findall(r"::(q\d+)\[openai/scripted\] (?:PASSED|FAILED|ERROR)", out))


def _promptkit(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promptkit.cli", "test", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with 10 recorded cases, q4 and q9 failing; the cache plugin off in addopts."""
    project = _project(tmp_path_factory.mktemp("lf"), 10)
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n', encoding="utf-8")
    with OpenAIServer(idle_timeout_s=300) as server:
        proc = _promptkit(project, "echo.prompttest.yaml", "--mode", "record", "--api-base", server.base_url, "-v")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _ran(proc.stdout) == {f"q{i}" for i in range(10)}
    return project


def _fresh(recorded: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(recorded, tmp_path / "p")
    return tmp_path / "p"


def test_promptkit_test_last_failed_reruns_only_the_failures(recorded: Path, tmp_path: Path) -> None:
    project = _fresh(recorded, tmp_path)
    state = json.loads((project / ".promptkit" / "lastfailed.json").read_text())
    assert state["failed"] == ["echo.prompttest.yaml::q4[openai/scripted]", "echo.prompttest.yaml::q9[openai/scripted]"]
    proc = _promptkit(project, "echo.prompttest.yaml", "--mode", "replay", "--lf", "-v")
    assert proc.returncode == 1, proc.stdout
    assert _ran(proc.stdout) == {"q4", "q9"}
    assert "rerun previous 2 failure(s)" in proc.stdout
    # fix one case: it passes, drops out of the record, and the next --lf reruns the other only
    suite = project / "echo.prompttest.yaml"
    suite.write_text(suite.read_text().replace("value: 'nope'", "value: 'Question'", 1), encoding="utf-8")
    proc = _promptkit(project, "echo.prompttest.yaml", "--mode", "replay", "--last-failed", "-v")
    assert _ran(proc.stdout) == {"q4", "q9"} and proc.returncode == 1
    proc = _promptkit(project, "echo.prompttest.yaml", "--mode", "replay", "--lf", "-v")
    assert _ran(proc.stdout) == {"q9"}, proc.stdout


def test_plain_pytest_lf_and_passthrough(recorded: Path, tmp_path: Path) -> None:
    project = _fresh(recorded, tmp_path)
    env = _env()
    # plain pytest: addopts turn the cache plugin off, so --lf is promptkit's
    proc = subprocess.run([sys.executable, "-m", "pytest", "echo.prompttest.yaml", "--promptkit-mode", "replay", "--lf", "-v"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _ran(proc.stdout) == {"q4", "q9"}
    # the cache plugin off on the command line too (what promptkit test passes)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "echo.prompttest.yaml",
                           "--promptkit-mode", "replay", "--last-failed", "-v"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert _ran(proc.stdout) == {"q4", "q9"}, proc.stdout + proc.stderr
    # any pytest argument after --
    proc = _promptkit(project, "echo.prompttest.yaml", "--mode", "replay", "--", "--lf", "-v")
    assert _ran(proc.stdout) == {"q4", "q9"}, proc.stdout + proc.stderr
    # nothing failed before: everything runs, and says so
    os.remove(project / ".promptkit" / "lastfailed.json")
    proc = _promptkit(project, "echo.prompttest.yaml", "--mode", "replay", "--lf", "-v")
    assert len(_ran(proc.stdout)) == 10 and "no previously failed cases" in proc.stdout
