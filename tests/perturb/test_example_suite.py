"""The example robustness suite (templates/robustness.prompttest.yaml), recorded against the
real local model (SmolLM2 via llama-cpp), replays offline in CI: every case and every
variant from its recording, and the per-operator figures are the ones docs/robustness.md
shows."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from promptkit.perturb.report import markdown_table
from promptkit.runner.results import RunResults

ROOT = Path(__file__).resolve().parents[2]


def test_example_robustness_suite_replays_with_the_documented_figures(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'example'\n")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
                           "templates/robustness.prompttest.yaml", "--promptkit-mode", "replay",
                           "--promptkit-api-base", "http://127.0.0.1:9/unreachable", "--promptkit-results", "r.json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "promptkit perturb: 2 case run(s) x 4 operator(s)" in proc.stdout
    doc = RunResults.from_json((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert all(c.recordings_missed == 0 and c.recordings_hit == c.repeat for c in doc.cases)
    assert len(doc.robustness) == 8 and all(r.errored == 0 and r.variants > 0 for r in doc.robustness)
    assert {r.operator for r in doc.robustness} == {"typo-mixed", "separator", "component-order", "injection"}
    docs = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    assert markdown_table(doc.robustness) in docs, markdown_table(doc.robustness)
