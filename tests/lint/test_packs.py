"""Declarative rule packs: every check kind, scopes, fixes, validation, the default packs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from promptkit.diagnostics import PromptkitError
from promptkit.lint.config import LintConfig, load_config
from promptkit.lint.engine import lint_text
from promptkit.lint.fixes import apply_fixes
from promptkit.lint.packs import (
    PackRule,
    bundled_rules_dir,
    read_pack,
    required_literal,
)
from promptkit.lint.rule import REGISTRY

PACKS = Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "engine" / "packs"


@pytest.fixture
def house(tmp_path: Path) -> LintConfig:
    shutil.copy(PACKS / "house.yaml", tmp_path / "house.yaml")
    (tmp_path / "promptkit.toml").write_text('rule-packs = ["house.yaml"]\nextend-select = ["HS"]\n')
    return load_config([], tmp_path / "promptkit.toml")


def run(cfg: LintConfig, text: str, path: str = "a.prompty") -> list[tuple[str, int, str]]:
    return [(d.code, d.line, d.message) for d in lint_text(text, path, config=cfg) if not d.code.startswith("PK")]


def test_existence_in_message_scope(house: LintConfig) -> None:
    text = "---\nname: a\n---\nsystem:\nNEVER do that.\nuser:\nWHAT now?\n"
    assert run(house, text) == [("HS001", 5, "'NEVER' is shouting")]


def test_substitution_with_fix_keeping_case(house: LintConfig) -> None:
    text = "Utilize the tools, then utilise more."
    diags = [d for d in lint_text(text, "a.txt", config=house) if d.code == "HS002"]
    assert [d.message for d in diags] == ["write 'Use', not 'Utilize'", "write 'use', not 'utilise'"]
    fixed, _ = apply_fixes(text, diags)
    assert fixed == "Use the tools, then use more."


def test_occurrence_max(house: LintConfig) -> None:
    text = "user:\nYou must a. You MUST b. You must c. must d.\n"
    got = run(house, text, "a.j2")
    assert got == [("HS003", 2, "4 uses of 'must' in one message")]


def test_at_least_in_a_component(house: LintConfig) -> None:
    def hs004(text: str) -> list[tuple[str, int]]:
        return [(c, line) for c, line, _ in run(house, text, "a.md") if c == "HS004"]

    assert hs004("## Output format\nA list of names.\n") == [("HS004", 2)]
    assert hs004("## Output format\nA JSON list of names.\n") == []
    assert hs004("## Task\nNo output section at all.\n") == []  # no scope, nothing to require


def test_repetition_with_fix(house: LintConfig) -> None:
    text = "Take the the cat to to the vet."
    diags = [d for d in lint_text(text, "a.txt", config=house) if d.code == "HS005"]
    assert [d.message for d in diags] == ["'the' twice", "'to' twice"]
    assert apply_fixes(text, diags)[0] == "Take the cat to the vet."
    assert [d.code for d in lint_text("Use AND and OR. The the end.", "b.txt", config=LintConfig(select=["PK711"]))] \
        == ["PK711"]  # 'AND and' is a keyword next to a word; 'The the' is a typo


def test_consistency(house: LintConfig) -> None:
    got = run(house, "Send an e-mail. Reply by email. Another email.", "a.txt")
    assert got == [("HS006", 1, "'e-mail' here, but 'email' elsewhere")]


def test_code_and_comments_are_skipped(house: LintConfig) -> None:
    text = "Use `utilize()` here.\n```\nutilize\n```\n{# utilize #} <!-- utilize -->\n"
    assert run(house, text, "a.txt") == []


def test_pack_rules_are_ordinary_rules(house: LintConfig) -> None:
    r = house.ruleset.get("HS002")
    assert r is not None and "HS002" not in REGISTRY.rules  # the project's pack is not process-wide
    assert issubclass(r, PackRule) and r.fixable == "safe" and r.name == "say-use"
    doc = r.doc()
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in doc
    # a config that does not list the pack does not run its rules
    assert not LintConfig(select=["ALL"]).resolve().is_enabled(r)
    assert house.is_enabled(r)


@pytest.mark.parametrize(
    ("name", "fragment", "line"),
    [
        ("bad_regex.yaml", "bad regular expression '(unclosed'", 3),
        ("bad_key.yaml", "rule BR002, key 'mesage'): unknown key", 8),
        ("no_swap.yaml", "needs 'swap'", 3),
    ],
)
def test_invalid_packs_are_located_errors(name: str, fragment: str, line: int) -> None:
    with pytest.raises(PromptkitError) as exc:
        read_pack(PACKS / name)
    d = exc.value.diagnostic
    assert fragment in d.message, d.format()
    assert d.path.endswith(name) and d.line == line, d.format()


def test_duplicate_code_and_missing_pack(tmp_path: Path) -> None:
    clash = (PACKS / "house.yaml").read_text().replace("code: HS001", "code: PK009")
    (tmp_path / "clash.yaml").write_text(clash)
    (tmp_path / "promptkit.toml").write_text('rule-packs = ["clash.yaml"]\n')
    with pytest.raises(PromptkitError, match="rule code PK009 is already used"):
        load_config([], tmp_path / "promptkit.toml")
    (tmp_path / "promptkit.toml").write_text('rule-packs = ["nowhere/"]\n')
    with pytest.raises(PromptkitError, match="rule pack not found"):
        load_config([], tmp_path / "promptkit.toml")


def _project(root: Path, pack_text: str) -> LintConfig:
    root.mkdir(parents=True, exist_ok=True)
    (root / "house.yaml").write_text(pack_text, encoding="utf-8")
    (root / "promptkit.toml").write_text('rule-packs = ["house.yaml"]\nselect = ["HS002"]\n', encoding="utf-8")
    return load_config([], root / "promptkit.toml")


def test_two_revisions_of_one_pack_lint_side_by_side(tmp_path: Path) -> None:
    """Same codes, different patterns, one process: each configuration lints with its own
    revision (review compares a pull request's rules with the base branch's)."""
    base = (PACKS / "house.yaml").read_text(encoding="utf-8")
    revised = base.replace("swap: {'utili[sz]e': use}", "swap: {'leverage': use}")
    assert revised != base
    old, new = _project(tmp_path / "base", base), _project(tmp_path / "pr", revised)
    text = "Utilize the tools and leverage the notes."

    def hs002(cfg: LintConfig) -> list[str]:
        return [d.message for d in lint_text(text, "a.txt", config=cfg) if d.code == "HS002"]

    assert hs002(old) == ["write 'Use', not 'Utilize'"]
    assert hs002(new) == ["write 'use', not 'leverage'"]
    assert old.ruleset.get("HS002") is not new.ruleset.get("HS002")
    assert old.settings_hash() != new.settings_hash()  # and the cache keeps them apart
    # a revision written over the same file: the config read before keeps its rules
    (tmp_path / "base" / "house.yaml").write_text(revised, encoding="utf-8")
    again = load_config([], tmp_path / "base" / "promptkit.toml")
    assert hs002(again) == ["write 'use', not 'leverage'"]
    assert hs002(old) == ["write 'Use', not 'Utilize'"]
    # interleaved, in the same order and again: nothing leaks between the rule sets
    assert [hs002(c) for c in (new, old, new)] == [hs002(new), hs002(old), hs002(new)]


def test_one_config_cannot_load_two_packs_with_one_code(tmp_path: Path) -> None:
    base = (PACKS / "house.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(base, encoding="utf-8")
    other = base.replace("swap: {'utili[sz]e': use}", "swap: {'leverage': use}").replace("name: say-use", "name: say-use2")
    (tmp_path / "b.yaml").write_text(other, encoding="utf-8")
    (tmp_path / "promptkit.toml").write_text('rule-packs = ["a.yaml", "b.yaml"]\n', encoding="utf-8")
    with pytest.raises(PromptkitError) as exc:
        load_config([], tmp_path / "promptkit.toml")
    d = exc.value.diagnostic
    # HS001 is the same rule in both (shared); HS002 differs: an error at its code in b.yaml
    assert d.message == f"rule code HS002 is already used by rule say-use (rule pack {tmp_path / 'a.yaml'})"
    assert d.path == str(tmp_path / "b.yaml") and d.line == 25, d.format()
    (tmp_path / "promptkit.toml").write_text('rule-packs = ["a.yaml", "a.yaml"]\n', encoding="utf-8")
    assert len(load_config([], tmp_path / "promptkit.toml").ruleset.pack_rules) == 6  # the same pack twice: once


def test_required_literal_prefilter() -> None:
    assert required_literal(r"\bas an ai language model\b", re.IGNORECASE) == "as an ai language model"
    assert required_literal(r"(?m)^(?:certainly|sure)! here(?: is|.s)\b") == "! here"
    assert required_literal(r"(?i:lorem ipsum)") == "lorem ipsum"
    assert required_literal(r"[A-Z]{4,}") is None
    assert required_literal(r"a|bcd") is None


# --------------------------------------------------------------------------- the default packs

def _bundled_rules() -> list[type[PackRule]]:
    LintConfig().resolve()
    return [r for r in REGISTRY if getattr(r, "bundled", False)]


def _example(doc: str, section: str) -> str:
    m = re.search(rf"## {section}\n```[\w-]*\n(.*?)\n```", doc, re.DOTALL)
    assert m, section
    return m.group(1) + "\n"


def test_bundled_packs_exist() -> None:
    d = bundled_rules_dir()
    assert d is not None and sorted(p.name for p in d.glob("*.yaml")) == ["placeholders.yaml", "wording.yaml"]
    assert {r.code for r in _bundled_rules()} == {"PK701", "PK702", "PK711", "PK712"}


@pytest.mark.parametrize("code", ["PK701", "PK702", "PK711", "PK712"])
def test_bundled_rule_docs_examples(code: str) -> None:
    _bundled_rules()
    r = REGISTRY.rules[code]
    cfg = LintConfig(select=[code]).resolve()
    bad, good = _example(r.doc(), "Example"), _example(r.doc(), "Use instead")
    assert code in [d.code for d in lint_text(bad, "bad.prompty", config=cfg)]
    assert code not in [d.code for d in lint_text(good, "good.prompty", config=cfg)]


def test_the_documented_pack_example_works(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "lint.md").read_text()
    example = next(b for b in re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL) if "pack: house-style" in b)
    (tmp_path / "style.yaml").write_text(example)
    (tmp_path / "promptkit.toml").write_text('rule-packs = ["style.yaml"]\n')
    cfg = load_config([], tmp_path / "promptkit.toml")
    diags = [d for d in lint_text("Utilize the search tool.", "a.txt", config=cfg) if d.code == "ACME01"]
    assert [d.message for d in diags] == ["write 'Use', not 'Utilize'"]
    assert apply_fixes("Utilize the search tool.", diags)[0] == "Use the search tool."
