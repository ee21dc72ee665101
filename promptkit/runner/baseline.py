"""Compare a run with a stored baseline: what newly fails, what got fixed, what dropped.

A regression suite earns its keep on the *diff*: "3 cases that passed on main fail on
this branch" is actionable, "87% pass" is not. :func:`compare` matches cases by their
stable id (``<suite>::<case>[<model>]``) and sorts every case into one bucket:

* **newly failing** -- PASS in the baseline, FAIL now: a regression, the run fails;
* **score drops** -- the outcome held but the score fell by more than ``tolerance``
  (a judge's 0.9 became 0.6): also a regression unless ``fail_on_score_drop=False``;
* **newly passing** (fixes), **still failing**, **new** and **removed** cases;
* **errors** -- ERROR now, or ERROR in the baseline: reported on their own, never
  counted as a regression or a fix, since an ERROR says nothing about the prompt;
* **flaky** cases that newly fail are listed but do not fail the run.

:func:`store_baseline` writes a results file as the baseline atomically, so a crashed or
parallel run never leaves half a file. An **interrupted** run (Ctrl-C, a CI cancel:
``"interrupted": true``) holds only the cases that finished before the signal; it never
becomes a baseline: :func:`store_baseline` refuses it and :func:`load_baseline` refuses
one that was stored anyway (by hand, or by an older promptkit), since comparing with it
would report every case it lacks as "new" and hide their regressions. ``python -m promptkit.runner.baseline BASE NEW``
prints the report (``--json`` for machines) and exits 1 on regressions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from promptkit.codes import INVALID_RESULTS
from promptkit.diagnostics import Diagnostic, LineIndex, PromptkitError
from promptkit.runner.results import CaseResult, Outcome, RunResults

__all__ = [
    "DEFAULT_TOLERANCE",
    "Change",
    "Comparison",
    "baseline_outputs",
    "compare",
    "load_baseline",
    "load_results",
    "store_baseline",
]

#: A score may fall by this much (on the 0..1 scale) before it counts as a drop:
#: judges and similarity scores wobble between runs of the same prompt.
DEFAULT_TOLERANCE = 0.1
#: A results or baseline file larger than this is refused (PT006): a run of 10,000 cases
#: with long outputs is tens of MB; a bigger file would only run CI out of memory.
MAX_RESULTS_BYTES = 256 * 1024 * 1024


class Change(BaseModel):
    """One case as it was in the baseline and as it is now (``None``: absent)."""

    id: str
    suite: str = ""
    case: str = ""
    model: str = ""
    before: Outcome | None = None
    after: Outcome | None = None
    score_before: float | None = None
    score_after: float | None = None
    passes_before: str | None = None  # "2/3"
    passes_after: str | None = None
    flaky: bool = False
    reason: str = ""  # the first failing assertion's reason, now

    @property
    def score_delta(self) -> float | None:
        if self.score_before is None or self.score_after is None:
            return None
        return self.score_after - self.score_before

    def line(self) -> str:
        """One report line: ``id  pass -> fail  score 0.95 -> 0.40  (reason)``."""
        parts = [self.id]
        if self.before is not None or self.after is not None:
            b = self.before.value if self.before else "-"
            a = self.after.value if self.after else "-"
            parts.append(f"{b} -> {a}")
        if self.score_before is not None and self.score_after is not None:
            parts.append(f"score {self.score_before:.2f} -> {self.score_after:.2f}")
        if self.passes_after and self.passes_after.split("/")[1] != "1":
            parts.append(f"passes {self.passes_before or '-'} -> {self.passes_after}")
        if self.flaky:
            parts.append("(flaky)")
        text = "  ".join(parts)
        return f"{text}: {self.reason}" if self.reason else text


class Comparison(BaseModel):
    """The result of :func:`compare`. ``regressions`` is what fails the run."""

    tolerance: float = DEFAULT_TOLERANCE
    fail_on_score_drop: bool = True
    newly_failing: list[Change] = Field(default_factory=list)
    score_drops: list[Change] = Field(default_factory=list)
    newly_passing: list[Change] = Field(default_factory=list)
    still_failing: list[Change] = Field(default_factory=list)
    errors: list[Change] = Field(default_factory=list)
    flaky_failing: list[Change] = Field(default_factory=list)
    new_cases: list[Change] = Field(default_factory=list)
    removed_cases: list[Change] = Field(default_factory=list)
    unchanged: int = 0

    @property
    def regressions(self) -> list[Change]:
        """Newly failing cases, plus score drops beyond the tolerance (unless disabled)."""
        return [*self.newly_failing, *(self.score_drops if self.fail_on_score_drop else [])]

    @property
    def ok(self) -> bool:
        return not self.regressions

    def counts(self) -> dict[str, int]:
        return {
            "newly_failing": len(self.newly_failing),
            "score_drops": len(self.score_drops),
            "newly_passing": len(self.newly_passing),
            "still_failing": len(self.still_failing),
            "errors": len(self.errors),
            "flaky_failing": len(self.flaky_failing),
            "new_cases": len(self.new_cases),
            "removed_cases": len(self.removed_cases),
            "unchanged": self.unchanged,
        }

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["regressions"] = len(self.regressions)
        data["ok"] = self.ok
        data["counts"] = self.counts()
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def format(self) -> str:
        """A plain-text report, regressions first; empty buckets are left out."""
        sections = [
            ("REGRESSIONS: newly failing", self.newly_failing),
            (f"REGRESSIONS: score dropped by more than {self.tolerance:g}" if self.fail_on_score_drop
             else f"score dropped by more than {self.tolerance:g} (not failing)", self.score_drops),
            ("flaky cases now failing (not failing the run)", self.flaky_failing),
            ("errors (not counted as regressions or fixes)", self.errors),
            ("still failing", self.still_failing),
            ("newly passing", self.newly_passing),
            ("new cases (no baseline)", self.new_cases),
            ("removed cases (in the baseline only)", self.removed_cases),
        ]
        lines: list[str] = []
        for title, items in sections:
            if not items:
                continue
            lines.append(f"{title} ({len(items)}):")
            lines.extend(f"  {c.line()}" for c in items)
        n = len(self.regressions)
        verdict = "no regressions" if n == 0 else f"{n} regression{'s' if n != 1 else ''}"
        c = self.counts()
        lines.append(
            f"baseline: {verdict}; {c['newly_passing']} newly passing, {c['still_failing']} still failing, "
            f"{c['errors']} errors, {c['new_cases']} new, {c['removed_cases']} removed, {self.unchanged} unchanged"
        )
        return "\n".join(lines)


def _passes(c: CaseResult) -> str:
    return f"{c.passes}/{c.repeat}"


def _change(before: CaseResult | None, after: CaseResult | None) -> Change:
    ref = after or before
    assert ref is not None
    return Change(
        id=ref.id,
        suite=ref.suite,
        case=ref.case,
        model=ref.model,
        before=before.outcome if before else None,
        after=after.outcome if after else None,
        score_before=before.score if before else None,
        score_after=after.score if after else None,
        passes_before=_passes(before) if before else None,
        passes_after=_passes(after) if after else None,
        flaky=bool(after.flaky if after else ref.flaky),
        reason=after.first_failure() if after and after.outcome is not Outcome.PASS else "",
    )


def compare(
    baseline: RunResults,
    current: RunResults,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    fail_on_score_drop: bool = True,
) -> Comparison:
    """Compare ``current`` with ``baseline`` case by case (matched by id)."""
    if tolerance < 0:
        raise ValueError("tolerance must be >= 0")
    out = Comparison(tolerance=tolerance, fail_on_score_drop=fail_on_score_drop)
    old = baseline.by_id()
    new = current.by_id()
    for cid, after in new.items():
        before = old.get(cid)
        ch = _change(before, after)
        if before is None:
            out.new_cases.append(ch)
        elif Outcome.ERROR in (before.outcome, after.outcome):
            out.errors.append(ch)
        elif before.outcome is Outcome.PASS and after.outcome is Outcome.FAIL:
            (out.flaky_failing if after.flaky else out.newly_failing).append(ch)
        elif before.outcome is Outcome.FAIL and after.outcome is Outcome.PASS:
            out.newly_passing.append(ch)
        elif before.outcome is Outcome.FAIL:
            out.still_failing.append(ch)
        elif before.score - after.score > tolerance + 1e-9:
            (out.flaky_failing if after.flaky else out.score_drops).append(ch)
        else:
            out.unchanged += 1
    for cid, before in old.items():
        if cid not in new:
            out.removed_cases.append(_change(before, None))
    return out


def baseline_outputs(results: RunResults) -> dict[str, str]:
    """Case id -> an output of the baseline run (its first passing sample, else its
    first sample with output), for the ``pairwise`` assertion."""
    out: dict[str, str] = {}
    for c in results.cases:
        outputs = [s for s in c.samples if s.output is not None]
        passing = [s for s in outputs if s.outcome is Outcome.PASS]
        picks = passing or outputs
        if picks and picks[0].output is not None:
            out[c.id] = picks[0].output
    return out


def load_results(path: str | Path) -> RunResults:
    """Read a results file; :class:`PromptkitError` (not a traceback) when it is
    missing or is not a promptkit results file."""
    from promptkit.template.source import NotAFile, read_bytes

    p = Path(path)
    try:
        text = read_bytes(p, max_bytes=MAX_RESULTS_BYTES).decode("utf-8")
    except NotAFile as exc:  # a FIFO is never opened, /dev/zero never read
        raise PromptkitError(Diagnostic(str(p), f"cannot read results file: {exc.reason}", code=INVALID_RESULTS.code,
                                        name=INVALID_RESULTS.name, hint="pass a results.json written by promptkit test")) from None
    except OSError as exc:
        raise PromptkitError(Diagnostic(str(p), f"cannot read results file: {exc.strerror or exc}", code=INVALID_RESULTS.code,
                                        name=INVALID_RESULTS.name, hint="run the tests first; they write the results file")) from None
    except UnicodeDecodeError as exc:
        raise PromptkitError(Diagnostic(str(p), f"not a promptkit results file: not UTF-8 (byte offset {exc.start})",
                                        code=INVALID_RESULTS.code, name=INVALID_RESULTS.name,
                                        hint="pass a results.json written by promptkit test")) from None
    try:
        return RunResults.from_json(text)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err.get("loc", ()))
        detail = f"{where}: {err['msg']}" if where else err["msg"]
        span = None
        hint = "pass a results.json written by promptkit test"
        m = re.search(r"at line (\d+) column (\d+)", detail)
        if m and err["type"] == "json_invalid":
            idx = LineIndex(text)
            pos = idx.position_at(int(m.group(1)), max(1, int(m.group(2))))
            span = idx.span(pos.offset, pos.offset)
            detail = detail[: m.start()].strip()
            if "EOF while parsing" in detail:  # promptkit writes it whole (atomically): cut off on the way here
                detail += " (the file ends early: it was cut off)"
                hint = "copy or download the whole file again, or run the tests again to write it"
        raise PromptkitError(Diagnostic(str(p), f"not a promptkit results file: {detail}", code=INVALID_RESULTS.code,
                                        name=INVALID_RESULTS.name, span=span, hint=hint)) from None
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise PromptkitError(Diagnostic(str(p), f"not a promptkit results file: {first}", code=INVALID_RESULTS.code,
                                        name=INVALID_RESULTS.name, hint="pass a results.json written by promptkit test")) from None


def _interrupted(path: str, what: str, results: RunResults) -> PromptkitError:
    return PromptkitError(Diagnostic(
        path, f"{what}: the run was interrupted and holds only the {len(results.cases)} case(s) that finished",
        code=INVALID_RESULTS.code, name=INVALID_RESULTS.name,
        hint="run the whole suite again (without stopping it) and store that run as the baseline"))


def load_baseline(path: str | Path) -> RunResults:
    """:func:`load_results` for a file used as the baseline: an interrupted run is refused
    (see the module docstring)."""
    data = load_results(path)
    if data.interrupted:
        raise _interrupted(str(path), "cannot use this results file as the baseline", data)
    return data


def store_baseline(results: RunResults | str | Path, dest: str | Path) -> Path:
    """Store ``results`` (or a results file) as the baseline at ``dest``, atomically:
    written to a temporary file in the same folder, then renamed over ``dest``.
    An interrupted run is refused with :class:`PromptkitError` (``dest`` is left as it was)."""
    from promptkit.runner.report import write_results  # never over a file that is not a results file

    data = results if isinstance(results, RunResults) else load_results(results)
    if data.interrupted:
        source = str(results) if not isinstance(results, RunResults) else str(dest)
        raise _interrupted(source, "not stored as the baseline", data)
    return write_results(data, Path(dest))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m promptkit.runner.baseline BASELINE CURRENT``: 0 ok, 1 regressions, 2 bad input."""
    parser = argparse.ArgumentParser(prog="python -m promptkit.runner.baseline",
                                     description="Compare a promptkit results file with a baseline.")
    parser.add_argument("baseline", help="the baseline results file")
    parser.add_argument("current", help="the results file of the run to check")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                        help=f"score drop that counts as a regression (default {DEFAULT_TOLERANCE})")
    parser.add_argument("--no-fail-on-score-drop", action="store_true", help="report score drops without failing")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--update", action="store_true", help="then store CURRENT as the new baseline")
    args = parser.parse_args(argv)
    try:
        current = load_results(args.current)
        if args.update and current.interrupted:  # refused before comparing: nothing is printed as if it counted
            store_baseline(current, args.baseline)
        cmp = compare(load_baseline(args.baseline), current, tolerance=args.tolerance,
                      fail_on_score_drop=not args.no_fail_on_score_drop)
        if args.update:
            store_baseline(current, args.baseline)
    except PromptkitError as exc:
        print(exc.diagnostic.format(), file=sys.stderr)
        return 2
    print(cmp.to_json() if args.json else cmp.format())
    return 0 if cmp.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
