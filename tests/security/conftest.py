"""An attacker's pull request, as a fixture.

Every test here builds a small project the way a stranger's PR would leave it: only data files
(prompts, suites, datasets, recordings, configs) under a project root that also holds a
``.git/config`` with a CI token, next to a secret file *outside* the project. The tests then run
promptkit as CI does (``CI=true``, replay mode, in a subprocess) or in record mode against the
local OpenAI-compatible server, and check that the attack is refused with a located message and
that nothing was executed, read, written or sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

CI_TOKEN = "ghp_attackerwantsthis0123456789abcdefghij"
OUTSIDE_SECRET = "outside-the-project-secret-7f3a9c"

# The prompt every attack can reuse: one declared input, delimited.
ANSWER_PROMPTY = """---
name: answer
version: 1.0.0
model:
  id: openai/gpt-4o-mini
inputs:
  question: {type: string, sample: capital of France?}
---
system:
Answer in one word.

user:
<question>
{{ question }}
</question>
"""


@dataclass
class AttackProject:
    """A project root as a stranger's PR leaves it, and the paths an attacker is after."""

    root: Path
    outside: Path          # a directory next to the project, never to be read or written
    secret_file: Path      # outside/secret.txt
    git_config: Path       # root/.git/config, holding CI_TOKEN

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 120,
            ci: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``promptkit ARGV`` in the project as CI would (``CI=true``), in a subprocess."""
        return subprocess.run([sys.executable, "-m", "promptkit.cli", *argv], cwd=self.root,
                              env=clean_env(ci=ci, extra=env), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def pytest(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 120,
               ci: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``pytest ARGV`` in the project (the plugin collects its suites)."""
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *argv],
                              cwd=self.root, env=clean_env(ci=ci, extra=env), capture_output=True,
                              text=True, timeout=timeout, check=False)


def clean_env(*, ci: bool = True, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a CI job: no promptkit or provider settings leaking in from ours."""
    drop_prefixes = ("PROMPTKIT_", "PYTEST_", "OPENAI_", "ANTHROPIC_", "AZURE_", "AWS_", "GEMINI_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop_prefixes) and k != "CI"}
    if ci:
        env["CI"] = "true"
    env.update(extra or {})
    return env


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> str:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    return out


@pytest.fixture
def attack(tmp_path: Path) -> AttackProject:
    root = tmp_path / "project"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(OUTSIDE_SECRET + "\n", encoding="utf-8")
    git = root / ".git"
    git.mkdir()
    git_config = git / "config"
    git_config.write_text(
        '[core]\n\trepositoryformatversion = 0\n[remote "origin"]\n'
        f"\turl = https://x-access-token:{CI_TOKEN}@github.com/victim/repo.git\n",
        encoding="utf-8",
    )
    (root / "pyproject.toml").write_text('[project]\nname = "victim"\n\n[tool.promptkit]\n', encoding="utf-8")
    (root / "answer.prompty").write_text(ANSWER_PROMPTY, encoding="utf-8")
    return AttackProject(root=root, outside=outside, secret_file=secret, git_config=git_config)
