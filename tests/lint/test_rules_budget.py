"""PK4xx budget rules: token counts (rendered with samples), context windows, repetition."""

from __future__ import annotations

import pytest

from promptkit.lint.config import LintConfig
from promptkit.tokens import context_window, count_tokens

from ._rules_helpers import run_text

SAMPLED = (
    "---\nname: t\nmodel: openai/gpt-4o-mini\ninputs:\n  doc:\n    type: string\n    sample: {sample}\n---\n"
    "system:\nSummarize.\n\nuser:\n{{{{ doc }}}}\n"
)


def test_budget_counts_the_rendered_prompt_with_samples() -> None:
    short = SAMPLED.format(sample="hi")
    long = SAMPLED.format(sample="'" + "lorem ipsum " * 200 + "'")
    cfg = LintConfig(token_budget=100)
    assert run_text("PK400", short, config=cfg) == []
    [f] = run_text("PK400", long, config=cfg)
    expected = count_tokens(
        [{"role": "system", "content": "Summarize."}, {"role": "user", "content": ("lorem ipsum " * 200).strip()}],
        "openai/gpt-4o-mini",
    ).total
    assert f"the prompt is {expected:,} tokens (rendered with its samples)" in f.message


def test_budget_without_samples_counts_static_text_and_rule_option_wins() -> None:
    text = "---\nname: t\n---\nsystem:\n" + "word " * 300 + "\n"
    assert run_text("PK400", text) == []  # no budget configured
    [f] = run_text("PK400", text, config=LintConfig(rules={"PK400": {"max-tokens": 50}}))
    assert "before inputs are added" in f.message


@pytest.mark.skipif(context_window("gpt-4o-mini") is None, reason="litellm's model table is not installed")
def test_context_window_includes_max_tokens() -> None:
    window = context_window("gpt-4o-mini")
    assert window is not None
    fm = "---\nname: t\nmodel:\n  id: gpt-4o-mini\n  parameters:\n    max_tokens: {n}\n---\nuser:\nhello\n"
    assert run_text("PK401", fm.format(n=1000)) == []
    [f] = run_text("PK401", fm.format(n=window))
    assert f"context window of {window:,}" in f.message and "max_tokens" in f.message
    big = "---\nname: t\nmodel: gpt-4o-mini\n---\nuser:\n" + "token " * (window + 10) + "\n"
    assert run_text("PK401", big)


def test_context_window_uses_default_model_and_skips_unknown() -> None:
    text = "---\nname: t\n---\nuser:\n" + "token " * 300_000 + "\n"
    assert run_text("PK401", text) == []  # no model anywhere: nothing to compare with
    assert run_text("PK401", text, config=LintConfig(default_model="no-such-model-xyz")) == []
    if context_window("gpt-4o-mini"):
        assert run_text("PK401", text, config=LintConfig(default_model="gpt-4o-mini"))


PARA = "Answer only from the documents provided below and cite the title of each document you use."


def test_repeated_paragraph_normalizes_whitespace() -> None:
    text = f"# A\n{PARA}\n\n# B\n{PARA.replace(' the ', '   the ', 1)}\n"
    [f] = run_text("PK402", text, path="t.md")
    assert f.message == "this paragraph repeats the one at line 2 word for word"
    assert f.span.start.line == 5


def test_repeated_paragraph_in_if_else_branches_is_allowed() -> None:
    text = f"user:\n{{% if a %}}\n{PARA}\n{{% else %}}\n{PARA}\n{{% endif %}}\n"
    assert run_text("PK402", text, path="t.j2") == []


def test_repeated_paragraph_skips_code_and_short_ones() -> None:
    text = f"ok\n\nok\n\n```\n{PARA}\n```\n\n```\n{PARA}\n```\n"
    assert run_text("PK402", text, path="t.md") == []


def test_long_line_outside_fences_only() -> None:
    long = "x" * 2500
    assert run_text("PK403", f"```\n{long}\n```\n", path="t.md") == []
    [f] = run_text("PK403", f"# A\n{long}\n", path="t.md")
    assert f.span.start.column == 2001


@pytest.mark.skipif(context_window("gpt-4o-mini") is None, reason="litellm's model table is not installed")
def test_max_tokens_over_model_limit() -> None:
    fm = "---\nname: t\nmodel:\n  id: gpt-4o-mini\n  parameters:\n    max_tokens: {n}\n---\nuser:\nhi\n"
    [f] = run_text("PK404", fm.format(n=100_000))
    assert f.span.start.line == 6
    assert run_text("PK404", fm.format(n=4000)) == []
    assert run_text("PK404", fm.format(n=100_000).replace("gpt-4o-mini", "private-deployment")) == []
