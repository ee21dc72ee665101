"""`promptkit lint` / `format` given what a new user gives it: paths that are not files,
files that cannot be written back, files edited during ``--fix``, broken config values.
Every case is one clear line; the other files' results are kept."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from promptkit.cli import main
from promptkit.lint import fixes

FIXABLE = "---\nname: greet\nversion: 1.0.0\n---\nsystem:\nYou greet people warmly.  \n"
FIXED = FIXABLE.replace("warmly.  \n", "warmly.\n")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "promptkit.toml").write_text("# defaults\n")
    (tmp_path / "prompts").mkdir()
    for name in ("a", "b"):
        (tmp_path / "prompts" / f"{name}.prompty").write_text(FIXABLE)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and symlinks are POSIX")
@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("fifo", "not a regular file (a FIFO); only files and directories are linted"),
        ("symlink loop", "symbolic link loop: the link points (through other links) back to itself"),
        ("broken symlink", "broken symbolic link: its target does not exist"),
        ("missing", "no such file or directory"),
    ],
)
def test_named_paths_that_are_not_files_say_what_they_are(
    project: Path, capsys: pytest.CaptureFixture[str], kind: str, message: str
) -> None:
    p = project / "x.prompty"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "symlink loop":
        (project / "y.prompty").symlink_to(p)
        p.symlink_to(project / "y.prompty")
    elif kind == "broken symlink":
        p.symlink_to(project / "nowhere.prompty")
    rc, out, _ = run(capsys, "lint", "--no-cache", "--output-format", "concise", "x.prompty", "prompts")
    assert rc == 2  # a named path that cannot be linted is bad input (#14), like render and tokens
    assert f"x.prompty:1:1: PK001 {message}" in out
    assert "prompts/a.prompty:6:25: PK300" in out  # the other files are still linted


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_inside_a_walked_directory_does_not_block(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(project / "prompts" / "pipe.prompty")
    result: list[tuple[int, str, str]] = []
    t = threading.Thread(target=lambda: result.append(run(capsys, "lint", "--output-format", "concise", "prompts")),
                         daemon=True)
    t.start()
    t.join(60)
    assert result, "promptkit lint blocked on a FIFO"
    rc, out, _ = result[0]
    assert "prompts/pipe.prompty:1:1: PK001 cannot read file: not a regular file" in out


def test_fix_skips_a_read_only_file_and_fixes_the_rest(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ro = project / "prompts" / "a.prompty"
    ro.chmod(0o444)
    try:
        rc, out, _ = run(capsys, "lint", "--no-cache", "--fix", "--output-format", "concise", "prompts")
        assert rc == 1
        assert "prompts/a.prompty:1:1: PK001 fixes not written: the file is read-only" in out
        assert "prompts/a.prompty:6:25: PK300" in out  # its findings are kept, unfixed
        assert ro.read_text() == FIXABLE and (project / "prompts" / "b.prompty").read_text() == FIXED
        rc, _, err = run(capsys, "format", "prompts")
        assert rc == 2 and "a.prompty:1:1: error: PK001 formatting not written: the file is read-only" in err
    finally:
        ro.chmod(0o644)


def test_fix_never_overwrites_an_edit_made_during_the_run(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixes were computed for the old text: writing them would lose the edit."""
    edited = FIXABLE.replace("warmly", "kindly")
    real = fixes.fix_template

    def fix_then_someone_saves(template, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(template, *args, **kwargs)
        if template.path.endswith("a.prompty"):
            Path(template.path).write_text(edited)
        return result

    monkeypatch.setattr(fixes, "fix_template", fix_then_someone_saves)
    rc, out, _ = run(capsys, "lint", "--no-cache", "--fix", "--output-format", "concise", "prompts")
    assert rc == 1
    assert "prompts/a.prompty:1:1: PK001 fixes not written: the file changed while it was being fixed" in out
    assert (project / "prompts" / "a.prompty").read_text() == edited
    assert (project / "prompts" / "b.prompty").read_text() == FIXED
    assert not list((project / "prompts").glob(".*.tmp"))


def test_two_runs_writing_the_same_fix_both_succeed(tmp_path: Path) -> None:
    """Concurrent ``lint --fix`` runs compute the same fix: the second finds it written."""
    p = tmp_path / "a.prompty"
    p.write_text(FIXED)
    fixes.write_text_atomic(p, FIXED, like=FIXABLE.encode())  # the file already holds the new text
    assert p.read_text() == FIXED


@pytest.mark.parametrize(
    ("setting", "hint"),
    [
        ('select = "PK1"', 'write a list in brackets, e.g. select = ["PK1", "PK301"]'),
        ('token-budget = "lots"', "write a whole number (no quotes), e.g. token-budget = 4000"),
        ("token-budget = -3", "use a number above zero"),
        ('per-file-ignores = "x"', "write a table"),
    ],
)
def test_wrongly_typed_settings_say_how_to_write_them(
    project: Path, capsys: pytest.CaptureFixture[str], setting: str, hint: str
) -> None:
    (project / "promptkit.toml").write_text(f"# team settings\n{setting}\n")
    rc, out, err = run(capsys, "lint", "prompts")
    assert rc == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"{project / 'promptkit.toml'}:2:1: error: PK010 ")
    assert f"(hint: {hint}" in line


def test_the_summary_counts_an_unreadable_named_path_as_a_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, "lint", "--no-cache", "missing.prompty", "prompts/a.prompty")
    assert rc == 2 and "Found 2 problems (1 error, 1 info) in 2 of 2 files." in out


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),  # undecodable: echoed
        (b"caf\xe9 au lait\n", b"caf\xe9 au lait\n"),  # Latin-1: echoed, never blanked
        (b"\xef\xbb\xbf" + FIXABLE.encode(), b"\xef\xbb\xbf" + FIXED.encode()),  # BOM kept
        ("\ufeff".encode("utf-16-le") + FIXABLE.encode("utf-16-le"),
         "\ufeff".encode("utf-16-le") + FIXED.encode("utf-16-le")),  # UTF-16 stays UTF-16
    ],
)
def test_stdin_fix_never_blanks_or_re_encodes_the_editor_buffer(
    project: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch,
    given: bytes, expected: bytes
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(given)))
    main(["lint", "--no-cache", "-", "--stdin-filename", "prompts/x.prompty", "--fix"])
    out, _ = capsysbinary.readouterr()
    assert out == expected


@pytest.mark.parametrize(
    ("make", "message"),
    [
        ("missing", "cannot read config file: No such file or directory"),
        ("directory", "cannot read config file: a directory"),
        ("fifo", "cannot read config file: not a regular file (a FIFO, socket or device)"),
        ("latin-1", "cannot read config file: not valid UTF-8: byte 0xe9"),
        ("pack fifo", "cannot read rule pack: not a regular file (a FIFO, socket or device)"),
        ("pack binary", "cannot read rule pack: binary file (contains NUL bytes), not a rule pack"),
    ],
)
def test_unreadable_config_and_packs_are_one_line(
    project: Path, capsys: pytest.CaptureFixture[str], make: str, message: str
) -> None:
    cfg = project / "team.toml"
    if make == "directory":
        cfg.mkdir()
    elif make == "fifo":
        os.mkfifo(cfg)
    elif make == "latin-1":
        cfg.write_bytes(b'select = ["caf\xe9"]\n')
    elif make.startswith("pack"):
        cfg.write_text('rule-packs = ["pack.yaml"]\n')
        pack = project / "pack.yaml"
        os.mkfifo(pack) if make == "pack fifo" else pack.write_bytes(b"\x89PNG\x00\x00")
    rc, out, err = run(capsys, "lint", "--config", str(cfg), "prompts")
    assert rc == 2 and out == ""
    (line,) = err.splitlines()
    assert ": error: PK010 " + message in line and "(hint: " in line


def test_concurrent_fix_runs_leave_valid_files_and_cache(tmp_path: Path) -> None:
    """Three `promptkit lint --fix` processes on one tree at once (pre-commit in two
    terminals, an editor on save): every file ends fixed, no temporary file is left, and
    the cache stays valid JSON that a later run can use."""
    import json
    import subprocess

    (tmp_path / "promptkit.toml").write_text("# defaults\n")
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for i in range(24):
        (prompts / f"p{i}.prompty").write_bytes(FIXABLE.replace("\n", "\r\n" if i % 3 == 0 else "\n").encode())
    exe = Path(sys.executable).with_name("promptkit")
    argv = [str(exe)] if exe.exists() else [sys.executable, "-m", "promptkit.cli"]
    procs = [subprocess.Popen([*argv, "lint", "--fix", "-q", "--ignore", "PK303", "prompts"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode in (0, 1), err.decode()
        assert b"Traceback" not in out + err and b"not written" not in out + err
    for i in range(24):
        nl = "\r\n" if i % 3 == 0 else "\n"
        assert (prompts / f"p{i}.prompty").read_bytes() == FIXED.replace("\n", nl).encode()
    assert not [p for p in prompts.iterdir() if p.suffix == ".tmp"]
    for cache in (tmp_path / ".promptkit_cache").glob("lint-*.json"):
        json.loads(cache.read_text())
    rerun = subprocess.run([*argv, "lint", "-q", "--ignore", "PK303", "prompts"], cwd=tmp_path, capture_output=True,
                           timeout=60)
    assert rerun.returncode == 0 and b"PK300" not in rerun.stdout


def test_a_bad_flag_value_is_reported_at_the_command_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = run(capsys, "lint", "--select", "PK999", "prompts")
    assert rc == 2 and out == ""
    assert err.startswith("<command line>:1:1: error: PK010 unknown rule selector 'PK999' in --select (hint: ")
