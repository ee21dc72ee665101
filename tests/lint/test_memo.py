"""The lint run memo: an unchanged run prints the same thing without the linter; any
change to what the run read -- a prompt, a folder's listing, a config file that did not
exist, a .gitignore, the command line -- gives a fresh run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.cli import main
from promptkit.lint import memo
from promptkit.lint.cache import tag_cache_dir

BAD = "---\nname: x\nversion: 1.0.0\n---\nsystem:\nWrite for [YOUR NAME].\n"
GOOD = "---\nname: x\nversion: 1.0.0\n---\nsystem:\nWrite for the people who read it.\n"
SUITE = "prompt: {prompt}\ncases:\n  - vars: {{}}\n    assert:\n      - type: contains\n        value: ok\n"


def _lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main(["lint", *args])
    return rc, capsys.readouterr().out


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Trust inputs however new they are (tests edit files milliseconds apart), and count
    the runs answered from a memo."""
    monkeypatch.setattr(memo, "RACY_S", 0.0)
    hits: list[int] = []
    real = memo.replay

    def counting(args: list[str]) -> int | None:
        rc = real(args)
        if rc is not None:
            hits.append(rc)
        return rc

    monkeypatch.setattr(memo, "replay", counting)
    return hits


def _project(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "a.prompty").write_text(BAD)
    (root / "sub" / "b.prompty").write_text(GOOD)
    # The lint cache's folder, as the first run would make it: later runs then leave the
    # project folder as it is (a folder changed during a run is not trusted).
    (root / ".promptkit_cache").mkdir()
    tag_cache_dir(root / ".promptkit_cache")


# Each operation changes a size, an inode or a listing, so it is seen even within one
# tick of the file system's clock (the production RACY_S guards against the rest).
def _op(root: Path, op: str, n: int) -> None:
    prompts = sorted(root.rglob("*.prompty"))
    target = prompts[n % len(prompts)] if prompts else root / "a.prompty"
    if op == "append-defect":
        with target.open("a") as fh:
            fh.write("Ask for [COMPANY] too.\n" + "x" * n + "\n")
    elif op == "rewrite-good" and target.exists():
        target.write_text(GOOD + "#" * (n + 1) + "\n")
    elif op == "add-file":
        folder = root / ("sub" if n % 2 else f"new{n}")
        folder.mkdir(exist_ok=True)
        (folder / f"p{n}.prompty").write_text(BAD)
    elif op == "remove-file" and len(prompts) > 1:
        target.unlink()
    elif op == "config-ignore":
        (root / "pyproject.toml").write_text('[tool.promptkit]\nignore = ["PK7"]\n' + "#" * n + "\n")
    elif op == "config-exclude":
        (root / "promptkit.toml").write_text('[tool.promptkit]\nexclude = ["sub"]\n' + "#" * n + "\n")
    elif op == "config-none":
        for name in ("pyproject.toml", "promptkit.toml"):
            (root / name).unlink(missing_ok=True)
    elif op == "pyproject-without-table":
        (root / "pyproject.toml").write_text("[project]\nname = 'x'\n" + "#" * n + "\n")
    elif op == "suite-missing-prompt":
        (root / "s.prompttest.yaml").write_text(SUITE.format(prompt=f"later{n}.prompty"))
    elif op == "create-suite-prompt":
        suite = root / "s.prompttest.yaml"
        if suite.exists():
            name = suite.read_text().split()[1]
            (root / name).write_text(GOOD)


OPS = ["append-defect", "rewrite-good", "add-file", "remove-file", "config-ignore", "config-exclude", "config-none",
       "pyproject-without-table", "suite-missing-prompt", "create-suite-prompt"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 5)), min_size=1, max_size=6))
def test_a_memo_never_answers_for_changed_inputs(ops: list[tuple[str, int]], fresh: list[int],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(tempfile.mkdtemp()) / "proj"
    here = os.getcwd()
    try:
        _project(root)
        os.chdir(root)
        for op, n in [("append-defect", 0), *ops]:
            _op(root, op, n)
            want = _lint(capsys, ".", "--no-cache", "--output-format", "concise")
            first = _lint(capsys, ".", "--output-format", "concise")
            before = len(fresh)
            again = _lint(capsys, ".", "--output-format", "concise")
            assert first == want, op
            assert again == want, op
            assert len(fresh) == before + 1, f"the unchanged run after {op} was not answered from its memo"
    finally:
        os.chdir(here)
        shutil.rmtree(root.parent, ignore_errors=True)


def test_command_line_and_environment_are_part_of_the_key(tmp_path: Path, fresh: list[int],
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    text = _lint(capsys, ".")
    concise = _lint(capsys, ".", "--output-format", "concise")
    assert text != concise
    assert _lint(capsys, ".") == text and _lint(capsys, ".", "--output-format", "concise") == concise
    assert len(fresh) == 2
    monkeypatch.setenv("PROMPTKIT_SOMETHING", "1")
    assert _lint(capsys, ".") == text
    assert len(fresh) == 2  # a new key: a fresh run
    monkeypatch.chdir(tmp_path / "sub")
    rc, out = _lint(capsys, "..")
    assert "../a.prompty" in out  # paths relative to the new working folder, not the memo's


def test_gitignore_and_git_index_are_inputs(tmp_path: Path, fresh: list[int], capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _project(tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gitignore").write_text("a.prompty\n")
    _, out = _lint(capsys, ".", "--output-format", "concise")
    assert "a.prompty" not in out
    assert _lint(capsys, ".", "--output-format", "concise")[1] == out and len(fresh) == 1
    (tmp_path / ".gitignore").write_text("other.prompty\n")
    assert "a.prompty" in _lint(capsys, ".", "--output-format", "concise")[1]
    (tmp_path / "sub" / ".gitignore").write_text("b.prompty\n*.prompty\n")
    (tmp_path / "sub" / "b.prompty").write_text(BAD)
    _, out = _lint(capsys, ".", "--output-format", "concise")
    assert "b.prompty" not in out
    subprocess.run(["git", "-C", str(tmp_path), "add", "-f", "sub/b.prompty"], check=True)
    assert "b.prompty" in _lint(capsys, ".", "--output-format", "concise")[1]  # tracked: never ignored


def test_runs_that_write_or_warn_are_not_memoized(tmp_path: Path, fresh: list[int],
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    folder = Path(os.environ["PROMPTKIT_MEMO_DIR"])
    for args in (["--fix"], ["--diff"], ["--no-cache"], ["--show-files"], ["--add-noqa"]):
        (tmp_path / "a.prompty").write_text(BAD)
        main(["lint", ".", *args])
        main(["lint", ".", *args])
        assert not list(folder.glob("run-*.json")), args
    assert fresh == []
    cache = tmp_path / ".promptkit_cache"
    main(["lint", "."])  # makes the cache folder
    for f in folder.glob("run-*.json"):
        f.unlink()
    for f in cache.glob("lint-*.json"):
        f.write_bytes(b"\xff\xfe not utf-8")  # the lint cache warns on stderr and is rebuilt
    capsys.readouterr()
    main(["lint", "."])
    assert "lint cache ignored" in capsys.readouterr().err
    assert not list(folder.glob("run-*.json"))


@pytest.mark.parametrize("damage", ["truncated", "directory", "fifo", "wrong-shape", "no-inputs", "other-key"])
def test_a_damaged_memo_is_a_miss(damage: str, tmp_path: Path, fresh: list[int], capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    want = _lint(capsys, ".")
    (memo_file,) = Path(os.environ["PROMPTKIT_MEMO_DIR"]).glob("run-*.json")
    if damage == "truncated":
        memo_file.write_bytes(memo_file.read_bytes()[:50])
    elif damage == "wrong-shape":
        memo_file.write_text('{"format": 1, "deps": [[1, 2, 3]], "links": [], "stdout": "forged", "rc": 0}')
    elif damage in ("no-inputs", "other-key"):
        forged = json.loads(memo_file.read_text())
        forged["stdout"] = "All checks passed! (forged)\n"
        if damage == "no-inputs":
            forged["deps"] = []
        else:
            forged["key"] = "0" * 32
        memo_file.write_text(json.dumps(forged))
    else:
        memo_file.unlink()
        memo_file.mkdir() if damage == "directory" else os.mkfifo(memo_file)
    assert _lint(capsys, ".") == want
    assert fresh == []


def test_a_replay_imports_no_linter(tmp_path: Path) -> None:
    """From the shell, as a pre-commit hook runs it: the second run answers from the memo
    without importing the rules, pydantic or Jinja."""
    proj = tmp_path / "proj"
    _project(proj)
    (proj / "t.prompttest.yaml").write_text(SUITE.format(prompt="a.prompty"))
    (tmp_path / "memo").mkdir()
    time.sleep(memo.RACY_S + 0.2)  # inputs this new are not trusted
    cmd = [sys.executable, "-X", "importtime", "-m", "promptkit.cli", "lint", ".", "--output-format", "concise"]
    env = {**os.environ, "PROMPTKIT_MEMO_DIR": str(tmp_path / "memo")}
    runs = [subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert runs[0].returncode == runs[1].returncode == 1
    assert runs[0].stdout == runs[1].stdout and "PK701" in runs[0].stdout
    assert "promptkit.lint.engine" in runs[0].stderr
    for heavy in ("promptkit.lint.engine", "promptkit.lint.rules", "pydantic", "jinja2", "yaml"):
        assert f" {heavy}\n" not in runs[1].stderr, heavy
