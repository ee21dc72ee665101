"""The exit-code table (README, docs/testing.md, ``promptkit --help``), checked command by
command from the shell, as CI scripts see it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ANSWER = (REPO / "tests" / "fixtures" / "runner" / "engine" / "answer.prompty").read_text(encoding="utf-8")
SUITE = """prompts: [answer.prompty]
models: [openai/scripted]
cases:
  - id: capital
    vars: {question: "What is the capital of France?"}
    assert: [{type: icontains, value: paris}]
"""
CLEAN = """---
name: clean
description: Says hello to a named person.
version: 1.0.0
inputs:
  name: {type: string, description: Who to greet., sample: Ada}
---
user:
Say hello to the person named in <name>{{ name }}</name>.
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("codes")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    (root / "answer.prompty").write_text(ANSWER, encoding="utf-8")
    (root / "unrecorded.prompttest.yaml").write_text(SUITE, encoding="utf-8")
    (root / "clean").mkdir()
    (root / "clean" / "clean.prompty").write_text(CLEAN, encoding="utf-8")
    many = root / "many"
    many.mkdir()
    for i in range(400):  # ~44 KB of findings, written in one write: the reader may close first
        (many / f"p{i}.prompty").write_text(f"user:\nHello {{{{ who }}}}   \n{'x' * 200}\n\n\n", encoding="utf-8")
    return root


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promptkit.cli", *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=300, check=False)


TABLE = [
    # (arguments, exit code, something the output must say)
    (["lint", "clean"], 0, "All checks passed"),
    (["lint", "answer.prompty", "--select", "PK102"], 0, ""),
    (["lint", "no/such/dir"], 2, "no/such/dir"),
    (["render", "no/such.prompty"], 2, "no/such.prompty"),
    (["tokens", "no/such.prompty"], 2, "no/such.prompty"),
    (["test", "no/such.prompttest.yaml"], 2, "no such file"),
    (["test", "unrecorded.prompttest.yaml", "--mode", "replay"], 1, "no recording"),
    (["test", "unrecorded.prompttest.yaml", "--mode", "replay", "-k", "nomatch"], 5, "no case ran (-k 'nomatch' matched none)"),
    (["test", "--bogus-option"], 2, "unrecognized arguments"),
    (["nosuchcommand"], 2, "invalid choice"),
]


@pytest.mark.parametrize(("args", "code", "says"), TABLE, ids=[" ".join(a) for a, _, _ in TABLE])
def test_exit_code_table(project: Path, args: list[str], code: int, says: str) -> None:
    proc = _run(project, *args)
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out
    assert says in out
    assert "Traceback" not in out


def test_a_closed_pipe_ends_quietly(project: Path) -> None:
    """``promptkit lint | head -1``: the first finding, then a quiet stop (141 = 128 + SIGPIPE,
    as the shell reports for any tool the pipe stopped); nothing on stderr."""
    cmd = f"{sys.executable} -m promptkit.cli lint many --no-cache | head -1; echo \"rc=${{PIPESTATUS[0]}}\""
    proc = subprocess.run(["bash", "-c", cmd], cwd=project, env=_env(), capture_output=True, text=True, timeout=300,
                          check=False)
    first, rc = proc.stdout.strip().splitlines()
    assert first.startswith("many/p") and ".prompty:" in first
    # 141 when the pipe closed with findings still unwritten; when all of them fit in the pipe
    # first, lint's own status (0: these findings are all info-level)
    assert rc in ("rc=141", "rc=0"), proc.stdout
    assert proc.stderr == "", proc.stderr


def test_a_pipe_closed_mid_write_is_141_and_silent(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The closed-pipe path itself, independent of how much a pipe buffers: the write
    fails, the command stops, exit 141, nothing on stderr."""
    import io

    from promptkit.cli import main

    class ClosedPipe(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["lint", "many", "--no-cache"]) == 141
    assert capsys.readouterr().err == ""
