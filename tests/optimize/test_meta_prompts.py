"""The optimizer's own meta-prompts: lint clean, rendered with the variables the search
passes, and their regression suites green in replay (recorded against SmolLM2)."""

from __future__ import annotations

from pathlib import Path

import pytest

import promptkit
from promptkit.diagnostics import Severity
from promptkit.lint.engine import lint_template
from promptkit.optimize.proposer import meta_template

OPT = Path(__file__).resolve().parents[2] / "templates" / "optimizer"


@pytest.mark.parametrize("name", ["critique", "propose"])
def test_meta_prompt_is_lint_clean_and_renders(name: str) -> None:
    t = promptkit.load(meta_template(name))
    assert t.ok and meta_template(name).parent == OPT
    assert [d.format() for d in lint_template(t) if d.severity is not Severity.INFO] == []
    msgs = promptkit.render(t, prompt="[system] Hi {{ x }}", failures="[]", passing="[]", sections='["system"]',
                            critique="- none", k=2)
    assert "{{ x }}" in msgs[-1].content  # the prompt under repair is data: its Jinja is not rendered


@pytest.mark.parametrize("name", ["critique", "propose"])
def test_meta_prompt_suite_replays_green(name: str) -> None:
    from promptkit.runner import Outcome, RunConfig, run_suites

    suite = OPT / f"{name}.prompttest.yaml"
    if not (OPT / "__recordings__" / name).is_dir():
        pytest.skip(f"no recordings for {suite.name}: run benchmarks/real_model.py --update {suite}")
    run = run_suites([suite], RunConfig(mode="replay", api_base="http://127.0.0.1:9/unreachable"))
    assert run.cases and all(c.outcome is Outcome.PASS for c in run.cases), \
        [(c.id, c.outcome, [s.error for s in c.samples]) for c in run.cases]
