"""Loading speed-ups that must not change what a suite means: identical assertion entries
validated once (suite_file), and the assertion modules imported by type (registry)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import PromptkitError
from promptkit.runner.assertions.registry import _HOME, _MODULES, build_spec, types
from promptkit.runner.suite_file import loads_suite

GREET = Path(__file__).resolve().parents[1] / "fixtures" / "runner" / "prompts" / "greet.prompty"

#: Entries in the long and the shorthand form, with values whose types YAML tells apart.
_ENTRIES = st.sampled_from([
    {"type": "contains", "value": "1"},
    {"type": "contains", "value": 1},
    {"type": "contains", "value": True},
    {"type": "contains", "value": "1", "weight": 0},
    {"type": "not-contains", "value": "1"},
    {"type": "length", "max": 20, "unit": "words"},
    {"type": "length", "max": 20.0, "unit": "words"},
    {"type": "length", "min": 1, "unit": "chars"},
    {"icontains": "{{ name }}"},
    {"type": "regex", "value": "^[0-9]+$"},
    {"type": "assert-set", "assert": [{"type": "contains", "value": "a"}, {"length": {"max": 3}}]},
])


def _suite(entries: list[list[dict]]) -> str:
    import json

    lines = [f"prompts: [{GREET}]", "cases:"]
    for i, case in enumerate(entries):
        lines += [f"  - id: c{i}", "    vars: {name: Ada}", "    assert:"]
        lines += [f"      - {json.dumps(e)}" for e in case]
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_ENTRIES, min_size=1, max_size=3), min_size=1, max_size=6))
def test_repeated_entries_give_the_same_specs_as_fresh_validation(entries: list[list[dict]]) -> None:
    """Each case's specs equal what build_spec makes of its own entry at its own line, and
    no two cases share a spec object (a copy per place, whatever was memoised)."""
    suite = loads_suite(_suite(entries), GREET.parent / "memo.prompttest.yaml")
    seen: set[int] = set()
    for case, raw in zip(suite.cases, entries, strict=True):
        assert len(case.assertions) == len(raw)
        for spec, entry in zip(case.assertions, raw, strict=True):
            fresh = build_spec(entry, source=spec.source, span=spec.span)
            assert spec.model_dump() == fresh.model_dump()
            assert id(spec) not in seen
            seen.add(id(spec))
    lines = [s.span.start.line for c in suite.cases for s in c.assertions]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)  # each spec points at its own line


def test_an_invalid_entry_repeated_is_reported_at_every_place() -> None:
    text = _suite([[{"type": "length", "maxx": 3}], [{"type": "length", "maxx": 3}]])
    with pytest.raises(PromptkitError) as info:
        loads_suite(text, GREET.parent / "bad.prompttest.yaml")
    assert [d.line for d in info.value.diagnostics] == [6, 10]


def test_the_type_table_names_every_built_in_type_and_its_module() -> None:
    registered = {name: t.check.__module__.rsplit(".", 1)[1] for name, t in types().items()}
    assert registered == {**registered, **_HOME} and set(_HOME) == set(registered)
    assert set(_HOME.values()) == set(_MODULES)


def test_a_suite_imports_only_the_modules_of_its_types(tmp_path: Path) -> None:
    code = ("import json, sys; from promptkit.runner.suite_file import loads_suite; "
            f"loads_suite({_suite([[{'type': 'contains', 'value': 'a'}, {'length': {'max': 3}}]])!r}, {str(GREET)!r}); "
            "print(json.dumps([m.rsplit('.', 1)[1] for m in sys.modules if m.startswith('promptkit.runner.assertions.')]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    import json

    loaded = set(json.loads(out.stdout))
    assert "text" in loaded and not loaded & {"judges", "similarity", "rag", "python", "tools", "sql"}
