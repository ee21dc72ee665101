"""PK3xx formatting rules: what they flag, what their fixes produce, what they leave alone."""

from __future__ import annotations

import json

import pytest

from promptkit.lint.fixes import apply_fixes
from promptkit.lint.rule import to_diagnostic
from promptkit.template import loads

from ._rules_helpers import rule, run, run_text


def fixed(code: str, text: str, path: str = "t.md", *, unsafe: bool = False) -> str:
    """``text`` after applying every fix ``code`` offers (one pass)."""
    cls = rule(code)
    t = loads(text, path=path)
    diags = [to_diagnostic(cls, f, path) for f in run(cls, t)]
    out, _ = apply_fixes(text, diags, unsafe=unsafe)
    return out


def fixed_text(findings: list, text: str) -> str:  # type: ignore[type-arg]
    from promptkit.diagnostics import Diagnostic

    out, _ = apply_fixes(text, [Diagnostic("t", f.message, code="X", fix=f.fix) for f in findings])
    return out


def test_trailing_whitespace_fix() -> None:
    text = "# Task  \nDo it.\t\n\n   \nDone.\n"
    assert len(run_text("PK300", text, path="t.md")) == 3
    assert fixed("PK300", text) == "# Task\nDo it.\n\n\nDone.\n"


def test_tab_indentation_only_outside_fences() -> None:
    text = "- a\n\t- b\n```go\nfunc f() {\n\treturn\n}\n```\nx\tmid-line tab\n"
    [f] = run_text("PK301", text, path="t.md")
    assert f.span.start.line == 2
    assert fixed("PK301", text).startswith("- a\n    - b\n```go\nfunc f() {\n\treturn")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\r\nb\r\nc\n", "a\r\nb\r\nc\r\n"),  # mostly CRLF -> CRLF
        ("a\nb\nc\r\n", "a\nb\nc\n"),  # mostly LF -> LF
        ("a\rb\nc\n", "a\nb\nc\n"),  # a lone CR counts as mixed
    ],
)
def test_mixed_line_endings_fix_to_majority(text: str, expected: str) -> None:
    assert run_text("PK302", text, path="t.md")
    assert run_text("PK303", text, path="t.md") == []
    assert fixed("PK302", text) == expected


def test_crlf_only_file() -> None:
    text = "# Task\r\nDo it.\r\n"
    [f] = run_text("PK303", text, path="t.md")
    assert "2 lines" in f.message
    assert fixed("PK303", text) == "# Task\nDo it.\n"
    assert run_text("PK302", text, path="t.md") == []


def test_final_newline() -> None:
    assert fixed("PK304", "a\nb") == "a\nb\n"
    assert fixed("PK304", "a\r\nb") == "a\r\nb\r\n"
    assert run_text("PK304", "", path="t.md") == []
    assert run("PK304", loads("no newline", path="data.jsonl#3")) == []  # a record, not a file


def test_blank_line_runs_keep_the_maximum() -> None:
    text = "a\n\n\n\n\nb\n```\n\n\n\n\n```\nc\n\n\n\n"
    found = run_text("PK305", text, path="t.md")
    assert [f.message for f in found] == ["4 blank lines in a row (at most 2)", "3 blank lines in a row (at most 2)"]
    assert fixed("PK305", text) == "a\n\n\nb\n```\n\n\n\n\n```\nc\n\n\n"
    from promptkit.lint.config import LintConfig

    none = LintConfig(rules={"PK305": {"max-blank-lines": 0}})
    assert run_text("PK305", "a\n\nb\n", path="t.md") == []
    assert fixed_text(run_text("PK305", "a\n\nb\n", path="t.md", config=none), "a\n\nb\n") == "a\nb\n"


def test_heading_skip_per_message() -> None:
    assert run_text("PK306", "## A\n### B\n## C\n#### D\n", path="t.md")[0].span.start.line == 4
    assert run_text("PK306", "### Start deep\n## Up\n### Down\n", path="t.md") == []


def test_heading_missing_space() -> None:
    [f] = run_text("PK307", "#Task\nx\n#include <stdio.h>\n#hashtag\n", path="t.md")
    assert f.span.start.line == 1
    assert fixed("PK307", "##Output Format\nx\n") == "## Output Format\nx\n"


def test_mixed_list_markers() -> None:
    text = "- a\n* b\n  + nested\n  + nested2\n\nNew list:\n* c\n* d\n"
    [f] = run_text("PK308", text, path="t.md")
    assert f.span.start.line == 2
    assert fixed("PK308", text) == text  # unsafe: not applied by default
    assert fixed("PK308", text, unsafe=True).startswith("- a\n- b\n")


def test_unclosed_fence() -> None:
    [f] = run_text("PK309", "# A\n```python\nx = 1\n", path="t.md")
    assert f.span.start.line == 2
    assert run_text("PK309", "```\nx\n```\n~~~\n```\n~~~\n", path="t.md") == []


def test_unclosed_and_stray_tags() -> None:
    text = "<context>\nfacts\n\n<question>\nq\n</question>\nA <placeholder> inline is fine.\n</answer>\n<br>\n"
    found = run_text("PK310", text, path="t.md")
    assert [f.message for f in found] == ["<context> is never closed", "</answer> closes a tag that was never opened"]
    multi = '<component\n  :is="x"\n>\n</component>\n'
    assert run_text("PK310", multi, path="t.md") == []


@pytest.mark.parametrize(
    "para",
    [
        "1) first 2) second",
        "a) one\nb) two",
        "Smile :) please",
        "See (https://example.com/a_(b)) for more",
        "Use `f(x` carefully",
        "### 2) Risk register",
        "- [ ] todo item",
    ],
)
def test_brackets_ignores_labels_emoticons_urls_code(para: str) -> None:
    assert run_text("PK311", f"# Notes\n{para}\n", path="t.md") == []


def test_brackets_reports_the_culprit() -> None:
    [f] = run_text("PK311", "Intro.\n\nSay (a or b and stop.\n", path="t.md")
    assert (f.span.start.line, f.span.start.column) == (3, 5)
    [g] = run_text("PK311", "Return [a, b).\n", path="t.md")
    assert "'[' is closed by ')'" in g.message


def test_curly_quote_balance() -> None:
    assert run_text("PK312", "He said “hi” and “bye”.\n", path="t.md") == []
    [f] = run_text("PK312", "He said “hi and left.\n", path="t.md")
    assert f.span.start.column == 9


def test_invisible_characters_safe_in_prose_unsafe_in_code() -> None:
    text = "Say ye\u200bs.\n```\ncode\u200b\n```\nFamily: 👨\u200d👩\u200d👧 ok\n"
    found = run_text("PK313", text, path="t.md")
    assert [f.fix.safe for f in found] == [True, False]
    assert "U+200B ZERO WIDTH SPACE" in found[0].message
    assert fixed("PK313", text) == "Say yes.\n```\ncode\u200b\n```\nFamily: 👨\u200d👩\u200d👧 ok\n"


def test_bidi_controls() -> None:
    text = "Reply \u202eetelpmoc\u202c now\n"
    found = run_text("PK314", text, path="t.md")
    assert len(found) == 2 and all(not f.fix.safe for f in found)
    assert fixed("PK314", text, unsafe=True) == "Reply etelpmoc now\n"


def test_curly_quotes_in_json_fix_gives_valid_json() -> None:
    text = "# Output\n```json\n{“label”: “bug”, “tags”: [“a”, “b”]}\n```\nPlain “quoted” prose.\n"
    [f] = run_text("PK315", text, path="t.md")
    assert "10 of them" in f.message
    out = fixed("PK315", text, unsafe=True)
    block = out.split("```json\n")[1].split("\n```")[0]
    assert json.loads(block) == {"label": "bug", "tags": ["a", "b"]}
    assert "Plain “quoted” prose." in out
    assert run_text("PK315", 'Say “hello”: then {"a": 1}\n', path="t.md") == []
