"""The parsed-suite cache (promptkit.runner.suite_cache): a warm load is the same suite as
a cold one, with the same error positions, and a cache file is never trusted blindly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import PromptkitError
from promptkit.runner import suite_cache
from promptkit.runner.suite_file import load_suite

PROMPT = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "prompts" / "greet.prompty"


def _suite_text(cases: int, bad_at: int | None = None) -> str:
    lines = ["prompts: [greet.prompty]", "cases:"]
    for i in range(cases):
        option = "mx: 20" if i == bad_at else "max: 20"
        lines += [f"  - id: c{i}", f"    vars: {{name: 'n{i}', times: {i % 3 + 1}}}", "    assert:",
                  f"      - {{type: contains, value: 'n{i}'}}", f"      - {{type: length, {option}, unit: words}}"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    shutil.copy(PROMPT, tmp_path / "greet.prompty")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cache_files(project: Path) -> list[Path]:
    d = project / ".promptkit" / "cache"
    return sorted(d.glob("suite-*.json")) if d.is_dir() else []


def _primed(project: Path) -> tuple[Path, Path, dict[str, Any]]:
    """A 60-case suite loaded once: its path, its cache file and that file's JSON."""
    path = project / "s.prompttest.yaml"
    path.write_text(_suite_text(60), encoding="utf-8")
    load_suite(path.name)
    (file,) = _cache_files(project)
    return path, file, json.loads(file.read_text(encoding="utf-8"))


def _no_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    import promptkit.template.frontmatter as fm

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("parsed again: the cache was not used")

    monkeypatch.setattr(fm, "parse_yaml", refuse)


def _shape(suite: object) -> list[tuple[object, ...]]:
    return [(c.id, c.vars, c.line, c.source, [(a.label, a.span) for a in c.assertions]) for c in suite.cases]  # type: ignore[attr-defined]


def test_warm_load_is_the_same_suite_without_parsing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "s.prompttest.yaml").write_text(_suite_text(60), encoding="utf-8")
    cold = load_suite("s.prompttest.yaml")
    assert len(_cache_files(project)) == 1
    tag = project / ".promptkit" / "cache" / "CACHEDIR.TAG"
    assert tag.read_text(encoding="utf-8").startswith("Signature: 8a477f597d28d172789f06886806bc55")
    _no_parse(monkeypatch)
    warm = load_suite("s.prompttest.yaml")
    assert _shape(warm) == _shape(cold)


def test_errors_are_located_the_same_from_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "s.prompttest.yaml").write_text(_suite_text(60, bad_at=41), encoding="utf-8")
    with pytest.raises(PromptkitError) as cold:
        load_suite("s.prompttest.yaml")
    assert _cache_files(project), "a file whose YAML reads is cached even when its content is wrong"
    _no_parse(monkeypatch)
    with pytest.raises(PromptkitError) as warm:
        load_suite("s.prompttest.yaml")
    assert warm.value.format_all() == cold.value.format_all()
    assert ":" in cold.value.format_all() and "mx" in cold.value.format_all()


def test_an_edit_is_a_miss_and_the_file_is_replaced(project: Path) -> None:
    path = project / "s.prompttest.yaml"
    path.write_text(_suite_text(60), encoding="utf-8")
    load_suite(path.name)
    path.write_text(_suite_text(61), encoding="utf-8")
    assert len(load_suite(path.name).cases) == 61
    assert len(_cache_files(project)) == 1  # one file per suite, not one per edit


@pytest.mark.parametrize("damage", ["torn", "other-version", "not-json", "wrong-shape", "directory"])
def test_a_damaged_or_foreign_cache_file_is_a_miss(project: Path, damage: str) -> None:
    path, file, blob = _primed(project)
    if damage == "torn":
        file.write_text(file.read_text(encoding="utf-8")[:1000], encoding="utf-8")
    elif damage == "other-version":
        blob["promptkit"] = "0.0.0-other"
        blob["data"]["cases"] = blob["data"]["cases"][:1]
        file.write_text(json.dumps(blob), encoding="utf-8")
    elif damage == "not-json":
        file.write_bytes(b"\x80\x81 not json")
    elif damage == "wrong-shape":
        blob["spans"] = [["x", "y"]]
        file.write_text(json.dumps(blob), encoding="utf-8")
    else:
        file.unlink()
        file.mkdir()
    assert len(load_suite(path.name).cases) == 60


def test_a_symlinked_cache_folder_is_never_written_through(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (project / ".promptkit").mkdir()
    os.symlink(outside, project / ".promptkit" / "cache")
    (project / "s.prompttest.yaml").write_text(_suite_text(60), encoding="utf-8")
    assert len(load_suite("s.prompttest.yaml").cases) == 60
    assert list(outside.iterdir()) == []


def test_a_folder_promptkit_did_not_make_is_left_alone(project: Path) -> None:
    (project / ".promptkit" / "cache").mkdir(parents=True)
    (project / ".promptkit" / "cache" / "notes.txt").write_text("mine", encoding="utf-8")
    (project / "s.prompttest.yaml").write_text(_suite_text(60), encoding="utf-8")
    load_suite("s.prompttest.yaml")
    assert sorted(p.name for p in (project / ".promptkit" / "cache").iterdir()) == ["notes.txt"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_cache_file_committed_to_git_is_never_read(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Committed, a forged cache file could stand in for the suite a reviewer reads."""
    path, file, blob = _primed(project)
    blob["data"]["cases"] = blob["data"]["cases"][:1]  # the forgery: one harmless case
    file.write_text(json.dumps(blob), encoding="utf-8")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-f", str(file.relative_to(project))], cwd=project, check=True)
    assert len(load_suite(path.name).cases) == 60


def test_yaml_values_json_cannot_keep_are_parsed_every_time(project: Path) -> None:
    # a date (YAML timestamp) in vars: not plain JSON, so nothing is cached
    text = _suite_text(60).replace("{name: 'n0', times: 1}", "{name: 'n0', times: 1, when: 2024-01-02}")
    (project / "s.prompttest.yaml").write_text(text, encoding="utf-8")
    suite = load_suite("s.prompttest.yaml")
    assert str(suite.cases[0].vars["when"]) == "2024-01-02"
    assert _cache_files(project) == []


_json = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3),
                     max_leaves=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(_json, min_size=1, max_size=5))
def test_any_plain_vars_survive_the_round_trip(project: Path, values: list[object]) -> None:
    import yaml

    doc = {"prompts": ["greet.prompty"],
           "cases": [{"id": f"c{i}", "vars": {"name": f"n{i}", "times": 1, "extra": values[i % len(values)]},
                      "assert": [{"type": "contains", "value": "x"}]} for i in range(80)]}
    (project / "s.prompttest.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    shutil.rmtree(project / ".promptkit", ignore_errors=True)
    cold = load_suite("s.prompttest.yaml")
    warm = load_suite("s.prompttest.yaml")
    assert _cache_files(project)
    assert [c.vars for c in warm.cases] == [c.vars for c in cold.cases]


def test_small_suites_are_not_cached(project: Path) -> None:
    (project / "s.prompttest.yaml").write_text(_suite_text(2), encoding="utf-8")
    assert len(_suite_text(2)) < suite_cache.MIN_CHARS
    load_suite("s.prompttest.yaml")
    assert _cache_files(project) == []


@pytest.mark.parametrize("forgery", ["other-data", "deep-data", "no-signature", "re-signed-with-another-key"])
def test_a_forged_entry_with_the_right_stamp_is_never_used(project: Path, forgery: str) -> None:
    """The stamp (the suite's SHA-256, the versions) is public: anyone can write it. Only
    this user's signature makes an entry usable, so a crafted file can neither change the
    suite a run sees nor crash it (it is refused before its data is looked at)."""
    import hashlib
    import hmac

    path, file, blob = _primed(project)
    if forgery == "other-data":
        blob["data"]["cases"] = blob["data"]["cases"][:1]  # one harmless case instead of 60
    elif forgery == "deep-data":
        deep: object = []
        for _ in range(900):
            deep = [deep]
        blob["data"]["cases"][0]["vars"]["name"] = deep
    elif forgery == "no-signature":
        del blob["mac"]
    else:
        del blob["mac"]
        body = json.dumps(blob, separators=(",", ":")).encode()
        blob["mac"] = hmac.new(b"k" * 32, body, hashlib.sha256).hexdigest()
    file.write_text(json.dumps(blob), encoding="utf-8")
    suite = load_suite(path.name)
    assert len(suite.cases) == 60
    assert suite.cases[0].vars["name"] == "n0"


# --------------------------------------------------------------------------- loaded suites


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Trust inputs however new they are (tests edit files milliseconds apart; each edit
    below changes a size, an inode or a listing, seen within one clock tick), and count the
    loads answered by a kept suite."""
    monkeypatch.setattr(suite_cache, "RACY_S", 0.0)
    hits: list[object] = []
    real = suite_cache.SuiteCache.loaded

    def counting(self: suite_cache.SuiteCache, *args: Any) -> Any:
        value = real(self, *args)
        if value is not None:
            hits.append(value)
        return value

    monkeypatch.setattr(suite_cache.SuiteCache, "loaded", counting)
    return hits


def _loaded_files(project: Path) -> list[Path]:
    d = project / ".promptkit" / "cache"
    return sorted(d.glob("loaded-*.pickle")) if d.is_dir() else []


def _outcome(name: str) -> object:
    try:
        return load_suite(name)
    except PromptkitError as exc:
        return exc.format_all()


def _uncached(name: str, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as m:
        m.setattr(suite_cache.SuiteCache, "for_root", classmethod(lambda cls, root: cls(None)))
        return _outcome(name)


def test_an_unchanged_suite_is_not_validated_again(project: Path, kept: list[object],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "s.prompttest.yaml").write_text(_suite_text(60), encoding="utf-8")
    cold = load_suite("s.prompttest.yaml")
    assert len(_loaded_files(project)) == 1
    from promptkit.runner import suite_file

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("validated again: the kept suite was not used")

    monkeypatch.setattr(suite_file._Loader, "parse", refuse)
    warm = load_suite("s.prompttest.yaml")
    assert warm == cold and len(kept) == 1
    assert _shape(warm) == _shape(cold)


def test_a_suite_that_fails_validation_is_never_kept(project: Path, kept: list[object]) -> None:
    (project / "s.prompttest.yaml").write_text(_suite_text(60, bad_at=7), encoding="utf-8")
    first, second = _outcome("s.prompttest.yaml"), _outcome("s.prompttest.yaml")
    assert isinstance(first, str) and first == second and "mx" in first
    assert _loaded_files(project) == [] and kept == []


def test_inputs_changed_just_before_the_run_are_not_trusted(project: Path) -> None:
    (project / "s.prompttest.yaml").write_text(_suite_text(60), encoding="utf-8")
    load_suite("s.prompttest.yaml")  # the prompt was copied a moment ago: within RACY_S
    assert _loaded_files(project) == []


SUITE_OPS = ["add-case", "remove-prompt", "restore-prompt", "prompt-symlink-out", "dataset-row", "dataset-remove",
             "file-var", "file-var-remove", "check-file-remove", "check-file-restore", "root-marker", "root-marker-remove"]


def _suite_op(root: Path, outside: Path, op: str, n: int) -> None:
    sub = root / "sub"
    prompt = root / "greet.prompty"
    if op == "add-case":
        (sub / "s.prompttest.yaml").write_text(_rich_suite(61 + n), encoding="utf-8")
    elif op == "remove-prompt" and prompt.exists():
        prompt.unlink()
    elif op == "restore-prompt":
        prompt.unlink(missing_ok=True)
        shutil.copy(PROMPT, prompt)
    elif op == "prompt-symlink-out":  # a file of the pull request's that points out of the project
        prompt.unlink(missing_ok=True)
        shutil.copy(PROMPT, outside / "greet.prompty")
        os.symlink(outside / "greet.prompty", prompt)
    elif op == "dataset-row":
        with (sub / "rows.csv").open("a", encoding="utf-8") as fh:
            fh.write(f"r{n}{'x' * n},name{n}\n")
    elif op == "dataset-remove":
        (sub / "rows.csv").unlink(missing_ok=True)
    elif op == "file-var":
        (sub / "doc.txt").write_text("doc " + "y" * (n + 1), encoding="utf-8")
    elif op == "file-var-remove":
        (sub / "doc.txt").unlink(missing_ok=True)
    elif op == "check-file-remove":
        (sub / "checks.py").unlink(missing_ok=True)
    elif op == "check-file-restore":
        (sub / "checks.py").write_text("def ok(output):\n    return True\n" + "#" * n, encoding="utf-8")
    elif op == "root-marker":  # sub/ becomes its own project: ../greet.prompty lies outside it
        (sub / "promptkit.toml").write_text("#" * (n + 1), encoding="utf-8")
    elif op == "root-marker-remove":
        (sub / "promptkit.toml").unlink(missing_ok=True)


def _rich_suite(cases: int) -> str:
    """A suite in ``sub/`` naming a prompt in the folder above, a dataset, a ``${file:}``
    variable and a Python check: every kind of file a suite's validation looks at."""
    lines = ["prompts: [../greet.prompty]", "cases:",
             "  - id: rows", "    dataset: rows.csv", "    assert: [{type: python, value: 'checks.py:ok'}]",
             "  - id: doc", "    vars: {name: '${file:doc.txt}', times: 1}", "    assert: [{type: contains, value: doc}]"]
    for i in range(cases):
        lines += [f"  - id: c{i}", f"    vars: {{name: 'n{i}', times: {i % 3 + 1}}}", "    assert:",
                  f"      - {{type: contains, value: 'n{i}'}}", "      - {type: length, max: 20, unit: words}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(SUITE_OPS), st.integers(0, 5)), min_size=1, max_size=6))
def test_a_kept_suite_never_stands_in_for_changed_inputs(ops: list[tuple[str, int]], kept: list[object],
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    """After any sequence of edits to what a suite names (its prompt, dataset, ``${file:}``
    variable, Python check, a symlink out of the project, a config file that moves the
    project root), loading it gives exactly what a load without any cache gives -- the same
    suite or the same errors -- and an unchanged suite that loads is answered from the cache."""
    root = tmp_path_factory.mktemp("proj")
    outside = tmp_path_factory.mktemp("outside")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    shutil.copy(PROMPT, root / "greet.prompty")
    sub = root / "sub"
    sub.mkdir()
    (sub / "s.prompttest.yaml").write_text(_rich_suite(60), encoding="utf-8")
    (sub / "rows.csv").write_text("id,name\nr0,Ada\n", encoding="utf-8")
    (sub / "doc.txt").write_text("doc", encoding="utf-8")
    (sub / "checks.py").write_text("def ok(output):\n    return True\n", encoding="utf-8")
    monkeypatch.chdir(sub)
    for op, n in [("file-var", 0), *ops]:
        _suite_op(root, outside, op, n)
        want = _uncached("s.prompttest.yaml", monkeypatch)
        first = _outcome("s.prompttest.yaml")
        before = len(kept)
        again = _outcome("s.prompttest.yaml")
        assert first == want, op
        assert again == want, op
        if not isinstance(want, str):
            assert len(kept) == before + 1, f"the unchanged suite after {op} was not answered from the cache"


@pytest.mark.parametrize("damage", ["torn", "flipped-byte", "re-signed-with-another-key", "other-stamp", "directory"])
def test_a_damaged_or_forged_kept_suite_is_never_unpickled(project: Path, kept: list[object], damage: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A kept suite is a pickle, so nothing but this user's own, intact file is ever
    unpickled: a forged one is refused on its signature, before ``pickle.loads``."""
    import hashlib
    import hmac
    import pickle

    path = project / "s.prompttest.yaml"
    path.write_text(_suite_text(60), encoding="utf-8")
    cold = load_suite(path.name)
    (file,) = _loaded_files(project)
    blob = file.read_bytes()
    magic = suite_cache._LOADED_MAGIC
    mac, _, body = blob[len(magic):].partition(b"\n")
    head, _, payload = body.partition(b"\n")
    if damage == "torn":
        file.write_bytes(blob[: len(blob) // 2])
    elif damage == "flipped-byte":
        file.write_bytes(blob[:-10] + bytes([blob[-10] ^ 1]) + blob[-9:])
    elif damage == "re-signed-with-another-key":
        class Boom:
            def __reduce__(self) -> tuple[object, ...]:
                return (os.system, ("echo pwned > pwned.txt",))

        evil = head + b"\n" + pickle.dumps(Boom())
        file.write_bytes(magic + hmac.new(b"k" * 32, evil, hashlib.sha256).hexdigest().encode() + b"\n" + evil)
    elif damage == "other-stamp":
        stamp = json.loads(head)
        stamp["stamp"]["cwd"] = "/elsewhere"
        new = json.dumps(stamp, separators=(",", ":")).encode() + b"\n" + payload
        key = suite_cache._secret()
        assert key is not None
        file.write_bytes(magic + hmac.new(key, new, hashlib.sha256).hexdigest().encode() + b"\n" + new)
    else:
        file.unlink()
        file.mkdir()
    loads = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: loads.append(a) or (_ for _ in ()).throw(AssertionError))
    assert load_suite(path.name) == cold
    assert kept == [] and loads == []
    assert not (project / "pwned.txt").exists()
