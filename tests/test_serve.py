"""``promptkit serve``: the documented local server, used as docs/testing.md shows it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

RULES = """\
- {pattern: '<country>France</country>', reply: 'Paris.'}
- {pattern: '<country>(\\w+)</country>', reply: 'I do not know the capital of \\1.'}
"""
PROMPT = """---
name: capital
description: Names a country's capital.
version: 1.0.0
model: {id: openai/local}
inputs:
  country: {type: string, description: The country.}
---
user:
What is the capital of <country>{{ country }}</country>?
"""
SUITE = """prompts: [capital.prompty]
cases:
  - id: france
    vars: {country: France}
    assert: [{icontains: paris}]
  - id: spain
    vars: {country: Spain}
    assert: [{icontains: "do not know the capital of spain"}]
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}


def test_serve_prints_its_url_and_a_suite_runs_against_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "capital.prompty").write_text(PROMPT, encoding="utf-8")
    (tmp_path / "capital.prompttest.yaml").write_text(SUITE, encoding="utf-8")
    server = subprocess.Popen([sys.executable, "-m", "promptkit.cli", "serve", "--rules", "rules.yaml", "--port", "0"],
                              cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+/v1)", first)
        assert m, first
        url = m.group(1)
        hint = server.stdout.readline()
        assert f"promptkit test PATH --mode live --api-base {url}" in hint
        proc = subprocess.run([sys.executable, "-m", "promptkit.cli", "test", "capital.prompttest.yaml", "--mode", "record",
                               "--api-base", url], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "2 passed" in proc.stdout
        assert list((tmp_path / "__recordings__" / "capital").glob("*.json"))  # recorded for offline replay
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_bad_rules_file_is_located(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("- {pattern: '(', reply: x}\n- {patern: y}\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "promptkit.cli", "serve", "--rules", "rules.yaml"], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "rules.yaml" in proc.stderr and "rule 1" in proc.stderr and "Traceback" not in proc.stderr
