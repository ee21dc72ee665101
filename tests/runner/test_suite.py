"""Test-case files: loading, expansion, datasets, the Python API, and exact error positions."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import PromptkitError
from promptkit.runner.assertions import AssertionSpec
from promptkit.runner.datasets import load_dataset, parse_expected
from promptkit.runner.suite import Case, ModelTarget, Suite
from promptkit.runner.suite_file import load_suite, loads_suite

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner"
GREET = FIXTURES / "prompts" / "greet.prompty"
REPO = Path(__file__).resolve().parents[2]


def test_load_full_suite_and_expand() -> None:
    suite = load_suite(FIXTURES / "greet.prompttest.yaml")
    assert [c.id for c in suite.cases] == ["ada", "grace", "linus", "margaret", "lines#2"]
    assert suite.prompts == [FIXTURES / "prompts" / "greet.prompty"]
    runs = suite.expand()
    # no models in the suite: the prompt's own front-matter model is used
    assert {r.model.id for r in runs} == {"openai/gpt-4o-mini"}
    assert all(r.params == {"temperature": 0} for r in runs)
    by_id = {r.case.id: r for r in runs}
    ada = by_id["ada"]
    assert ada.vars == {"times": 1, "name": "Ada"}
    # defaults' assertions come first, then the case's
    assert [a.label for a in ada.assertions] == ["is-json", "json-path", "contains", "json-schema"]
    assert ada.id.endswith("greet.prompttest.yaml::ada[openai/gpt-4o-mini]")
    assert ada.case.source and ada.case.source.endswith("greet.prompttest.yaml:8")
    ctx = ada.context([{"role": "user", "content": "hi"}])
    assert ctx.base_dir == FIXTURES
    # every run on a prompt carries the one template object loaded for it
    assert ctx.template is ada.template and ada.template is not None and ada.template.path == str(GREET)
    assert len({id(r.template) for r in runs}) == 1


def test_dataset_rows_become_cases_with_typed_vars() -> None:
    runs = {r.case.id: r for r in load_suite(FIXTURES / "greet.prompttest.yaml").expand()}
    grace = runs["grace"]
    # CSV strings converted to the template's declared input types
    assert grace.vars == {"times": 2, "name": "Grace", "formal": True}
    assert runs["linus"].vars["formal"] is False
    assert [a.label for a in grace.assertions] == ["is-json", "icontains", "length"]
    assert grace.assertions[2].options.max == 200
    assert [a.label for a in runs["linus"].assertions] == ["is-json", "not-icontains", "regex"]
    assert grace.case.source.endswith("greet.csv:2")
    # JSONL: nested form with id, and flat form with an __expected column
    margaret = runs["margaret"]
    assert margaret.vars == {"times": 3, "name": "Margaret"}
    assert margaret.case.repeat == 3 and margaret.case.required_passes == 2 and margaret.case.flaky
    assert runs["lines#2"].case.source.endswith("greet.jsonl:3")


def _greet_in(tmp_path: Path) -> Path:
    """The greet prompt copied into the temporary project: a suite may only name prompts
    inside its own project (an absolute path elsewhere is refused, PK011)."""
    return Path(shutil.copy(GREET, tmp_path / "greet.prompty"))


def test_model_matrix_labels_params_and_judge(tmp_path: Path) -> None:
    greet = _greet_in(tmp_path)
    text = textwrap.dedent(
        f"""\
        prompts: [{greet}]
        models:
          - openai/gpt-4o-mini
          - id: anthropic/claude-3-5-haiku
            params: {{temperature: 0.7, max_tokens: 50}}
            label: haiku
        defaults:
          judge: {{id: openai/gpt-4o, params: {{temperature: 0}}}}
          threshold: 0.6
        cases:
          - id: a
            vars: {{name: Ada}}
          - id: b
            vars: {{name: Bo}}
            models: [openai/o3-mini]
            threshold: 0.9
        """
    )
    suite = loads_suite(text, tmp_path / "m.prompttest.yaml")
    runs = suite.expand()
    assert [(r.case.id, r.model.name) for r in runs] == [
        ("a", "openai/gpt-4o-mini"), ("a", "haiku"), ("b", "openai/o3-mini")
    ]
    assert runs[1].params == {"temperature": 0.7, "max_tokens": 50}  # target overrides template
    assert runs[0].threshold == 0.6 and runs[2].threshold == 0.9
    assert suite.judge == ModelTarget(id="openai/gpt-4o", params={"temperature": 0})
    ctx = runs[0].context([])
    assert ctx.judge_model == "openai/gpt-4o" and ctx.judge_params == {"temperature": 0}


def test_several_prompts_give_distinct_ids(tmp_path: Path) -> None:
    other = tmp_path / "other.prompty"
    other.write_text("---\nname: other\nmodel: openai/gpt-4o-mini\n---\nuser:\nHi {{ name }}\n", encoding="utf-8")
    suite = loads_suite(f"prompts: [{_greet_in(tmp_path)}, {other}]\ncases:\n  - id: a\n    vars: {{name: Ada}}\n",
                        tmp_path / "x.prompttest.yaml")
    ids = [r.id for r in suite.expand()]
    assert len(set(ids)) == 2
    assert ids[0].endswith("::a[greet|openai/gpt-4o-mini]") and ids[1].endswith("::a[other|openai/gpt-4o-mini]")


def test_prompt_without_model_and_suite_without_models_is_an_error(tmp_path: Path) -> None:
    bare = tmp_path / "bare.prompty"
    bare.write_text("---\nname: bare\n---\nuser:\nHi\n", encoding="utf-8")
    suite = loads_suite(f"prompts: [{bare}]\ncases:\n  - id: a\n", tmp_path / "x.prompttest.yaml")
    with pytest.raises(PromptkitError, match="names no model"):
        suite.expand()


# --------------------------------------------------------------------------- broken files

BROKEN = [
    # file, line, code, words the message must contain
    ("bad_yaml", 6, "PT001", "invalid YAML"),
    ("unknown_assertion", 8, "PT003", "unknown assertion type 'contians'"),
    ("unknown_shorthand", 6, "PT003", "unknown assertion type 'not-icontain'"),
    ("missing_prompt", 3, "PT004", "'../prompts/farewell.prompty' not found"),
    ("wrong_type", 8, "PT002", "cases[1].repeat"),
    ("unknown_key", 5, "PT002", "unknown key 'asert'"),
    ("bad_option", 10, "PT003", "invalid regular expression"),
    ("bad_schema", 8, "PT003", "not a valid JSON Schema"),
    ("min_pass", 6, "PT002", "min_pass (3) is greater than repeat (2)"),
    ("duplicate_id", 5, "PT002", "duplicate case id 'one'"),
    ("missing_dataset", 4, "PT004", "'nowhere.csv' not found"),
    ("not_a_mapping", 1, "PT002", "must be a YAML mapping"),
    ("no_cases", 1, "PT002", "missing required key 'cases'"),
    ("env_var", 5, "PT002", "${env:OPENAI_API_KEY} is not allowed"),
    ("missing_var_file", 4, "PT004", "cannot read people/ada.txt"),
    ("missing_schema", 7, "PT004", "file 'schemas/greeting.json' not found"),
]


@pytest.mark.parametrize(("name", "line", "code", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_suite_reports_file_and_line(name: str, line: int, code: str, words: str) -> None:
    path = FIXTURES / "broken" / f"{name}.prompttest.yaml"
    with pytest.raises(PromptkitError) as info:
        load_suite(path)
    d = info.value.diagnostic
    assert (d.path, d.line, d.code) == (str(path), line, code), d.format()
    assert words in d.message
    assert d.format().startswith(f"{path}:{line}:")
    assert d.hint  # every error says how to fix it


def test_hints_suggest_the_right_spelling() -> None:
    with pytest.raises(PromptkitError) as info:
        load_suite(FIXTURES / "broken" / "unknown_assertion.prompttest.yaml")
    assert info.value.diagnostic.hint == "did you mean 'contains'?"
    assert info.value.diagnostic.column == 15  # the type's value, not the line start
    with pytest.raises(PromptkitError) as info:
        load_suite(FIXTURES / "broken" / "unknown_key.prompttest.yaml")
    assert info.value.diagnostic.hint == "did you mean 'assert'?"
    assert info.value.diagnostic.column == 5  # the key itself


@pytest.mark.parametrize(
    ("name", "line", "words"),
    [("bad_dataset", 3, "row has 3 cells"), ("bad_jsonl", 2, "invalid JSON")],
)
def test_broken_dataset_points_into_the_dataset(name: str, line: int, words: str) -> None:
    with pytest.raises(PromptkitError) as info:
        load_suite(FIXTURES / "broken" / f"{name}.prompttest.yaml")
    d = info.value.diagnostic
    assert d.code == "PT005" and d.line == line and words in d.message
    assert Path(d.path).suffix in (".csv", ".jsonl")


def test_missing_suite_file_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(PromptkitError) as info:
        load_suite(tmp_path / "absent.prompttest.yaml")
    assert info.value.diagnostic.code == "PT004"


def test_dataset_assertion_errors_name_the_row(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("name,__expected\nAda,contains: Ada\nBo,\"regex: (\"\n", encoding="utf-8")
    with pytest.raises(PromptkitError) as info:
        load_dataset(data)
    assert info.value.diagnostic.line == 3 and "invalid regular expression" in info.value.diagnostic.message


def test_parse_expected_cells() -> None:
    assert parse_expected("icontains: Paris") == {"icontains": "Paris"}
    assert parse_expected("not-contains: sorry") == {"not-contains": "sorry"}
    assert parse_expected('length: {"max": 5}') == {"length": {"max": 5}}
    # no known type prefix: the whole cell is the expected output
    assert parse_expected("Paris: the capital") == {"type": "equals", "value": "Paris: the capital"}
    assert parse_expected("42") == {"type": "equals", "value": "42"}


# --------------------------------------------------------------------------- Python API


def test_python_api_builds_the_same_suite() -> None:
    suite = Suite.from_cases(
        GREET,
        [
            Case(id="ada", vars={"name": "Ada"}, assertions=[AssertionSpec.make("icontains", "ada")]),
            {"id": "bo", "vars": {"name": "Bo"}, "assert": [{"type": "not-contains", "value": "sorry"}], "repeat": 2},
        ],
        models=["openai/gpt-4o-mini", {"id": "openai/gpt-4o", "label": "big"}],
        defaults={"vars": {"times": 2}, "assert": [{"type": "is-json"}], "judge": "openai/gpt-4o-mini"},
    )
    runs = suite.expand()
    assert len(runs) == 4
    assert runs[0].vars == {"times": 2, "name": "Ada"}
    assert [a.label for a in runs[2].assertions] == ["is-json", "not-contains"]
    assert runs[2].case.repeat == 2 and runs[2].case.required_passes == 2
    assert runs[0].id == "<python>::ada[openai/gpt-4o-mini]"


def test_python_api_rejects_bad_input() -> None:
    with pytest.raises(PromptkitError, match="prompt file not found"):
        Suite.from_cases("nope.prompty", [Case(id="a")])
    with pytest.raises(ValueError, match="did you mean 'contains'"):
        Case(id="a", assertions=[{"type": "contans", "value": "x"}])
    with pytest.raises(PromptkitError, match="duplicate case id"):
        Suite.from_cases(GREET, [Case(id="a"), Case(id="a")])


def test_example_suite_in_fixtures_runs_against_repo_template() -> None:
    suite = load_suite(FIXTURES / "summarize.prompttest.yaml")
    runs = suite.expand()
    assert len(runs) == 8  # 4 cases x 2 models
    assert {r.template_path.resolve() for r in runs} == {(REPO / "templates" / "summarize.prompty").resolve()}
    rubric = runs[0].assertions[-1]
    assert rubric.type == "llm-rubric" and rubric.weight == 2
    # ${file:...} variables are read relative to the test file
    from_file = next(r for r in runs if r.case.id == "from-file")
    assert from_file.vars["text"].startswith("The city council voted on Tuesday")


# --------------------------------------------------------------------------- never a traceback

_SOURCE = (FIXTURES / "greet.prompttest.yaml").read_text(encoding="utf-8")
_LINES = _SOURCE.splitlines()
_JUNK = st.sampled_from(["", "x", "- ", ": ", "[", "{a: 1}", "  ", "\t", "null", "5", "*a", "!!str", "assert:", "- type: regex\n  value: '('"])


@settings(max_examples=80, deadline=None)
@given(
    drop=st.lists(st.integers(0, len(_LINES) - 1), max_size=3),
    insert_at=st.integers(0, len(_LINES)),
    junk=_JUNK,
    noise=st.text(max_size=6),
)
def test_mutated_suite_files_load_or_raise_a_located_error(drop: list[int], insert_at: int, junk: str, noise: str) -> None:
    lines = [ln for i, ln in enumerate(_LINES) if i not in set(drop)]
    lines.insert(min(insert_at, len(lines)), junk + noise)
    try:
        suite = loads_suite("\n".join(lines), FIXTURES / "mutated.prompttest.yaml")
    except PromptkitError as exc:
        d = exc.diagnostic
        assert d.code.startswith("PT") and d.message and 1 <= d.line
        return
    suite.expand()  # a suite that loads also expands


def test_dataset_rows_may_reference_files(tmp_path: Path) -> None:
    (tmp_path / "doc.json").write_text('{"k": [1, 2]}', encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text(
        '{"name": "${file:doc.json}"}\n{"name": "${file:absent.txt}"}\n', encoding="utf-8"
    )
    suite_text = f"prompts: [{_greet_in(tmp_path)}]\ncases:\n  - id: r\n    dataset: rows.jsonl\n"
    with pytest.raises(PromptkitError) as info:
        loads_suite(suite_text, tmp_path / "s.prompttest.yaml")
    d = info.value.diagnostic
    assert d.path.endswith("rows.jsonl") and d.line == 2 and "absent.txt" in d.message
    (tmp_path / "rows.jsonl").write_text('{"name": "${file:doc.json}"}\n', encoding="utf-8")
    suite = loads_suite(suite_text, tmp_path / "s.prompttest.yaml")
    assert suite.cases[0].vars == {"name": {"k": [1, 2]}}


def test_json_and_yaml_datasets_keep_row_lines(tmp_path: Path) -> None:
    (tmp_path / "rows.json").write_text(
        '[\n  {"id": "a", "vars": {"name": "Ada"}},\n\n  {"name": "Bo", "__expected": "contains: Bo"}\n]\n', encoding="utf-8"
    )
    rows = load_dataset(tmp_path / "rows.json")
    assert [(r.id, r.line, r.vars) for r in rows] == [("a", 2, {"name": "Ada"}), (None, 4, {"name": "Bo"})]
    assert rows[1].assertions[0].type == "contains"
    (tmp_path / "rows.yaml").write_text(
        "- id: a\n  vars: {name: Ada}\n  assert:\n    - icontains: ada\n- name: Bo\n", encoding="utf-8"
    )
    rows = load_dataset(tmp_path / "rows.yaml")
    assert [(r.id, r.line) for r in rows] == [("a", 1), (None, 5)]
    assert rows[0].assertions[0].type == "icontains"
    for name, text, line in [("bad.json", '[\n {"a": 1},\n {"b": }\n]', 3), ("open.json", '[{"a": 1}', 1),
                             ("bad.yaml", "- a: 1\n- b: [\n", 3), ("scalar.yaml", "- a: 1\n- 5\n", 2)]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(PromptkitError) as info:
            load_dataset(tmp_path / name)
        assert info.value.diagnostic.line == line, (name, info.value.diagnostic.format())


_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=12)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(_cell, _cell).filter(lambda r: any(c.strip() for c in r)), min_size=1, max_size=6))
def test_csv_datasets_round_trip_with_true_row_lines(tmp_path_factory: pytest.TempPathFactory,
                                                      rows: list[tuple[str, str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["text", "note"])
    lines, line = [], 2
    for r in rows:
        lines.append(line)
        start = buf.tell()
        writer.writerow(r)
        line += buf.getvalue()[start:].count("\n")
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    loaded = load_dataset(path)
    assert [(r.vars["text"], r.vars["note"]) for r in loaded] == rows
    assert [r.line for r in loaded] == lines


def test_model_param_span_finds_the_key_that_set_a_refused_parameter(tmp_path: Path) -> None:
    """A parameter refused at call time is reported at the key that set it: in ``models:``,
    a case's own ``models:`` or a ``judge:``; a file gone since gives no position."""
    from promptkit.runner.suite_file import model_param_span

    f = tmp_path / "s.prompttest.yaml"
    f.write_text("prompts: [p.prompty]\n"
                 "models:\n"
                 "  - {id: a/one, params: {temperature: 0}}\n"
                 "defaults:\n"
                 "  judge: {id: j/judge, params: {api_base: 'http://x'}}\n"
                 "cases:\n"
                 "  - id: c\n"
                 "    models:\n"
                 "      - id: b/two\n"
                 "        params:\n"
                 "          base_url: http://y\n", encoding="utf-8")
    spans = {m: model_param_span(f, m, k) for m, k in
             [("a/one", "temperature"), ("j/judge", "api_base"), ("b/two", "base_url")]}
    assert {m: s.start.line if s else None for m, s in spans.items()} == {"a/one": 3, "j/judge": 5, "b/two": 11}
    assert model_param_span(f, "a/one", "api_base") is None  # not set there
    assert model_param_span(f, "z/none", "temperature") is None
    assert model_param_span(tmp_path / "gone.prompttest.yaml", "a/one", "temperature") is None


def test_every_bad_variable_reference_is_reported_in_one_run(tmp_path: Path) -> None:
    """Missing ``${file:}`` targets, a refused ``${env:}`` and a path out of the project,
    in cases and in dataset rows: all reported at once, each at its own line."""
    (tmp_path / "p.prompty").write_text("---\nname: p\nmodel: {id: openai/m}\ninputs:\n  q: {type: string}\n---\n"
                                        "user:\n{{q}}\n", encoding="utf-8")
    (tmp_path / "rows.jsonl").write_text('{"id": "r1", "q": "${file:gone-a.txt}"}\n{"id": "r2", "q": "ok"}\n'
                                         '{"id": "r3", "q": "${file:gone-b.txt}"}\n', encoding="utf-8")
    f = tmp_path / "s.prompttest.yaml"
    f.write_text(textwrap.dedent("""\
        prompts: [p.prompty]
        cases:
          - id: one
            vars: {q: "${file:missing.txt}"}
          - id: two
            vars: {q: "${env:HOME}"}
          - id: fine
            vars: {q: plain}
          - id: three
            vars: {q: "${file:../../../../etc/hostname}"}
          - id: rows
            dataset: rows.jsonl
        """), encoding="utf-8")
    with pytest.raises(PromptkitError) as info:
        load_suite(f)
    found = sorted((Path(d.path).name, d.line, d.code) for d in info.value.diagnostics)
    assert found == [("rows.jsonl", 1, "PT005"), ("rows.jsonl", 3, "PT005"), ("s.prompttest.yaml", 4, "PT004"),
                     ("s.prompttest.yaml", 6, "PT002"), ("s.prompttest.yaml", 10, "PK011")], found
