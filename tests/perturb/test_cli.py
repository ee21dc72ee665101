"""``promptkit perturb``: seeded output byte-identical across processes, diffs that
``git apply`` takes, and one located error (exit 2) for each kind of bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from promptkit.cli import main

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "perturb"
CLASSIFY = REPO / "templates" / "classify_ticket.prompty"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "promptkit.cli", "perturb", *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, timeout=120)


def test_seeded_output_is_byte_identical_across_processes_and_hash_seeds() -> None:
    args = ("templates/classify_ticket.prompty", "--op", "noise", "--op", "format", "--op", "order",
            "--op", "content", "--op", "inputs", "--n", "2", "--seed", "7", "--edits", "2", "--format", "json")
    a = _cli(*args, env={"PYTHONHASHSEED": "1"})
    b = _cli(*args, env={"PYTHONHASHSEED": "4242"})
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    doc = json.loads(a.stdout)
    ops = {v["operator"] for v in doc["variants"]}
    assert {"typo-mixed", "separator", "component-order", "distractor", "injection"} <= ops
    # another seed is another set of variants
    c = _cli(*args[:-4], "--seed", "8", "--format", "json")
    assert c.returncode == 0 and c.stdout != a.stdout


def test_diff_output_applies_with_git_apply(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    work = tmp_path / "repo"
    (work / "templates").mkdir(parents=True)
    shutil.copy(CLASSIFY, work / "templates" / CLASSIFY.name)
    (work / "pyproject.toml").write_text("[project]\nname='x'\n")
    for op in ("typo", "separator", "component-order", "list-style", "spacing"):
        out = subprocess.run([sys.executable, "-m", "promptkit.cli", "perturb", f"templates/{CLASSIFY.name}", "--op", op,
                              "--n", "1", "--seed", "3", "--edits", "3"], capture_output=True, text=True, cwd=work)
        assert out.returncode == 0, out.stderr
        patch = out.stdout.split("\n", 1)[1]  # drop the '# op variant' header line
        check = subprocess.run(["git", "apply", "--check", "-"], input=patch, capture_output=True, text=True, cwd=work)
        assert check.returncode == 0, (op, check.stderr, patch)


def _one_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["perturb", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_unknown_operator_is_one_located_error_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_error(capsys, str(CLASSIFY), "--op", "tpyo-swap")
    assert line.startswith("<command line>:1:1: error: PT020 unknown perturbation operator 'tpyo-swap'")
    assert "did you mean 'typo-swap'" in line


def test_a_constraint_that_leaves_only_a_placeholder_is_located_at_the_component(capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_error(capsys, str(CLASSIFY), "--op", "typo", "--component", "ticket")
    assert line.startswith(f"{CLASSIFY}:80:1: error: PT021 operator 'typo-mixed' would have to touch a placeholder")
    assert "{{ ticket }}" in line and "--op input-typo --var ticket" in line
    line = _one_error(capsys, str(FIXTURES / "qa.prompty"), "--op", "word-deletion", "--component", "question")
    assert ": error: PT021 " in line and "{{ question }}" in line


def test_payload_lists_that_do_not_parse_are_located(capsys: pytest.CaptureFixture[str]) -> None:
    qa = str(FIXTURES / "qa.prompty")
    line = _one_error(capsys, qa, "--op", "injection", "--payloads", str(FIXTURES / "bad_payloads.yaml"))
    assert line.startswith(f"{FIXTURES / 'bad_payloads.yaml'}:7:11: error: PT022 payload list is not valid YAML")
    line = _one_error(capsys, qa, "--op", "injection", "--payloads", str(FIXTURES / "no_canary_payloads.yaml"))
    assert line.startswith(f"{FIXTURES / 'no_canary_payloads.yaml'}:9:11: error: PT022 payloads[1] ('forgets-its-canary')")


def test_choice_order_without_its_variable_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    line = _one_error(capsys, str(FIXTURES / "qa.prompty"), "--op", "choice-order")
    assert "PT020" in line and "choices" in line


def test_list_shows_every_operator_with_its_guarantee(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["perturb", "--list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 15 and all(r["guarantee"] for r in rows)
    assert {r["family"] for r in rows} == {"noise", "format", "order", "content", "inputs"}


def test_choice_order_remaps_the_gold_letter(capsys: pytest.CaptureFixture[str]) -> None:
    qa = str(FIXTURES / "qa.prompty")
    assert main(["perturb", qa, "--op", "choice-order", "--param", "choices=options", "--param", "answer=gold",
                 "--var", "gold=B", "--n", "6", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for v in doc["variants"]:
        options = v["vars"]["options"]
        gold = v["vars"].get("gold", "B")
        assert options["ABCD".index(gold)] == "Mars", v["edits"]


def test_paraphrase_from_the_command_line_records_then_replays(tmp_path: Path) -> None:
    from pytest_promptkit.server import OpenAIServer

    shutil.copy(CLASSIFY, tmp_path / CLASSIFY.name)
    (tmp_path / "pyproject.toml").write_text("")
    args = [sys.executable, "-m", "promptkit.cli", "perturb", CLASSIFY.name, "--op", "paraphrase", "--component", "task",
            "--model", "openai/scripted", "--n", "1"]
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "OPENAI_API_KEY": "test"}
    with OpenAIServer(default_reply="Decide which team should take the ticket and how urgent it is.") as server:
        live = subprocess.run([*args, "--mode", "record", "--api-base", server.base_url], capture_output=True,
                              text=True, cwd=tmp_path, env=env, timeout=120)
        assert live.returncode == 0, live.stderr
        assert server.calls == 1
    assert "+Decide which team should take the ticket" in live.stdout
    replay = subprocess.run([*args, "--mode", "replay"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert replay.returncode == 0 and replay.stdout == live.stdout
    # a task text never recorded: replay has no answer, which is one error line, not a traceback
    changed = (tmp_path / CLASSIFY.name).read_text(encoding="utf-8").replace("how urgent it is", "how urgent it seems")
    (tmp_path / CLASSIFY.name).write_text(changed, encoding="utf-8")
    missing = subprocess.run([*args, "--mode", "replay"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "paraphrase: the model call failed" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
