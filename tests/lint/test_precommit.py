"""The pre-commit hooks, run for real by pre-commit in a temporary git repository.

The hooks in ``.pre-commit-hooks.yaml`` use ``language: python`` (pre-commit builds an
environment from this repository, which needs the package index); the test runs the same
entries and ``files`` patterns as ``repo: local`` / ``language: system`` hooks, which work
offline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

# A clean prompt (tests/fixtures/lint/cli/greet.prompty); BAD variants are derived from it.
GOOD = (Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "cli" / "greet.prompty").read_text(encoding="utf-8")
BAD = GOOD.replace("in one sentence.", "in one sentence for [YOUR COMPANY].\n{% if name %}")


def _hooks() -> dict[str, dict[str, object]]:
    return {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}


def test_hook_manifest() -> None:
    hooks = _hooks()
    assert set(hooks) == {"promptkit-lint", "promptkit-format"}
    for h in hooks.values():
        assert h["language"] == "python" and h["require_serial"] is True
    import re

    files = re.compile(str(hooks["promptkit-lint"]["files"]))
    for name in ("a.prompty", "x/b.j2", "c.jinja2", "d.prompt", "e.prompt.md", "f.instructions.md",
                 "g.agent.md", "skills/x/SKILL.md", "h.mdc", "i.poml"):
        assert files.search(name), name
    for name in ("README.md", "setup.py", "notes.txt", "prompt.py"):
        assert not files.search(name), name


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    python = sys.executable
    config = {"repos": [{"repo": "local", "hooks": []}]}
    for hook_id, h in _hooks().items():
        entry = str(h["entry"]).replace("promptkit", f"{python} -m promptkit.cli", 1)
        config["repos"][0]["hooks"].append({  # type: ignore[index]
            "id": hook_id, "name": h["name"], "entry": entry, "language": "system",
            "files": h["files"], "require_serial": True,
        })
    (tmp_path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (tmp_path / "promptkit.toml").write_text("# project settings\n")
    return tmp_path


def _pre_commit(repo: Path, *hook: str) -> subprocess.CompletedProcess[str]:
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "pre_commit", "run", "--all-files", *hook]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_lint_hook_fails_on_a_bad_prompt_and_passes_on_a_good_one(git_repo: Path) -> None:
    (git_repo / "prompts").mkdir()
    (git_repo / "prompts" / "greet.prompty").write_text(GOOD)
    (git_repo / "README.md").write_text("not a prompt [YOUR COMPANY]\n")  # not matched by `files`
    ok = _pre_commit(git_repo, "promptkit-lint")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (git_repo / "prompts" / "greet.prompty").write_text(BAD)
    bad = _pre_commit(git_repo, "promptkit-lint")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "prompts/greet.prompty:" in bad.stdout and "PK701" in bad.stdout
    assert "README.md" not in bad.stdout


def test_format_hook_fixes_then_passes(git_repo: Path) -> None:
    from promptkit.lint.cli import formatting_rules
    from promptkit.lint.config import LintConfig

    if not formatting_rules(LintConfig().resolve()):
        pytest.skip("no formatting (PK3xx) rules with fixes are registered")
    p = git_repo / "greet.prompty"
    p.write_text(GOOD.replace("one sentence.", "one sentence.   "))
    first = _pre_commit(git_repo, "promptkit-format")
    assert first.returncode == 1 and "files were modified by this hook" in first.stdout, first.stdout
    assert p.read_text() == GOOD
    second = _pre_commit(git_repo, "promptkit-format")
    assert second.returncode == 0, second.stdout + second.stderr
