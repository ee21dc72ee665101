"""``[tool.promptkit.optimize]``: typed project defaults for `promptkit suggest` (budget,
search shape, proposer), command-line options winning, and located errors for bad keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptkit.cli import main
from promptkit.config import OptimizeTable
from promptkit.diagnostics import PromptkitError
from promptkit.optimize import Budget
from promptkit.optimize.settings import budget_from, load_optimize_settings
from tests.optimize.scenarios import by_kind, server_for, setup_project


def _pyproject(root: Path, body: str) -> Path:
    f = root / "pyproject.toml"
    f.write_text('[project]\nname = "demo"\n\n[tool.promptkit.optimize]\n' + body, encoding="utf-8")
    return f


def test_defaults_without_a_table(tmp_path: Path) -> None:
    assert budget_from(load_optimize_settings(tmp_path)) == Budget()
    assert OptimizeTable().proposer is None


def test_the_table_sets_the_budget_and_options_win(tmp_path: Path) -> None:
    _pyproject(tmp_path, 'max-calls = 12\nmax-tokens = 9000\nmax-cost = 0.25\nrounds = 1\ncandidates = 2\n'
                         'beam = 1\nproposer = "openai/gpt-4o-mini"\n')
    (tmp_path / "suites").mkdir()
    table = load_optimize_settings(tmp_path / "suites" / "x.prompttest.yaml")  # found from a file below
    assert table.proposer == "openai/gpt-4o-mini"
    assert budget_from(table) == Budget(calls=12, tokens=9000, cost_usd=0.25, rounds=1, candidates=2, beam=1)
    assert budget_from(table, calls=30, rounds=None) == Budget(calls=30, tokens=9000, cost_usd=0.25, rounds=1,
                                                               candidates=2, beam=1)


@pytest.mark.parametrize(("body", "line", "message", "hint"), [
    ("max-call = 5\n", 5, "unknown setting 'optimize.max-call'", "did you mean 'max-calls'?"),
    ("max-calls = 0\n", 5, "'optimize.max-calls': Input should be greater than or equal to 1 (got 0)",
     "a whole number of model calls per search, 1 or more, e.g. max-calls = 40"),
    ('candidates = "three"\n', 5, "'optimize.candidates': Input should be a valid integer",
     "a whole number of proposals per round from 1 to 10, e.g. candidates = 3"),
    ("max-calls = true\n", 5, "'optimize.max-calls': Input should be a valid integer (got True)",
     "a whole number of model calls per search, 1 or more, e.g. max-calls = 40"),
    ("beam = 2\nproposer = 7\n", 6, "'optimize.proposer': Input should be a valid string (got 7)",
     'a litellm model id, e.g. proposer = "openai/gpt-4o-mini"'),
])
def test_a_bad_key_is_one_located_error(tmp_path: Path, body: str, line: int, message: str, hint: str) -> None:
    f = _pyproject(tmp_path, body)
    with pytest.raises(PromptkitError) as exc:
        load_optimize_settings(tmp_path)
    d = exc.value.diagnostic
    assert (d.path, d.line, d.code, d.hint) == (str(f), line, "PK010", hint), d.format()
    assert d.message.startswith(message), d.message


def test_suggest_reads_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.delenv("CI", raising=False)
    scenario = by_kind("missing_label")
    suite = setup_project(scenario, tmp_path)
    monkeypatch.chdir(tmp_path)
    rel = str(suite.relative_to(tmp_path))
    server, proposer = server_for(scenario)
    # the proposer comes from the table; a budget too small for one proposer round stops the search
    _pyproject(tmp_path, 'max-calls = 9\nproposer = "openai/proposer"\nrounds = 1\n')
    with server:
        assert main(["suggest", rel, "--api-base", server.base_url]) == 1
        out = capsys.readouterr()
        assert "budget 9 model calls, 1 rounds x 3 candidates" in out.err
        assert proposer.calls == 2  # the table's proposer answered the critique and the proposal
        assert main(["suggest", rel, "--api-base", server.base_url, "--max-calls", "40", "-q"]) == 0  # the option wins
        capsys.readouterr()
    _pyproject(tmp_path, "max-calls = -1\n")
    assert main(["suggest", rel]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{tmp_path / 'pyproject.toml'}:5:1: error: PK010 'optimize.max-calls'"), err
