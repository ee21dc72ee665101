"""The rules the engine owns (PK0xx load and meta rules, PK7xx default packs) are
documented and proven by real files, like the content rules in test_rule_docs.py.

Each has the four doc sections; ``tests/fixtures/lint/<CODE>/`` has ``bad*`` files the rule
fires on (through the whole engine: load rules forward loader diagnostics, PK009 needs the
noqa pass) and ``good*`` files it does not fire on; the docs' Example fires and Use instead
does not (except PK000, which needs a broken rule, and PK001, whose bad input is bytes).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promptkit.lint.config import LintConfig
from promptkit.lint.engine import lint_file, lint_text
from promptkit.lint.rule import REGISTRY, Rule

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint"


def _rules() -> list[type[Rule]]:
    LintConfig().resolve()
    return [r for r in REGISTRY if r.code.startswith(("PK0", "PK7"))]


RULES = _rules()
IDS = [r.code for r in RULES]
WITH_FIXTURES = [r for r in RULES if r.code != "PK000"]


def _examples(doc: str, section: str) -> list[tuple[str, str]]:
    m = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", doc, re.MULTILINE | re.DOTALL)
    assert m, section
    out = []
    for lang, body in re.findall(r"```([\w.-]*)\n(.*?)\n```", m.group(1), re.DOTALL):
        ext = {"prompty": "prompty", "markdown": "mdc" if "globs:" in body else "md", "text": "txt"}.get(lang, "prompty")
        out.append((f"example.{ext}", body + "\n"))
    return out


def test_the_engine_rules_are_registered() -> None:
    assert {"PK000", "PK001", "PK002", "PK003", "PK004", "PK006", "PK009", "PK701", "PK702", "PK711", "PK712"} <= set(IDS)


@pytest.mark.parametrize("rule_cls", RULES, ids=IDS)
def test_docs(rule_cls: type[Rule]) -> None:
    doc = rule_cls.doc()
    for section in ("What it does", "Why is this bad?", "Example", "Use instead"):
        assert re.search(rf"^## {re.escape(section)}$", doc, re.MULTILINE), f"{rule_cls.code}: no '## {section}'"
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", rule_cls.name)
    if rule_cls.code in ("PK000", "PK001"):
        return
    cfg = LintConfig(extend_select=[rule_cls.code]).resolve()
    for name, text in _examples(doc, "Example"):
        assert rule_cls.code in [d.code for d in lint_text(text, name, config=cfg)], f"{rule_cls.code} Example:\n{text}"
    for name, text in _examples(doc, "Use instead"):
        assert rule_cls.code not in [d.code for d in lint_text(text, name, config=cfg)], f"{rule_cls.code} Use instead"


@pytest.mark.parametrize("rule_cls", WITH_FIXTURES, ids=[r.code for r in WITH_FIXTURES])
def test_fixtures(rule_cls: type[Rule]) -> None:
    folder = FIXTURES / rule_cls.code
    bad, good = sorted(folder.glob("bad*")), sorted(folder.glob("good*"))
    assert bad and good, f"{folder} needs bad* and good* files"
    cfg = LintConfig(extend_select=[rule_cls.code]).resolve()  # PK009 needs the rules its noqa names
    for path in bad:
        _, diags = lint_file(path, cfg)
        hits = [d for d in diags if d.code == rule_cls.code]
        assert hits, f"{rule_cls.code} does not fire on {path.name}"
        assert all(d.message and d.line >= 1 for d in hits)
        if rule_cls.fixable:
            assert any(d.fix is not None for d in hits)
    for path in good:
        _, diags = lint_file(path, cfg)
        assert rule_cls.code not in [d.code for d in diags], f"{rule_cls.code} fires on {path.name}"


def test_front_matter_schema_is_a_warning_in_other_tools_files() -> None:
    from promptkit.diagnostics import Severity

    text = "---\nname: skill\nversion: '1.0'\n---\nDo the thing.\n"
    sev = {name: [d.severity for d in lint_text(text, name) if d.code == "PK006"] for name in ("a.prompty", "SKILL.md")}
    # a non-semver version is a warning everywhere (#16: it must not stop a Prompty file
    # from rendering or being tested)
    assert sev == {"a.prompty": [Severity.WARNING], "SKILL.md": [Severity.WARNING]}
