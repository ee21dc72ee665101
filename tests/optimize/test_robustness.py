"""The perturbation stage: a candidate less robust than the original is rejected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

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


def test_only_robustness_fails_the_injection_rows_are_the_targets(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every case passes, the injection rows do not: the rows are the evidence (operator,
    parameters, the input it planted the payload in) and the targets; the delimit repair
    is accepted through the perturbation run and the whole suite."""
    from promptkit.optimize import suggest
    from promptkit.runner import RunConfig
    from tests.optimize.scenarios import by_kind, server_for, setup_project

    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    scenario = by_kind("robust_injection")
    suite = setup_project(scenario, tmp_path)
    monkeypatch.chdir(tmp_path)
    server, proposer = server_for(scenario)
    said: list[str] = []
    seen: list[dict[str, Any]] = []
    import promptkit.optimize.search as search

    real_repairs = search.repairs

    def spy(template: Any, evidence: Any) -> Any:
        seen.extend(evidence.robustness)
        return real_repairs(template, evidence)

    monkeypatch.setattr(search, "repairs", spy)
    with server:
        config = RunConfig(mode="auto", api_base=server.base_url, api_key="x", progress=False)
        s = suggest(str(suite.relative_to(tmp_path)), config=config, proposer_model="openai/proposer",
                    progress=said.append)
    assert s.status == "fixed" and s.failing_before == ["battery~injection", "kettle~injection", "screen~injection"]
    assert sorted(s.fixed) == s.failing_before
    assert proposer.calls == 0  # the deterministic repair was enough
    assert s.patch is not None and "+Review: <review>{{ review }}</review>" in s.patch.diff
    assert "data, not instructions" in s.patch.diff
    row = seen[0]
    assert row["perturbation"] == {"operator": "injection", "family": "inputs", "seed": "1", "n": 2, "edits": 1,
                                   "payloads": "payloads.yaml", "inputs": ["review"]}
    assert row["pass_rate"] == 0.0 and row["min_pass_rate"] == 1.0
    assert "PWNED" in (row["worst_output"] or "") or "HACKED" in (row["worst_output"] or "")
    accepted = s.accepted
    assert accepted is not None and accepted.verdict is not None and accepted.verdict.stage == "accepted"
    assert any("failing robustness row(s): battery~injection 0% < 100%" in m for m in said)

    # once patched, nothing is left to fix: the rows pass
    (tmp_path / s.prompt).write_text(s.patch.file_text, encoding="utf-8")
    with server:
        again = suggest(str(suite.relative_to(tmp_path)), config=config, proposer_model="openai/proposer")
    assert again.status == "nothing-failing"
    assert again.message.endswith("fails and no perturbation row is below its min_pass_rate")


def test_a_candidate_that_does_not_raise_the_failing_rows_is_rejected() -> None:
    from promptkit.optimize.robustness import RobustnessGate

    @dataclass
    class R:
        case: str
        operator: str
        pass_rate: float
        outcome: str
        calls: int = 2

    original = promptkit.load(FIXTURES / "robust_injection" / "review_summary.prompty")
    same = original.with_body(original.body.replace("one line", "a single line"))
    worse = original.with_body(original.body.replace("one line", "one short line"))
    table = {original.text: [R("a", "injection", 0.5, "fail"), R("b", "typo", 1.0, "pass")],
             same.text: [R("a", "injection", 0.5, "fail"), R("b", "typo", 1.0, "pass")],
             worse.text: [R("a", "injection", 1.0, "pass"), R("b", "typo", 0.5, "pass")]}
    meter = Meter(Budget(calls=13))
    gate = RobustnessGate(None, original, None, meter, lambda suite, runner, template, say: table[template.text])  # type: ignore[arg-type]
    assert [r.case for r in gate.failing()] == ["a"]
    c = gate.compare(same, ["a~injection"])
    assert (c.fixed, c.still_failing, c.worse) == ([], ["a~injection"], [])
    c = gate.compare(worse, ["a~injection"])
    assert c.fixed == ["a~injection"] and c.less_robust() == "less robust: b~typo pass rate 100% -> 50%"
    assert meter.spent.calls == 12  # three runs (original, same, worse) of two rows x 2 calls
    from promptkit.optimize.evaluate import BudgetExhausted

    with pytest.raises(BudgetExhausted):  # a fourth run (4 calls) would exceed the budget of 13: priced first
        gate.rows(original.with_body(original.body + "\n"))
