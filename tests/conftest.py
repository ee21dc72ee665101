"""Suite-wide fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _own_lint_memos(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own folder of lint run memos (:mod:`promptkit.lint.memo`): a test
    that patches the linter in-process and lints the same files as an earlier test with
    the same command line must see a fresh run, and nothing is written to the user's cache."""
    monkeypatch.setenv("PROMPTKIT_MEMO_DIR", str(tmp_path_factory.mktemp("memo")))


@pytest.fixture(autouse=True)
def _default_render_limits() -> Iterator[None]:
    """Reading a project's config sets the process's render budget
    (:func:`promptkit.config.apply_render_limits`); put the defaults back after every test
    so one test's ``render-steps = 10`` does not reach the next one in the same worker."""
    yield
    from promptkit.template.sandbox import configure

    configure()
