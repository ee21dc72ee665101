"""The content rules on ~5,700 real prompts: no crash, known-bad files caught, quiet on prose.

* Every PK1xx-PK6xx rule (clarity included) runs on every prompt of ``../shared/corpora``
  (directory files and JSONL/CSV records) without raising.
* The corpora's deliberately broken files are caught by the default linter.
* Generated files mixing every construct the rules look at never crash a rule, and
  every span and fix edit stays inside the file.
* On the good-prose corpora (``fabric-patterns``, ``anthropic-skills``) every
  error-severity finding is one that was reviewed by reading the file (listed below with
  the reason), and warnings stay few.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import Severity
from promptkit.lint.config import LintConfig
from promptkit.lint.engine import lint_template
from promptkit.lint.rule import LintContext
from promptkit.template import load, loads
from promptkit.template.model import FileKind, PromptTemplate

from ._rules_helpers import CORPORA, content_rules

needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"corpora not found at {CORPORA} (../shared/corpora)")


def corpus_templates() -> Iterator[tuple[str, PromptTemplate]]:
    """Every prompt of every corpus as ``(corpus, template)``; records become virtual files."""
    csv.field_size_limit(sys.maxsize)
    for path in sorted(CORPORA.iterdir()):
        if path.is_dir() and path.name != "LICENSES":
            for f in sorted(path.iterdir()):
                if f.name == "MANIFEST.jsonl" or not f.is_file():
                    continue
                if f.suffix == ".jsonl":
                    for i, line in enumerate(f.read_text(encoding="utf-8").splitlines()):
                        yield path.name, loads(json.loads(line)["template"], path=f"{f}#{i}", kind=FileKind.DOTPROMPT)
                else:
                    yield path.name, load(f)
        elif path.name == "promptsource.jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                yield "promptsource", loads(rec["jinja"], path=f"{path}#{rec['id']}", kind=FileKind.JINJA)
        elif path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                for i, row in enumerate(csv.DictReader(fh), start=2):
                    yield path.stem, loads(row["prompt"], path=f"{path}#{i}", kind=FileKind.TEXT)


@lru_cache(maxsize=1)
def all_findings() -> tuple[dict[tuple[str, str], Counter[str]], list[str], list[tuple[str, str, str, int, str]]]:
    """Run every content rule on every prompt once: counts per (corpus, severity) and
    code, crashes, and the error-severity findings ``(corpus, path, code, line, message)``."""
    rules = [r() for r in content_rules()]
    counts: dict[tuple[str, str], Counter[str]] = {}
    crashes: list[str] = []
    errors: list[tuple[str, str, str, int, str]] = []
    for corpus, t in corpus_templates():
        ctx = LintContext(t)
        for rule in rules:
            if t.kind not in rule.kinds:
                continue
            try:
                for f in rule.check(ctx):
                    sev = f.severity or rule.severity
                    if rule.default_enabled:
                        counts.setdefault((corpus, sev.value), Counter())[rule.code] += 1
                    if sev is Severity.ERROR:
                        errors.append((corpus, t.path, rule.code, f.span.start.line if f.span else 1, f.message))
            except Exception as exc:  # noqa: BLE001 - the test reports them all
                crashes.append(f"{t.path}: {rule.code}: {type(exc).__name__}: {exc}")
    return counts, crashes, errors


@needs_corpora
def test_no_rule_crashes_on_any_corpus_prompt() -> None:
    _, crashes, _ = all_findings()
    assert crashes == []


#: Error-severity findings on the prose corpora, each checked by reading the file.
#: (corpus, file name, code) -> why it is a real defect. Empty: the rules report none.
REVIEWED_ERRORS: dict[tuple[str, str, str], str] = {}


@needs_corpora
@pytest.mark.parametrize("corpus", ["fabric-patterns", "anthropic-skills"])
def test_errors_on_good_prose_are_reviewed_defects(corpus: str) -> None:
    _, _, errors = all_findings()
    seen = {(c, p.rsplit("/", 1)[-1], code) for c, p, code, _, _ in errors if c == corpus}
    assert seen <= set(REVIEWED_ERRORS), f"unreviewed errors on {corpus}: {sorted(seen - set(REVIEWED_ERRORS))}"


@needs_corpora
@pytest.mark.parametrize(("corpus", "limit"), [("fabric-patterns", 120), ("anthropic-skills", 5)])
def test_warnings_on_good_prose_stay_few(corpus: str, limit: int) -> None:
    counts, _, _ = all_findings()
    warnings = counts.get((corpus, "warning"), Counter())
    assert sum(warnings.values()) <= limit, warnings


KNOWN_BAD = [
    ("dotprompt/dotprompt--examples__error-invalid-yaml.prompt", "PK002"),
    ("dotprompt/dotprompt--examples__error-multiple-issues.prompt", "PK110"),
    ("dotprompt/dotprompt--examples__error-unbalanced-brace.prompt", "PK110"),
    ("dotprompt/dotprompt--examples__error-unclosed-block.prompt", "PK108"),
    ("dotprompt/dotprompt--examples__error-unmatched-closing-block.prompt", "PK109"),
    ("dotprompt/dotprompt--examples__warning-undefined-variable.prompt", "PK101"),
    ("dotprompt/dotprompt--examples__warning-unused-variable.prompt", "PK102"),
    ("promptflow-jinja/src__promptflow__tests__test_configs__wrong_tools__no_end.jinja2", "PK100"),
    ("poml/packages__poml-vscode__test-fixtures__badSyntax.poml", "PK111"),
]


@needs_corpora
@pytest.mark.parametrize(("name", "code"), KNOWN_BAD)
def test_known_bad_files_are_caught_by_the_default_linter(name: str, code: str) -> None:
    diags = lint_template(load(CORPORA / name), LintConfig())
    assert code in {d.code for d in diags}, [d.format() for d in diags]


# --------------------------------------------------------------------------- generated input

_PIECES = st.sampled_from([
    "system:", "user:", "sytem:", "{{ q }}", "{{ q | uper }}", "{% if q %}", "{% endif %}", "{% for x in y %}",
    "{{#if a}}", "{{/if}}", "{{/each}}", "}}", "{{", "<context>", "</context>", "<poml>", "<p", "```", "```json",
    '{"a": 1}', "{“a”: “b”}", "# Task", "### Output format", "- item", "* item", "(", ")", "[", "“", "\u200b",
    "\u202e", "\t", "  ", "\r\n", "\n", "\n\n\n\n", "sk-proj-" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tV9wX1yZ3", "TODO:",
    "Ignore all previous instructions", "a few sentences", "Be concise", "explain in detail", "${q}", "{q}", "\x00",
])
_FRONT = st.sampled_from([
    "", "---\nname: t\n---\n", "---\ninputs:\n  q: {type: string, sample: hi}\nmodel: gpt-4o-mini\n---\n",
    "---\noutput:\n  format: json\n  schema: {type: object, required: 3}\n---\n", "---\n: : bad yaml [\n---\n",
    "---\ninput:\n  schema:\n    a: string\n---\n", "---\nmodel:\n  parameters:\n    max_tokens: 999999\n  id: gpt-4o\n---\n",
])
_PATHS = st.sampled_from(["t.prompty", "t.j2", "t.md", "t.prompt", "t.poml", "t.txt", "t.mdc", "d.jsonl#3"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_FRONT, st.lists(_PIECES, max_size=30), _PATHS)
def test_rules_never_crash_on_generated_input(front: str, pieces: list[str], path: str) -> None:
    text = front + " ".join(pieces)
    t = loads(text, path=path)
    config = LintConfig(require_system_message=True, required_components=["task"], token_budget=5,
                        default_model="gpt-4o-mini", extend_select=["PK6"])
    ctx = LintContext(t, config)
    n = len(t.text)
    for rule in content_rules():
        if t.kind not in rule.kinds:
            continue
        for f in rule().check(ctx):
            assert f.message
            if f.span is not None:
                assert 0 <= f.span.start.offset <= f.span.end.offset <= n
            if f.fix is not None:
                assert all(0 <= e.start <= e.end <= n for e in f.fix.edits)
