"""``promptkit lock``: prompts.lock written, then checked without git history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptkit.cli import main

from .conftest import FIXTURES


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / "prompts").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (root / "prompts" / "answer.prompty").write_text((FIXTURES / "answer.prompty").read_text(encoding="utf-8"),
                                                     encoding="utf-8")
    (root / "prompts" / "notes.md").write_text("not a prompt by name\n", encoding="utf-8")
    monkeypatch.chdir(root)
    return root


def _edit(root: Path, old: str, new: str) -> None:
    p = root / "prompts" / "answer.prompty"
    p.write_text(p.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def _check(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["lock", "--check"])
    return rc, capsys.readouterr().err


def test_lock_then_check(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lock"]) == 0
    data = json.loads((project / "prompts.lock").read_text(encoding="utf-8"))
    entry = data["prompts"]["prompts/answer.prompty"]
    assert entry["id"] == "answer_question" and entry["version"] == "1.4.2" and entry["hash"].startswith("sha256:")
    assert list(data["prompts"]) == ["prompts/answer.prompty"]
    capsys.readouterr()
    assert _check(capsys)[0] == 0
    _edit(project, "Cite the article ids you used.", "Cite the article   ids you used.\n")  # whitespace only
    assert _check(capsys)[0] == 0


@pytest.mark.parametrize(("old", "new", "code"), [
    ("Never invent", "Do not invent", "PR001"),
    ("    default: friendly\n    required: false\n", "    required: true\n", "PR002"),  # tone made required
    ("      citations: {type: array, items: {type: string}}\n", "", "PR002"),  # output field removed
])
def test_check_finds_a_missing_bump(project: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                    code: str) -> None:
    main(["lock"])
    _edit(project, old, new)
    rc, err = _check(capsys)
    assert rc == 1 and f"error: {code}" in err
    _edit(project, "version: 1.4.2", "version: 2.0.0")
    rc, err = _check(capsys)
    assert rc == 1 and "PR005" in err and "stale" in err  # bumped, but the lock is not updated
    assert main(["lock"]) == 0
    assert _check(capsys)[0] == 0


def test_lock_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _check(capsys)
    assert rc == 2 and "PR005" in err and "promptkit lock" in err  # no lock yet
    (project / "prompts.lock").write_text("{broken", encoding="utf-8")
    rc, err = _check(capsys)
    assert rc == 2 and "not a prompts.lock" in err and "Traceback" not in err
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert main(["lock", "--lock-file", "pyproject.toml"]) == 2  # never clobbers a file that is not a lock
    assert "never overwritten" in capsys.readouterr().err
    (project / "prompts" / "bin.prompty").write_bytes(b"\x00\x01\x02")
    assert main(["lock"]) == 2
    assert "PR012" in capsys.readouterr().err
