"""PK1xx template rules: behaviour beyond the doc examples, and the corpora's known-bad files."""

from __future__ import annotations

import json

import pytest
from jinja2 import Environment, TemplateSyntaxError

from promptkit.template import load, loads

from ._rules_helpers import CORPORA, run, run_file, run_text

needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"corpora not found at {CORPORA} (../shared/corpora)")


# --------------------------------------------------------------------------- PK100


def test_unclosed_block_points_at_its_opening_tag_in_file_lines() -> None:
    text = "---\nname: x\ninputs:\n  a: {type: string}\n---\nsystem:\nhello\n{% if a %}\nunclosed\n\nmore\n"
    [f] = run_text("PK100", text)
    # Jinja blames the end of the template; the finding names the {% if %} that is
    # never closed, on its line of the *file* (front matter counted).
    assert f.span.start.line == 8
    assert "{% if %} is never closed" in f.message


def test_syntax_error_reports_the_exact_line_of_the_exception() -> None:
    body = "user:\n{{ a }}\n{{ b + }}\nlast\n"
    [f] = run_text("PK100", "---\nname: t\n---\n" + body)
    with pytest.raises(TemplateSyntaxError) as exc:
        Environment().parse(body)
    assert f.span.start.line == 3 + exc.value.lineno


@needs_corpora
def test_promptflow_no_end_is_caught() -> None:
    path = CORPORA / "promptflow-jinja" / "src__promptflow__tests__test_configs__wrong_tools__no_end.jinja2"
    [f] = run_file("PK100", path)
    assert f.span.start.line == 1  # the {% for %} that never ends
    assert "{% for %} is never closed" in f.message


def test_prose_files_are_not_parsed_as_jinja() -> None:
    assert run_text("PK100", "# Title\nUse `style={{ width: 1 }}` in JSX {% raw\n", path="x.md") == []


# --------------------------------------------------------------------------- PK101 / PK102

HEADER = "---\nname: t\ninputs:\n  question: {type: string}\n  context: {type: string}\n---\n"


def test_undefined_excludes_loop_set_and_globals() -> None:
    body = (
        "system:\n{% set n = 3 %}{% for doc in documents %}{{ doc.title }} {{ loop.index }}{% endfor %}\n"
        "{{ n }} {{ range(2) | list }} {{ question }} {{ context }}\n"
    )
    found = run_text("PK101", HEADER + body)
    assert [f.message for f in found] == ["variable 'documents' is used but not declared in inputs"]
    assert found[0].span.start.line == 8


def test_undefined_reports_every_line_of_use() -> None:
    found = run_text("PK101", HEADER + "user:\n{{ question }} {{ qestion }}\n\n{{ qestion | upper }}\n")
    assert sorted(f.span.start.line for f in found) == [8, 10]
    assert found[0].span.end.column - found[0].span.start.column == len("qestion")


def test_undefined_is_silent_without_declared_inputs() -> None:
    assert run_text("PK101", "user:\n{{ anything }}\n", path="t.jinja2") == []


def test_sample_keys_count_as_declared() -> None:
    text = "---\nname: t\ninputs:\n  q: {type: string}\nsample:\n  q: hi\n  extra: 1\n---\nuser:\n{{ q }} {{ extra }}\n"
    assert run_text("PK101", text) == []


def test_unused_input_points_at_its_declaration() -> None:
    [f] = run_text("PK102", HEADER + "user:\n{{ question }}\n")
    assert "'context'" in f.message
    assert f.span.start.line == 5


def test_unused_skipped_when_template_includes_another() -> None:
    assert run_text("PK102", HEADER + "user:\n{% include 'other.j2' %}\n") == []


@needs_corpora
@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("dotprompt--examples__warning-undefined-variable.prompt", "PK101", {"email", "age"}),
        ("dotprompt--examples__warning-unused-variable.prompt", "PK102", {"email", "age"}),
    ],
)
def test_dotprompt_variable_warnings(name: str, code: str, expected: set[str]) -> None:
    found = run_file(code, CORPORA / "dotprompt" / name)
    assert {f.message.split("'")[1] for f in found} == expected


def test_handlebars_each_scope_and_helpers() -> None:
    text = (
        "---\ninput:\n  schema:\n    items(array): string\n    name: string\n---\n"
        "{{role \"system\"}}Hi {{name}}\n{{#each items}}- {{this}} {{title}}\n{{/each}}\n"
        "{{media url=photo}}\n{{json name}}\n"
    )
    found = run_text("PK101", text, path="t.prompt")
    assert [f.message.split("'")[1] for f in found] == ["photo"]
    assert run_text("PK102", text, path="t.prompt") == []


# --------------------------------------------------------------------------- PK103 / PK104


def test_unknown_filter_suggests_the_close_one() -> None:
    [f] = run_text("PK103", "user:\n{{ name | uper }}\n", path="t.j2")
    assert f.hint == "did you mean 'upper'?"
    assert f.span.start.column == 9


@needs_corpora
def test_promptsource_choice_filter_is_unknown() -> None:
    with open(CORPORA / "promptsource.jsonl", encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh]
    uses = [r for r in recs if "| choice" in r["jinja"] or "|choice" in r["jinja"]][:20]
    assert uses
    for r in uses:
        found = run("PK103", loads(r["jinja"], path="p.j2"))
        assert any("'choice'" in f.message for f in found)


def test_unknown_test_and_known_tests() -> None:
    assert run_text("PK104", "user:\n{% if x is defined and y is not none and z is odd %}{% endif %}\n", path="t.j2") == []
    [f] = run_text("PK104", "user:\n{% if x is not definedd %}{% endif %}\n", path="t.j2")
    assert "'definedd'" in f.message and f.hint == "did you mean 'defined'?"


# --------------------------------------------------------------------------- PK105


def test_foreign_syntax_false_positive_guards() -> None:
    body = (
        "user:\n"
        "{{ question }}\n"
        "```jsx\n<div style={{ width: 1 }}>${question}</div>\n```\n"  # code fence: skipped
        "Use ${{ secrets.TOKEN }} in Actions.\n"  # GitHub Actions
        "{{ '{question}' }}\n"  # inside a Jinja expression
        "The set {x} is not an input.\n"  # not a declared input
    )
    assert run_text("PK105", HEADER + body) == []


def test_foreign_syntax_semantic_kernel_and_dollar() -> None:
    found = run_text("PK105", HEADER + "user:\nAnswer ${question} using ${context}.\n")
    assert len(found) == 2
    assert all("rendered literally" in f.message for f in found)
    assert found[0].hint == "write {{ question }} to insert the value"


def test_foreign_syntax_in_dotprompt() -> None:
    text = "---\ninput:\n  schema:\n    subject: string\n---\nTell a joke about {subject}\n"
    [f] = run_text("PK105", text, path="t.prompt")
    assert f.hint == "write {{subject}} to insert the value"


# --------------------------------------------------------------------------- PK106


@pytest.mark.parametrize(("line", "role"), [("sytem:", "system"), ("assistnt:", "assistant"), ("# usr:", "user"), ("Sysetm:", "system")])
def test_role_typos(line: str, role: str) -> None:
    [f] = run_text("PK106", f"---\nname: t\n---\n{line}\nhello\n")
    assert f.fix is not None and not f.fix.safe
    assert f.fix.edits[0].content == role


@pytest.mark.parametrize("line", ["Tools:", "Users:", "Note:", "Output:", "Steps:", "Context:", "system:", "Input:"])
def test_role_typo_leaves_labels_alone(line: str) -> None:
    assert run_text("PK106", f"---\nname: t\n---\nsystem:\nhi\n{line}\nmore\n") == []


def test_role_typo_fix_makes_a_real_role_line() -> None:
    text = "---\nname: t\n---\nsytem:\nBe brief.\nuser:\nhi\n"
    [f] = run_text("PK106", text)
    e = f.fix.edits[0]
    fixed = loads(text[: e.start] + e.content + text[e.end :], path="t.prompty")
    assert [m.role for m in fixed.messages] == ["system", "user"]


# --------------------------------------------------------------------------- PK107


def test_required_input_sample_sources() -> None:
    text = (
        "---\nname: t\ninputs:\n  a: {type: string, sample: x}\n  b: {type: string, default: y}\n"
        "  c: {type: string, required: false}\n  d: {type: string, required: true}\nsample:\n  d: z\n---\nuser:\n{{a}}{{b}}{{c}}{{d}}\n"
    )
    assert run_text("PK107", text) == []
    assert run_text("PK107", text.replace("sample:\n  d: z\n", "sample: ${file:sample.json}\n")) == []
    [f] = run_text("PK107", text.replace("sample:\n  d: z\n", ""))
    assert "'d'" in f.message


# --------------------------------------------------------------------------- Handlebars blocks

ERROR_FILES = {
    "dotprompt--examples__error-unclosed-block.prompt": {"PK108"},
    "dotprompt--examples__error-unmatched-closing-block.prompt": {"PK109"},
    "dotprompt--examples__error-unbalanced-brace.prompt": {"PK110"},
    "dotprompt--examples__error-multiple-issues.prompt": {"PK110"},
}


@needs_corpora
@pytest.mark.parametrize("name", sorted(ERROR_FILES))
def test_dotprompt_error_examples_are_caught(name: str) -> None:
    t = load(CORPORA / "dotprompt" / name)
    hit = {code for code in ("PK108", "PK109", "PK110") if run(code, t)}
    assert ERROR_FILES[name] <= hit


@needs_corpora
def test_valid_dotprompt_examples_are_clean() -> None:
    for path in sorted((CORPORA / "dotprompt").glob("dotprompt--examples__valid-*.prompt")):
        t = load(path)
        for code in ("PK108", "PK109", "PK110"):
            assert run(code, t) == [], (path.name, code)


def test_partial_blocks_and_nested_blocks_balance() -> None:
    text = "{{#> layout}}\n{{#if a}}{{#each b}}x{{/each}}{{else}}y{{/if}}\n{{/layout}}\n{{! a }} and {{!-- {{ }} --}}\n"
    for code in ("PK108", "PK109", "PK110"):
        assert run_text(code, text, path="t.prompt") == []


def test_object_literal_braces_in_prose_are_not_stray() -> None:
    assert run_text("PK110", "Add `{config: {modalities: ['TEXT']}}` to calls.\n", path="t.prompt") == []


# --------------------------------------------------------------------------- PK111


@needs_corpora
def test_poml_bad_syntax_is_caught_and_good_files_are_clean() -> None:
    bad = run_file("PK111", CORPORA / "poml" / "packages__poml-vscode__test-fixtures__badSyntax.poml")
    assert bad and "never terminated" in bad[0].message
    for path in sorted((CORPORA / "poml").glob("*.poml")):
        if "bad" in path.name:
            continue
        assert run_file("PK111", path) == [], path.name


def test_poml_attributes_with_angle_brackets_and_expressions() -> None:
    text = '<poml>\n  <p if="count > 3">{{ a < b }}</p>\n  <img src="x.png"/>\n  <!-- <open> -->\n</poml>\n'
    assert run_text("PK111", text, path="t.poml") == []
    [f] = run_text("PK111", text.replace("</p>", ""), path="t.poml")
    assert "'<p>' is not closed" in f.message


# --------------------------------------------------------------------------- PK112


def test_placeholders_in_inline_code_and_fences_are_skipped() -> None:
    text = "---\nname: t\n---\nsystem:\nFind `TODO:` comments.\n```\n# TODO: example\n```\n"
    assert run_text("PK112", text) == []
    assert run_text("PK112", "---\nname: t\n---\nsystem:\nAnswer about [INSERT PRODUCT NAME].\n")


def test_prompty_v2_input_schema_list() -> None:
    text = (
        "---\nname: t\ninputSchema:\n  properties:\n    - name: question\n      kind: string\n"
        "    - name: context\n      kind: string\n      default: ''\n    - name: thread\n      kind: thread\n---\n"
        "system:\nAnswer from {{ context }}.\nuser:\n{{ question }}\n"
    )
    assert run_text("PK101", text) == []
    assert run_text("PK102", text) == []  # the thread input is spliced in by the runtime
    [f] = run_text("PK102", text.replace("{{ context }}", "the docs"))
    assert "'context'" in f.message and f.span.start.line == 7
