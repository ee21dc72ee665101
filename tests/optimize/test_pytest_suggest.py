"""``pytest --promptkit-suggest``: the suggestion is printed under the failure report and
nothing is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.optimize.scenarios import by_kind, server_for, setup_project


def test_pytest_prints_the_suggestion(tmp_path: Path) -> None:
    scenario = by_kind("missing_label")
    setup_project(scenario, tmp_path)
    server, _ = server_for(scenario)
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "sk-test",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("CI", None)
    with server:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--promptkit-suggest",
                               "--promptkit-mode", "auto", "--promptkit-api-base", server.base_url,
                               "--promptkit-proposer", "openai/proposer", "missing_label"],
                              cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr  # the failures still fail the run
    assert "promptkit suggest" in out
    assert "+- refund: returns and requests for money back" in out
    assert "fixes: refund, refund-again" in out
    assert "apply it with: promptkit suggest missing_label/router.prompttest.yaml --apply" in out
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=tmp_path,
                            capture_output=True, text=True).stdout
    assert status == ""

