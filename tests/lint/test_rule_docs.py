"""Every built-in content rule is documented and proven by real files.

For each registered rule of the PK1xx-PK6xx families:

* the docstring has the sections *What it does*, *Why is this bad?*, *Example* and
  *Use instead*, each example being a fenced block holding a whole file;
* the *Example* file makes the rule fire and the *Use instead* file does not;
* ``tests/fixtures/lint/<CODE>/`` holds at least one ``bad*`` and one ``good*`` file, and
  the rule fires on every bad one and on no good one;
* metadata is consistent: kebab-case unique name, code in the right family, a fixable
  rule offers fixes of the kind it declares on its bad fixtures.
"""

from __future__ import annotations

import re

import pytest

from promptkit.lint.rules._util import doc_examples
from promptkit.template import load, loads

from ._rules_helpers import FIXTURES, config_for, content_rules, run

RULES = content_rules()
IDS = [r.code for r in RULES]
SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")


def test_enough_rules() -> None:
    assert len(RULES) >= 35
    families = {r.code[:3] for r in RULES}
    assert families == {"PK1", "PK2", "PK3", "PK4", "PK5", "PK6"}


@pytest.mark.parametrize("rule_cls", RULES, ids=IDS)
def test_metadata(rule_cls) -> None:  # type: ignore[no-untyped-def]
    assert re.fullmatch(r"PK[1-6]\d\d", rule_cls.code)
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", rule_cls.name), rule_cls.name
    assert rule_cls.fixable in (None, "safe", "unsafe")
    assert rule_cls.kinds, "a rule must apply to some file kind"
    assert rule_cls.default_enabled is (not rule_cls.code.startswith("PK6"))
    assert rule_cls.summary() and not rule_cls.summary().startswith("#")


def test_names_unique() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule_cls", RULES, ids=IDS)
def test_doc_sections(rule_cls) -> None:  # type: ignore[no-untyped-def]
    doc = rule_cls.doc()
    for section in SECTIONS:
        assert re.search(rf"^## {re.escape(section)}$", doc, re.M), f"{rule_cls.code}: no '## {section}' section"
    assert doc_examples(doc, "Example"), f"{rule_cls.code}: Example has no fenced file"
    assert doc_examples(doc, "Use instead"), f"{rule_cls.code}: Use instead has no fenced file"


@pytest.mark.parametrize("rule_cls", RULES, ids=IDS)
def test_doc_example_triggers(rule_cls) -> None:  # type: ignore[no-untyped-def]
    config = config_for(rule_cls)
    for name, text in doc_examples(rule_cls.doc(), "Example"):
        t = loads(text, path=name)
        assert t.kind in rule_cls.kinds, f"{rule_cls.code}: example {name} is not a kind the rule checks"
        assert run(rule_cls, t, config), f"{rule_cls.code} does not fire on its Example:\n{text}"


@pytest.mark.parametrize("rule_cls", RULES, ids=IDS)
def test_doc_use_instead_is_clean(rule_cls) -> None:  # type: ignore[no-untyped-def]
    config = config_for(rule_cls)
    for name, text in doc_examples(rule_cls.doc(), "Use instead"):
        found = run(rule_cls, loads(text, path=name), config)
        assert not found, f"{rule_cls.code} fires on its 'Use instead': {[f.message for f in found]}"


@pytest.mark.parametrize("rule_cls", RULES, ids=IDS)
def test_fixtures(rule_cls) -> None:  # type: ignore[no-untyped-def]
    folder = FIXTURES / rule_cls.code
    bad = sorted(folder.glob("bad*"))
    good = sorted(folder.glob("good*"))
    assert bad and good, f"{folder} needs bad.* and good.* files"
    config = config_for(rule_cls)
    for path in bad:
        t = load(path)
        found = run(rule_cls, t, config)
        assert found, f"{rule_cls.code} does not fire on {path.name}"
        for f in found:
            assert f.span is not None and 1 <= f.span.start.line <= t.index.line_count
            assert f.message and not f.message.endswith(".")
        if rule_cls.fixable:
            fixes = [f.fix for f in found if f.fix is not None]
            assert fixes, f"{rule_cls.code} is fixable but offers no fix on {path.name}"
            if rule_cls.fixable == "unsafe":
                assert all(not x.safe for x in fixes)
    for path in good:
        found = run(rule_cls, load(path), config)
        assert not found, f"{rule_cls.code} fires on {path.name}: {[f.message for f in found]}"


def test_no_fixture_folder_without_rule() -> None:
    codes = {r.code for r in RULES}
    stray = [p.name for p in FIXTURES.iterdir() if re.fullmatch(r"PK[1-6]\d\d", p.name) and p.name not in codes]
    assert not stray


def test_reference_page_lists_every_rule() -> None:
    page = (FIXTURES.parents[2] / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    for r in RULES:
        assert f"| {r.code} | `{r.name}` | {r.severity.value} |" in page, f"docs/lint-rules.md is missing {r.code}"
