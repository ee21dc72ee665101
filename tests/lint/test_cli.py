"""`promptkit lint`, `promptkit format`, `promptkit rule`: exit codes, flags, fixes on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptkit.cli import main

# A clean prompt (tests/fixtures/lint/cli/greet.prompty); BAD variants are derived from it.
GOOD = (Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "cli" / "greet.prompty").read_text(encoding="utf-8")
BAD = GOOD.replace("in one sentence.", "in one sentence for [YOUR COMPANY].")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "promptkit.toml").write_text("# defaults\n")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "good.prompty").write_text(GOOD)
    return tmp_path


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["lint", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = lint(capsys, "prompts")
    assert rc == 0 and "All checks passed!" in out
    (project / "prompts" / "bad.prompty").write_text(BAD)
    rc, out, _ = lint(capsys, "prompts")
    assert rc == 1 and "prompts/bad.prompty:11:" in out and "PK701" in out
    assert lint(capsys, "prompts", "--exit-zero")[0] == 0
    assert lint(capsys, "prompts", "--ignore", "PK701")[0] == 0
    assert lint(capsys, "prompts", "--select", "PK0")[0] == 0
    rc, _, err = lint(capsys, "--select", "PK99X", "prompts")
    assert rc == 2 and "unknown rule selector 'PK99X'" in err


def test_no_paths_lints_the_project(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "prompts" / "bad.prompty").write_text(BAD)
    rc, out, _ = lint(capsys, "--output-format", "concise")
    assert rc == 1 and "PK701" in out and "in 1 of 2 files" in out


def test_invalid_config_is_exit_2_with_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "promptkit.toml").write_text('select = ["PK1"]\ntoken-budget = "big"\n')
    rc, out, err = lint(capsys, "prompts")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "promptkit.toml:2:1: error: PK010" in err


def test_json_output_and_statistics(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "prompts" / "bad.prompty").write_text(BAD)
    rc, out, _ = lint(capsys, "prompts", "--output-format", "json")
    data = json.loads(out)
    assert rc == 1 and [d["code"] for d in data] == ["PK701"]
    rc, out, _ = lint(capsys, "prompts", "--statistics")
    assert rc == 1 and out.split() == ["1", "PK701", "fill-in-marker"]


def test_fix_diff_and_unsafe(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = project / "prompts" / "greet.prompty"
    text = GOOD.replace("in one sentence.", "in one sentence. {# noqa: PK701 #}")
    p.write_text(text)
    rc, out, _ = lint(capsys, str(p), "--diff")
    assert rc == 1 and "-You are a friendly" in out and "{# noqa" not in out.split("+You")[1]
    assert p.read_text() == text  # --diff writes nothing
    rc, out, _ = lint(capsys, str(p), "--fix")
    assert rc == 0 and "Fixed 1 problem." in out
    assert p.read_text() == GOOD
    # unsafe fixes only with --unsafe-fixes
    p.write_text(GOOD.replace("Greet the user", "Greet the the user"))
    assert lint(capsys, str(p), "--fix")[0] == 1
    assert "the the" in p.read_text()
    rc, _, _ = lint(capsys, str(p), "--fix", "--unsafe-fixes")
    assert rc == 0 and "the the" not in p.read_text()


def test_add_noqa(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = project / "prompts" / "bad.prompty"
    p.write_text(BAD)
    rc, _, err = lint(capsys, str(p), "--add-noqa")
    assert rc == 0 and "Added 1 noqa directive." in err
    assert "[YOUR COMPANY]. {# noqa: PK701 #}" in p.read_text()
    assert lint(capsys, str(p))[0] == 0


def test_cache_is_used_and_can_be_disabled(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lint(capsys, "prompts")
    assert list((project / ".promptkit_cache").glob("lint-*.json"))
    (project / ".promptkit_cache" / "CACHEDIR.TAG").unlink()
    for f in (project / ".promptkit_cache").glob("lint-*.json"):
        f.unlink()
    lint(capsys, "prompts", "--no-cache")
    assert not list((project / ".promptkit_cache").glob("lint-*.json"))


def test_format(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from promptkit.lint.cli import formatting_rules
    from promptkit.lint.config import LintConfig

    if not formatting_rules(LintConfig().resolve()):
        pytest.skip("no formatting (PK3xx) rules with fixes are registered")
    p = project / "prompts" / "messy.prompty"
    messy = GOOD.replace("one sentence.", "one sentence.   ")
    p.write_text(messy)
    assert main(["format", "--check", str(p)]) == 1
    assert "Would reformat" in capsys.readouterr().out and p.read_text() == messy
    assert main(["format", "--diff", str(p)]) == 1
    assert main(["format", str(p)]) == 0
    assert p.read_text() == GOOD
    assert main(["format", "--check", str(p)]) == 0


def test_rule_docs_and_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rule", "PK009"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# unused-noqa (PK009)") and "## Why is this bad?" in out
    assert main(["rule", "unused-noqa"]) == 0
    capsys.readouterr()
    assert main(["rule", "--all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 10 and any(line.startswith("PK701\tfill-in-marker\twarning") for line in lines)
    assert main(["rule", "--all", "--output-format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"code", "name", "severity", "fixable", "preview", "summary"} <= set(rows[0])
    assert main(["rule", "unused-noqqa"]) == 2
    assert "did you mean unused-noqa" in capsys.readouterr().err


def test_stdin(project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    (project / "same-name.prompty").write_text("something else entirely\n")  # excerpts come from stdin
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(BAD.encode())))
    rc, out, _ = lint(capsys, "-", "--stdin-filename", "same-name.prompty")
    assert rc == 1 and "same-name.prompty:11:" in out and "[YOUR COMPANY]" in out
    fixable = GOOD.replace("in one sentence.", "in one sentence. {# noqa: PK701 #}")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(fixable.encode())))
    rc, out, _ = lint(capsys, "-", "--stdin-filename", "x.prompty", "--fix")
    assert rc == 0 and out == GOOD


def test_test_table_is_reserved_for_the_runner(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "promptkit.toml").write_text("[test]\nrecordings = 'rec/'\n")
    assert lint(capsys, "prompts")[0] == 0


def test_show_files_and_settings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "prompts" / "notes.txt").write_text("not a prompt\n")
    rc, out, _ = lint(capsys, "--show-files")
    listed = out.split()
    assert rc == 0 and len(listed) == 1 and listed[0].endswith("good.prompty")
    rc, out, _ = lint(capsys, "--show-settings", "--ignore", "PK009")
    assert rc == 0 and "promptkit.toml" in out.splitlines()[0]
    assert '"PK009"' in out and "PK701" in out.splitlines()[-1] and " PK009" not in out.splitlines()[-1]


def test_fix_keeps_bom_and_crlf(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = project / "prompts" / "windows.prompty"
    body = GOOD.replace("in one sentence.", "in one sentence. {# noqa: PK701 #}").replace("\n", "\r\n")
    p.write_bytes(b"\xef\xbb\xbf" + body.encode())
    lint(capsys, str(p), "--fix", "--ignore", "PK303")  # keep the CRLF rule out of it
    data = p.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data[3:].decode() == GOOD.replace("\n", "\r\n")
