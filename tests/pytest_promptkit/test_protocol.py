"""The lighter per-item protocol (pytest_promptkit.protocol) reports what pytest's own
does: the same outcomes, -x, junit XML and captured output, with or without a Python test
in the session (which switches it off)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_promptkit.server import OpenAIServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner"


@pytest.fixture(scope="module")
def server() -> OpenAIServer:
    with OpenAIServer(idle_timeout_s=300) as s:
        s.add_rule(pattern=r".", reply="Sorry, I cannot greet anyone today.")
        yield s


def _project(tmp_path: Path, with_python_test: bool) -> Path:
    shutil.copytree(FIXTURES / "python_checks", tmp_path / "checks")
    shutil.copytree(FIXTURES / "prompts", tmp_path / "prompts")
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    if with_python_test:
        (tmp_path / "checks" / "test_plain.py").write_text("def test_plain():\n    assert True\n", encoding="utf-8")
    return tmp_path / "checks"


def _pytest(cwd: Path, server: OpenAIServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "loud.prompttest.yaml", *args,
                           "--promptkit-model", "openai/scripted", "--promptkit-mode", "live",
                           "--promptkit-api-base", server.base_url, "--junitxml", "junit.xml"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.parametrize("with_python_test", [False, True], ids=["light", "pytest's own"])
def test_same_reports_either_way(server: OpenAIServer, tmp_path: Path, with_python_test: bool) -> None:
    cwd = _project(tmp_path, with_python_test)
    proc = _pytest(cwd, server, *(["test_plain.py"] if with_python_test else []))
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "FAILED loud.prompttest.yaml::loud[openai/scripted]" in out
    assert "PASSED loud.prompttest.yaml::quiet[openai/scripted]" in out
    assert "checks.py:" in out and "(loud)" in out
    assert "Captured stdout setup" in out and "loud check looked at: Sorry" in out  # output kept, shown on failure
    cases = [c for c in ET.parse(cwd / "junit.xml").getroot().iter("testcase") if "prompttest" in c.get("classname", "")
             or "prompttest" in c.get("file", "") or "loud" in c.get("name", "") or "quiet" in c.get("name", "")]
    assert sorted((c.get("name"), c.find("failure") is not None) for c in cases) == [
        ("loud[openai/scripted]", True), ("quiet[openai/scripted]", False)]


def test_exitfirst_stops_after_the_first_failure(server: OpenAIServer, tmp_path: Path) -> None:
    proc = _pytest(_project(tmp_path, False), server, "-x")
    assert proc.returncode == 1 and "1 failed" in proc.stdout and "passed" not in proc.stdout.splitlines()[-1], proc.stdout
