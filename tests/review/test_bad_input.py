"""Bad input to ``promptkit diff``: one clear line each, exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptkit.cli import main

from .conftest import GitRepo


def _run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cwd: Path, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.delenv("PROMPTKIT_BASE", raising=False)
    rc = main(["diff", *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def repo(git_repo: GitRepo, base_prompt: str) -> GitRepo:
    git_repo.write("prompts/answer.prompty", base_prompt)
    git_repo.commit("base")
    return git_repo


def _one_error(err: str, *needles: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]


def test_a_revision_that_does_not_exist(repo: GitRepo, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    rc, out, err = _run(capsys, monkeypatch, repo.path, "no-such-branch")
    assert rc == 2 and out == ""
    _one_error(err, "PR010", "unknown revision 'no-such-branch'")
    rc, _, err = _run(capsys, monkeypatch, repo.path, "HEAD", "deadbeef", "--", "prompts")
    assert rc == 2
    _one_error(err, "PR010", "deadbeef")


def test_an_option_disguised_as_a_revision_is_refused(repo: GitRepo, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    target = repo.path.parent / "pwned"
    rc, _, err = _run(capsys, monkeypatch, repo.path, "HEAD", f"--output={target}", "--")
    # argparse takes it as promptkit's own -o (the diff is written there), never as git's
    assert rc == 0 and target.read_text(encoding="utf-8").startswith("promptkit diff")
    from promptkit.review.git import GitError, Repo

    for rev in (f"--output={target}x", "-p", "HEAD\n--output=x", ""):
        with pytest.raises(GitError, match="PR010"):
            Repo(repo.path).commit(rev)
    assert not Path(f"{target}x").exists()


def test_a_path_outside_the_repository(repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    rc, _, err = _run(capsys, monkeypatch, repo.path, "HEAD", str(outside))
    assert rc == 2
    _one_error(err, "PK011", "outside the repository")
    rc, _, err = _run(capsys, monkeypatch, repo.path, "HEAD", "--", "../elsewhere")
    assert rc == 2
    _one_error(err, "PK011")


def test_not_a_git_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    rc, _, err = _run(capsys, monkeypatch, plain)
    assert rc == 2
    _one_error(err, "PR011", "not a git repository")


@pytest.mark.parametrize(("content", "needle"), [
    (b"\x00\x01binary\xff\xfe" * 10, "binary"),
    ("---\nname: [broken\nversion: 1.0.0\n---\nsystem:\nhi\n".encode(), "invalid YAML"),
])
def test_a_prompt_unreadable_at_one_revision(repo: GitRepo, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch, content: bytes, needle: str) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.write("prompts/answer.prompty", content)
    head = repo.commit("broken")
    for args in ((base, head), (base,)):  # a commit, and the working tree
        rc, out, err = _run(capsys, monkeypatch, repo.path, *args)
        assert rc == 2 and out == ""
        _one_error(err, "PR012", "prompts/answer.prompty", needle)
    rc, _, err = _run(capsys, monkeypatch, repo.path, head, base)  # broken at the base side
    assert rc == 2
    _one_error(err, "PR012", f"at {head}")


def test_results_files_that_are_not_results(repo: GitRepo, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (repo.path / "junk.json").write_text("{not json", encoding="utf-8")
    rc, _, err = _run(capsys, monkeypatch, repo.path, "--base-results", "junk.json", "--head-results", "junk.json")
    assert rc == 2
    _one_error(err, "PT006")
    rc, _, err = _run(capsys, monkeypatch, repo.path, "--base-results", "junk.json")
    assert rc == 2
    _one_error(err, "--head-results")


def test_a_symlinked_prompt_leaving_the_repository_is_refused(repo: GitRepo, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret.prompty"
    secret.write_text("---\nname: s\n---\nsystem:\nAPI_KEY=hunter2\n", encoding="utf-8")
    (repo.path / "prompts" / "leak.prompty").symlink_to(secret)
    rc, out, err = _run(capsys, monkeypatch, repo.path)
    assert rc == 2 and "hunter2" not in out + err
    _one_error(err, "PK011", "points outside the project")
