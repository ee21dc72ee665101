"""``promptkit report``: one self-contained HTML file, checked as text and in headless
Chromium (rendered, no console errors, a screenshot saved)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from promptkit.cli import main
from promptkit.review.html import robustness_by_operator
from promptkit.runner.results import Outcome, RobustnessResult

from .conftest import GitRepo
from .results_helpers import real_run, with_samples, write

P, F, E = Outcome.PASS, Outcome.FAIL, Outcome.ERROR
HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1"><script>document.body.dataset.pwned=2</script>'


@pytest.fixture
def report(git_repo: GitRepo, base_prompt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           capsys: pytest.CaptureFixture[str]) -> Path:
    """A report of two shards (one with robustness figures), a base run and a prompt diff."""
    git_repo.write("prompts/answer.prompty", base_prompt)
    git_repo.commit("base")
    git_repo.write("prompts/answer.prompty", base_prompt.replace("temperature: 0\n", "temperature: 0.4\n"))
    base = real_run()
    head = real_run()
    head.cases[1] = with_samples(head.cases[1], [F, F, F], reason="expected a JSON object")
    head.cases[4] = with_samples(head.cases[4], [E])
    c = with_samples(head.cases[5], [F])
    c.samples[0].output = HOSTILE
    head.cases[5] = c
    half = len(head.cases) // 2
    one, two = head.model_copy(update={"cases": head.cases[:half]}), head.model_copy(update={"cases": head.cases[half:]})
    p1, p2 = write(one, tmp_path / "shard-1.json"), write(two, tmp_path / "shard-2.json")
    two.robustness = [_row(head.cases[half], "typo", "noise", 25, 23, 0),
                      _row(head.cases[half + 1], "typo", "noise", 10, 9, 2),  # pooled: 32 of 33 decided
                      _row(head.cases[half], "reorder_sections", "order", 8, 6, 0),
                      _row(head.cases[half], "injection", "content", 20, 12, 0, attack=0.4)]
    p2 = write(two, tmp_path / "shard-2.json")
    b = write(base, tmp_path / "base.json")
    out = tmp_path / "report.html"
    monkeypatch.chdir(git_repo.path)
    assert main(["report", str(p1), str(p2), "-o", str(out), "--base-results", str(b), "--diff", "HEAD"]) == 0
    capsys.readouterr()
    return out


def test_the_report_is_self_contained(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "default-src 'none'" in page  # nothing may be fetched
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "<script>document.body" not in page and "&lt;img src=x onerror" in page
    for title in ("Totals", "Pass/fail by prompt and model", "Failures", "Robustness per operator",
                  "Tokens and cost", "Results delta", "Prompt changes"):
        assert f"<h2>{title}" in page
    assert "expected a JSON object" in page and "HTTP 503" in page
    assert "temperature 0 → 0.4" in page
    assert "injection" in page and "60% (20)" in page and "97% (33)" in page and "75% (8)" in page
    assert "<td>0.40</td>" in page  # attack success of the injection operator
    assert "worst: " in page and "-Classify the ticket" in page
    n = len(real_run().cases)
    assert f'<div class="num">{n}</div>' in page  # both shards merged


def _row(case, operator: str, family: str, variants: int, passed: int, errored: int,  # type: ignore[no-untyped-def]
         attack: float | None = None) -> RobustnessResult:
    decided = variants - errored
    return RobustnessResult(
        id=f"{case.id}~{operator}", suite=case.suite, case=case.case, model=case.model, prompt=case.prompt,
        operator=operator, family=family, variants=variants, passed=passed, errored=errored,
        pass_rate=passed / decided, pdr=1 - passed / decided, spread=0.5, attack_success_rate=attack,
        outcome=Outcome.PASS if passed / decided >= 0.8 else Outcome.FAIL,
        worst_key="k1", worst_diff="-Classify the ticket\n+classify  the ticket", worst_output="{\"category\": 1}",
        worst_reason="is-json: $.category is not a string")


def test_robustness_shapes_degrade_gracefully() -> None:
    per_case = {"cases": [{"outcome": "pass", "perturbation": {"operator": "typo"}},
                          {"outcome": "fail", "perturbation": {"operator": "typo"}},
                          {"outcome": "error", "perturbation": "typo"},
                          {"outcome": "pass", "operator": "casing"}]}
    assert robustness_by_operator([per_case]) == {"casing": (1.0, 1), "typo": (0.5, 2)}
    listed = {"robustness": [{"operator": "swap", "rate": 80}, {"operator": 3}, "junk"]}
    assert robustness_by_operator([listed]) == {"swap": (0.8, None)}
    rows = {"robustness": [{"operator": "typo", "variants": 4, "passed": 1, "errored": 2},
                           {"operator": "typo", "variants": 2, "passed": 2, "errored": 0},
                           {"operator": "casing", "variants": 1, "passed": 0, "errored": 1}]}
    assert robustness_by_operator([rows]) == {"typo": (0.75, 4)}  # casing: nothing decided
    shard = {"robustness": [{"operator": "typo", "variants": 4, "passed": 4, "errored": 0}]}
    assert robustness_by_operator([rows, shard]) == {"typo": (0.875, 8)}
    nested = {"robustness": {"templates/x.prompty": {"operators": {"typo": {"score": 0.5}}}}}
    assert robustness_by_operator([nested]) == {"typo": (0.5, None)}
    assert robustness_by_operator([{"robustness": "n/a"}, {"cases": "junk"}, {}]) == {}


_LAUNCH: dict[str, str | None] = {}


def _chromium() -> str | None:
    """A headless Chromium that starts here, else None (the caller skips, saying why)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            break
    else:
        return None
    if found not in _LAUNCH:
        import tempfile

        with tempfile.TemporaryDirectory() as profile:
            try:
                probe = subprocess.run([found, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                        f"--user-data-dir={profile}", "--dump-dom", "data:text/html,<p>ok</p>"],
                                       capture_output=True, text=True, timeout=120)
                _LAUNCH[found] = None if "<p>ok</p>" in probe.stdout else (probe.stderr.strip().splitlines() or ["?"])[-1]
            except (OSError, subprocess.TimeoutExpired) as exc:
                _LAUNCH[found] = str(exc)
    if _LAUNCH[found] is not None:
        pytest.skip(f"{found} is installed but does not start headless here: {_LAUNCH[found]}")
    return found


def test_the_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); .ci/run installs it")
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    url = report.resolve().as_uri()
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert 'data-ready="1"' in dom.stdout, dom.stderr[-2000:]  # the page's script ran to the end
    assert "data-pwned" not in dom.stdout  # the hostile output did not run
    assert '<table class="matrix">' in dom.stdout and '<svg class="chart"' in dom.stdout
    artifacts = Path(os.environ.get("PROMPTKIT_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "report-screenshot.png"
    run = subprocess.run([*base, "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--window-size=1280,2200",
                          url], capture_output=True, text=True, timeout=120)
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == [], console
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_console_errors_would_be_seen(tmp_path: Path) -> None:
    """The check above is not vacuous: a page that logs an error and throws is caught."""
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); .ci/run installs it")
    page = tmp_path / "bad.html"
    page.write_text("<!doctype html><script>console.error('boom'); null.x;</script>", encoding="utf-8")
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                          f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={tmp_path / 'bad.png'}",
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert any(":CONSOLE" in line and "boom" in line for line in run.stderr.splitlines()), run.stderr[-2000:]


def test_results_merge_is_the_xdist_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = real_run()
    half = len(run.cases) // 2
    a = write(run.model_copy(update={"cases": run.cases[half:]}), tmp_path / "a.json")
    b = write(run.model_copy(update={"cases": run.cases[:half]}), tmp_path / "b.json")
    out = tmp_path / "merged.json"
    assert main(["results", "merge", str(a), str(b), "-o", str(out)]) == 0
    merged = json.loads(out.read_text(encoding="utf-8"))
    assert [c["id"] for c in merged["cases"]] == sorted(c.id for c in run.cases)
    assert f"{len(run.cases)} case(s)" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("[]", encoding="utf-8")
    assert main(["results", "merge", str(a), str(tmp_path / "junk.json"), "-o", str(out)]) == 2
    assert "PT006" in capsys.readouterr().err
