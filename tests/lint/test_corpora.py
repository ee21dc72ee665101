"""Lint all of ../shared/corpora (~6,000 real prompts): no crash, no internal error.

Directory corpora are linted file by file (whatever their names); the JSONL/CSV corpora
record by record as virtual files -- the same inputs as benchmarks/lint_corpora.py, which
prints the per-code counts and timings. Deselect with ``-m "not corpora"``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from promptkit.diagnostics import Severity
from promptkit.lint.config import LintConfig
from promptkit.lint.engine import lint_items

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO / ".." / "shared" / "corpora"

pytestmark = pytest.mark.corpora


def _benchmark_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("lint_corpora", REPO / "benchmarks" / "lint_corpora.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if not CORPORA.is_dir():
        pytest.skip(f"corpora not found at {CORPORA.resolve()} (they live next to the repository)")
    bench = _benchmark_module()
    inputs = bench.corpus_inputs(CORPORA)
    items = [(str(f), None, None) for fs, _ in inputs.values() for f in fs]
    items += [r for _, rs in inputs.values() for r in rs]
    config = LintConfig(select=["ALL"], cache_dir=str(tmp_path_factory.mktemp("cache"))).resolve()
    report = lint_items(items, config, use_cache=False)
    return inputs, items, report


def test_every_prompt_is_linted_without_internal_errors(corpus_run) -> None:  # type: ignore[no-untyped-def]
    _, items, report = corpus_run
    assert len(items) > 5000, "the corpora look incomplete"
    assert report.files == report.linted == len(items)
    internal = [d.format() for d in report.internal_errors]
    assert internal == [], "\n".join(internal[:20])


def test_every_diagnostic_is_well_formed(corpus_run) -> None:  # type: ignore[no-untyped-def]
    _, _, report = corpus_run
    for d in report.diagnostics:
        assert d.code and d.message and d.line >= 1 and d.column >= 1, d
        if d.span is not None:
            assert (d.span.end.line, d.span.end.column) >= (d.span.start.line, d.span.start.column), d.format()
        json.dumps(d.to_dict())


#: Files that are bad on purpose (see the corpora README), by a part of their name.
KNOWN_BAD = [
    "dotprompt--examples__error-",  # every error-* example: invalid YAML, unclosed/unmatched blocks...
    "wrong_tools__no_end.jinja2",
    "__badSyntax.poml",
    "examples__warning-undefined-variable.prompt",
    "examples__warning-unused-variable.prompt",
]


def test_known_bad_files_are_caught(corpus_run) -> None:  # type: ignore[no-untyped-def]
    _, items, report = corpus_run
    flagged = {d.path for d in report.diagnostics if d.severity is not Severity.INFO}
    for part in KNOWN_BAD:
        matching = [p for p, text, _ in items if text is None and part in Path(p).name]
        assert matching, f"no corpus file matches {part}"
        missed = [Path(p).name for p in matching if p not in flagged]
        assert not missed, f"not caught: {missed}"
