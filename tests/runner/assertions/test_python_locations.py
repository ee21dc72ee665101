"""A failing Python check names the user's own file and line (the frame in their code),
never promptkit's frames or the module names promptkit generates for user files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptkit.runner.assertions import AssertionContext, build_spec, evaluate_one
from promptkit.runner.results import ModelResponse

CHECKS = Path(__file__).resolve().parents[2] / "fixtures" / "runner" / "python_checks"


@pytest.fixture(autouse=True)
def _from_the_checks_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CHECKS)  # paths are shown relative to where the user stands


def _run(value: str, output: str) -> tuple[bool, bool, str]:
    spec = build_spec({"type": "python", "value": value})
    r = asyncio.run(evaluate_one(spec, ModelResponse(text=output, model="m"), AssertionContext(base_dir=CHECKS)))
    assert "promptkit/" not in r.reason and "_promptkit_user" not in r.reason, r.reason
    return r.passed, r.error, r.reason


@pytest.mark.parametrize("value, output, error, where", [
    ("checks.py:no_apology", "Sorry, no.", False, "checks.py:7 (no_apology): the answer apologises"),  # assert
    ("checks.py:short", "far too many words here", False, "checks.py:11 (short): "),  # returned False: its def
    ("checks.py:scored", "x", False, "checks.py:15 (scored): "),  # a score below the mark
    ("checks.py:detailed", "x", False, "checks.py:19 (detailed): no greeting"),  # {'pass': False}
    ("checks.py:buggy", "x", True, "checks.py:25 (buggy) raised KeyError: 'words'"),  # a bug: ERROR
    ("checks.py:deep", "x", True, "helpers.py:5 (deep) raised AttributeError"),  # innermost user frame
    ("checks.py:polite", "hi", False, "checks.py:33 (polite): "),  # a callable object: its __call__
])
def test_a_failing_check_points_at_the_users_line(value: str, output: str, error: bool, where: str) -> None:
    passed, is_error, reason = _run(value, output)
    assert not passed and is_error is error
    assert reason.startswith(where), reason


def test_passing_checks_say_nothing_of_places() -> None:
    assert _run("checks.py:no_apology", "Here it is.")[0]
    assert _run("checks.py:short", "two words")[0]


def test_a_module_that_fails_to_load_is_located() -> None:
    _, error, reason = _run("broken_at_import.py:check", "x")
    assert error and "broken_at_import.py:3: NameError: name 'DEFAULT_LIMIT' is not defined" in reason, reason
    _, error, reason = _run("not_python.py:check", "x")
    assert error and "not_python.py:1: SyntaxError" in reason, reason
    _, error, reason = _run("checks.py:missing", "x")
    assert error and "module 'checks' has no attribute 'missing'" in reason, reason


def test_the_pytest_report_shows_the_users_line(tmp_path: Path) -> None:
    """End to end: pytest on a suite, against the scripted local server."""
    from pytest_promptkit.server import OpenAIServer

    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    with OpenAIServer(idle_timeout_s=60) as server:
        server.add_rule(pattern=r".", reply="Sorry, I cannot greet anyone today.")
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "suite.prompttest.yaml",
                               "--promptkit-model", "openai/scripted", "--promptkit-mode", "live",
                               "--promptkit-api-base", server.base_url, "--promptkit-results", str(tmp_path / "r.json")],
                              cwd=CHECKS, env=env, capture_output=True, text=True, timeout=180, check=False)
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "checks.py:7 (no_apology): the answer apologises" in out, out
    assert "Traceback" not in out and "_promptkit_user" not in out and "promptkit/runner" not in out, out
