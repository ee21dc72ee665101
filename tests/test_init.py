"""``promptkit init``: the scaffold's printed next command works offline, as printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from promptkit.commands import hook_entry


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS", "OPENAI_API_KEY")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_next_command_works_offline(tmp_path: Path) -> None:
    init = subprocess.run([sys.executable, "-m", "promptkit.cli", "init"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert init.returncode == 0, init.stdout + init.stderr
    [line] = [ln for ln in init.stdout.splitlines() if ln.startswith("next (works offline): ")]
    command = line.split(": ", 1)[1]
    assert "promptkit test tests/prompts" in command
    # no API key, no server: litellm's mock_response answers the scaffolded suite
    proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    assert ".promptkit/" in (tmp_path / ".gitignore").read_text()
    # the results and the run's state went where .gitignore says
    assert (tmp_path / ".promptkit" / "results.json").is_file()


def test_gitignore_is_appended_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("build/\n.promptkit/\n", encoding="utf-8")
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "promptkit.cli", "init"], cwd=tmp_path, env=_env(), capture_output=True,
                       text=True, timeout=120, check=True)
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines.count(".promptkit/") == 1 and lines.count(".promptkit_cache/") == 1 and lines[0] == "build/"


def test_hook_entry_works_without_an_activated_venv(tmp_path: Path) -> None:
    """A venv inside the project: the hook names its script relative to the repo root
    (pre-commit runs hooks there); anywhere else, the PATH's promptkit."""
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "promptkit").write_text("#!/bin/sh\n", encoding="utf-8")
    assert hook_entry(tmp_path, str(venv_bin / "python")) == ".venv/bin/promptkit"
    assert hook_entry(tmp_path / "elsewhere", str(venv_bin / "python")) == "promptkit"
