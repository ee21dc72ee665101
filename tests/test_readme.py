"""The README's first section is a contract: exactly two commands for a fresh machine, and
CI runs the second one verbatim. This keeps README, .ci/run and reality from drifting."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first_block, "README must start with a bash block of set-up commands"
    return [line for line in first_block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_gives_exactly_two_commands() -> None:
    commands = _readme_commands()
    assert len(commands) == 2, commands
    assert "promptkit lint templates" in commands[0] and "promptkit test templates" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()


def test_precommit_snippet_names_real_hooks_and_no_made_up_rev() -> None:
    """The README's pre-commit block works as written: its hook ids are the ones this
    repository's .pre-commit-hooks.yaml defines, and its `rev` is not a tag that does not
    exist (the text says how to pick one)."""
    import re

    import yaml

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use from pre-commit", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    config = yaml.safe_load(block.group(1))
    [repo] = config["repos"]
    defined = {h["id"] for h in yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert {h["id"] for h in repo["hooks"]} <= defined
    assert repo["rev"] != "v0.1.0" and "autoupdate --freeze" in section
