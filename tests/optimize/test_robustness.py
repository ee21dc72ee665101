"""The perturbation stage: a candidate less robust than the original is rejected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import promptkit
from promptkit.optimize.budget import Budget, Meter
from promptkit.optimize.robustness import gate_for
from promptkit.runner import Suite
from tests.optimize.scenarios import FIXTURES


@dataclass
class Row:
    case: str
    operator: str
    pass_rate: float
    variants: int = 4


class _Case:
    perturb = {"operators": ["typo"]}


class _Suite:
    cases = [_Case()]


def test_gate_rejects_a_drop_and_accepts_no_worse() -> None:
    original = promptkit.load(FIXTURES / "missing_label" / "router.prompty")
    better = original.with_body(original.body.replace("right team", "right team for it"))
    worse = original.with_body(original.body.replace("right team", "one team"))
    rates = {original.text: 0.75, better.text: 0.75, worse.text: 0.5}

    def run(suite: Any, *, runner: Any, template: Any, say: Any) -> list[Row]:
        return [Row("refund", "typo", rates[template.text])]

    meter = Meter(Budget())
    gate = gate_for(_Suite(), original, runner=None, meter=meter, run=run)  # type: ignore[arg-type]
    assert gate is not None
    assert gate(better) == (True, "no less robust under the suite's perturbations")
    ok, why = gate(worse)
    assert not ok and why == "less robust: refund~typo pass rate 75% -> 50%"
    assert meter.spent.calls == 12  # original once, then each candidate


def test_no_gate_without_perturbation_specs() -> None:
    original = promptkit.load(FIXTURES / "missing_label" / "router.prompty")
    suite = Suite.from_cases(FIXTURES / "missing_label" / "router.prompty", [{"id": "a", "vars": {"message": "x"}}])
    assert gate_for(suite, original, runner=None, meter=Meter(Budget())) is None  # type: ignore[arg-type]
