"""action.yml: a composite action whose scripts take PR data only through env (no script
injection), whose inputs are all declared, and whose comment marker is the one the Markdown
starts with (so it updates its own comment)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from promptkit.review.output import COMMENT_MARKER

ACTION = Path(__file__).resolve().parents[2] / "action.yml"


def _action() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(ACTION.read_text(encoding="utf-8"))


def test_composite_with_the_review_steps() -> None:
    a = _action()
    assert a["runs"]["using"] == "composite"
    runs = "\n".join(s.get("run", "") for s in a["runs"]["steps"])
    for needle in ("promptkit lint --output-format sarif", "promptkit test", "--mode replay", "promptkit diff --base",
                   "--format markdown", "--base-results", "gh api", "GITHUB_STEP_SUMMARY", "git worktree add"):
        assert needle in runs, needle
    assert any("upload-sarif" in s.get("uses", "") for s in a["runs"]["steps"])


def test_inputs_used_are_declared() -> None:
    a = _action()
    text = ACTION.read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used <= set(a["inputs"]), used - set(a["inputs"])


def test_no_expression_is_pasted_into_a_script() -> None:
    """``${{ github.head_ref }}`` or an input inside ``run:`` is shell injection from a PR;
    values go through ``env:``."""
    for step in _action()["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


def test_the_comment_marker_matches() -> None:
    assert COMMENT_MARKER in ACTION.read_text(encoding="utf-8")
