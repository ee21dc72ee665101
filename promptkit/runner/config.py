"""``[tool.promptkit.test]``: project defaults for ``promptkit test`` and the pytest plugin.

Why a config table: ``promptkit test`` with no path used to search ``.``, which in a real
project also finds fixture suites that are broken on purpose; and the mode, results and
baseline files are per-project facts that every developer and CI job should share
instead of retyping. Command-line options win over the table, and the table wins over
the built-in defaults::

    [tool.promptkit.test]
    paths = ["templates", "tests/prompts"]   # what `promptkit test` runs with no PATH
    mode = "replay"                           # live | record | replay | auto
    concurrency = 16
    timeout = 30                              # seconds per model call
    retries = 2
    results = ".promptkit/results.json"
    baseline = ".promptkit/baseline.json"
    tolerance = 0.05

The table is read from the same file as the lint settings (the nearest ``promptkit.toml``,
or ``pyproject.toml`` with a ``[tool.promptkit]`` table, from the working directory up;
in ``promptkit.toml`` it is ``[test]``). Relative paths are relative to that file's
folder. An invalid value is a :class:`~promptkit.diagnostics.PromptkitError` pointing at
its line, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from promptkit.config import TestTable, find_config, read_part

__all__ = ["TestSettings", "load_test_settings"]


class TestSettings(TestTable):
    """The validated ``[tool.promptkit.test]`` table (its keys are declared by
    :class:`promptkit.config.TestTable`). ``source`` is the file it came from (None: no
    config file, built-in defaults)."""

    __test__ = False  # not a pytest test class

    source: Path | None = Field(default=None, exclude=True)

    @property
    def root(self) -> Path:
        """The folder relative paths in the table resolve against."""
        return self.source.parent if self.source is not None else Path.cwd()

    def resolve(self, value: str) -> str:
        """``value`` (a path from the table) relative to the working directory when it is
        inside it, so pytest node ids and messages stay short; absolute otherwise."""
        p = Path(value)
        if not p.is_absolute():
            p = self.root / p
        try:
            return os.path.relpath(p)
        except ValueError:  # another drive (Windows)
            return str(p)

    def test_paths(self) -> list[str]:
        return [self.resolve(p) for p in self.paths]

    def results_path(self) -> str | None:
        return self.resolve(self.results) if self.results else None

    def baseline_path(self) -> str | None:
        return self.resolve(self.baseline) if self.baseline else None


def load_test_settings(start: Path | None = None) -> TestSettings:
    """The ``[tool.promptkit.test]`` table of the config file nearest ``start`` (default:
    the working directory); defaults when there is none. The file's top-level keys are
    checked too (:func:`promptkit.config.read_part`), so a misspelled table is the same
    located error as from ``promptkit lint``."""
    found = find_config(start or Path.cwd())
    if found is None:
        return TestSettings()
    settings, _ = read_part(found, "test", TestSettings)
    if settings.strict_inputs:  # the project's tests render strictly (prompty's rule otherwise)
        from promptkit.template.render import configure_inputs

        configure_inputs(strict=True)
    return settings.model_copy(update={"source": found.resolve()})
