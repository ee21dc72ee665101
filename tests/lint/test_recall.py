"""Recall: each class of real defect is caught in its varied forms, at the right line, and
its clean look-alikes are not.

Every folder of ``tests/fixtures/lint/recall/`` is one class of defect (untrusted input,
leak invitations, inline JSON...). Its ``cases.yaml`` names the rule (``rule:``), the
prompts the rule must catch (``fail:``, with the 1-based ``lines`` it must report, no
more and no fewer, and optionally a ``message`` substring) and the look-alikes it must stay
quiet on (``pass:``). A case may name its own ``rule`` and a ``config`` (``LintConfig``
keyword arguments). The prompts are real files, linted by the same rule code the engine
runs; one parametrized test drives them all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from promptkit.lint.config import LintConfig
from promptkit.template import load

from ._rules_helpers import FIXTURES, config_for, rule, run

RECALL = FIXTURES / "recall"


def _cases() -> list[Any]:
    out = []
    for spec_path in sorted(RECALL.glob("*/cases.yaml")):
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        for outcome in ("fail", "pass"):
            for case in spec.get(outcome) or []:
                code = case.get("rule", spec["rule"])
                cid = f"{spec_path.parent.name}-{outcome}-{code}-{Path(case['file']).stem}"
                out.append(pytest.param(spec_path.parent, outcome, code, case, id=cid))
    return out


CASES = _cases()


def test_every_class_has_five_catches_and_look_alikes() -> None:
    for spec_path in sorted(RECALL.glob("*/cases.yaml")):
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        fail_files = {c["file"] for c in spec["fail"]}
        assert len(fail_files) >= 5, f"{spec_path.parent.name}: fewer than five prompts it must catch"
        assert spec.get("pass"), f"{spec_path.parent.name}: no clean look-alikes"
        listed = fail_files | {c["file"] for c in spec["pass"]}
        on_disk = {p.name for p in spec_path.parent.iterdir() if p.name != "cases.yaml"}
        assert on_disk == listed, f"{spec_path.parent.name}: fixtures not in cases.yaml: {on_disk - listed}"


@pytest.mark.parametrize(("folder", "outcome", "code", "case"), CASES)
def test_recall(folder: Path, outcome: str, code: str, case: dict[str, Any]) -> None:
    cls = rule(code)
    config = LintConfig(**case["config"]) if case.get("config") else config_for(cls)
    t = load(folder / case["file"])
    assert t.kind in cls.kinds, f"{case['file']} is not a kind {code} checks"
    found = run(cls, t, config)
    got = sorted(f.span.start.line for f in found if f.span is not None)
    if outcome == "pass":
        assert not found, f"{code} fires on the clean look-alike {case['file']}: {[(f.span.start.line, f.message) for f in found]}"
        return
    assert got == sorted(case["lines"]), f"{code} on {case['file']}: lines {got}, expected {case['lines']}: " + \
        "; ".join(f.message for f in found)
    if "message" in case:
        assert all(case["message"] in f.message for f in found), [f.message for f in found]
