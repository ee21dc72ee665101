"""promptkit.paths: the project root, and confinement of paths to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import LineIndex
from promptkit.paths import (
    PathRefused,
    confine,
    confine_argument,
    confine_arguments,
    confine_output,
    find_project_root,
    is_inside,
    project_root,
    using_root,
    vcs_part,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/ with a .git, a sub folder, symlinks in and out, and a secret next to it."""
    root = tmp_path / "root"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text("token\n")
    (root / "sub" / "deep").mkdir(parents=True)
    (root / "sub" / "data.txt").write_text("ok\n")
    (root / "pyproject.toml").write_text("[tool.promptkit]\n")
    (tmp_path / "secret.txt").write_text("secret\n")
    (root / "out_file").symlink_to(tmp_path / "secret.txt")
    (root / "out_dir").symlink_to(tmp_path)
    (root / "git_link").symlink_to(root / ".git")
    (root / "in_link").symlink_to(root / "sub" / "data.txt")
    (root / "loop").symlink_to(root / "loop")
    return root


def test_root_is_the_nearest_marker_or_the_config_or_the_override(tree: Path, tmp_path: Path) -> None:
    assert find_project_root(tree / "sub" / "deep") == tree
    assert find_project_root(tree / "sub" / "data.txt") == tree
    (tree / "sub" / "promptkit.toml").write_text("")
    assert find_project_root(tree / "sub" / "deep") == tree / "sub"
    assert project_root(tree / "sub", config_source=tree / "pyproject.toml") == tree
    with using_root(tmp_path):
        assert project_root(tree / "sub", config_source=tree / "pyproject.toml") == tmp_path.resolve()
    assert project_root(tree / "sub" / "deep") == tree / "sub"
    lonely = tmp_path / "lonely" / "a"
    lonely.mkdir(parents=True)
    assert find_project_root(lonely).name in {"a", *[p.name for p in lonely.parents]}


@pytest.mark.parametrize("ok", ["sub/data.txt", "in_link", "sub/deep/../data.txt", "sub/new-file.txt"])
def test_paths_inside_are_resolved(tree: Path, ok: str) -> None:
    real = confine(ok, tree, what="dataset")
    assert is_inside(real, tree) and not os.path.islink(real)


def test_absolute_path_inside_is_allowed(tree: Path) -> None:
    assert confine(str(tree / "sub" / "data.txt"), tree, what="dataset") == tree / "sub" / "data.txt"


@pytest.mark.parametrize("bad, words", [
    ("../secret.txt", "outside the project"),
    ("sub/../../secret.txt", "outside the project"),
    ("out_file", "through a symlink"),
    ("out_dir/secret.txt", "through a symlink"),
    ("/etc/passwd", "outside the project"),
    ("~/.aws/credentials", "home-relative"),
    (".git/config", "version-control folder .git/"),
    ("git_link/config", "version-control folder .git/"),
    ("sub/../.GIT/config", "version-control folder"),
    ("sub/.hg/hgrc", "version-control folder .hg/"),
    ("loop", "symlink loop"),
])
def test_paths_leaving_the_project_or_into_vcs_are_refused_located(tree: Path, bad: str, words: str) -> None:
    idx = LineIndex("data: x\nfile: " + bad + "\n")
    span = idx.span(14, 14 + len(bad))
    with pytest.raises(PathRefused) as info:
        confine(bad, tree, what="dataset", base=tree, source="suite.yaml", span=span)
    line = info.value.diagnostic.format()
    assert line.startswith("suite.yaml:2:7: error: PK011 dataset "), line
    assert words in line and "(hint: " in line


def test_refused_path_argument_is_reported_at_the_path(tree: Path) -> None:
    with pytest.raises(PathRefused) as info:
        confine("../secret.txt", tree, what="results file")
    assert info.value.diagnostic.format().startswith("../secret.txt:1:1: error: PK011 results file")


def test_relative_to_the_naming_file(tree: Path) -> None:
    assert confine("../data.txt", tree, what="x", base=tree / "sub" / "deep") == tree / "sub" / "data.txt"
    with pytest.raises(PathRefused):
        confine("../../../secret.txt", tree, what="x", base=tree / "sub" / "deep")


def test_vcs_allowed_only_when_asked(tree: Path) -> None:
    assert confine(".git/config", tree, what="x", allow_vcs=True) == tree / ".git" / "config"
    assert vcs_part(tree / "a" / ".svn" / "x", tree) == ".svn"
    assert vcs_part(tree / "a" / "git" / "x", tree) is None


def test_output_never_the_root_nor_a_foreign_file(tree: Path) -> None:
    for bad, words in [(".", "project root itself"), ("pyproject.toml", "not written by promptkit"),
                       ("sub", "a folder, not a file"), ("../x.json", "outside the project"),
                       (".git/hooks/pre-commit", "version-control")]:
        with pytest.raises(PathRefused, match=words):
            confine_output(bad, tree, what="results file")
    assert confine_output(".promptkit/results.json", tree, what="results file") == tree / ".promptkit" / "results.json"
    (tree / "mine.json").write_text('{"promptkit": 1}')
    assert confine_output("mine.json", tree, what="r", ours=lambda p: "promptkit" in p.read_text())
    with pytest.raises(PathRefused, match="not written by promptkit"):
        confine_output("sub/data.txt", tree, what="r", ours=lambda p: "promptkit" in p.read_text())


def test_output_folder_must_be_new_empty_or_ours(tree: Path) -> None:
    with pytest.raises(PathRefused, match="folder promptkit did not create"):
        confine_output("sub", tree, what="cache-dir", directory=True)
    with pytest.raises(PathRefused, match="project root itself"):
        confine_output(".", tree, what="cache-dir", directory=True)
    with pytest.raises(PathRefused, match="a file, not a folder"):
        confine_output("sub/data.txt", tree, what="cache-dir", directory=True)
    (tree / "empty").mkdir()
    assert confine_output("empty", tree, what="cache-dir", directory=True) == tree / "empty"
    assert confine_output("sub", tree, what="cache-dir", directory=True, ours=lambda p: True) == tree / "sub"


_SEGMENTS = st.sampled_from(["sub", "deep", "..", ".", ".git", "out_dir", "git_link", "in_link", "data.txt", "x"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_SEGMENTS, min_size=1, max_size=6), absolute=st.booleans())
def test_property_confined_or_refused(tree: Path, parts: list[str], absolute: bool) -> None:
    """Whatever the path, confine() returns a resolved path inside the root and outside
    every VCS folder, or refuses it; it never returns anything else."""
    rel = "/".join(parts)
    path = str(tree / rel) if absolute else rel
    try:
        real = confine(path, tree, what="x")
    except PathRefused as exc:
        assert exc.diagnostic.code == "PK011"
        return
    assert real == Path(os.path.realpath(tree / rel))
    assert is_inside(real, tree)
    assert vcs_part(real, tree) is None


@pytest.mark.parametrize("command", ["render", "tokens"])
@pytest.mark.parametrize("front_matter", [
    "inputs:\n  q:\n    type: string\n    sample: ${file:../outside.txt}\n",  # an input's sample
    "inputs:\n  q: {type: string}\nsample: ${file:../outside.txt}\n",          # the sample file
    "inputs:\n  q: {type: string}\nsample: ${file:.git/config}\n",              # into .git
])
def test_refused_sample_references_carry_pk011(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], command: str,
                                               front_matter: str) -> None:
    """render and tokens refuse a sample read from outside the project (or from .git)
    with the same located PK011 as every other confined path, and print nothing of it."""
    from promptkit.cli import main

    (tmp_path / "outside.txt").write_text("SECRET-OUTSIDE")
    proj = tmp_path / "proj"
    (proj / ".git").mkdir(parents=True)
    (proj / ".git" / "config").write_text("[remote] token = SECRET-GIT")
    (proj / "t.prompty").write_text(f"---\nname: t\n{front_matter}---\nuser:\n{{{{ q }}}}\n")
    monkeypatch.chdir(proj)
    assert main([command, "t.prompty"]) == 2
    out = capsys.readouterr()
    assert "SECRET" not in out.out + out.err
    assert ": error: PK011 cannot resolve sample:" in out.err, out.err
    assert out.err.startswith("t.prompty:") or "/t.prompty:" in out.err


@pytest.mark.parametrize(("cwd", "arg", "ok"), [
    ("sub/deep", "../data.txt", True),          # up one folder, still inside
    ("sub/deep", "../../sub/data.txt", True),
    ("sub", "./data.txt", True),
    ("sub/deep", "../../out_file", False),      # a symlink inside that leaves the project
    ("sub/deep", "../../git_link/config", False),
])
def test_argument_is_relative_to_where_the_user_stands(tree: Path, monkeypatch: pytest.MonkeyPatch,
                                                        cwd: str, arg: str, ok: bool) -> None:
    """A command-line path is read from the cwd, not from the project root: from
    ``sub/deep``, ``../data.txt`` is ``sub/data.txt`` (it was once resolved against the
    root and refused as outside the project)."""
    from promptkit.paths import confine_argument

    monkeypatch.chdir(tree / cwd)
    if ok:
        got = confine_argument(arg, tree, what="prompt file")
        assert got == Path(os.path.realpath(tree / cwd / arg))
    else:
        with pytest.raises(PathRefused):
            confine_argument(arg, tree, what="prompt file")


def test_batch_confinement_agrees_with_the_single_check(tree: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """confine_arguments (discovery's fast path: one resolve per folder) keeps and refuses
    exactly what confine_argument does, path by path, in order."""
    (tree / "sub" / "deep" / "p.md").write_text("x\n")
    (tree / "sub" / "~draft.md").write_text("x\n")
    (tree / "linked_dir").symlink_to(tree / "sub")
    (tree / "sub" / "vcs_file").symlink_to(tree / ".git" / "config")
    (tmp_path / "outside.md").write_text("x\n")
    monkeypatch.chdir(tree)
    names = ["sub/data.txt", "sub/deep/p.md", "sub/~draft.md", "out_file", "in_link", "loop", "git_link/config",
             "out_dir/secret.txt", "linked_dir/data.txt", "sub/vcs_file", ".git/config", str(tmp_path / "outside.md"),
             str(tree / "sub" / "data.txt"), "./sub/../sub/data.txt"]
    expected_kept, expected_refused = [], []
    for n in names:
        try:
            confine_argument(n, tree, what="prompt file")
            expected_kept.append(Path(n))
        except PathRefused as exc:
            expected_refused.append(exc.diagnostic.message)
    kept, refused = confine_arguments(names, tree, what="prompt file")
    assert kept == expected_kept
    assert [d.message for d in refused] == expected_refused
    assert len(refused) >= 5  # out_file, loop, git_link, out_dir, vcs_file, .git
