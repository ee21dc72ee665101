"""promptkit.atomic: readers never see a partial file, and a failed write changes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.atomic import write_atomic


@settings(max_examples=40, deadline=None)
@given(data=st.one_of(st.text(), st.binary()))
def test_the_file_holds_exactly_what_was_written(tmp_path_factory: pytest.TempPathFactory, data: str | bytes) -> None:
    target = tmp_path_factory.mktemp("atomic") / "sub" / "out.json"
    assert write_atomic(target, data)
    got = target.read_bytes()
    assert got == (data if isinstance(data, bytes) else data.encode("utf-8"))
    assert os.listdir(target.parent) == ["out.json"]  # no temporary file left behind


def test_a_write_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    target.write_text("old")

    def boom() -> bool:
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_atomic(target, "new", before_replace=boom)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["results.json"]


def test_before_replace_can_discard_and_mode_is_applied(tmp_path: Path) -> None:
    target = tmp_path / "p.prompty"
    target.write_text("old")
    assert not write_atomic(target, "new", before_replace=lambda: False)
    assert target.read_text() == "old"
    assert write_atomic(target, "new", mode=0o640, durable=True)
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
