"""promptkit/config.py: one reader of ``[tool.promptkit]`` for every part.

The linter and the runner read the same file through it, so a table one part does not
know (the reserved ``review``) is accepted by both, and a misspelled one is the same
located error from ``promptkit lint`` and ``promptkit test``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.cli import main
from promptkit.config import (
    PARTS,
    LintTable,
    OptimizeTable,
    ProjectConfig,
    ReservedTable,
    Table,
    TestTable,
    load_project_config,
    read_part,
)
from promptkit.diagnostics import PromptkitError
from promptkit.lint.config import from_file
from promptkit.runner.config import load_test_settings

PYPROJECT_HEAD = '[project]\nname = "demo"\n\n'


def _write(root: Path, body: str, name: str = "pyproject.toml") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    f = root / name
    f.write_text((PYPROJECT_HEAD if name == "pyproject.toml" else "") + body, encoding="utf-8")
    return f


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    _, err = capsys.readouterr()
    return code, err


@pytest.mark.parametrize("name", ["pyproject.toml", "promptkit.toml"])
def test_reserved_tables_are_accepted_by_lint_and_test(tmp_path: Path, name: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = "tool.promptkit." if name == "pyproject.toml" else ""
    body = "".join(f"[{prefix}{part}]\nsome-future-key = 1\n\n" for part in ("perturb", "review"))
    f = _write(tmp_path, f"[{prefix}test]\nmode = \"replay\"\n\n" + body, name)
    project, _ = load_project_config(f)
    assert project.review.model_extra == {"some-future-key": 1}
    assert project.test.mode == "replay"
    assert from_file(f).source == f.resolve()
    assert load_test_settings(tmp_path).mode == "replay"
    (tmp_path / "p.prompty").write_text("---\nname: p\n---\nSay hello.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--no-cache", "p.prompty"]) in (0, 1)  # linted, not a config error


def test_misspelled_part_is_one_located_error_from_lint_and_test(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    f = _write(tmp_path, "[tool.promptkit]\npreview = true\n\n[tool.promptkit.reveiw]\nstrict = true\n")
    (tmp_path / "p.prompty").write_text("---\nname: p\n---\nSay hello.\n", encoding="utf-8")
    (tmp_path / "s.prompttest.yaml").write_text("prompts: [p.prompty]\ncases: []\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    want = f"{f}:7:1: error: PK010 unknown setting 'reveiw' (hint: did you mean 'review'?)"
    for argv in (["lint", "--no-cache", "p.prompty"], ["test"], ["test", "s.prompttest.yaml"]):
        code, err = _cli(capsys, *argv)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert code == 2, (argv, err)
        assert lines == [want], (argv, err)


def test_each_part_checks_its_own_values_and_everyones_keys(tmp_path: Path) -> None:
    """A test value only ``promptkit test`` reads does not stop ``promptkit lint`` (and a
    lint value does not stop the runner), but both refuse a key nobody declares."""
    f = _write(tmp_path, '[tool.promptkit]\ntoken-budget = "lots"\n\n[tool.promptkit.test]\nmode = "fast"\n')
    with pytest.raises(PromptkitError) as lint_err:
        from_file(f)
    assert lint_err.value.diagnostic.format().startswith(f"{f}:5:1: error: PK010 'token-budget': ")
    with pytest.raises(PromptkitError) as test_err:
        load_test_settings(tmp_path)
    assert test_err.value.diagnostic.format().startswith(f"{f}:8:1: error: PK010 'test.mode': ")
    assert "(got 'fast')" in test_err.value.diagnostic.message
    with pytest.raises(PromptkitError) as whole:
        load_project_config(f)  # the whole-file reader checks every value
    assert whole.value.diagnostic.line == 5
    _write(tmp_path, '[tool.promptkit]\ntoken-budget = 100\n\n[tool.promptkit.test]\nmode = "fast"\n')
    assert from_file(f).token_budget == 100
    _write(tmp_path, '[tool.promptkit]\ntoken-budget = "lots"\n\n[tool.promptkit.test]\nmode = "replay"\n')
    assert load_test_settings(tmp_path).mode == "replay"


def test_a_part_that_is_not_a_table(tmp_path: Path) -> None:
    f = _write(tmp_path, 'review = "yes"\n', "promptkit.toml")
    for read in (lambda: load_project_config(f), lambda: read_part(f, "review", ReservedTable)):
        with pytest.raises(PromptkitError) as exc:
            read()
        assert exc.value.diagnostic.format() == (
            f"{f}:1:1: error: PK010 'review' must be a table of settings "
            "(hint: write it as [tool.promptkit.review] (in promptkit.toml: [review]))")


def _typo(key: str, i: int) -> str:
    """``key`` with characters ``i`` and ``i+1`` swapped."""
    i %= len(key) - 1
    return key[:i] + key[i + 1] + key[i] + key[i + 2:]


KNOWN = ProjectConfig.keys()
TABLES = [("", ProjectConfig), ("test", TestTable), ("optimize", OptimizeTable)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.sampled_from(TABLES), data=st.data(), blank_lines=st.integers(0, 3))
def test_every_misspelled_key_is_located_with_a_suggestion(tmp_path: Path, table: tuple[str, type[Table]],
                                                          data: st.DataObject, blank_lines: int) -> None:
    """Swap two letters of any known key, in any table: the error names the misspelled
    key, points at its line, and suggests a key of that table."""
    part, model = table
    known = model.keys()
    key = data.draw(st.sampled_from([k for k in known if len(k) > 3]))
    bad = _typo(key, data.draw(st.integers(0, 40)))
    if bad in known:
        return
    header = f"[tool.promptkit.{part}]" if part else "[tool.promptkit]"
    f = _write(tmp_path, f"{header}\n" + "\n" * blank_lines + f"{bad} = 1\n")
    own = (lambda: read_part(f, part, model)) if part else (lambda: read_part(f, None, LintTable))
    seen = []
    for read in (lambda: load_project_config(f), own):  # the whole-file reader and the part's own
        with pytest.raises(PromptkitError) as exc:
            read()
        seen.append(exc.value.diagnostic.format())
    assert seen[0] == seen[1]
    d = exc.value.diagnostic
    full = f"{part}.{bad}" if part else bad
    assert d.message == f"unknown setting '{full}'"
    assert d.line == 5 + blank_lines, d.format()
    m = re.fullmatch(r"did you mean '([a-z\-]+)'\?", d.hint)
    assert m and m.group(1) in known, d.hint
    assert "\n" not in d.format()


def test_the_parts_are_tables_of_the_project_config() -> None:
    assert set(PARTS) <= set(KNOWN)
    assert "select" in KNOWN and "token-budget" in KNOWN
