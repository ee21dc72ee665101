"""Hostile recording, results and lint-cache files, as a stranger's PR would commit them.

A recording where the case's ``<key>.json`` should be is a FIFO (opening it blocks
forever), a symlink to ``/dev/zero`` or ``/dev/urandom`` (never ends), a 100 MB file,
100,000-deep JSON, UTF-16, a directory or a symlink loop. Each is that case's ERROR naming
the file with a hint to re-record, in CI replay mode, within a time bound: never a hang, an
out-of-memory or an internal error. The same files as the lint cache are ignored with a
warning and rebuilt; as a baseline they are a one-line refusal.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from promptkit.atomic import STALE_TEMP_AGE_S, remove_stale_temp_files, write_atomic
from promptkit.runner.engine import Runner, jobs_for_suite
from promptkit.runner.recordings import MAX_RECORDING_BYTES, Recorder, RecordingStore, recording_key
from promptkit.runner.suite import load_suite
from promptkit.template import render
from promptkit.template.source import NotAFile, read_bytes
from tests.security.conftest import AttackProject, assert_no_traceback

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, /dev and symlinks as on a CI runner")

SUITE = """prompts: [answer.prompty]
cases:
  - id: france
    vars: {question: capital of France?}
    assert: [{icontains: paris}]
"""


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _zero(p: Path) -> None:
    p.symlink_to("/dev/zero")


def _urandom(p: Path) -> None:
    p.symlink_to("/dev/urandom")


def _huge(p: Path) -> None:
    with open(p, "wb") as fh:  # 100 MB, sparse: the size alone must refuse it
        fh.truncate(100 * 1024 * 1024)


def _deep(p: Path) -> None:
    p.write_text('{"samples": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")


def _utf16(p: Path) -> None:
    p.write_text('{"key": "x", "model": "m", "messages": [], "samples": []}', encoding="utf-16")


def _directory(p: Path) -> None:
    p.mkdir()
    (p / "x.json").write_text("{}", encoding="utf-8")


def _loop(p: Path) -> None:
    p.symlink_to(p.name)


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    # name: (how the PR makes it, what the one-line error says)
    "fifo": (_fifo, "cannot read recording: not a regular file (a FIFO, socket or device)"),
    "dev-zero": (_zero, "cannot read recording: PK011 recording '"),  # ... points outside the project (promptkit.paths)
    "dev-urandom": (_urandom, "cannot read recording: PK011 recording '"),
    "huge": (_huge, f"cannot read recording: file is 104,857,600 bytes, over the {MAX_RECORDING_BYTES:,}-byte limit"),
    "deep": (_deep, "corrupt recording (file: Invalid JSON: recursion limit exceeded"),
    "utf16": (_utf16, "corrupt recording (not UTF-8: byte 0xff at offset 0"),
    "directory": (_directory, "cannot read recording: a directory"),
    "loop": (_loop, "' is a symlink loop"),
}


def _recording_path(suite_file: Path) -> Path:
    """Where the case's recording lives, computed as the engine does (key of the rendered request)."""
    suite = load_suite(suite_file)
    [job] = jobs_for_suite(suite)
    runner = Runner()
    template = runner._template(job)
    messages = [{"role": m.role, "content": m.content} for m in render(template, dict(job.case_run.vars))]
    model, params = runner._model_and_params(job, template)
    return job.store.path_for(recording_key(model, messages, params))


def test_hostile_recordings_are_one_error_each_in_ci_replay(attack: AttackProject) -> None:
    paths: dict[str, Path] = {}
    for name, (make, _) in HOSTILE.items():
        suite = attack.write(f"{name}.prompttest.yaml", SUITE)
        paths[name] = _recording_path(suite)
        paths[name].parent.mkdir(parents=True, exist_ok=True)
        make(paths[name])
    started = time.monotonic()
    proc = attack.run("test", timeout=180)  # CI=true: replay, as a PR's CI job runs it
    elapsed = time.monotonic() - started
    out = assert_no_traceback(proc)
    assert proc.returncode == 1, out  # cases ERRORed; not a crash (3), not bad input (2)
    assert "internal error" not in out
    for name, (_, words) in HOSTILE.items():
        shown = paths[name].relative_to(attack.root).as_posix()  # as the suite names it
        line = next((ln for ln in out.splitlines() if f"ERROR: {shown}: " in ln), None)
        assert line is not None and words in line, (name, out)
        assert f"delete {shown} and record it again: promptkit test {name}.prompttest.yaml --mode record" in out
    assert "promptkit test fifo.prompttest.yaml --mode record -k france" in out
    assert elapsed < 170  # bounded: a FIFO opened for reading would have blocked until the timeout


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_recording_in_process(tmp_path: Path, name: str) -> None:
    """The same files through the Recorder: every mode answers with an ERROR, fast; in
    ``auto`` a special file is never recorded over unasked."""
    import asyncio

    from promptkit.runner.recordings import Mode
    from promptkit.runner.results import ProviderError

    store = RecordingStore(tmp_path / "recs")
    store.directory.mkdir()
    msgs = [{"role": "user", "content": "hi"}]
    key = recording_key("openai/m", msgs, {})
    where = store.path_for(key)
    HOSTILE[name][0](where)
    calls: list[int] = []

    async def call(*_: object) -> object:
        calls.append(1)
        raise AssertionError("replay must not call")

    started = time.monotonic()
    out = asyncio.run(Recorder(Mode.REPLAY, call).samples(store, "openai/m", msgs, {}, 2, suite_path="s.prompttest.yaml",
                                                          case_id="c"))
    assert time.monotonic() - started < 5
    assert len(out) == 2 and all(isinstance(e, ProviderError) for e in out)
    err = out[0]
    assert isinstance(err, ProviderError)
    assert str(err).startswith(f"{where}: ") and HOSTILE[name][1] in str(err)
    assert "promptkit test s.prompttest.yaml --mode record -k c" in err.hint
    if err.kind == "unreadable_recording":  # a special file: auto mode leaves it alone too
        auto = asyncio.run(Recorder(Mode.AUTO, call).samples(store, "openai/m", msgs, {}, 1))
        assert isinstance(auto[0], ProviderError) and not calls


# ---------------------------------------------------------------------- the lint cache


LINT_HOSTILE = ["fifo", "dev-zero", "huge", "deep", "utf16", "directory", "loop"]


@pytest.mark.parametrize("name", LINT_HOSTILE)
def test_hostile_lint_cache_is_ignored_with_a_warning(attack: AttackProject, name: str) -> None:
    first = attack.run("lint", ".", timeout=120)
    [cache_file] = (attack.root / ".promptkit_cache").glob("lint-*.json")
    cache_file.unlink()
    HOSTILE[name][0](cache_file)
    started = time.monotonic()
    proc = attack.run("lint", ".", timeout=120)
    assert time.monotonic() - started < 110
    out = assert_no_traceback(proc)
    assert proc.returncode == first.returncode, out  # the findings are the same: the cache was only skipped
    assert f"{cache_file}: warning: lint cache ignored (" in proc.stderr, out
    assert proc.stdout == first.stdout
    if name not in ("directory",):  # rebuilt: the next save replaced it with a file of our own
        assert cache_file.is_file() and not cache_file.is_symlink()
        assert cache_file.stat().st_size < 1024 * 1024


# ---------------------------------------------------------------------- results and baselines


@pytest.mark.parametrize("name", ["fifo", "dev-zero", "huge", "utf16", "directory", "loop"])
def test_hostile_baseline_is_refused(attack: AttackProject, name: str) -> None:
    attack.write("answers.prompttest.yaml", SUITE)
    HOSTILE[name][0](attack.root / "base.json")
    proc = attack.run("test", "--baseline", "base.json", timeout=120)
    out = assert_no_traceback(proc)
    assert proc.returncode == 2, out
    assert "base.json" in out and "PT006" in out, out


# ---------------------------------------------------------------------- the helpers themselves


def test_read_bytes_refuses_without_opening(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotAFile, match="FIFO"):
        read_bytes(fifo, max_bytes=10)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    with pytest.raises(NotAFile, match="11 bytes, over the 10-byte limit") as err:
        read_bytes(big, max_bytes=10)
    assert err.value.too_big and err.value.size == 11
    assert read_bytes(big, max_bytes=11) == b"x" * 11


def test_stale_temp_files_are_ignored_by_replay_and_cleaned_up(tmp_path: Path) -> None:
    """A SIGKILL between mkstemp and rename leaves ``.<key>.json.<8>.tmp``: replay never
    reads it; the next write removes it once it is old, but never a live writer's file,
    a file of another name, or anything through a symlink."""
    import asyncio

    from promptkit.runner.recordings import Mode, RecordedSample, Recording
    from promptkit.runner.results import ProviderError

    store = RecordingStore(tmp_path / "recs")
    store.directory.mkdir()
    key = "0123456789abcdef"
    old = store.directory / f".{key}.json.k3x9_a2b.tmp"
    old.write_text('{"key": "0123456789abcdef", "model": "m", "messages": [], "samples": [{"text": "stale"}]}',
                   encoding="utf-8")
    live = store.directory / f".{key}.json.zz81mq0p.tmp"  # another worker, writing right now
    live.write_text("{", encoding="utf-8")
    foreign = store.directory / ".notes.md.abcdefgh.tmp"  # not a recording's temp file
    foreign.write_text("mine", encoding="utf-8")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep", encoding="utf-8")
    link = store.directory / f".{key}.json.linkto12.tmp"
    link.symlink_to(victim)
    past = time.time() - STALE_TEMP_AGE_S - 60
    for p in (old, foreign):
        os.utime(p, (past, past))
    os.utime(link, (past, past), follow_symlinks=False)

    async def call(*_: object) -> object:
        raise AssertionError("replay must not call")

    [miss] = asyncio.run(Recorder(Mode.REPLAY, call).samples(store, "m", [], {}, 1))
    assert isinstance(miss, ProviderError) and miss.kind == "missing_recording"  # the .tmp never replays

    store.save(Recording(key="fedcba9876543210", model="m", messages=[], samples=[RecordedSample(text="ok")]))
    assert not old.exists()
    assert live.exists() and foreign.exists() and link.is_symlink() and victim.read_text(encoding="utf-8") == "keep"
    assert remove_stale_temp_files(store.directory, lambda n: n == f"{key}.json", older_than_s=0) == 1  # the live one, once old
    write_atomic(store.directory / "plain.json", "{}")
    assert sorted(p.name for p in store.directory.iterdir()) == sorted(
        [".notes.md.abcdefgh.tmp", f".{key}.json.linkto12.tmp", "fedcba9876543210.json", "plain.json"])
