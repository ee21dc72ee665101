"""Robustness figures as a Markdown table (docs, PR comments): one row per case x model x
operator, from the ``robustness`` rows of a results file."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["markdown_table"]


def _f(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:.0%}" if pct else f"{x:.2f}"


def markdown_table(rows: Iterable[Any]) -> str:
    """``| case | operator | family | pass | PDR | spread | sensitivity | attack success |``"""
    out = ["| case | operator | family | variants passed | pass rate | PDR | spread | sensitivity | attack success (per sample / pass@k) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        asr = "-" if r.attack_success_rate is None else \
            f"{_f(r.attack_success_rate, True)} / {_f(r.attack_success_at_k, True)} (k={r.k})"
        out.append(f"| {r.case}[{r.model}] | {r.operator} | {r.family} | {r.passed}/{r.variants - r.errored} | "
                   f"{_f(r.pass_rate, True)} | {_f(r.pdr)} | {_f(r.spread)} | {_f(r.sensitivity)} | {asr} |")
    return "\n".join(out) + "\n"
