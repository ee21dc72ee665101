"""``promptkit lint`` checks test files too: located PT findings for ``*.prompttest.yaml``
(everything ``promptkit test`` would refuse at collection), and an empty prompt file is a
finding. No model client is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ANSWER = (REPO / "tests" / "fixtures" / "runner" / "engine" / "answer.prompty").read_text(encoding="utf-8")
BROKEN_SUITE = """prompts: [answer.prompty]
cases:
  - id: one
    vars: {question: "Hi?"}
    assert:
      - type: containz
        value: x
  - id: two
    vars: {qestion: "Hi?"}
    assert:
      - {type: icontains, value: y}
      - {type: lenght, max: 3}
"""
GOOD_SUITE = """prompts: [answer.prompty]
cases:
  - id: one
    vars: {question: "Hi?"}
    assert: [{icontains: hello}]
"""


def _lint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    code = ("import sys; from promptkit.cli import main; rc = main(sys.argv[1:]); "
            "print('LITELLM' if 'litellm' in sys.modules else 'NO-LITELLM'); sys.exit(rc)")
    env = {k: v for k, v in os.environ.items() if k not in ("CI",)}
    return subprocess.run([sys.executable, "-c", code, "lint", "--no-cache", "--output-format", "concise", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def _project(tmp: Path) -> Path:
    (tmp / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp / "answer.prompty").write_text(ANSWER, encoding="utf-8")
    (tmp / "tests").mkdir()
    (tmp / "tests" / "answer.prompty").write_text(ANSWER, encoding="utf-8")
    (tmp / "tests" / "broken.prompttest.yaml").write_text(BROKEN_SUITE, encoding="utf-8")
    (tmp / "good.prompttest.yaml").write_text(GOOD_SUITE, encoding="utf-8")
    return tmp


def test_suites_get_located_pt_findings_all_in_one_run(tmp_path: Path) -> None:
    project = _project(tmp_path)
    proc = _lint(project)  # no path: the project, prompts and suites
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "tests/broken.prompttest.yaml:6:15: PT003 unknown assertion type 'containz'" in out
    assert "tests/broken.prompttest.yaml:12:17: PT003 unknown assertion type 'lenght'" in out or \
        ("tests/broken.prompttest.yaml:12:" in out and "'lenght'" in out)
    assert "good.prompttest.yaml" not in out
    assert out.rstrip().endswith("NO-LITELLM")


def test_a_misspelt_case_variable_is_a_finding(tmp_path: Path) -> None:
    project = _project(tmp_path)
    (project / "tests" / "broken.prompttest.yaml").write_text(BROKEN_SUITE.replace("containz", "contains")
                                                               .replace("lenght", "length"), encoding="utf-8")
    proc = _lint(project, "tests")
    assert proc.returncode == 1
    # 'question' is not required (#16: declared inputs are optional unless `required: true`),
    # so only the misspelt name is a finding
    assert "PK020 case 'two'" not in proc.stdout
    clean = _lint(project, "good.prompttest.yaml")
    assert clean.returncode == 0, clean.stdout


def test_an_empty_prompt_file_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp_path / "empty.prompty").write_text("", encoding="utf-8")
    proc = _lint(tmp_path, "empty.prompty")
    assert proc.returncode == 1 and "empty.prompty:1:1: PK005 the prompt file is empty" in proc.stdout
    assert "All checks passed" not in proc.stdout
