"""Replay in a forked child (pytest_promptkit.forked): the same outcomes, results and exit
status as replaying in the pytest process, also when the child dies half-way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_promptkit.server import OpenAIServer

CASES = 90  # above forked.MIN_CASES
PROMPT = "---\nname: count\nversion: 1.0.0\nmodel:\n  id: openai/scripted\n---\nuser:\nSay the number {{ n }}.\n"
# A conftest.py that changes only what the forked child does with each result (the parent
# runs as usual): ``{deliver}`` is the body of ``deliver(index, result)``.
_CHILD_CONFTEST = '''
import os, time
from pathlib import Path
from promptkit.runner import engine

PARENT = os.getpid()
_run = engine.Runner.run


def run(self, jobs, on_result=None, on_wait=None):
    if os.getpid() == PARENT:
        return _run(self, jobs, on_result, on_wait)
    Path("child.pid").write_text(str(os.getpid()))
    sent = []

    def deliver(index, result):
{deliver}

    return _run(self, jobs, deliver, on_wait)


engine.Runner.run = run
'''
# The child dies after sending ten results: the parent must run the rest itself.
DYING_CHILD = _CHILD_CONFTEST.format(deliver="""\
        on_result(index, result)
        sent.append(index)
        if len(sent) == 10:
            os._exit(3)""")
# The child is slow (40 ms a case) and says who it is: the test interrupts the parent midway.
SLOW_CHILD = _CHILD_CONFTEST.format(deliver="""\
        time.sleep(0.04)
        on_result(index, result)""")


def _suite() -> str:
    lines = ["prompts: [count.prompty]", "cases:"]
    for i in range(CASES):
        want = "nine hundred" if i % 15 == 7 else str(i)  # a few failures among the passes
        lines += [f"  - id: c{i}", f"    vars: {{n: {i}}}", "    assert:", f"      - {{type: contains, value: '{want}'}}"]
    return "\n".join(lines) + "\n"


def _run(cwd: Path, *args: str, fork: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    env["PROMPTKIT_FORK"] = fork
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "count.prompttest.yaml",
                           *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=180)


def _outcomes(path: Path) -> dict[str, tuple[str, str | None]]:
    data = json.loads(path.read_text())
    return {c["id"]: (c["outcome"], c.get("output")) for c in data["cases"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("forked")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    (root / "count.prompty").write_text(PROMPT, encoding="utf-8")
    (root / "count.prompttest.yaml").write_text(_suite(), encoding="utf-8")
    with OpenAIServer() as server:
        server.add_rule(pattern=r"number (\d+)", reply=r"The number is \1.")
        rec = _run(root, "--promptkit-mode", "record", "--promptkit-api-base", server.base_url, fork="0")
    assert rec.returncode == 1, rec.stdout  # the planted failures
    recordings = sorted((root / "__recordings__").rglob("*.json"))
    assert len(recordings) == CASES
    recordings[5].unlink()  # one case without its recording: an ERROR in replay
    return root


# No selection: the child starts during collection; -k: at the first item, for the selected.
@pytest.mark.parametrize(("dying_child", "select"), [(False, []), (True, []), (False, ["-k", "not c3"]),
                                                     (True, ["-k", "not c2"])])
def test_forked_replay_reports_what_in_process_replay_does(project: Path, dying_child: bool, select: list[str],
                                                           tmp_path: Path) -> None:
    conftest = project / "conftest.py"
    if dying_child:
        conftest.write_text(DYING_CHILD, encoding="utf-8")
    try:
        runs = {fork: _run(project, "--promptkit-mode", "replay", "--promptkit-results", str(tmp_path / f"r{fork}.json"),
                           "--junitxml", str(tmp_path / f"j{fork}.xml"), *select, fork=fork) for fork in ("0", "1")}
    finally:
        conftest.unlink(missing_ok=True)
    assert runs["0"].returncode == runs["1"].returncode == 1
    tail = {fork: run.stdout.strip().splitlines()[-1].rsplit(" in ", 1)[0] for fork, run in runs.items()}
    assert tail["0"] == tail["1"] and " failed, " in tail["1"] and tail["1"].endswith(" error"), runs["1"].stdout
    outcomes = _outcomes(tmp_path / "r1.json")
    assert _outcomes(tmp_path / "r0.json") == outcomes
    assert len(outcomes) == (CASES if not select else len(outcomes)) and len(outcomes) > 10
    junit = {fork: (tmp_path / f"j{fork}.xml").read_text() for fork in ("0", "1")}
    assert junit["1"].count("<testcase") == len(outcomes)
    assert junit["1"].count("<failure") == junit["0"].count("<failure")


def test_exitfirst_stops_the_child(project: Path) -> None:
    run = _run(project, "--promptkit-mode", "replay", "-x", fork="1")
    assert run.returncode == 1 and "stopping after 1 failures" in run.stdout, run.stdout
    last = run.stdout.strip().splitlines()[-1]
    assert ("1 failed" in last or "1 error" in last) and f"{CASES - 1} passed" not in last


def test_an_interrupt_keeps_what_was_reported_and_ends_the_child(project: Path, tmp_path: Path) -> None:
    import signal
    import time

    (project / "conftest.py").write_text(SLOW_CHILD, encoding="utf-8")
    pid_file = project / "child.pid"
    pid_file.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    results = tmp_path / "r.json"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "count.prompttest.yaml",
                                 "--promptkit-mode", "replay", "--promptkit-results", str(results)], cwd=project, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # some cases delivered and reported (the child needs 3.6 s for all)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        (project / "conftest.py").unlink(missing_ok=True)
    assert proc.returncode == 2, out  # pytest's "interrupted"
    data = json.loads(results.read_text())
    assert data["interrupted"] is True and 0 < len(data["cases"]) < CASES, out
    child = int(pid_file.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text().lower(), \
        "the child outlived the interrupted run"
