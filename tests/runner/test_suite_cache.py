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
