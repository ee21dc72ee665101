"""The content-hash cache: hits, misses on change, robustness, concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from promptkit.diagnostics import Diagnostic, Edit, Fix, LineIndex, Severity
from promptkit.lint.cache import LintCache, decode, encode
from promptkit.lint.config import LintConfig
from promptkit.lint.engine import lint_files, lint_records
from promptkit.template import FileKind

BAD = "---\nname: x\nversion: 1.0.0\n---\nsystem:\nWrite for [YOUR NAME].\n"
GOOD = "---\nname: x\nversion: 1.0.0\n---\nsystem:\nWrite for people.\n"


def _files(tmp_path: Path, n: int = 5) -> list[Path]:
    out = []
    for i in range(n):
        p = tmp_path / "prompts" / f"p{i}.prompty"
        p.parent.mkdir(exist_ok=True)
        p.write_text(BAD if i % 2 == 0 else GOOD)
        out.append(p)
    return out


def _config(tmp_path: Path, **kw: object) -> LintConfig:
    return LintConfig(cache_dir=str(tmp_path / "cache"), **kw).resolve()  # type: ignore[arg-type]


def test_encode_decode_round_trip() -> None:
    idx = LineIndex("abc\ndef\n")
    d = Diagnostic("p", "m", Severity.INFO, "PK009", "unused-noqa", idx.span(4, 6), "h",
                   Fix([Edit(4, 6, "X")], safe=False, description="d"), {"rule": "PK1"})
    assert decode("p", json.loads(json.dumps(encode(d)))) == d


def test_second_run_comes_from_cache(tmp_path: Path) -> None:
    files = _files(tmp_path)
    cfg = _config(tmp_path)
    first = lint_files(files, cfg)
    second = lint_files(files, cfg)
    assert first.linted == 5 and first.cached == 0
    assert second.linted == 0 and second.cached == 5
    assert [d.to_dict() for d in first.diagnostics] == [d.to_dict() for d in second.diagnostics]
    cache_dir = tmp_path / "cache"
    assert (cache_dir / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache_dir / ".gitignore").read_text().strip().endswith("*")


def test_changed_file_and_changed_settings_are_relinted(tmp_path: Path) -> None:
    files = _files(tmp_path)
    cfg = _config(tmp_path)
    lint_files(files, cfg)
    files[0].write_text(GOOD)
    r = lint_files(files, cfg)
    assert r.linted == 1 and r.cached == 4
    assert not any(d.path == str(files[0]) for d in r.diagnostics)
    r2 = lint_files(files, _config(tmp_path, ignore=["PK701"]))
    assert r2.linted == 5


def test_virtual_records_are_cached_by_text_and_kind(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    recs = [("rows.jsonl#1", "Write for [YOUR NAME].", FileKind.TEXT)]
    assert lint_records(recs, cfg).linted == 1
    assert lint_records(recs, cfg).cached == 1
    assert lint_records([("rows.jsonl#1", "Write for people.", FileKind.TEXT)], cfg).linted == 1
    assert lint_records([("rows.jsonl#1", "Write for people.", FileKind.MARKDOWN)], cfg).linted == 1


def test_corrupt_or_foreign_cache_is_a_miss_not_an_error(tmp_path: Path) -> None:
    files = _files(tmp_path, 2)
    cfg = _config(tmp_path)
    lint_files(files, cfg)
    cache_file = next((tmp_path / "cache").glob("lint-*.json"))
    keys = list(json.loads(cache_file.read_text())["entries"])
    wrong_shapes = [5, None, "x", [], ["digest"], [1, 2], {"a": 1}, ["d", 5], ["d", [5]], ["d", [[1, 2]]]]
    junks = ["{not json", json.dumps({"format": 1, "entries": {str(files[0]): ["x", [["bad"]]]}}), "[]", "\x00\xff",
             json.dumps({"format": 1, "entries": []})]
    junks += [json.dumps({"format": 1, "entries": dict.fromkeys(keys, w)}) for w in wrong_shapes]
    for junk in junks:
        cache_file.write_text(junk)
        r = lint_files(files, cfg)
        assert r.linted + r.cached == 2
        assert any(d.code == "PK701" for d in r.diagnostics)


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    files = _files(tmp_path, 2)
    lint_files(files, _config(tmp_path), use_cache=False)
    assert not (tmp_path / "cache").exists()


def _writer(args: tuple[str, str, int]) -> int:
    cache_dir, settings, worker = args
    c = LintCache(Path(cache_dir), settings)
    for i in range(40):
        c.put(f"w{worker}-{i}", "digest", [Diagnostic(f"w{worker}-{i}", "m" * 200, code="PK009")])
        if i % 5 == 0:
            c.save()
    c.save()
    return worker


def test_concurrent_writers_never_corrupt_the_cache(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        assert sorted(pool.map(_writer, [(str(cache_dir), "same", w) for w in range(4)])) == [0, 1, 2, 3]
    data = json.loads((cache_dir / "lint-same.json").read_text())  # parses: never torn
    assert data["format"] == 1
    fresh = LintCache(cache_dir, "same")
    # every entry that survived decodes; the last writer's own entries are all there
    assert all(fresh.get(k, "digest") is not None for k in data["entries"])
    assert len(data["entries"]) >= 40
    assert not list(cache_dir.glob(".tmp-*"))


def _age(paths: list[Path], seconds: float = 60.0) -> None:
    """Make files look written a while ago (older than the cache's racy window)."""
    import os
    import time

    for p in paths:
        t = time.time() - seconds
        os.utime(p, (t, t))


def _entry(tmp_path: Path, cfg: LintConfig, path: Path) -> list[object]:
    data = json.loads((tmp_path / "cache" / f"lint-{cfg.settings_hash()}.json").read_text())
    return data["entries"][str(path)]  # type: ignore[no-any-return]


def test_stat_fast_path_trusts_only_old_files_and_the_content_hash_decides(tmp_path: Path, monkeypatch: object) -> None:
    """A file older than the racy window is recorded with its stat and not read again on
    a hit; a new file is hashed every run; a same-size rewrite with its mtime put back is
    caught (ctime changes), and a touched but unchanged file is still a hit."""
    import os

    from promptkit.lint import cache as cache_mod

    files = _files(tmp_path, 3)
    cfg = _config(tmp_path)
    _age(files[:2])
    lint_files(files, cfg)
    assert len(_entry(tmp_path, cfg, files[0])) == 3  # old: stat recorded
    assert len(_entry(tmp_path, cfg, files[2])) == 2  # just written: hashed next time
    reads: list[str] = []
    real_digest = cache_mod.file_digest
    monkeypatch.setattr(cache_mod, "file_digest", lambda data: reads.append("x") or real_digest(data))  # type: ignore[attr-defined]
    r = lint_files(files, cfg)
    assert r.cached == 3 and len(reads) == 1  # only the new file was read and hashed
    # same size, other content, mtime put back: the stat still differs (ctime), so it is re-hashed
    st = os.stat(files[0])
    files[0].write_text(BAD.replace("YOUR NAME", "THEIR NAME")[: len(BAD)].ljust(len(BAD)))
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns))
    r = lint_files(files, cfg)
    assert r.linted == 1 and r.cached == 2
    # touched, not changed: a hit, and the new stat is remembered
    _age([files[1]], 30.0)
    reads.clear()
    assert lint_files(files, cfg).cached == 3
    assert lint_files(files, cfg).cached == 3


def test_old_cache_rows_without_a_stat_are_still_hits(tmp_path: Path) -> None:
    files = _files(tmp_path, 2)
    _age(files)
    cfg = _config(tmp_path)
    lint_files(files, cfg)
    f = tmp_path / "cache" / f"lint-{cfg.settings_hash()}.json"
    data = json.loads(f.read_text())
    data["entries"] = {k: v[:2] for k, v in data["entries"].items()}
    f.write_text(json.dumps(data))
    assert lint_files(files, cfg).cached == 2
