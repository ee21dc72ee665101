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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from promptkit.diagnostics import PromptkitError

__all__ = ["TestSettings", "load_test_settings"]


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class TestSettings(BaseModel):
    """The validated ``[tool.promptkit.test]`` table. ``source`` is the file it came from
    (None: no config file, built-in defaults)."""

    __test__ = False  # not a pytest test class
    model_config = ConfigDict(extra="forbid", alias_generator=_kebab, populate_by_name=True, frozen=True)

    paths: list[str] = Field(default_factory=lambda: ["."], min_length=1)
    mode: Literal["live", "record", "replay", "auto"] | None = None
    concurrency: int | None = Field(default=None, ge=1, le=1024)
    timeout: float | None = Field(default=None, gt=0)
    retries: int | None = Field(default=None, ge=0, le=20)
    results: str | None = None
    baseline: str | None = None
    tolerance: float | None = Field(default=None, ge=0.0, le=1.0)
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
    the working directory); defaults when there is none."""
    from promptkit.lint.config import _located, _read_table, find_config

    found = find_config(start or Path.cwd())
    if found is None:
        return TestSettings()
    table, text = _read_table(found)
    raw = (table or {}).get("test", {})
    if not isinstance(raw, dict):
        raise PromptkitError(_located(found, ("test",), "'test' must be a table of settings",
                                      "write it as [tool.promptkit.test] (in promptkit.toml: [test])", text))
    try:
        settings = TestSettings.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ("test", *(str(x) for x in err["loc"][:1]))
        key = ".".join(str(x) for x in err["loc"])
        if err["type"] == "extra_forbidden":
            from rapidfuzz import process

            known = [_kebab(k) for k in TestSettings.model_fields if k != "source"]
            guess = process.extractOne(key, known, score_cutoff=60)
            hint = f"did you mean '{guess[0]}'?" if guess else f"known settings: {', '.join(known)}"
            raise PromptkitError(_located(found, loc, f"unknown setting 'test.{key}'", hint, text)) from None
        got = err.get("input")
        shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
        raise PromptkitError(_located(found, loc, f"'test.{key}': {err['msg']}{shown}", _HINTS.get(key.split(".")[0], ""),
                                      text)) from None
    return settings.model_copy(update={"source": found.resolve()})


_HINTS = {
    "paths": 'a list of suite files or folders, e.g. paths = ["templates"]',
    "mode": 'one of "live", "record", "replay", "auto"',
    "concurrency": "a whole number of model calls in flight, e.g. concurrency = 8",
    "timeout": "seconds per model call, e.g. timeout = 30",
    "retries": "a whole number of retries per call, e.g. retries = 3",
    "results": 'a file path, e.g. results = ".promptkit/results.json"',
    "baseline": 'a file path, e.g. baseline = ".promptkit/baseline.json"',
    "tolerance": "a score drop between 0 and 1, e.g. tolerance = 0.05",
}
