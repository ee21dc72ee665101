"""``[tool.promptkit.test]``: defaults for ``promptkit test`` and the plugin, and clear
errors for bad values."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from promptkit.diagnostics import PromptkitError
from promptkit.runner.cli import TestCommand
from promptkit.runner.config import TestSettings, load_test_settings
from promptkit.runner.results import RunResults

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "engine"


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    TestCommand().add_arguments(parser)
    return parser.parse_args(list(argv))


def _project(root: Path, table: str, config: str = "pyproject.toml") -> Path:
    """A project with a passing suite in suites/ and a broken one at the top."""
    (root / "suites").mkdir(parents=True)
    shutil.copy(FIXTURES / "answer.prompty", root / "suites" / "answer.prompty")
    (root / "suites" / "ok.prompttest.yaml").write_text(
        "prompts: [answer.prompty]\ncases:\n  - id: france\n    vars: {question: capital of France?}\n"
        "    assert: [{icontains: paris}]\n", encoding="utf-8")
    (root / "broken.prompttest.yaml").write_text("prompts: [missing.prompty]\ncases: []\n", encoding="utf-8")
    head = '[project]\nname = "demo"\n\n[tool.promptkit.test]\n' if config == "pyproject.toml" else "[test]\n"
    (root / config).write_text(head + table, encoding="utf-8")
    return root


def test_defaults_without_a_config_file(tmp_path: Path) -> None:
    settings = load_test_settings(tmp_path)
    assert settings == TestSettings() and settings.source is None and settings.paths == ["."]


@pytest.mark.parametrize("config", ["pyproject.toml", "promptkit.toml"])
def test_settings_are_read_and_paths_resolve_against_the_file(tmp_path: Path, config: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path / "p", 'paths = ["suites"]\nmode = "replay"\nconcurrency = 3\ntimeout = 2.5\n'
                                    'results = "out/r.json"\nbaseline = "base.json"\ntolerance = 0.1\n', config)
    (root / "suites" / "deeper").mkdir()
    monkeypatch.chdir(root / "suites" / "deeper")  # found walking up; paths stay relative to the file
    s = load_test_settings()
    assert (s.mode, s.concurrency, s.timeout, s.tolerance) == ("replay", 3, 2.5, 0.1)
    assert Path(s.test_paths()[0]).resolve() == (root / "suites").resolve()
    assert Path(s.results_path() or "").resolve() == (root / "out" / "r.json").resolve()
    assert Path(s.baseline_path() or "").resolve() == (root / "base.json").resolve()


@pytest.mark.parametrize(("table", "line", "words"), [
    ('mode = "fast"\n', 5, ["test.mode", "'fast'", "live"]),
    ("paths = []\n", 5, ["test.paths", "at least 1"]),
    ('concurrency = "lots"\n', 5, ["test.concurrency", "integer"]),
    ("timeout = -1\n", 5, ["test.timeout", "greater than 0"]),
    ('paths = ["a"]\npath = ["b"]\n', 6, ["unknown setting 'test.path'", "did you mean 'paths'"]),
])
def test_invalid_values_point_at_their_line(tmp_path: Path, table: str, line: int, words: list[str]) -> None:
    _project(tmp_path, table)
    with pytest.raises(PromptkitError) as err:
        load_test_settings(tmp_path)
    text = err.value.diagnostic.format()
    assert text.startswith(f"{tmp_path / 'pyproject.toml'}:{line}:1: error: PK010 ")
    assert "\n" not in text
    for w in words:
        assert w in text


def test_test_must_be_a_table(tmp_path: Path) -> None:
    (tmp_path / "promptkit.toml").write_text('test = "templates"\n', encoding="utf-8")
    with pytest.raises(PromptkitError, match="'test' must be a table"):
        load_test_settings(tmp_path)


def test_cli_runs_configured_paths_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, 'paths = ["suites"]\nbaseline = "base.json"\n')
    monkeypatch.chdir(root)
    argv = TestCommand().pytest_args(_args())
    assert argv[0] == os.path.join("suites", "ok.prompttest.yaml") and "broken.prompttest.yaml" not in " ".join(argv)
    assert "--promptkit-update-baseline" in TestCommand().pytest_args(_args("--update-baseline"))  # baseline from config
    assert TestCommand().pytest_args(_args("."))[:2] == ["broken.prompttest.yaml", os.path.join("suites", "ok.prompttest.yaml")]


def test_cli_names_the_config_when_a_configured_path_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, 'paths = ["prompts"]\n')
    monkeypatch.chdir(root)
    with pytest.raises(PromptkitError) as err:
        TestCommand().pytest_args(_args())
    assert err.value.diagnostic.format().startswith(
        f"{root / 'pyproject.toml'}:5:1: error: PT004 test path 'prompts': no such file or directory")


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, "-m", "promptkit.cli", "test", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=120)


def test_plugin_uses_the_table(tmp_path: Path) -> None:
    """mode and results come from the table: replay finds no recording (an ERROR that
    names the record command) and the results land where the table says."""
    root = _project(tmp_path, 'paths = ["suites"]\nmode = "replay"\nresults = "out/r.json"\n')
    proc = _run(root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "mode replay" in proc.stdout and "--mode record" in proc.stdout
    assert len(RunResults.from_json((root / "out" / "r.json").read_text()).cases) == 1


def test_invalid_table_is_one_line_exit_2(tmp_path: Path) -> None:
    root = _project(tmp_path, 'mode = "fast"\n')
    proc = _run(root)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "pyproject.toml:5:1: error: PK010" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_configured_files_never_break_runs_without_prompt_suites(tmp_path: Path) -> None:
    """The table applies to every pytest run in the project: a unit-test run must not fail
    over a baseline not created yet; a prompt run reports it and goes on."""
    root = _project(tmp_path, 'paths = ["suites"]\nmode = "replay"\nbaseline = "base.json"\n')
    (root / "test_unit.py").write_text("def test_one():\n    assert 1 + 1 == 2\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    unit = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_unit.py"], cwd=root,
                          env=env, capture_output=True, text=True, check=False, timeout=120)
    assert unit.returncode == 0, unit.stdout + unit.stderr
    proc = _run(root)
    assert proc.returncode == 1  # the case's missing recording, not the baseline
    assert "base.json: baseline file not found (create it with --promptkit-update-baseline)" in proc.stdout
