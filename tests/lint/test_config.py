"""Config: discovery, validation errors that point at the line, rule selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import PromptkitError, Severity
from promptkit.lint import globs
from promptkit.lint.config import LintConfig, find_config, from_file, load_config
from promptkit.lint.rule import REGISTRY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "engine"
PROJECT = FIXTURES / "project"


def rule(code: str):  # type: ignore[no-untyped-def]
    LintConfig().resolve()
    return REGISTRY.rules[code]


def test_reads_pyproject_table_and_exposes_rule_settings() -> None:
    cfg = load_config([PROJECT / "prompts"])
    assert cfg.source == (PROJECT / "pyproject.toml").resolve()
    assert cfg.root == PROJECT.resolve()
    assert cfg.required_components == ["task", "output_format"]
    assert cfg.token_budget == 2000
    assert cfg.default_model == "openai/gpt-4o-mini"
    assert cfg.require_system_message is False
    assert cfg.rule_option("PK401", "max-tokens", 1) == 1234
    assert cfg.rule_option("PK401", "max_tokens", 1) == 1234  # snake_case works too
    assert cfg.rule_option("PK401", "other", "dflt") == "dflt"
    assert cfg.is_enabled(rule("PK712"))  # extend-select
    assert not cfg.is_enabled(rule("PK209"))  # ignore


def test_finds_nearest_config_walking_up(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")  # no [tool.promptkit]: skipped
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_config(tmp_path / "a" / "b") is None
    (tmp_path / "a" / "promptkit.toml").write_text('ignore = ["PK009"]\n')
    assert find_config(tmp_path / "a" / "b") == (tmp_path / "a" / "promptkit.toml").resolve()
    cfg = from_file(tmp_path / "a" / "promptkit.toml")
    assert cfg.ignore == ["PK009"]


def test_promptkit_toml_may_use_tool_table(tmp_path: Path) -> None:
    f = tmp_path / "promptkit.toml"
    f.write_text("[tool.promptkit]\npreview = true\n")
    assert from_file(f).preview is True


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ('[tool.promptkit]\nselect = ["PK1"]\ntoken-budget = "lots"\n', 3, "token-budget"),
        ('[tool.promptkit]\n\nextend-slect = ["PK1"]\n', 3, "unknown setting 'extend-slect'"),
        ('[tool.promptkit]\ntoken-budget = -5\n', 2, "token-budget"),
        ('[tool.promptkit.rules.PK401]\nseverity = "fatal"\n', 2, "severity"),
        ('[tool.promptkit]\nselect = ["PK1"\n', 3, "invalid TOML"),
    ],
)
def test_invalid_config_is_one_located_error(tmp_path: Path, body: str, line: int, fragment: str) -> None:
    f = tmp_path / "pyproject.toml"
    f.write_text(body)
    with pytest.raises(PromptkitError) as exc:
        load_config([], f)
    d = exc.value.diagnostic
    assert d.path == str(f.resolve()) or d.path == str(f)
    assert d.line == line, d.format()
    assert fragment in d.message
    assert "\n" not in d.format()


def test_unknown_selector_is_an_error_naming_the_key(tmp_path: Path) -> None:
    f = tmp_path / "promptkit.toml"
    f.write_text('select = ["PK1"]\nignore = ["PK999", "no-such-rule"]\n')
    with pytest.raises(PromptkitError) as exc:
        load_config([], f)
    assert "unknown rule selector 'PK999' in ignore" in exc.value.diagnostic.message
    assert exc.value.diagnostic.line == 2


def test_unknown_rule_options_table_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "promptkit.toml"
    f.write_text("[rules.PK9999]\nmax = 1\n")
    with pytest.raises(PromptkitError) as exc:
        load_config([], f)
    assert "PK9999" in exc.value.diagnostic.message
    assert exc.value.diagnostic.line == 1


def test_selectors_prefix_name_all_and_specificity() -> None:
    pk009 = rule("PK009")
    pk003 = rule("PK003")
    assert LintConfig(select=["PK0"]).resolve().is_enabled(pk009)
    assert LintConfig(select=["unused-noqa"]).resolve().is_enabled(pk009)
    assert not LintConfig(select=["PK00"], ignore=["PK009"]).resolve().is_enabled(pk009)
    assert LintConfig(select=["PK00"], ignore=["PK009"]).resolve().is_enabled(pk003)
    # the more specific selector wins, whichever list it is in
    assert LintConfig(select=["PK009"], ignore=["PK0"]).resolve().is_enabled(pk009)
    assert not LintConfig(select=["PK0"], ignore=["PK00"]).resolve().is_enabled(pk009)
    assert LintConfig(select=["ALL"]).resolve().is_enabled(pk009)
    assert not LintConfig(select=["PK1"]).resolve().is_enabled(pk009)
    assert LintConfig(select=["PK1"], extend_select=["PK009"]).resolve().is_enabled(pk009)


def test_opt_in_and_preview_rules() -> None:
    filler = rule("PK712")  # default_enabled = False in the wording pack
    assert not filler.default_enabled
    assert not LintConfig().resolve().is_enabled(filler)
    assert LintConfig(extend_select=["PK71"]).resolve().is_enabled(filler)
    assert LintConfig(select=["ALL"]).resolve().is_enabled(filler)
    preview = [r for r in REGISTRY if r.preview]
    assert preview, "at least one rule is in preview (PK603)"
    for r in preview:
        assert not LintConfig(select=["ALL"]).resolve().is_enabled(r)
        assert LintConfig(select=[r.code]).resolve().is_enabled(r)  # exact code opts in
        assert LintConfig(select=["ALL"], preview=True).resolve().is_enabled(r)


def test_per_file_ignores_and_rule_severity(tmp_path: Path) -> None:
    cfg = load_config([PROJECT / "prompts"])
    sub = str(PROJECT / "prompts" / "sub" / "greet2.prompty")
    top = str(PROJECT / "prompts" / "greet.prompty")
    assert "PK701" in {r.code for r in cfg.enabled_rules(top)}
    assert "PK701" not in {r.code for r in cfg.enabled_rules(sub)}
    f = tmp_path / "promptkit.toml"
    f.write_text('[rules.PK009]\nseverity = "error"\n')
    assert load_config([], f).rule_severity("PK009") == Severity.ERROR.value


def test_fixable_and_unfixable() -> None:
    cfg = LintConfig(unfixable=["PK0"], fixable=["ALL", "PK009"]).resolve()
    assert cfg.is_fixable("PK009")  # exact beats prefix
    assert not cfg.is_fixable("PK003")
    assert LintConfig().resolve().is_fixable("PK009")
    assert not LintConfig(fixable=["PK1"]).resolve().is_fixable("PK009")


def test_settings_hash_changes_with_settings() -> None:
    a = LintConfig().resolve().settings_hash()
    assert a == LintConfig().resolve().settings_hash()
    assert a != LintConfig(ignore=["PK009"]).resolve().settings_hash()
    assert a == LintConfig(exclude=["x/**"]).resolve().settings_hash()  # discovery only: same results




_name_chars = st.sampled_from(list("ab.-_x*?"))


@settings(max_examples=200, deadline=None)
@given(st.text(_name_chars, min_size=1, max_size=6), st.text(st.sampled_from(list("ab.-_x")), min_size=1, max_size=8))
def test_name_globs_agree_with_fnmatch(pattern: str, name: str) -> None:
    """Without '/', a pattern means what fnmatch says, against the last path segment."""
    import fnmatch

    expect = fnmatch.fnmatchcase(name, pattern)
    assert globs.match(pattern, name) == expect
    assert globs.match(pattern, f"some/dir/{name}") == expect


def test_path_globs() -> None:
    assert globs.match("templates/**/*.prompty", "templates/a.prompty")
    assert globs.match("templates/**/*.prompty", "templates/x/y/a.prompty")
    assert not globs.match("templates/**/*.prompty", "other/templates/a.prompty")
    assert not globs.match("templates/*.prompty", "templates/x/a.prompty")
    assert globs.match("/templates/*.prompty", "templates/a.prompty")
    assert globs.match_path_or_parent(["prompts/skip"], "prompts/skip/a/b.prompty")
    assert globs.match("[!a]*.md", "b.md") and not globs.match("[!a]*.md", "a.md")


def test_the_documented_example_config_is_valid(tmp_path: Path) -> None:
    import re
    import shutil

    doc = (Path(__file__).resolve().parents[2] / "docs" / "lint.md").read_text()
    example = next(b for b in re.findall(r"```toml\n(.*?)```", doc, re.DOTALL) if "[tool.promptkit]" in b)
    (tmp_path / "pyproject.toml").write_text(example)
    (tmp_path / "style").mkdir()
    shutil.copy(FIXTURES / "packs" / "house.yaml", tmp_path / "style" / "house.yaml")
    cfg = load_config([], tmp_path / "pyproject.toml")
    assert cfg.rule_option("PK403", "max-line-length", 0) == 400
    assert cfg.source == (tmp_path / "pyproject.toml").resolve()
