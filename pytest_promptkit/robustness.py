"""``perturb:`` in test files: one extra pytest item per case x model x operator.

A case (or the whole suite) that says ``perturb: {operators: [typo, separator], n: 10,
seed: 7, min_pass_rate: 0.9}`` gets, after its own item ``case[model]``, one item
``case[model]~typo`` per operator. After collection -- before any model is called -- the
run states how many requests the variants need. Each operator's item runs the case on its
seeded variants (:mod:`promptkit.perturb.run`), fails when the pass rate is under
``min_pass_rate``, and shows the worst variant as a diff. The figures go to the results
file (``robustness``) and to a table in the ``promptkit`` section of the summary.

An extension of the promptkit plugin (see :mod:`pytest_promptkit.plugin`); disable it
with ``-p no:pytest_promptkit.robustness``.

PYTEST_DONT_REWRITE: plugin code has no test asserts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_STATE = pytest.StashKey[dict[str, Any]]()


def _state(config: pytest.Config) -> dict[str, Any]:
    if _STATE not in config.stash:
        config.stash[_STATE] = {"plans": {}, "rows": {}, "errors": {}}
    return config.stash[_STATE]


class RobustnessFailure(AssertionError):
    """The operator's pass rate is under the case's ``min_pass_rate``."""


class RobustnessError(Exception):
    """The perturbation could not run (an impossible constraint, every variant errored)."""


class RobustnessItem(pytest.Item):
    """One case x model x operator of a case with ``perturb:``."""

    def __init__(self, *, job: Any, operator: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.operator = operator
        self.user_properties.append(("promptkit_id", f"{job.result_id}~{operator}"))

    def runtest(self) -> None:
        from promptkit.runner.results import Outcome

        state = _state(self.config)
        rid = self.job.result_id
        if rid in state["errors"]:
            raise RobustnessError(state["errors"][rid])
        if rid not in state["rows"]:
            _run(self.config, self.job)
            if rid in state["errors"]:
                raise RobustnessError(state["errors"][rid])
        row = state["rows"][rid].get(self.operator)
        if row is None:
            why = state["plans"][rid].skipped.get(self.operator, "no variant")
            pytest.skip(f"{self.operator}: {why}")
        if row.outcome is Outcome.ERROR:
            raise RobustnessError(f"{row.id}: every variant ended in ERROR ({row.errored} of {row.variants}); "
                                  "see the case errors (missing recordings: --promptkit-mode record)")
        if row.outcome is Outcome.FAIL:
            raise RobustnessFailure(describe(row))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        from promptkit.redact import redact

        if isinstance(excinfo.value, (RobustnessFailure, RobustnessError)):
            return redact(str(excinfo.value))
        return redact(str(super().repr_failure(excinfo)))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = getattr(self.job.case_run.case, "line", None)
        return self.path, (line - 1 if line else None), self.name


def describe(row: Any, max_lines: int = 60) -> str:
    """A failing operator as people read it: the figures, then the worst variant's diff."""
    rate = f"{row.pass_rate:.0%}" if row.pass_rate is not None else "n/a"
    need = f" < min_pass_rate {row.min_pass_rate:.0%}" if row.min_pass_rate is not None else ""
    lines = [f"{row.id}: {row.passed}/{row.variants - row.errored} variants passed ({rate}{need})"]
    if row.pdr is not None:
        lines[0] += f", PDR {row.pdr:.2f}"
    if row.attack_success_rate is not None:
        lines[0] += f", attack success {row.attack_success_rate:.0%} per sample, {row.attack_success_at_k:.0%} pass@{row.k}"
    if row.worst_diff:
        diff = row.worst_diff.splitlines()
        lines.append("worst variant:")
        lines.extend(diff[:max_lines])
        if len(diff) > max_lines:
            lines.append(f"... ({len(diff) - max_lines} more diff lines in the results file)")
    if row.worst_reason:
        lines.append(row.worst_reason)
    return "\n".join(lines)


def _plan(config: pytest.Config, job: Any) -> Any:
    state = _state(config)
    rid = job.result_id
    if rid not in state["plans"] and rid not in state["errors"]:
        from promptkit.perturb.operator import PerturbError
        from promptkit.perturb.run import plan

        try:
            from pytest_promptkit.session import session_of

            state["plans"][rid] = plan(job, job.case_run.case.perturb, config=session_of(config).run_config())
        except PerturbError as exc:
            d = getattr(exc, "diagnostic", None)
            state["errors"][rid] = d.format() if d is not None else f"{job.case_run.case.source}: error: {exc}"
    return state["plans"].get(rid)


def _run(config: pytest.Config, job: Any) -> None:
    from promptkit.perturb.run import run_plans

    from pytest_promptkit.session import session_of

    state = _state(config)
    p = _plan(config, job)
    if p is None:
        return
    session = session_of(config)
    originals = {r.id: r for r in session.reported if r.id == job.result_id}
    rows = run_plans([p], session.runner, originals)
    state["rows"][job.result_id] = {r.operator: r for r in rows}
    session.robustness.extend(rows)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """After each case item with ``perturb:``, one item per operator (before ``-k``/``-m``
    deselect, so ``-k typo`` selects them)."""
    from pytest_promptkit.items import CaseItem

    out: list[pytest.Item] = []
    for item in items:
        out.append(item)
        spec = getattr(getattr(getattr(item, "job", None), "case_run", None), "case", None)
        spec = getattr(spec, "perturb", None)
        if not isinstance(item, CaseItem) or spec is None:
            continue
        from promptkit.perturb.operator import resolve

        for op in resolve(spec.operators):
            extra = RobustnessItem.from_parent(item.parent, name=f"{item.name}~{op.name}", job=item.job, operator=op.name)
            for mark in item.own_markers:
                extra.add_marker(getattr(pytest.mark, mark.name)(*mark.args, **mark.kwargs))
            out.append(extra)
    items[:] = out


def pytest_collection_finish(session: pytest.Session) -> None:
    """Before any call: say how many model requests the perturbations will make."""
    jobs = {id(i.job): i.job for i in session.items if isinstance(i, RobustnessItem)}
    if not jobs:
        return
    from promptkit.perturb.run import announce

    plans = [p for p in (_plan(session.config, j) for j in jobs.values()) if p is not None]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(announce(plans))


def pytest_promptkit_terminal_summary(config: pytest.Config, terminalreporter: Any, results: Any) -> None:
    rows = list(getattr(results, "robustness", None) or [])
    if not rows:
        return
    tr = terminalreporter
    tr.write_line("")
    tr.write_line("robustness (perturb:)")
    head = f"  {'case':<40} {'operator':<18} {'pass':>11} {'PDR':>6} {'spread':>6} {'sens.':>6} {'ASR@k':>6}"
    tr.write_line(head)

    def f(x: float | None, pct: bool = False) -> str:
        return "-" if x is None else (f"{x:.0%}" if pct else f"{x:.2f}")

    for r in rows:
        case = f"{r.case}[{r.model}]"
        rate = f"{r.passed}/{r.variants - r.errored} {f(r.pass_rate, True)}"
        line = (f"  {case[:40]:<40} {r.operator:<18} {rate:>11} {f(r.pdr):>6} {f(r.spread):>6} {f(r.sensitivity):>6} "
                f"{f(r.attack_success_at_k, True):>6}")
        tr.write_line(line, red=r.outcome.value == "fail")
    for r in rows:
        if r.outcome.value == "fail":
            tr.write_line("")
            tr.write_line(describe(r, max_lines=30))
