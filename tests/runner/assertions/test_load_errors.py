"""Bad assertion entries fail when the test file loads, at their line and column.

Each fixture under ``tests/fixtures/runner/assertions/bad/`` starts with
``# expect: LINE:COL words``: the diagnostic must point there and say those words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from promptkit.diagnostics import PromptkitError
from promptkit.runner.suite_file import load_suite

BAD = Path(__file__).resolve().parents[2] / "fixtures" / "runner" / "assertions" / "bad"
FILES = sorted(BAD.glob("*.prompttest.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.name.removesuffix(".prompttest.yaml") for p in FILES])
def test_bad_entry_is_a_located_load_error(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    where, _, words = first.removeprefix("# expect: ").partition(" ")
    line, col = (int(x) for x in where.split(":"))
    with pytest.raises(PromptkitError) as info:
        load_suite(path)
    d = info.value.diagnostic
    assert d.span is not None
    assert (d.span.start.line, d.span.start.column) == (line, col), (d.span, d.message)
    assert words.lower() in (d.message + " " + (d.hint or "")).lower(), d.message
