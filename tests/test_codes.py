"""promptkit/codes.py: every diagnostic code in one table, each written once.

A code is public (users write it in ``ignore``, ``noqa`` and CI filters), so a second copy
of a literal is a second place to forget when a code changes. These tests read the source
with :mod:`ast`: every string constant that is a code (``"PK001"``, ``"PT004"``) is written
exactly once in ``promptkit/``, and the table holds exactly the codes written there (plus
the bundled rule packs' codes, which are data)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from promptkit.codes import CODES, CodeTable
from promptkit.lint.packs import bundled_rules_dir, load_builtin_rules, read_pack
from promptkit.lint.rule import REGISTRY

PKG = Path(__file__).resolve().parents[1] / "promptkit"
CODE = re.compile(r"^(PK|PT|PR)\d{3}$")


def _literals() -> dict[str, list[str]]:
    """Each code literal in promptkit/ -> where it is written (``file:line``)."""
    found: dict[str, list[str]] = defaultdict(list)
    for f in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"), str(f))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
                found[node.value].append(f"{f.relative_to(PKG.parent)}:{node.lineno}")
    return found


def test_every_code_literal_is_written_once() -> None:
    twice = {code: where for code, where in _literals().items() if len(where) > 1}
    assert not twice, ("refer to the code through promptkit.codes (or the rule's `code`) instead of "
                       f"writing it again: {twice}")


def test_the_table_holds_every_code_written_and_no_other() -> None:
    load_builtin_rules()
    d = bundled_rules_dir()
    bundled = {spec.code for f in sorted(d.glob("*.yaml")) for spec in read_pack(f)[0].rules} if d else set()
    table = {c.code for c in CODES}
    assert set(_literals()) | bundled == table
    assert set(REGISTRY.rules) <= table  # every built-in rule, forwarding ones included
    for c in CODES:
        assert c.name and c.summary, c
        rule = REGISTRY.rules.get(c.code)
        assert rule is None or rule.name == c.name, (c, rule)


def test_the_table_refuses_a_code_twice() -> None:
    table = CodeTable()
    table.define("PK998", "one-thing", "a summary")
    with pytest.raises(ValueError, match="PK998 is defined twice"):
        table.define("PK998", "another-thing", "a summary")
    assert table.admit("PK998", "one-thing", "a rule forwarding it").name == "one-thing"
    with pytest.raises(ValueError, match="rule other uses code PK998"):
        table.admit("PK998", "other", "a rule taking a code that is not its own")
    with pytest.raises(ValueError, match="duplicate rule code PK001"):
        REGISTRY.register(REGISTRY.rules["PK001"])
