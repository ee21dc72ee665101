"""Output formats: ruff-style text with excerpts, JSON, SARIF, GitHub annotations, JUnit."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from promptkit.diagnostics import Diagnostic, Edit, Fix, LineIndex, Severity
from promptkit.lint.output import emit, emit_statistics, statistics, summary


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, list[Diagnostic]]:
    text = "---\nname: x\n---\nsystem:\n\tDesign a plan for [YOUR TOPIC].\n"
    p = tmp_path / "plan.prompty"
    p.write_text(text)
    idx = LineIndex(text)
    start = text.index("[YOUR")
    diags = [
        Diagnostic(str(p), "fill-in marker '[YOUR TOPIC]'", Severity.WARNING, "PK701", "fill-in-marker",
                   idx.span(start, start + 12), hint="replace it"),
        Diagnostic(str(p), "unused: 50%\nsecond line, with comma", Severity.ERROR, "PK009", "unused-noqa",
                   idx.span(0, 3), fix=Fix([Edit(0, 3, "")], safe=True)),
        Diagnostic(str(p), "no place", Severity.INFO, "PK209", "missing-version"),
    ]
    return p, diags


def render(diags: list[Diagnostic], fmt: str, **kw: object) -> str:
    buf = io.StringIO()
    emit(diags, fmt, buf, **kw)  # type: ignore[arg-type]
    return buf.getvalue()


def test_text_has_location_code_excerpt_and_caret(sample: tuple[Path, list[Diagnostic]]) -> None:
    p, diags = sample
    out = render(diags, "text", files=1)
    assert f"{p}:5:20: PK701 fill-in marker" in out
    assert "\x1b[" not in out  # no colour when not a terminal
    lines = out.splitlines()
    i = lines.index("5 |     Design a plan for [YOUR TOPIC].")  # the tab is expanded
    caret = lines[i + 1]
    assert caret.index("^") == lines[i].index("[") and caret.count("^") == 12 and caret.endswith("warning")
    assert "= hint: replace it" in out
    assert f"{p}:1:1: PK009 [*] unused" in out
    assert "Found 3 problems (1 error, 1 warning, 1 info) in 1 of 1 file." in out
    assert "[*] 1 fixable with the `--fix` option." in out


def test_text_colour_on_a_terminal(sample: tuple[Path, list[Diagnostic]]) -> None:
    _, diags = sample
    assert "\x1b[" in render(diags, "text", files=1, color=True)


def test_concise_is_one_line_each(sample: tuple[Path, list[Diagnostic]]) -> None:
    _, diags = sample
    out = render(diags, "concise", files=1, show_summary=False)
    assert len(out.splitlines()) == 3


def test_clean_summary() -> None:
    assert summary([], 4) == ["All checks passed! (4 files checked)"]


def test_long_lines_are_windowed(tmp_path: Path) -> None:
    text = "x" * 500 + " [YOUR TOPIC] " + "y" * 500 + "\n"
    p = tmp_path / "long.md"
    p.write_text(text)
    idx = LineIndex(text)
    d = Diagnostic(str(p), "m", Severity.WARNING, "PK701", "fill-in-marker", idx.span(501, 513))
    out = render([d], "text", files=1)
    excerpt = next(line for line in out.splitlines() if line.startswith("1 | "))
    assert len(excerpt) < 130 and "[YOUR TOPIC]" in excerpt and excerpt.startswith("1 | …")


def test_json(sample: tuple[Path, list[Diagnostic]]) -> None:
    _, diags = sample
    data = json.loads(render(diags, "json"))
    assert [d["code"] for d in data] == ["PK701", "PK009", "PK209"]
    assert data[0]["line"] == 5 and data[0]["column"] == 20 and data[0]["end_column"] == 32
    assert data[1]["fix"] == {"applicability": "safe", "message": "", "edits": [{"start": 0, "end": 3, "content": ""}]}
    assert data[0]["fix"] is None


def test_sarif(sample: tuple[Path, list[Diagnostic]]) -> None:
    _, diags = sample
    data = json.loads(render(diags, "sarif"))
    assert data["version"] == "2.1.0"
    run = data["runs"][0]
    assert run["tool"]["driver"]["name"] == "promptkit"
    ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert ids == {"PK701", "PK009", "PK209"}
    res = run["results"][0]
    assert res["ruleId"] == "PK701" and res["level"] == "warning"
    region = res["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 5, "startColumn": 20, "endLine": 5, "endColumn": 32}
    assert run["results"][2]["level"] == "note"


def test_github_annotations_escape(sample: tuple[Path, list[Diagnostic]]) -> None:
    p, diags = sample
    lines = render(diags, "github").splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"::warning title=promptkit (PK701),file={p},line=5,col=20,endLine=5,endColumn=32::PK701 ")
    assert "50%25%0Asecond line, with comma" in lines[1] and lines[1].startswith("::error ")
    assert lines[2].startswith("::notice ")


def test_junit_is_valid_xml_with_a_suite_per_file(sample: tuple[Path, list[Diagnostic]]) -> None:
    p, diags = sample
    root = ET.fromstring(render(diags, "junit", paths=[str(p), "clean.prompty"]))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites[str(p)].get("failures") == "3"
    assert suites["clean.prompty"].get("failures") == "0"
    failures = list(root.iter("failure"))
    assert [f.get("type") for f in failures] == ["PK701", "PK009", "PK209"]


def test_statistics(sample: tuple[Path, list[Diagnostic]]) -> None:
    _, diags = sample
    rows = statistics(diags + diags[:1])
    assert rows[0] == (2, "PK701", "fill-in-marker", False)
    buf = io.StringIO()
    emit_statistics(diags, buf)
    assert "PK009\t[*] unused-noqa" in buf.getvalue()


def test_caret_counts_terminal_cells(tmp_path: Path) -> None:
    text = "日本語のプロンプト [YOUR NAME] です\n"
    p = tmp_path / "wide.md"
    p.write_text(text)
    idx = LineIndex(text)
    start = text.index("[")
    d = Diagnostic(str(p), "m", Severity.WARNING, "PK701", "fill-in-marker", idx.span(start, start + 11))
    lines = render([d], "text", files=1).splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("1 | "))
    caret = lines[i + 1]
    assert caret.index("^") - len("  | ") == 2 * 9 + 1  # nine wide characters and a space
    assert caret.count("^") == 11


def test_control_characters_never_reach_the_terminal(tmp_path: Path) -> None:
    text = "Say \x1b[2J\x1b]0;pwned\x07 [YOUR NAME]\n"
    p = tmp_path / "evil.md"
    p.write_text(text)
    idx = LineIndex(text)
    start = text.index("[YOUR")
    d = Diagnostic(str(p), f"found {text[:8]!s}", Severity.WARNING, "PK701", "fill-in-marker",
                   idx.span(start, start + 11))
    out = render([d], "text", files=1)
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[2J" in out  # the message shows the escape, readable
    lines = out.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("1 | "))
    assert lines[i + 1].index("^") == lines[i].index("[YOUR")


def test_gitlab_code_quality(sample: tuple[Path, list[Diagnostic]]) -> None:
    _, diags = sample
    data = json.loads(render(diags + diags[:1], "gitlab"))
    assert [e["check_name"] for e in data] == ["PK701", "PK009", "PK209", "PK701"]
    assert data[0]["severity"] == "minor" and data[1]["severity"] == "major" and data[2]["severity"] == "info"
    assert data[0]["location"]["lines"] == {"begin": 5, "end": 5}
    fps = [e["fingerprint"] for e in data]
    assert len(set(fps)) == 4  # the repeated finding gets its own fingerprint
    again = json.loads(render(diags + diags[:1], "gitlab"))
    assert [e["fingerprint"] for e in again] == fps  # stable across runs


@pytest.mark.parametrize("fmt", ["text", "concise", "json", "sarif", "github", "gitlab", "junit"])
def test_a_detected_secret_never_reaches_any_report(tmp_path: Path, fmt: str) -> None:
    """PK502/PK503 redact their message; the text excerpt must not print the line either,
    also when the diagnostics come back from the cache."""
    from promptkit.lint.engine import lint_paths

    secret = "sk-proj-Q7mZp3KxW9vLr2TnB8cYh5FdJ6gSa4EuN1oVi0XwMqRtPl"
    f = tmp_path / "leak.prompty"
    f.write_text(f"---\nname: leak\nversion: 1.0.0\n---\nsystem:\nUse the key {secret} to call the API.\n")
    for _ in range(2):  # cold, then from the cache
        result = lint_paths([f])
        diags = result.diagnostics if hasattr(result, "diagnostics") else result
        assert any(d.code == "PK502" for d in diags)
        out = io.StringIO()
        emit(diags, fmt, out, files=1, paths=[str(f)])
        assert secret[8:20] not in out.getvalue()
