"""Properties of the diff and verdict over random combinations of real edits (in memory)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.review.semantic import content_hash, diff_templates
from promptkit.review.versioning import bump_kind, check_diff
from promptkit.template.loader import loads

from .test_history import BASE, BUMPS, KINDS, ORDER

EDITS = sorted(k for k in KINDS if k != "whitespace_only")
RANK = {"none": 0, "patch": 1, "major": 3}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(EDITS), min_size=1, max_size=4, unique=True), st.sampled_from(sorted(BUMPS)))
def test_the_needed_bump_is_the_largest_of_the_edits(edits: list[str], bump: str) -> None:
    text = BASE
    needed = "none"
    for name in edits:
        edit, need, _ = KINDS[name]
        new = edit(text)
        if new != text:
            needed = max(needed, need, key=RANK.__getitem__)
        text = new
    head = text.replace("version: 1.4.2", f"version: {BUMPS[bump]}")
    a, b = loads(BASE, path="p.prompty"), loads(head, path="p.prompty")
    d = diff_templates(a, b, path="p.prompty", tokens=False)
    v = check_diff(d)
    assert v.needed == needed, (edits, d.breaking)
    assert v.made == bump
    assert v.ok is (ORDER[bump] >= ORDER[needed] if needed != "major" else bump == "major")
    # the diff is symmetric in what changed (an added input is a removed one the other way)
    back = diff_templates(b, a, path="p.prompty", tokens=False)
    assert back.content_changed == d.content_changed == (content_hash(a) != content_hash(b))
    assert sorted(c.name for c in back.inputs if c.kind == "added") == sorted(
        c.name for c in d.inputs if c.kind == "removed")


@given(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
       st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)))
def test_bump_kind_orders_like_semver(a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
    kind = bump_kind(".".join(map(str, a)), ".".join(map(str, b)))
    if b == a:
        assert kind == "none"
    elif b < a:
        assert kind == "down"
    else:
        assert kind == ("major" if b[0] > a[0] else "minor" if b[1] > a[1] else "patch")
    assert bump_kind("1.0.0-rc.1", "1.0.0") == "prerelease" and bump_kind("1.0.0", "1.0.0-rc.1") == "down"
