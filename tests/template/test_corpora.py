"""The loader on ~6,000 real prompts written outside this project.

Every file (and every JSONL/CSV record) must load without an exception; the Prompty
corpus is checked in detail: Jinja2 and nunjucks bodies parse, the mustache ones get the
PK004 "unsupported template format" diagnostic, and the front-matter edge cases (BOM,
blank line before ``---``, empty front matter, body only) load with the right properties.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from promptkit.diagnostics import Severity
from promptkit.template import Engine, FileKind, RenderedMessage, load, loads, parse_body, render
from promptkit.template.model import ROLES

CORPORA = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora"
PROMPTY = CORPORA / "prompty"

pytestmark = pytest.mark.skipif(
    not PROMPTY.is_dir(), reason=f"the real-prompt corpora are not here ({CORPORA.resolve()}); see tests/README or the lead"
)


def _prompty_files() -> list[Path]:
    return sorted(PROMPTY.glob("*.prompty")) if PROMPTY.is_dir() else []


def test_every_prompty_file_loads_and_jinja_bodies_parse() -> None:
    files = _prompty_files()
    assert len(files) >= 200
    engines: Counter[str] = Counter()
    for path in files:
        t = load(path)  # must not raise
        engines[t.engine.value] += 1
        assert t.text, path
        if t.engine in (Engine.JINJA2, Engine.NUNJUCKS):
            ast, error = parse_body(t)
            assert error is None, error.format() if error else ""
            assert ast is not None
            assert t.messages, f"{path}: no messages"
    assert engines["mustache"] == 12
    assert engines["nunjucks"] >= 20
    assert engines["jinja2"] >= 150


def test_mustache_files_render() -> None:
    mustache = [t for t in map(load, _prompty_files()) if t.engine is Engine.MUSTACHE]
    assert len(mustache) == 12
    rendered = 0
    for t in mustache:
        assert not [d for d in t.diagnostics if d.code == "PK004"], t.path
        try:
            messages = render(t, t.samples())
        except Exception as exc:  # noqa: BLE001 - only input problems of the file itself may stop it
            assert any(code in str(exc) for code in ("PK020", "PK021")), str(exc)
            continue
        rendered += 1
        assert messages and all(m.role in ROLES for m in messages), messages
        assert not any("{{" in m.text for m in messages), t.path  # every tag was rendered
    assert rendered >= 10


def test_front_matter_edge_cases_in_the_corpus() -> None:
    by_name = {p.name: p for p in _prompty_files()}
    boms = [load(p) for p in by_name.values() if p.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert len(boms) == 4
    for t in boms:
        assert t.had_bom and not t.text.startswith("\ufeff")
        assert t.front_matter_span is not None and t.front_matter_span.start.line == 1
        assert t.front_matter.name  # the front matter was parsed, not taken as body

    (blank,) = [p for p in by_name.values() if p.read_bytes().startswith((b"\n---", b"\r\n---"))]
    t = load(blank)
    assert t.front_matter_span is not None and t.front_matter_span.start.line == 2
    assert t.front_matter.name == "Evaluate based on a checklist"
    assert not t.body.startswith("---")

    t = load(by_name["prompty-main--runtime__python__prompty__tests__prompts__shorthand_empty_frontmatter.prompty"])
    assert t.front_matter_text == "" and t.raw_front_matter == {} and t.ok
    assert t.body_line == 3 and [m.role for m in t.messages] == ["system"]
    assert render(t) == [RenderedMessage(role="system", content="You are a helpful assistant.")]

    t = load(by_name["prompty-main--runtime__python__prompty__tests__prompts__shorthand_body_only.prompty"])
    assert t.front_matter_span is None and t.body_offset == 0 and t.ok
    assert [(m.role, m.explicit) for m in t.messages] == [("system", False)]
    assert render(t)[0].content == "You are a helpful assistant that answers questions concisely."


def test_prompty_references_and_v2_shapes_from_the_corpus() -> None:
    files = _prompty_files()
    refs = [t for t in map(load, files) if "${file:" in (t.front_matter_text or "")]
    assert refs, "the corpus has ${file:...} references"
    for t in refs:  # a reference is never a load error
        assert not [d for d in t.diagnostics if d.code == "PK006" and "inputs" in d.message], t.path
    v2 = [t for t in map(load, files) if isinstance(t.raw_front_matter.get("template"), dict)]
    assert len(v2) >= 20
    for t in v2:  # template: {format: {kind: nunjucks}} / {format: mustache} decide the engine
        fmt = t.raw_front_matter["template"].get("format")
        kind = fmt.get("kind") if isinstance(fmt, dict) else fmt
        if kind in ("jinja2", "nunjucks", "mustache"):
            assert t.engine.value == kind, t.path


# --------------------------------------------------------------------------- the rest


def _corpus_files() -> list[Path]:
    out = []
    for path in sorted(CORPORA.rglob("*")):
        if not path.is_file() or "LICENSES" in path.parts or path.name in ("MANIFEST.jsonl", "README.md"):
            continue
        if path.suffix in (".jsonl", ".csv"):
            continue
        out.append(path)
    return out


def test_every_corpus_file_loads_without_an_exception() -> None:
    files = _corpus_files()
    assert len(files) > 1500
    kinds: Counter[FileKind] = Counter()
    unreadable = 0
    for path in files:
        t = load(path)
        kinds[t.kind] += 1
        assert isinstance(t.messages, tuple)
        if any(d.code == "PK001" for d in t.diagnostics):
            unreadable += 1
        for d in t.diagnostics:  # every diagnostic is printable and points into the file
            line = d.format()
            assert line.startswith(str(path)) and "\n" not in line.split(" (hint")[0]
            assert 1 <= d.line <= max(1, t.index.line_count)
    assert unreadable == 0
    assert kinds[FileKind.MARKDOWN] > 1000 and kinds[FileKind.DOTPROMPT] >= 90 and kinds[FileKind.JINJA] >= 100


def test_every_jsonl_and_csv_record_loads() -> None:
    count = 0
    with open(CORPORA / "promptsource.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            rec = json.loads(line)
            t = loads(rec["jinja"], path=f"promptsource.jsonl:{i}", kind=FileKind.JINJA)
            assert t.engine is Engine.JINJA2 and t.messages
            count += 1
    spec = CORPORA / "dotprompt" / "dotprompt-spec-templates.jsonl"
    with open(spec, encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            t = loads(json.loads(line)["template"], path=f"{spec.name}:{i}", kind=FileKind.DOTPROMPT)
            assert t.engine is Engine.HANDLEBARS
            count += 1
    csv.field_size_limit(10_000_000)  # a few prompts are longer than csv's default 128 KiB
    errors = 0
    with open(CORPORA / "awesome-chatgpt-prompts.csv", encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), 2):
            t = loads(row["prompt"], path=f"awesome-chatgpt-prompts.csv:{i}", kind=FileKind.TEXT)
            assert t.messages or not row["prompt"].strip()
            errors += sum(d.severity is Severity.ERROR for d in t.diagnostics)
            count += 1
    # a handful of prompts paste Markdown with broken front matter (e.g. `{{x}}: ...` keys)
    assert errors <= 5
    assert count > 3500
