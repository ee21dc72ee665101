"""``promptkit diff`` over a real git history: every change kind x every version bump.

One repository per module: a base commit, then one commit per (change kind, bump), each
written from the base text, so the pair (base, commit) holds exactly that change. For each
pair the semantic diff must name the change and the verdict must follow the rules of
docs/review.md: content change -> at least patch; breaking -> major.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from promptkit.review import Repo, compare_revisions
from promptkit.review.semantic import PromptDiff

from .conftest import FIXTURES, GitRepo

PROMPT = "prompts/answer.prompty"
BASE = (FIXTURES / "answer.prompty").read_text(encoding="utf-8")


def _swap_sections(text: str, a: str, b: str) -> str:
    """Swap two ``## `` sections (their heading and content)."""
    parts = re.split(r"(?m)^(?=## |user:)", text)
    ia = next(i for i, p in enumerate(parts) if p.startswith(f"## {a}\n"))
    ib = next(i for i, p in enumerate(parts) if p.startswith(f"## {b}\n"))
    parts[ia], parts[ib] = parts[ib], parts[ia]
    return "".join(parts)


def _drop_section(text: str, title: str) -> str:
    return re.sub(rf"(?ms)^## {title}\n.*?(?=^## |^user:)", "", text)


# kind -> (edit, needed bump, check of the diff)
Check = Callable[[PromptDiff], None]


def _kinds(d: PromptDiff, kind: str) -> list[str]:
    return [c.where for c in d.components if c.kind == kind]


KINDS: dict[str, tuple[Callable[[str], str], str, Check]] = {
    "component_edited": (
        lambda t: t.replace("using only the articles below", "using only the help-centre articles below"),
        "patch",
        lambda d: (_kinds(d, "changed") == ["system › Task"]
                   and any(op == "+" and "help-centre" in w for op, w in d.components[0].words))),
    "component_added": (
        lambda t: t.replace("## Constraints\n", "## Tone\nBe warm but brief.\n\n## Constraints\n"),
        "patch", lambda d: _kinds(d, "added") == ["system › Tone"] and not _kinds(d, "changed")),
    "component_removed": (
        lambda t: _drop_section(t, "Examples"), "patch", lambda d: _kinds(d, "removed") == ["system › Examples"]),
    "component_moved": (
        lambda t: _swap_sections(t, "Task", "Constraints"), "patch",
        lambda d: bool(_kinds(d, "moved")) and not _kinds(d, "changed") and not _kinds(d, "added")),
    "component_renamed": (
        lambda t: t.replace("## Output format\n", "## Response format\n"), "patch",
        lambda d: [(c.kind, c.old_where, c.where) for c in d.components]
        == [("renamed", "system › Output format", "system › Response format")]),
    "input_added_optional": (
        lambda t: t.replace("inputs:\n", "inputs:\n  locale:\n    type: string\n    default: en\n"), "patch",
        lambda d: [(c.kind, c.name, c.breaking) for c in d.inputs] == [("added", "locale", False)]),
    "input_added_required": (
        lambda t: t.replace("inputs:\n", "inputs:\n  customer_id:\n    type: string\n    required: true\n"), "major",
        lambda d: [(c.kind, c.name, c.breaking) for c in d.inputs] == [("added", "customer_id", True)]),
    "input_removed": (
        lambda t: t.replace("  tone:\n    type: string\n    default: friendly\n    required: false\n", "")
        .replace("Keep a {{ tone }} tone.\n", ""), "major",
        lambda d: [(c.kind, c.name) for c in d.inputs] == [("removed", "tone")] and bool(_kinds(d, "changed"))),
    "input_made_required": (
        lambda t: t.replace("    default: friendly\n    required: false\n", "    required: true\n"), "major",
        lambda d: [(c.kind, c.name, c.breaking) for c in d.inputs] == [("required", "tone", True)]),
    "input_type_changed": (
        lambda t: t.replace("  articles:\n    type: list", "  articles:\n    type: string"), "major",
        lambda d: [(c.kind, c.before, c.after) for c in d.inputs] == [("type", "list", "string")]),
    "model_parameter_changed": (
        lambda t: t.replace("temperature: 0\n", "temperature: 0.7\n"), "patch",
        lambda d: [(c.field, c.before, c.after) for c in d.model] == [("temperature", 0, 0.7)] and not d.components),
    "model_changed": (
        lambda t: t.replace("id: openai/gpt-4o-mini", "id: anthropic/claude-3-5-haiku-latest"), "patch",
        lambda d: [c.field for c in d.model] == ["model"]),
    "output_schema_broken": (
        lambda t: t.replace("    required: [answer, citations]\n", "    required: [answer]\n")
        .replace("      citations: {type: array, items: {type: string}}\n", ""), "major",
        lambda d: any(s.path == "$.citations" and s.what == "property removed" and s.breaking for s in d.schema)),
    "output_schema_type_changed": (
        lambda t: t.replace("answer: {type: string}", "answer: {type: object}"), "major",
        lambda d: [(s.path, s.breaking) for s in d.schema] == [("$.answer", True)]),
    "output_schema_extended": (
        lambda t: t.replace("      confidence:", "      follow_up: {type: string}\n      confidence:"), "patch",
        lambda d: [(s.path, s.breaking) for s in d.schema] == [("$.follow_up", False)]),
    "whitespace_only": (
        lambda t: t.replace("Cite the article ids you used.", "Cite the article ids\n   you used.   ")
        .replace("## Constraints\n", "## Constraints   \n"), "none",
        lambda d: d.whitespace_only and not d.content_changed and {c.kind for c in d.components} == {"whitespace"}),
}
BUMPS = {"none": "1.4.2", "patch": "1.4.3", "minor": "1.5.0", "major": "2.0.0"}
ORDER = {"none": 0, "patch": 1, "minor": 2, "major": 3}


def _ok(needed: str, made: str) -> bool:
    return ORDER[made] >= ORDER[needed] if needed != "major" else made == "major"


PAIRS = [(k, b) for k in KINDS for b in BUMPS] + [("rename", b) for b in BUMPS] + [("rename_edited", b) for b in BUMPS]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, dict[tuple[str, str], str], str]:
    """The repository and the commit of every pair (written from the base each time)."""
    repo = GitRepo(tmp_path_factory.mktemp("history") / "repo")
    repo.write(PROMPT, BASE)
    repo.write("README.md", "not a prompt\n")
    base = repo.commit("base")
    commits: dict[tuple[str, str], str] = {}
    for kind, bump in PAIRS:
        for p in (repo.path / "prompts").iterdir():
            p.unlink()
        text = BASE.replace("version: 1.4.2", f"version: {BUMPS[bump]}")
        if kind == "rename":
            repo.write("prompts/answer_question.prompty", text)
        elif kind == "rename_edited":
            repo.write("prompts/answer_question.prompty", KINDS["component_edited"][0](text))
        else:
            repo.write(PROMPT, KINDS[kind][0](text))
        repo.write("README.md", f"not a prompt: {kind} {bump}\n")
        commits[(kind, bump)] = repo.commit(f"{kind} with a {bump} bump")
    return repo, commits, base


def test_at_least_forty_revision_pairs_over_ten_change_kinds() -> None:
    assert len(PAIRS) >= 40 and len(KINDS) + 2 >= 10


@pytest.mark.parametrize(("kind", "bump"), PAIRS, ids=[f"{k}-{b}" for k, b in PAIRS])
def test_diff_and_verdict(history: tuple[GitRepo, dict[tuple[str, str], str], str], kind: str, bump: str) -> None:
    repo, commits, base = history
    review = compare_revisions(Repo(repo.path), base, commits[(kind, bump)])
    assert [d.path for d in review.diffs] == [PROMPT if not kind.startswith("rename") else
                                            "prompts/answer_question.prompty"]  # README.md is no prompt
    d = review.diffs[0]
    verdict = review.verdicts[0]
    if kind.startswith("rename"):
        assert d.status == "renamed" and d.old_path == PROMPT
        needed = "patch" if kind == "rename_edited" else "none"
        assert d.content_changed is (kind == "rename_edited")
    else:
        edit, needed, check = KINDS[kind]
        assert check(d), d
    assert d.version_before == "1.4.2" and d.version_after == BUMPS[bump]
    assert verdict.needed == ("none" if needed == "none" else needed)
    expected_ok = _ok(needed, bump)
    assert verdict.ok is expected_ok, [f.format() for f in verdict.findings]
    codes = {f.code for f in verdict.findings}
    if not expected_ok:
        assert codes == ({"PR002"} if needed == "major" else {"PR001"})
    # the token delta is per message and adds up
    assert sum(t.delta for t in d.tokens) == d.token_delta


def test_a_head_revision_equal_to_the_base_changes_nothing(history: tuple[GitRepo, dict[tuple[str, str], str], str]) -> None:
    repo, _, base = history
    assert compare_revisions(Repo(repo.path), base, base).diffs == []


def test_paths_limit_the_diff(history: tuple[GitRepo, dict[tuple[str, str], str], str], tmp_path: Path) -> None:
    repo, commits, base = history
    head = commits[("component_added", "patch")]
    r = Repo(repo.path)
    assert len(compare_revisions(r, base, head, ["prompts"], cwd=repo.path).diffs) == 1
    assert compare_revisions(r, base, head, ["README.md"], cwd=repo.path).diffs == []


def test_a_rename_is_followed_when_only_the_new_name_is_given(
        history: tuple[GitRepo, dict[tuple[str, str], str], str]) -> None:
    repo, commits, base = history
    r = Repo(repo.path)
    review = compare_revisions(r, base, commits[("rename", "none")], ["prompts/answer_question.prompty"], cwd=repo.path)
    assert [(d.status, d.old_path) for d in review.diffs] == [("renamed", PROMPT)] and review.ok
