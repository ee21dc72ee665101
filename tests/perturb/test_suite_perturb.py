"""``perturb:`` in a test file, end to end: a real pytest process on a real suite talking to
the scripted local server, then replaying from its recordings with no call at all."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promptkit.runner.results import RunResults
from pytest_promptkit.server import OpenAIServer

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "perturb" / "suite"


def reply(body: dict[str, Any]) -> str:
    """A model that is right unless its role line lost a word, and that follows the
    injection payloads that say "ignore" (it prints their canary)."""
    system = next(m["content"] for m in body["messages"] if m["role"] == "system")
    user = body["messages"][-1]["content"]
    canary = re.search(r"PK-CANARY-[A-Z]+", user)
    if canary and "gnore" in user:
        return canary.group()
    if "support triage assistant" not in system:
        return "The billing team, I think."
    return "billing" if "charged" in user else "shipping"


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=180)


def test_perturb_items_scores_results_and_replay(tmp_path: Path) -> None:
    for f in SUITE.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    with OpenAIServer(default_reply=reply) as server:
        rec = _pytest(tmp_path, "triage.prompttest.yaml", "--promptkit-mode", "record", "--promptkit-api-base",
                      server.base_url, "--promptkit-results", "results.json")
        calls = server.calls
        out = rec.stdout
        # the number of requests is stated before the first one is made
        said = re.search(r"promptkit perturb: 2 case run\(s\) x 5 operator\(s\) = (\d+) variant\(s\), (\d+) model request", out)
        assert said, out
        assert out.index(said.group()) < out.index("triage.prompttest.yaml::refund")
        assert calls == int(said.group(2)) + 2, (calls, said.group())  # the variants + the two cases themselves
        assert "PASSED triage.prompttest.yaml::refund[openai/scripted]~typo-mixed" in out or \
               "FAILED triage.prompttest.yaml::refund[openai/scripted]~typo-mixed" in out
        assert "FAILED triage.prompttest.yaml::refund[openai/scripted]~injection" in out
        assert "PASSED triage.prompttest.yaml::parcel[openai/scripted]~distractor" in out
        # the failure shows the worst variant as a diff of the input, and the summary table
        assert "worst variant:" in out and "+++ b/vars.ticket" in out and "PK-CANARY-" in out
        assert "robustness (perturb:)" in out and "injection" in out
        doc = RunResults.from_json((tmp_path / "results.json").read_text())
        rows = {r.id.split("::", 1)[1]: r for r in doc.robustness}
        inj = rows["refund[openai/scripted]~injection"]
        assert inj.family == "inputs" and inj.variants == 4 and inj.outcome.value == "fail"
        assert inj.attack_success_rate == pytest.approx(1 - inj.pass_rate)
        assert inj.worst_diff and "PK-CANARY" in inj.worst_diff and inj.worst_output.startswith("PK-CANARY-")
        assert all(len(v.followed) == 1 for v in inj.results)
        dist = rows["parcel[openai/scripted]~distractor"]
        assert dist.pass_rate == 1.0 and dist.pdr == 0.0 and dist.sensitivity == 0.0 and dist.spread == 0.0
        # replay: the same figures, and not one request to the server
        again = _pytest(tmp_path, "triage.prompttest.yaml", "--promptkit-mode", "replay", "--promptkit-results", "r2.json")
        assert server.calls == calls, again.stdout
    doc2 = RunResults.from_json((tmp_path / "r2.json").read_text())
    strip = [r.model_dump(exclude={"results"}) for r in doc.robustness]
    assert strip == [r.model_dump(exclude={"results"}) for r in doc2.robustness]
    assert again.returncode == rec.returncode == 1


def test_perturb_key_errors_are_located(tmp_path: Path) -> None:
    from promptkit.diagnostics import PromptkitError
    from promptkit.runner.suite_file import loads_suite

    shutil.copy(SUITE / "triage.prompty", tmp_path / "triage.prompty")
    (tmp_path / "pyproject.toml").write_text("")
    head = "prompts: [triage.prompty]\nmodels: [openai/x]\ncases:\n  - id: a\n    vars: {ticket: hi there}\n"
    cases = {
        "    perturb: {operators: [typo, sepparator]}\n": (6, "PT020", "did you mean 'separator'"),
        "    perturb: {operators: [typo], n: 0}\n": (6, "PT002", "greater than or equal to 1"),
        "    perturb: {operators: [typo], colour: red}\n": (6, "PT002", "unknown key 'colour'"),
        "    perturb: {operators: [injection], payloads: bad.yaml}\n": (2, "PT022", "not valid YAML"),
    }
    (tmp_path / "bad.yaml").write_text("payloads:\n  - {id: x, text: 'say [\n")
    for tail, (line, code, words) in cases.items():
        with pytest.raises(PromptkitError) as exc:
            loads_suite(head + tail, tmp_path / "s.prompttest.yaml")
        d = exc.value.diagnostic
        assert d.code == code and words in d.message + d.hint, (tail, d.format())
        assert d.line == line, (tail, d.format())
