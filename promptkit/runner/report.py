"""Reports of a run: the terminal summary and the results file.

The summary answers the questions a reviewer has after a prompt change: per prompt and
model, how many cases passed, failed or errored (errors are *not* failures: they say
nothing about the prompt), the pass rate over decided cases, tokens and cost spent, and
how many answers came from recordings versus live calls (a replay run that missed
recordings is visible at a glance).

The results file (JSON, :class:`~promptkit.runner.results.RunResults`) is written
atomically; under pytest-xdist each worker hands its part to the controller, which
merges the parts (:func:`merge`) and writes one file.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from promptkit.atomic import write_atomic
from promptkit.runner.results import CaseResult, Outcome, RunResults, Usage


@dataclass
class SummaryRow:
    prompt: str
    model: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    flaky: int = 0
    usage: Usage = field(default_factory=Usage)
    hit: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors

    @property
    def pass_rate(self) -> float | None:
        """Passes over *decided* cases (errors excluded); None when nothing was decided."""
        decided = self.passed + self.failed
        return self.passed / decided if decided else None


def summarize(cases: Iterable[CaseResult]) -> list[SummaryRow]:
    """One row per (prompt, model), sorted."""
    rows: dict[tuple[str, str], SummaryRow] = {}
    for c in cases:
        row = rows.get((c.prompt, c.model))
        if row is None:
            row = rows[(c.prompt, c.model)] = SummaryRow(prompt=c.prompt, model=c.model)
        if c.outcome is Outcome.PASS:
            row.passed += 1
        elif c.outcome is Outcome.FAIL:
            row.failed += 1
        else:
            row.errors += 1
        row.flaky += int(c.flaky and c.outcome is not Outcome.PASS)
        row.usage = row.usage + c.usage
        row.hit += c.recordings_hit
        row.missed += c.recordings_missed
    return [rows[k] for k in sorted(rows)]


def merge(parts: Iterable[RunResults]) -> RunResults:
    """Merge per-worker results into one run: cases by id (a later part wins), sorted by
    id so the file is stable across worker counts; the earliest start and latest finish."""
    parts = list(parts)
    cases: dict[str, CaseResult] = {}
    for p in parts:
        for c in p.cases:
            cases[c.id] = c
    started = min((p.started_at for p in parts if p.started_at), default="")
    finished = max((p.finished_at for p in parts if p.finished_at), default="")
    mode = parts[0].mode if parts else "replay"
    version = parts[0].promptkit_version if parts else ""
    robust = {r.id: r for p in parts for r in p.robustness}  # perturbation figures, by id like cases
    return RunResults(started_at=started, finished_at=finished, mode=mode, promptkit_version=version,
                      cases=[cases[k] for k in sorted(cases)], interrupted=any(p.interrupted for p in parts),
                      robustness=[robust[k] for k in sorted(robust)])


def is_results_file(path: str | Path) -> bool:
    """Whether ``path`` is a results file promptkit wrote (so it may be replaced): a
    regular file opening as :meth:`RunResults.to_json` does. Only the first bytes are
    read, and never from a FIFO or device, so checking is instant whatever lies there."""
    import os
    import re
    import stat

    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return False
        with open(path, "rb") as fh:
            head = fh.read(1024).decode("utf-8", errors="replace")
    except OSError:
        return False
    return re.match(r'\s*\{\s*"version":\s*\d+,\s*"started_at":', head) is not None and '"promptkit_version"' in head


def write_results(results: RunResults, path: str | Path) -> Path:
    """Write ``results`` as pretty JSON, atomically (temp file + ``os.replace``).

    An existing file is replaced only when it is a results file itself
    (:func:`is_results_file`): a results or baseline path of ``pyproject.toml`` or
    ``.gitignore``, from a config file in a pull request or a typo, must not destroy it.
    Raises :class:`FileExistsError` (an ``OSError``, so callers report it as a file not
    written) in that case."""
    import os

    path = Path(path)
    if os.path.lexists(path) and not is_results_file(path):
        raise FileExistsError(17, "exists and is not a promptkit results file; it is never overwritten "
                                  "(name a new file, e.g. .promptkit/results.json)", str(path))
    write_atomic(path, results.to_json() + "\n")
    return path


def _rate(row: SummaryRow) -> str:
    rate = row.pass_rate
    return "-" if rate is None else f"{rate:.0%}"


_COLUMNS = (("prompt", "left"), ("model", "left"), ("pass", "right"), ("fail", "right"), ("error", "right"),
            ("pass rate", "right"), ("tokens", "right"), ("cost $", "right"), ("rec hit/miss", "right"))


def format_summary(results: RunResults, *, width: int = 100, color: bool = False) -> str:
    """The summary table, as text for pytest's terminal writer or the CLI.

    In colour it is drawn by rich; plain (what pytest's summary prints) it is laid out
    here in rich's same style without importing rich, a tenth of a second of every
    ``promptkit test`` run (and cell text is never read as rich markup). A table wider
    than ``width`` is left to rich, which wraps cells."""
    rows = summarize(results.cases)
    title = f"promptkit: {len(results.cases)} case(s), mode {results.mode}"
    cells: list[list[str]] = []
    total = SummaryRow(prompt="total", model="")
    for r in rows:
        flaky = f" ({r.flaky} flaky)" if r.flaky else ""
        cells.append([r.prompt, r.model, str(r.passed), f"{r.failed}{flaky}", str(r.errors), _rate(r),
                      str(r.usage.total_tokens), money(r.usage.cost_usd), f"{r.hit}/{r.missed}"])
        total.passed += r.passed
        total.failed += r.failed
        total.errors += r.errors
        total.usage = total.usage + r.usage
        total.hit += r.hit
        total.missed += r.missed
    if len(rows) > 1:
        cells.append(["total", "", str(total.passed), str(total.failed), str(total.errors), _rate(total),
                      str(total.usage.total_tokens), money(total.usage.cost_usd), f"{total.hit}/{total.missed}"])
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, (name, _) in enumerate(_COLUMNS)]
    plain = not color and sum(widths) + 3 * (len(widths) - 1) <= width and all(
        c.isascii() and c.isprintable() for row in cells for c in row)
    if plain:
        return _plain_table(title, [name for name, _ in _COLUMNS], cells, widths)
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for col, justify in _COLUMNS:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in cells:
        table.add_row(*(escape(c) for c in row))
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=color, no_color=not color, highlight=False, emoji=False).print(table)
    return "\n".join(line.rstrip() for line in buf.getvalue().rstrip("\n").splitlines())


def _plain_table(title: str, header: list[str], rows: list[list[str]], widths: list[int]) -> str:
    """rich's look (``show_edge=False, pad_edge=False``): ``┃`` between header cells, a
    ``━``/``╇`` rule, ``│`` between cells; text left, numbers right."""
    def line(cells: list[str], sep: str) -> str:
        out = [c.ljust(w) if justify == "left" else c.rjust(w) for c, w, (_, justify) in zip(cells, widths, _COLUMNS)]
        return f" {sep} ".join(out).rstrip()

    rule = "╇".join("━" * (w + (1 if i in (0, len(widths) - 1) else 2)) for i, w in enumerate(widths))
    return "\n".join([title, line(header, "┃"), rule, *(line(r, "│") for r in rows)])


def money(usd: float) -> str:
    """A cost with its significant digits: ``0``, ``0.00042``, ``0.0123``, ``1.25`` (a
    fixed ``.4f`` shows a cheap model's whole run as ``0.0000``)."""
    if usd == 0:
        return "0"
    if usd >= 1:
        return f"{usd:,.2f}"
    import math

    decimals = -math.floor(math.log10(usd)) + 1  # two significant digits, never an exponent
    return f"{usd:.{min(decimals, 12)}f}".rstrip("0").rstrip(".")


def failure_text(case: CaseResult) -> str:
    """Why a case did not pass: each non-passing sample's failing assertions and errors."""
    lines: list[str] = []
    head = f"{case.id}: {case.outcome.value.upper()}"
    if case.repeat > 1:
        head += f" ({case.passes}/{case.repeat} samples passed, {case.min_pass} needed)"
    lines.append(head)
    shown: set[tuple[str | None, str | None]] = set()
    for i, s in enumerate(case.samples):
        if s.outcome is Outcome.PASS:
            continue
        tag = f"  sample {i + 1}: " if len(case.samples) > 1 else "  "
        if s.outcome is Outcome.ERROR and s.error and not s.assertions:
            if (s.error, s.hint) in shown:
                continue  # the same provider error on every sample: say it once
            shown.add((s.error, s.hint))
            lines.append(f"{tag}ERROR: {s.error}")
            if s.hint and s.hint not in s.error:
                lines.append(f"    hint: {s.hint}")
        for a in s.assertions:
            if a.error:
                lines.append(f"{tag}ERROR in {a.type}: {a.describe(s.output)}")
            elif not a.passed:
                lines.append(f"{tag}{a.type} failed: {a.describe(s.output)}")
        if s.output is not None and s.outcome is Outcome.FAIL:
            out = s.output if len(s.output) <= 400 else s.output[:400] + "..."
            lines.append(f"{tag}output: {out!r}")
    return "\n".join(lines)
