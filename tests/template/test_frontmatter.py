"""Front matter: Prompty v1 and v2 shapes, unknown keys, lenient YAML, errors with positions."""

from __future__ import annotations

from pathlib import Path

from promptkit.diagnostics import Severity
from promptkit.template import Engine, FileKind, load, loads, render

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "template"


def test_prompty_v1_shape() -> None:
    t = load(FIXTURES / "prompty_v1.prompty")
    assert t.ok and t.diagnostics == []
    fm = t.front_matter
    assert fm.name == "Basic Prompt" and fm.authors == ["Jane Doe"]
    assert fm.model is not None
    assert fm.model.api == "chat"
    assert fm.model.litellm_id == "azure/gpt-35-turbo"  # configuration.type azure_openai + deployment
    assert fm.model.params == {"max_tokens": 128, "temperature": 0.2}
    assert set(fm.inputs) == {"firstName", "question"} and fm.inputs["question"].type == "string"
    assert t.samples() == {"firstName": "Jane", "question": "What is the meaning of life?"}
    # unknown keys are preserved, in the model and in the raw mapping
    assert fm.model_extra == {"x-team-owner": "search-quality"}
    assert t.raw_front_matter["x-team-owner"] == "search-quality"
    # references are kept verbatim at load time (never resolved, never read)
    assert fm.model.configuration["azure_endpoint"] == "${env:AZURE_OPENAI_ENDPOINT}"
    msgs = render(t, t.samples())
    assert [m.role for m in msgs] == ["system", "user"]
    assert "You are helping Jane" in msgs[0].content and "# Customer" in msgs[0].content


def test_prompty_v2_shape() -> None:
    t = load(FIXTURES / "prompty_v2.prompty")
    assert t.ok, [d.format() for d in t.diagnostics]
    fm = t.front_matter
    assert (fm.version, fm.authors, fm.tags) == ("2.1.0", ["alice"], ["demo"])  # lifted from metadata
    assert fm.model is not None and fm.model.litellm_id == "openai/gpt-4o-mini"
    assert fm.model.params == {"temperature": 0, "max_tokens": 200}  # v2 option names as litellm calls them
    assert t.engine is Engine.NUNJUCKS
    # inputs given as a list with `kind` load like the dict form
    assert list(fm.inputs) == ["city", "days"]
    assert fm.inputs["city"].type == "string" and fm.inputs["city"].default == "Paris"
    # Prompty v2: `required` defaults to false, with or without a default
    assert not fm.inputs["city"].is_required and not fm.inputs["days"].is_required
    assert fm.inputs["days"].type == "integer"
    assert fm.model_extra["custom"] == {"keep": "me"}
    assert render(t, t.samples())[1].content == "Plan 3 days in Paris."
    # positions of nested keys are known, e.g. for a lint finding on an input
    span = t.span_of("inputs", 1, "kind")
    assert span is not None and t.index.line_text(span.line).strip() == "kind: integer"


def test_v1_and_v2_inputs_shapes_are_equivalent() -> None:
    as_dict = loads("---\ninputs:\n  q:\n    type: string\n    default: hi\n---\nuser:\n{{ q }}\n", path="a.prompty")
    as_list = loads("---\ninputs:\n  - name: q\n    kind: string\n    default: hi\n---\nuser:\n{{ q }}\n", path="b.prompty")
    shorthand = loads("---\ninputs:\n  q: hi\n---\nuser:\n{{ q }}\n", path="c.prompty")
    assert as_dict.inputs["q"].model_dump() == as_list.inputs["q"].model_dump()
    assert shorthand.inputs["q"].type == "string" and shorthand.samples() == {"q": "hi"}
    assert render(as_dict) == render(as_list) == render(shorthand, q="hi")


def test_lenient_yaml_is_a_warning() -> None:
    t = load(FIXTURES / "lenient_globs.mdc")
    assert t.kind is FileKind.MARKDOWN
    (d,) = t.diagnostics
    assert (d.code, d.severity) == ("PK003", Severity.WARNING)
    assert (d.line, d.column) == (3, 9)
    assert t.raw_front_matter["globs"] == "**/*.ts" and t.raw_front_matter["alwaysApply"] is False
    assert t.front_matter.description == "TypeScript conventions"
    assert t.ok


def test_invalid_yaml_has_line_and_column() -> None:
    t = load(FIXTURES / "invalid_yaml.prompty")
    (d,) = t.diagnostics
    assert d.code == "PK002" and d.severity is Severity.ERROR
    # PyYAML notices the unclosed `[` of line 4 where the next key starts
    assert (d.line, d.column) == (5, 6)
    assert d.format().startswith(f"{FIXTURES / 'invalid_yaml.prompty'}:5:6: error: PK002 invalid YAML")
    # the body is still modelled
    assert [m.role for m in t.messages] == ["system"] and t.body_line == 7
    assert not t.ok


def test_a_non_semver_version_is_a_warning_and_the_file_still_renders() -> None:
    t = load(FIXTURES / "bad_semver.prompty")
    (d,) = t.diagnostics
    assert d.code == "PK006" and (d.line, d.column) == (4, 10) and d.severity is Severity.WARNING
    assert "'1.2' is not semantic versioning" in d.message and "1.0.0" in d.hint
    assert t.ok and render(t, t.samples())  # Prompty accepts any version string: so does loading
    fm = t.front_matter
    assert fm.version == "1.2" and not fm.is_semver  # kept as written
    assert fm.name == "bad-version" and fm.description == "everything but the version is fine"
    assert fm.model is not None and fm.model.litellm_id == "openai/gpt-4o-mini"
    assert t.samples() == {"topic": "tides"}


def test_schema_errors_in_nested_fields_point_at_them() -> None:
    text = "---\nname: x\ninputs:\n  q:\n    type: string\n    required: perhaps\nauthors: 7\n---\nuser:\nhi\n"
    t = loads(text, path="n.prompty")
    by_field = {d.message.split("'")[1]: d for d in t.diagnostics}
    assert by_field["inputs.q.required"].line == 6
    assert t.front_matter.name == "x"
    # a number is not a list of author names
    assert "authors" in by_field and by_field["authors"].line == 7


def test_foreign_formats_load_with_warnings_only() -> None:
    skill = loads("---\nname: s\nversion: 1.0\nmodel: [GPT-5, Claude]\n---\nDo things.\n", path="x/SKILL.md")
    assert skill.ok and {d.code for d in skill.diagnostics} == {"PK006"}
    assert skill.front_matter.model is not None and skill.front_matter.model.id == "GPT-5"
    dot = loads("---\nmodel: googleai/gemini-2.5-flash\noutput:\n  format: json\n  schema: Recipe\n---\n{{role \"system\"}}\nCook.\n",
                path="r.prompt")
    assert dot.ok and dot.diagnostics == [] and dot.front_matter.wants_json
    assert dot.front_matter.output is not None and dot.front_matter.output.model_extra == {"schema_ref": "Recipe"}


def test_file_reference_as_inputs_is_not_an_error() -> None:
    t = loads("---\nname: f\ninputs: ${file:schema.json}\n---\nuser:\n{{ question }}\n", path="f.prompty")
    assert t.ok and t.diagnostics == [] and t.inputs == {}
    assert t.raw_front_matter["inputs"] == "${file:schema.json}"


def test_front_matter_must_be_a_mapping() -> None:
    t = loads("---\n- a\n- b\n---\nuser:\nhi\n", path="l.prompty")
    (d,) = t.diagnostics
    assert d.code == "PK006" and "mapping" in d.message and d.line == 1
    assert [m.role for m in t.messages] == ["user"]
