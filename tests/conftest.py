"""Suite-wide fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _default_render_limits() -> Iterator[None]:
    """Reading a project's config sets the process's render budget
    (:func:`promptkit.config.apply_render_limits`); put the defaults back after every test
    so one test's ``render-steps = 10`` does not reach the next one in the same worker."""
    yield
    from promptkit.template.sandbox import configure

    configure()
