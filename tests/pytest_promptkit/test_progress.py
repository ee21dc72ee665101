"""Progress of a long run, as a user sees it: a live line in a real pseudo-terminal, a
periodic plain line in a log (pytest_promptkit/progress.py)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_promptkit.progress import format_line
from pytest_promptkit.server import OpenAIServer

PROMPT = """---
name: echo
description: Repeats the question (fixture for the progress tests).
version: 1.0.0
model:
  id: openai/scripted
inputs:
  n:
    type: integer
---
user:
Question {{ n }}
"""


def _project(tmp: Path, cases: int) -> Path:
    (tmp / "pyproject.toml").write_text("", encoding="utf-8")
    (tmp / "echo.prompty").write_text(PROMPT, encoding="utf-8")
    lines = ["prompts: [echo.prompty]", "cases:"]
    for i in range(cases):
        # every fifth case fails (the echo never says "nope")
        want = "nope" if i % 5 == 4 else f"Question {i}"
        lines += [f"  - id: q{i}", f"    vars: {{n: {i}}}", "    assert:", f"      - {{type: contains, value: '{want}'}}"]
    (tmp / "echo.prompttest.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS", "PROMPTKIT_PROGRESS")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def slow_server() -> OpenAIServer:
    with OpenAIServer(latency_s=0.12, idle_timeout_s=300) as s:
        yield s


def test_format_line_counts_and_eta() -> None:
    assert format_line(340, 1000, 330, 6, 4, 3.4) == "promptkit: 340/1000 cases | 330 passed, 6 failed, 4 errors | 3.4 s, ETA 6.6 s"
    assert format_line(0, 10, 0, 0, 0, 0.0) == "promptkit: 0/10 cases | 0 passed | 0.0 s"
    assert format_line(10, 10, 9, 0, 1, 125.0).endswith("| 9 passed, 1 error | 2 min 05 s")  # done: no ETA


def test_live_line_in_a_real_pseudo_terminal(slow_server: OpenAIServer, tmp_path: Path) -> None:
    """``promptkit test`` on a terminal: the line is redrawn in place (\\r ... erase to end of
    line) with done/total, passes, failures and an ETA, then cleared; no per-case dots."""
    project = _project(tmp_path, 20)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "promptkit.cli", "test", "echo.prompttest.yaml", "--mode", "live",
         "--api-base", slow_server.base_url, "--concurrency", "2"],
        cwd=project, env=_env(TERM="xterm", COLUMNS="120"), stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    out = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 1, out  # four cases fail on purpose
    frames = re.findall(r"\rpromptkit: (\d+)/20 cases \| (\d+) passed(?:, (\d+) failed)? \| [^\r\n]*?\x1b\[K", out)
    assert frames, out
    done = [int(f[0]) for f in frames]
    assert done == sorted(done) and done[-1] > done[0], done  # it moves while the batch runs
    assert any("ETA" in line for line in re.findall(r"\rpromptkit: [^\r\n]*", out)), out
    assert out.count("\r\x1b[K") >= 1  # cleared when the batch ends
    assert "4 failed" in out and "16 passed" in out  # pytest's own summary still says it all
    assert "echo.prompttest.yaml ...." not in out  # no dots under the live line
    assert "Traceback" not in out


def test_plain_periodic_line_off_a_terminal(slow_server: OpenAIServer, tmp_path: Path) -> None:
    """In a log (no terminal): a plain line now and then, never a carriage return."""
    project = _project(tmp_path, 20)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "echo.prompttest.yaml", "--promptkit-mode", "live",
         "--promptkit-api-base", slow_server.base_url, "--promptkit-concurrency", "2"],
        cwd=project, env=_env(PROMPTKIT_PROGRESS_INTERVAL="0.3"), capture_output=True, text=True, timeout=240, check=False)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    lines = [line for line in out.splitlines() if line.startswith("promptkit: ") and "/20 cases" in line]
    assert lines, out
    assert all(re.fullmatch(r"promptkit: \d+/20 cases \| \d+ passed(, \d+ failed)? \| .*", line) for line in lines), lines
    assert "\r" not in out and "\x1b[K" not in out
    assert "....F" in out  # pytest's dots are kept in a log


def test_progress_off(tmp_path: Path, slow_server: OpenAIServer) -> None:
    project = _project(tmp_path, 6)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "echo.prompttest.yaml", "--promptkit-mode", "live",
         "--promptkit-api-base", slow_server.base_url, "--promptkit-concurrency", "1", "--promptkit-progress", "off"],
        cwd=project, env=_env(PROMPTKIT_PROGRESS_INTERVAL="0"), capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 1, proc.stdout
    assert not [line for line in proc.stdout.splitlines() if re.match(r"promptkit: \d+/6 cases", line)], proc.stdout
