"""PK6xx clarity rules: off by default, narrow patterns, code fences skipped."""

from __future__ import annotations

import pytest

from promptkit.lint.config import LintConfig
from promptkit.lint.rule import REGISTRY

from ._rules_helpers import run_text


def test_clarity_family_is_off_by_default_and_selectable() -> None:
    clarity = [r for r in REGISTRY if r.code.startswith("PK6")]
    assert clarity and all(not r.default_enabled for r in clarity)
    enabled = {r.code for r in LintConfig().resolve().enabled_rules("x.md")}
    assert not enabled & {r.code for r in clarity}
    selected = {r.code for r in LintConfig(extend_select=["PK6"]).resolve().enabled_rules("x.md")}
    assert {r.code for r in clarity if not r.preview} <= selected
    assert not {r.code for r in clarity if r.preview} & selected  # preview rules need opting in
    with_preview = {r.code for r in LintConfig(extend_select=["PK6"], preview=True).resolve().enabled_rules("x.md")}
    assert {r.code for r in clarity} <= with_preview


@pytest.mark.parametrize(
    ("line", "hit"),
    [
        ("Give a few examples.", True),
        ("List several bullet points about the risks.", True),
        ("Keep it not too long.", True),
        ("Give a few examples, at most 3.", False),
        ("Some users ask about refunds.", False),
        ("Write several paragraphs (two or three).", False),
    ],
)
def test_vague_quantity(line: str, hit: bool) -> None:
    assert bool(run_text("PK600", f"# Task\n{line}\n", path="t.md")) is hit


def test_contradictions() -> None:
    both = run_text("PK601", "# Task\nBe concise.\n\n# Style\nAlways cite sources.\nNever cite sources.\n", path="t.md")
    assert len(both) == 1 and "contradicts 'Always cite sources'" in both[0].message
    fmt = run_text("PK601", "Respond in JSON.\n\nLater: respond in Markdown.\n", path="t.md")
    assert "asks for Markdown" in fmt[0].message
    assert run_text("PK601", "Be concise.\n```\nexplain in detail\n```\n", path="t.md") == []
    lengths = run_text("PK601", "Be concise in the summary.\nGive a detailed explanation.\n", path="t.md")
    assert len(lengths) == 1


def test_negative_only_lists() -> None:
    mixed = "# Rules\n- Do not guess.\n- Cite sources.\n- Never swear.\n"
    assert run_text("PK602", mixed, path="t.md") == []
    two = "# Rules\n- Do not guess.\n- Never swear.\n"
    assert run_text("PK602", two, path="t.md") == []
    numbered = "1. Don't guess.\n2. Avoid jargon.\n3. No emojis.\n"
    [f] = run_text("PK602", numbered, path="t.md")
    assert f.span.start.line == 1


def test_shouting_skips_headings_and_acronyms() -> None:
    assert run_text("PK603", "# IDENTITY AND PURPOSE OF THIS PATTERN\nUse the AWS S3 API.\n", path="t.md") == []
    assert run_text("PK603", "Stop!!!\n", path="t.md")
