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


def test_the_real_perturbation_package_gates_the_search(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A suite with ``perturb:``: the accepted candidate went through the third stage, run
    by promptkit.perturb against the candidate, and its calls count against the budget."""
    import pytest

    pytest.importorskip("promptkit.perturb.run")
    from promptkit.optimize import suggest
    from promptkit.runner import RunConfig
    from tests.optimize.scenarios import by_kind, server_for, setup_project

    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    scenario = by_kind("missing_label")
    suite = setup_project(scenario, tmp_path)
    text = suite.read_text(encoding="utf-8")
    suite.write_text(text.replace("  - id: invoice\n", "  - id: invoice\n    perturb: {operators: [whitespace, casing], n: 2, seed: 3}\n"),
                     encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    said: list[str] = []
    server, _ = server_for(scenario)
    with server:
        s = suggest(str(suite.relative_to(tmp_path)), config=RunConfig(mode="auto", api_base=server.base_url, api_key="x"),
                    proposer_model="openai/proposer", progress=said.append)
    assert s.status == "fixed"
    assert s.accepted is not None and s.accepted.verdict is not None and s.accepted.verdict.why.startswith("fixes")
    decoy = [c for c in s.candidates if "carefully" in c.hypothesis]
    assert decoy and decoy[0].verdict is not None and decoy[0].verdict.stage == "failing"
    assert s.spent.calls > 12  # the 12 of the scenario without perturbations, plus the variants' calls
