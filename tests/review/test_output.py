"""Text, Markdown and JSON output of ``promptkit diff``, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptkit.cli import main
from promptkit.review.output import COMMENT_MARKER, md

from .conftest import GitRepo


@pytest.fixture
def changed(git_repo: GitRepo, base_prompt: str, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A realistic PR: a constraint reworded, a component added, temperature raised, a
    required input added (breaking) with only a minor bump, and a second prompt renamed."""
    git_repo.write("prompts/answer.prompty", base_prompt)
    git_repo.write("prompts/old_name.prompty", "---\nname: greet\nversion: 0.3.0\n---\nsystem:\nSay hello to {{ who }}.\n")
    git_repo.commit("base")
    text = (base_prompt.replace("version: 1.4.2", "version: 1.5.0")
            .replace("Never invent order numbers, prices or policies.",
                     "Never invent order numbers, prices, delivery dates or policies.")
            .replace("## Examples\n", "## Escalation\nIf the customer is angry, offer a human agent.\n\n## Examples\n")
            .replace("temperature: 0\n", "temperature: 0.2\n")
            .replace("inputs:\n", "inputs:\n  customer_tier:\n    type: string\n    description: gold, silver or none\n    required: true\n"))
    git_repo.write("prompts/answer.prompty", text)
    git_repo.git("mv", "prompts/old_name.prompty", "prompts/greet.prompty")
    monkeypatch.chdir(git_repo.path)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.delenv("PROMPTKIT_BASE", raising=False)
    return git_repo


def test_markdown_reads_as_a_pr_comment(changed: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["diff", "--format", "markdown", "--no-lint"])
    out = capsys.readouterr().out
    assert rc == 1  # the breaking change needs 2.0.0
    assert out.startswith(COMMENT_MARKER + "\n## promptkit review")
    assert "**2 prompts changed**" in out and "❌ 1 version error" in out
    row = next(line for line in out.splitlines() if line.startswith("| `prompts/answer.prompty`"))
    assert "1.4.2 → 1.5.0" in row and "❌ PR002" in row
    assert "`prompts/old_name.prompty` → `prompts/greet.prompty`" in out
    assert "**PR002** breaking change (input `customer_tier` added (string, required))" in out
    assert "*fix:* set version: 2.0.0" in out
    assert "<del>prices</del> <ins>prices, delivery dates</ins> or policies" in out
    assert "➕ `system › Escalation` added" in out
    assert "temperature 0 → 0.2" in out
    assert "**Tokens** system" in out


def test_text_and_json(changed: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff"]) == 1
    text = capsys.readouterr().out
    assert "prompts/answer.prompty:4:1: error: PR002" in text and "version check: 1 error" in text
    assert main(["diff", "--format", "json", "--exit-zero"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["errors"] == 1
    by = {p["path"]: p for p in data["prompts"]}
    assert by["prompts/greet.prompty"]["status"] == "renamed"
    assert by["prompts/greet.prompty"]["verdict"]["ok"] is True
    answer = by["prompts/answer.prompty"]
    assert [i["name"] for i in answer["inputs"] if i["breaking"]] == ["customer_tier"]
    assert answer["verdict"]["needed"] == "major" and answer["verdict"]["made"] == "minor"
    assert any(d["code"] for d in answer["lint"]) or answer["lint"] == []


def test_ci_compares_the_merge_base_with_head(changed: GitRepo, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    changed.git("checkout", "-q", "-b", "feature")
    changed.commit("the PR")
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    changed.git("branch", "-f", "main", "HEAD~1")
    assert main(["diff", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["head"] == "HEAD" and len(data["prompts"]) == 2
    monkeypatch.setenv("GITHUB_BASE_REF", "gone")
    assert main(["diff"]) == 2
    assert "fetch-depth: 0" in capsys.readouterr().err


def test_prompt_text_cannot_inject_markup() -> None:
    hostile = "</details><script>alert(1)</script> **✅ versions ok** [click](http://x) | col"
    out = md(hostile)
    assert "<script>" not in out and "</details>" not in out
    assert "\\*\\*" in out and "\\|" in out and "\\[click\\]" in out


def test_output_file(changed: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--format", "markdown", "-o", "comment.md", "--exit-zero"]) == 0
    assert Path("comment.md").read_text(encoding="utf-8").startswith(COMMENT_MARKER)
