"""The plain summary table is drawn without rich, exactly as rich draws it."""

from __future__ import annotations

import io

from hypothesis import example, given, settings
from hypothesis import strategies as st

from promptkit.runner import report

# (no backslash: rich.markup.escape doubles a trailing one, a quirk of the escaping, not of the table)
_cell = st.text(st.characters(min_codepoint=32, max_codepoint=126, blacklist_characters="\\"), max_size=12).map(str.strip)


def _rich(title: str, rows: list[list[str]]) -> str:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col, justify in report._COLUMNS:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(escape(c) for c in row))
    buf = io.StringIO()
    # as report.py draws it: a prompt or model named ":M:" is shown as written, not as an emoji
    Console(file=buf, width=200, no_color=True, highlight=False, emoji=False).print(table)
    return "\n".join(line.rstrip() for line in buf.getvalue().rstrip("\n").splitlines())


@example(rows=[["", "", "", "", "", "", "", "", ":M:"]])
@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(_cell, min_size=9, max_size=9), max_size=4))
def test_plain_table_matches_rich(rows: list[list[str]]) -> None:
    widths = [max([len(name), *(len(r[i]) for r in rows)]) for i, (name, _) in enumerate(report._COLUMNS)]
    mine = report._plain_table("promptkit: 3 case(s), mode replay", [n for n, _ in report._COLUMNS], rows, widths)
    assert mine == _rich("promptkit: 3 case(s), mode replay", rows)
