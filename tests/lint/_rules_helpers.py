"""Shared helpers of the rule tests: run one rule on a file or a text, the way the engine
does (same ``LintContext``), with the config a rule's docs are written for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptkit.lint import rules as _rules  # noqa: F401  (registers the built-in rules)
from promptkit.lint.config import LintConfig
from promptkit.lint.rule import REGISTRY, Finding, LintContext, Rule
from promptkit.template import load, loads
from promptkit.template.model import PromptTemplate

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "lint"
CORPORA = REPO / ".." / "shared" / "corpora"

#: The families this test suite covers (PK0xx load rules are tested with the engine).
FAMILIES = ("PK1", "PK2", "PK3", "PK4", "PK5", "PK6")


def content_rules() -> list[type[Rule]]:
    return [r for r in REGISTRY if r.code.startswith(FAMILIES)]


def rule(code: str) -> type[Rule]:
    return REGISTRY.rules[code]


def config_for(rule_cls: type[Rule], **overrides: Any) -> LintConfig | None:
    """The config a rule's examples assume (``example_config``), or None."""
    data = {**getattr(rule_cls, "example_config", {}), **overrides}
    return LintConfig(**data) if data else None


def run(rule_cls: type[Rule] | str, template: PromptTemplate, config: LintConfig | None = None) -> list[Finding]:
    cls = rule(rule_cls) if isinstance(rule_cls, str) else rule_cls
    if template.kind not in cls.kinds:
        return []
    return list(cls().check(LintContext(template, config)))


def run_text(rule_cls: type[Rule] | str, text: str, path: str = "t.prompty", config: LintConfig | None = None) -> list[Finding]:
    return run(rule_cls, loads(text, path=path), config)


def run_file(rule_cls: type[Rule] | str, path: str | Path, config: LintConfig | None = None) -> list[Finding]:
    return run(rule_cls, load(path), config)
