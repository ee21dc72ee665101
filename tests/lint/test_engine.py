"""The engine: rules run on a shared context, crashes are contained, discovery, parallelism."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import Severity
from promptkit.lint import engine
from promptkit.lint.config import LintConfig, load_config
from promptkit.lint.engine import (
    discover,
    lint_files,
    lint_items,
    lint_paths,
    lint_template,
    lint_text,
)
from promptkit.lint.rule import Finding, LintContext, Rule
from promptkit.template import FileKind, loads

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "lint" / "engine"
REPO = Path(__file__).resolve().parents[2]

GOOD = "---\nname: greet\nversion: 1.0.0\n---\nsystem:\nYou greet people warmly.\n"


class Shouting(Rule):
    """Test rule: every line that is all capitals."""

    code = "PK990"
    name = "test-shouting"
    severity = Severity.WARNING

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        calls = ctx.cached("calls", list)
        calls.append(self.code)
        for i in range(1, ctx.template.index.line_count + 1):
            line = ctx.template.index.line_text(i)
            if len(line) > 3 and line.isupper():
                yield Finding(ctx.template.index.line_span(i), f"shouting: {line}")


class Crashes(Rule):
    """Test rule: yields one finding, then raises."""

    code = "PK991"
    name = "test-crashes"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        yield Finding(ctx.span(0, 1), "before the crash")
        raise ZeroDivisionError("boom")


class MarkdownOnly(Rule):
    """Test rule limited to Markdown files."""

    code = "PK992"
    name = "test-markdown-only"
    kinds = frozenset({FileKind.MARKDOWN})

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        yield Finding(None, "markdown")


def test_crash_becomes_internal_error_and_run_goes_on() -> None:
    t = loads(GOOD + "STOP SHOUTING\n", path="x.prompty")
    diags = lint_template(t, LintConfig(), rules=[Crashes, Shouting])
    codes = [d.code for d in diags]
    assert "PK000" in codes and "PK990" in codes
    crash = next(d for d in diags if d.code == "PK000")
    assert crash.message.startswith("rule PK991 crashed on this file: ZeroDivisionError: boom")
    assert crash.message.endswith("please report")
    assert crash.severity is Severity.ERROR
    # partial results of the crashed rule are kept
    assert any(d.code == "PK991" and d.message == "before the crash" for d in diags)


def test_rules_share_one_context_and_respect_kinds() -> None:
    t = loads(GOOD, path="x.prompty")
    assert [d.code for d in lint_template(t, LintConfig(), rules=[MarkdownOnly])] == []
    md = loads("# Title\n", path="x.md")
    assert [d.code for d in lint_template(md, LintConfig(), rules=[MarkdownOnly])] == ["PK992"]


def test_configured_severity_overrides_rule_default() -> None:
    t = loads(GOOD + "STOP SHOUTING\n", path="x.prompty")
    cfg = LintConfig.model_validate({"rules": {"PK009": {"severity": "error"}}})
    d = lint_template(loads(GOOD + "Hi {# noqa: PK001 #}\n", path="y.prompty"), cfg)
    assert [x.severity for x in d if x.code == "PK009"] == [Severity.ERROR]
    assert all(x.severity is Severity.WARNING for x in lint_template(t, LintConfig(), rules=[Shouting]))


def test_diagnostics_are_sorted_by_position() -> None:
    t = loads(GOOD + "FIRST LINE\nok\nSECOND LINE\n", path="x.prompty")
    diags = lint_template(t, LintConfig(), rules=[Shouting, Crashes])
    keys = [(d.line, d.column, d.code) for d in diags]
    assert keys == sorted(keys)


def test_load_rules_forward_loader_diagnostics_and_are_selectable() -> None:
    bad = "---\nname: x\nversion: one\n---\nHello\n"
    codes = {d.code for d in lint_text(bad, "x.prompty")}
    assert "PK006" in codes
    assert "PK006" not in {d.code for d in lint_text(bad, "x.prompty", config=LintConfig(ignore=["PK006"]))}
    binary = lint_text(b"\x00\x01binary", "b.prompty")
    assert [d.code for d in binary] == ["PK001"]  # nothing else runs on undecodable bytes
    broken = lint_text("---\nname: [x\n---\nbody\n", "c.prompty")
    assert any(d.code == "PK002" and d.line == 3 for d in broken)  # where the YAML parser gave up


def test_lint_text_for_virtual_files_with_explicit_kind() -> None:
    diags = lint_text("Design a plan for [YOUR TOPIC].", "corpus.csv#7", kind=FileKind.TEXT)
    assert [(d.path, d.code) for d in diags if d.code == "PK701"] == [("corpus.csv#7", "PK701")]


def test_discovery_include_exclude_and_default_skips(tmp_path: Path) -> None:
    cfg = load_config([FIXTURES / "project"])
    found = discover([FIXTURES / "project"], cfg)
    names = sorted(p.name for p in found.files)
    assert names == ["greet.prompty", "greet2.prompty"]  # not notes.txt, skip/, node_modules/
    # explicit files are linted whatever their name, unless excluded
    notes = FIXTURES / "project" / "prompts" / "notes.txt"
    skipped = FIXTURES / "project" / "prompts" / "skip" / "skipped.prompty"
    assert discover([notes, skipped], cfg).files == [notes]
    missing = discover([tmp_path / "nope"], cfg)
    assert missing.files == [] and missing.missing[0].code == "PK001"


def test_include_patterns_with_directories(tmp_path: Path) -> None:
    (tmp_path / "templates" / "a").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    for p in ("templates/a/x.prompty", "templates/y.prompty", "other/z.prompty", "templates/a/notes.md"):
        (tmp_path / p).write_text(GOOD)
    (tmp_path / "promptkit.toml").write_text('include = ["templates/**/*.prompty"]\n')
    cfg = load_config([tmp_path])
    got = sorted(p.relative_to(tmp_path).as_posix() for p in discover([tmp_path], cfg).files)
    assert got == ["templates/a/x.prompty", "templates/y.prompty"]


def test_per_file_ignores_apply(tmp_path: Path) -> None:
    report = lint_paths([FIXTURES / "project"], load_config([FIXTURES / "project"]), use_cache=False)
    by_file = {(Path(d.path).name, d.code) for d in report.diagnostics}
    assert ("greet.prompty", "PK701") in by_file
    assert ("greet2.prompty", "PK701") not in by_file
    assert ("greet.prompty", "PK712") in by_file  # extend-select in the project's config
    assert not any(code == "PK209" for _, code in by_file)  # ignored


def _many(tmp_path: Path, n: int) -> list[Path]:
    files = []
    for i in range(n):
        p = tmp_path / f"p{i:03d}.prompty"
        p.write_text(GOOD + ("Write for [YOUR NAME].\n" if i % 3 == 0 else "") + "x" * (i * 37) + "\n")
        files.append(p)
    return files


def test_parallel_equals_serial(tmp_path: Path) -> None:
    files = _many(tmp_path, engine.PARALLEL_THRESHOLD + 10)
    cfg = LintConfig().resolve()
    serial = lint_files(files, cfg, use_cache=False, jobs=1)
    parallel = lint_files(files, cfg, use_cache=False, jobs=2)
    assert [d.to_dict() for d in serial.diagnostics] == [d.to_dict() for d in parallel.diagnostics]
    assert serial.linted == parallel.linted == len(files)
    assert len([d for d in serial.diagnostics if d.code == "PK701"]) == len(range(0, len(files), 3))


def test_pool_failure_falls_back_to_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    class NoPool:
        def __init__(self, *a: object, **k: object) -> None:
            raise PermissionError("no semaphores here")

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", NoPool)
    files = _many(tmp_path, engine.PARALLEL_THRESHOLD + 1)
    report = lint_files(files, LintConfig(), use_cache=False, jobs=2)
    assert report.linted == len(files)


def test_lint_items_mixes_files_and_records(tmp_path: Path) -> None:
    f = tmp_path / "a.prompty"
    f.write_text(GOOD)
    items = [(str(f), None, None), ("rows.jsonl#1", "Write for [YOUR NAME].", FileKind.TEXT)]
    report = lint_items(items, LintConfig(), use_cache=False)
    assert report.files == 2 and report.linted == 2
    assert [d.path for d in report.diagnostics if d.code == "PK701"] == ["rows.jsonl#1"]


def test_lint_path_does_not_import_litellm(tmp_path: Path) -> None:
    (tmp_path / "a.prompty").write_text(GOOD + "Ask in order to learn.\n")
    code = (
        "import sys, json\n"
        "from promptkit.cli import main\n"
        f"rc = main(['lint', {str(tmp_path)!r}, '--no-cache', '--output-format', 'json'])\n"
        "heavy = [m for m in ('litellm', 'openai', 'httpx', 'tiktoken') if m in sys.modules]\n"
        "print(json.dumps({'rc': rc, 'heavy': heavy}), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                         check=False)
    result = json.loads(out.stderr.strip().splitlines()[-1])
    assert result["heavy"] == [], out.stderr
    assert result["rc"] in (0, 1)


class YieldsGarbage(Rule):
    """Test rule with a bug: yields a string."""

    code = "PK995"
    name = "test-yields-garbage"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        yield "not a finding"  # type: ignore[misc]


def test_a_rule_yielding_garbage_is_an_internal_error() -> None:
    diags = lint_template(loads(GOOD, path="x.prompty"), LintConfig(), rules=[YieldsGarbage, Shouting])
    assert [d.code for d in diags] == ["PK000"]
    assert "rule PK995 crashed" in diags[0].message and "not a Finding" in diags[0].message


def test_a_loader_crash_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import promptkit.template

    def boom(*a: object, **k: object) -> None:
        raise RecursionError("deep")

    monkeypatch.setattr(promptkit.template, "loads", boom)
    diags = lint_text("anything", "x.prompty")
    assert [d.code for d in diags] == ["PK000"]
    assert diags[0].message.startswith("promptkit's template loader crashed on this file: RecursionError: deep")


def test_discovery_skips_git_ignored_files(tmp_path: Path) -> None:
    import shutil

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\nscratch.prompty\n")
    (tmp_path / "generated").mkdir()
    for p in ("a.prompty", "scratch.prompty", "generated/b.prompty"):
        (tmp_path / p).write_text(GOOD)
    cfg = LintConfig().resolve()
    cfg._root = tmp_path
    assert [p.name for p in discover([tmp_path], cfg).files] == ["a.prompty"]
    # named explicitly, an ignored file is still linted; and the setting turns it off
    assert [p.name for p in discover([tmp_path / "scratch.prompty"], cfg).files] == ["scratch.prompty"]
    off = LintConfig(respect_gitignore=False).resolve()
    off._root = tmp_path
    assert sorted(p.name for p in discover([tmp_path], off).files) == ["a.prompty", "b.prompty", "scratch.prompty"]


class Backtracks(Rule):
    """Test rule with a catastrophic regular expression."""

    code = "PK996"
    name = "test-backtracks"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        import re

        if re.search(r"(a+)+$", "a" * 40 + "b"):
            yield Finding(None, "never")


def test_a_runaway_rule_is_stopped_and_the_run_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(__import__("signal"), "setitimer"):
        pytest.skip("the time limit needs SIGALRM in the main thread")
    monkeypatch.setenv("PROMPTKIT_RULE_TIMEOUT", "0.3")
    diags = lint_template(loads(GOOD + "STOP SHOUTING\n", path="x.prompty"), LintConfig(), rules=[Backtracks, Shouting])
    assert [d.code for d in diags] == ["PK000", "PK990"]
    assert "rule PK996 ran longer than 0.3 s on this file and was stopped" in diags[0].message
    assert diags[0].hint == "ignore PK996 for this file in per-file-ignores, and please report it"


def test_a_runaway_pack_rule_names_its_pack_not_a_bug(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A catastrophic pattern in a team's own rule pack is their regular expression to fix,
    not a promptkit crash to report."""
    import threading

    from promptkit.lint.packs import load_pack_file

    if threading.current_thread() is not threading.main_thread() or not hasattr(__import__("signal"), "setitimer"):
        pytest.skip("the time limit needs SIGALRM in the main thread")
    monkeypatch.setenv("PROMPTKIT_RULE_TIMEOUT", "0.3")
    pack = FIXTURES / "packs" / "backtracking.yaml"
    rules = load_pack_file(pack)
    diags = lint_template(loads(GOOD + "a" * 40 + "b\n", path="x.prompty"), LintConfig(), rules=rules)
    (d,) = [d for d in diags if d.code == "PK000"]
    assert "rule BT01 ran longer than 0.3 s" in d.message and "please report" not in d.message
    assert d.hint == f"look for nested quantifiers such as (a+)+ in the patterns of BT01 in {pack}"



_chunks_of_prompts = st.sampled_from([
    "---\n", "name: x\n", "version: one # noqa: PK006\n", "system:\n", "user:\n", "{{ name }}", "{% if x %}",
    "{% endif %}", "{# noqa #}", "{# noqa: PK701, PK9 #}", "<!-- promptkit: noqa -->", "{{! noqa }}", "[YOUR NAME]",
    "the the", "```\n", "`code`", "# Heading\n", "<task>", "</task>", "\r\n", "\n", "\t", "\u200b", "\x00", "é",
    "in order to", "TODO: x\n", "{FILL_ME}", "<!--", "-->", "{#", "#}",
])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_chunks_of_prompts, st.text(max_size=8)), max_size=25),
       st.sampled_from(["a.prompty", "a.j2", "a.md", "a.prompt", "a.poml", "a.txt"]))
def test_the_engine_never_crashes_on_generated_files(parts: list[str], name: str) -> None:
    """Whatever the file, every rule (built-in and packs), noqa handling, --add-noqa and
    --fix run without an internal error, and every diagnostic points inside the file."""
    from promptkit.lint.fixes import fix_template
    from promptkit.lint.noqa import add_noqa

    text = "".join(parts)
    cfg = LintConfig(select=["ALL"], preview=True).resolve()
    diags = lint_text(text, name, config=cfg)
    assert not [d.format() for d in diags if d.code == "PK000"]
    t = loads(text, path=name)
    for d in diags:
        if d.span is not None:
            assert 0 <= d.span.start.offset <= d.span.end.offset <= len(t.text)
    new, _ = add_noqa(t, diags)
    assert not [d for d in lint_text(new, name, config=cfg) if d.code == "PK000"]
    fixed = fix_template(t, cfg, unsafe=True)
    assert not [d for d in fixed.diagnostics if d.code == "PK000"]
