"""Hunks, ddmin and the changed-lines count."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import promptkit
from promptkit.optimize.patch import apply_hunks, changed_lines, ddmin, finish, hunks
from promptkit.template.edit import apply_text_edits

LINES = st.lists(st.sampled_from(["alpha\n", "beta\n", "gamma\n", "delta\n", "\n", "- item\n"]), max_size=12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(LINES, LINES)
def test_hunks_rebuild_the_new_text(a: list[str], b: list[str]) -> None:
    old, new = "".join(a), "".join(b)
    assert apply_text_edits(old, [h.edit for h in hunks(old, new)]) == new


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.integers(1, 12), st.sets(st.integers(0, 11), min_size=1, max_size=4))
def test_ddmin_finds_exactly_the_needed_items(n: int, needed: set[int]) -> None:
    needed = {i for i in needed if i < n} or {0}
    items = list(range(n))
    calls = []

    def holds(subset: list[int]) -> bool:
        calls.append(1)
        return needed <= set(subset)

    assert sorted(ddmin(items, holds)) == sorted(needed)  # type: ignore[arg-type]
    assert len(calls) <= 4 * n * n + 4


def test_changed_lines_counts_a_rewrite_once_and_skips_the_version() -> None:
    diff = "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-version: 1.0.0\n+version: 1.0.1\n@@ -9,2 +9,3 @@\n-old line\n+new line\n+added\n"
    assert changed_lines(diff) == 2


def test_finish_bumps_patch_and_keeps_everything_else() -> None:
    t = promptkit.loads("---\nname: x\nversion: 1.9.3\n---\nsystem:\nHello.\n", path="p/x.prompty")
    new = promptkit.loads("---\nname: x\nversion: 1.9.3\n---\nsystem:\nHello there.\n", path="p/x.prompty")
    p = finish(t, new, "p/x.prompty")
    assert p.bump == "patch" and p.new_version == "1.9.4"
    assert "-Hello.\n+Hello there.\n" in p.diff and p.changed_lines == 1
    chosen = apply_hunks(t, hunks(t.text, new.text))
    assert chosen is not None and chosen.text == new.text
