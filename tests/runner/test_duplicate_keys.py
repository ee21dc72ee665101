"""A key written twice in a test file or a YAML dataset is an error named as such.

Why: PyYAML keeps the last value and drops the first without a word, so a case whose
``vars`` appear twice runs with the wrong inputs; the old message ("invalid YAML: first
on line 4") did not say what was wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from promptkit.diagnostics import PromptkitError
from promptkit.runner.datasets import load_dataset
from promptkit.runner.suite_file import load_suite

FIXTURES = Path(__file__).parents[1] / "fixtures" / "runner" / "duplicate_keys"

CASES = {
    # file: [(line, column, dotted key, first line), ...]
    "case_vars.prompttest.yaml": [(6, 5, "cases[0].vars", 5)],
    "two_places.prompttest.yaml": [(12, 9, "cases[0].assert[0].value", 11), (14, 5, "cases[1].id", 13)],
    "top_level.prompttest.yaml": [(2, 1, "prompt", 1)],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_duplicate_is_named_and_located(name: str) -> None:
    with pytest.raises(PromptkitError) as info:
        load_suite(FIXTURES / name)
    got = [(d.line, d.column, d.code, d.message) for d in info.value.diagnostics]
    want = [(line, col, "PT001", f"duplicate key '{key}' (first on line {first}); YAML keeps only this last value")
            for line, col, key, first in CASES[name]]
    assert got == want
    assert all(d.hint == "remove one of the two, or merge their values" for d in info.value.diagnostics)


def test_dataset_row_with_a_repeated_column() -> None:
    with pytest.raises(PromptkitError) as info:
        load_dataset(FIXTURES / "rows.yaml")
    d = info.value.diagnostic
    assert (d.line, d.column) == (4, 3)
    assert d.message == "duplicate key '[1].name' (first on line 3); YAML keeps only this last value"


def test_cli_reports_all_of_them_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from promptkit.cli import main

    assert main(["lint", "--no-cache", str(FIXTURES / "two_places.prompttest.yaml")]) == 1
    out = "".join(capsys.readouterr())
    assert "Traceback" not in out
    assert out.count("duplicate key") == 2
    assert "two_places.prompttest.yaml:12:9: PT001 duplicate key 'cases[0].assert[0].value'" in out
