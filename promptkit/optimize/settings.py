"""The project's ``[tool.promptkit.optimize]`` table, read for one suite, and the budget it gives.

The keys are declared by :class:`promptkit.config.OptimizeTable` (one reader for the whole
config file, so a misspelled key is the same located ``PK010`` error as from ``promptkit
lint``). What the user types wins: a command-line option, then the table nearest the
suite, then the built-in defaults (60 calls, 3 rounds x 3 candidates, beam 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptkit.config import OptimizeTable, find_config, read_part
from promptkit.optimize.budget import Budget

__all__ = ["budget_from", "load_optimize_settings"]


def load_optimize_settings(start: str | Path | None = None) -> OptimizeTable:
    """The ``[tool.promptkit.optimize]`` table of the config file nearest ``start`` (a
    suite file or folder; default the working directory), or the defaults."""
    found = find_config(Path(start) if start is not None else Path.cwd())
    if found is None:
        return OptimizeTable()
    table, _ = read_part(found, "optimize", OptimizeTable)
    return table


def budget_from(table: OptimizeTable, **overrides: Any) -> Budget:
    """The :class:`Budget` of ``table`` with every override that is not None applied
    (``calls``, ``tokens``, ``cost_usd``, ``rounds``, ``candidates``, ``beam``)."""
    values: dict[str, Any] = {"calls": table.max_calls, "tokens": table.max_tokens, "cost_usd": table.max_cost,
                              "rounds": table.rounds, "candidates": table.candidates, "beam": table.beam}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Budget(**values)
