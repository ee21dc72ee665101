"""PK2xx structure rules: config-driven rules, components, output contracts, version."""

from __future__ import annotations

from promptkit.lint.config import LintConfig

from ._rules_helpers import run_text

CHAT = "---\nname: t\n---\nuser:\nWhat is 2 + 2?\n"


def test_system_message_required_only_by_config() -> None:
    assert run_text("PK200", CHAT) == []
    assert run_text("PK200", CHAT, config=LintConfig()) == []
    [f] = run_text("PK200", CHAT, config=LintConfig(require_system_message=True))
    assert f.span.start.line == 4
    per_rule = LintConfig(rules={"PK200": {"require": True}})
    assert run_text("PK200", CHAT, config=per_rule)


def test_developer_or_dynamic_role_satisfies_system_requirement() -> None:
    cfg = LintConfig(require_system_message=True)
    assert run_text("PK200", "---\nname: t\n---\ndeveloper:\nBe brief.\nuser:\nhi\n", config=cfg) == []
    loop = "---\nname: t\n---\n{% for m in history %}\n{{ m.role }}:\n{{ m.content }}\n{% endfor %}\n"
    assert run_text("PK200", loop, config=cfg) == []


def test_system_not_first_ignores_dynamic_roles_and_leading_comments() -> None:
    history_first = "---\nname: t\n---\n{% for m in history %}\n{{ m.role }}:\n{{ m.content }}\n{% endfor %}\nsystem:\nBe brief.\n"
    assert run_text("PK201", history_first) == []
    [f] = run_text("PK201", "---\nname: t\n---\nassistant:\nHello!\nsystem:\nBe brief.\n")
    assert f.message == "the system message comes after the assistant message"
    assert f.span.start.line == 6


def test_empty_message_allows_trailing_assistant_prefill() -> None:
    assert run_text("PK202", "---\nname: t\n---\nsystem:\nBe brief.\nuser:\nhi\nassistant:\n") == []
    [f] = run_text("PK202", "---\nname: t\n---\nsystem:\n{# todo #}\n\nuser:\nhi\n")
    assert "system message is empty" in f.message


def test_empty_component_with_children_or_unknown_title_is_fine() -> None:
    text = "# Task\n## Steps\nRead it.\n\n# Notes on style\n\n# Output format\nJSON.\n"
    assert run_text("PK203", text, path="t.md") == []
    [f] = run_text("PK203", "# Context\n<context>\n</context>\n\n# Task\nDo it.\n", path="t.md")
    assert "<context>" in f.message


def test_duplicate_component_only_among_siblings() -> None:
    text = "# Task\nA.\n## Examples\nx\n# Rules\n## Examples\ny\n"
    assert run_text("PK204", text, path="t.md") == []
    [f] = run_text("PK204", "# Task\nA.\n# Context\nB.\n# Task\nC.\n", path="t.md")
    assert "repeats the section at line 1" in f.message


def test_required_components_match_synonyms() -> None:
    cfg = LintConfig(required_components=["task", "output_format", "examples"])
    text = "# Instructions\nDo it.\n\n## Response format\nJSON.\n\n<examples>\nx\n</examples>\n"
    assert run_text("PK205", text, path="t.md", config=cfg) == []
    found = run_text("PK205", "# Instructions\nDo it.\n", path="t.md", config=cfg)
    assert sorted(f.message for f in found) == [
        "required component 'examples' is missing",
        "required component 'output_format' is missing",
    ]
    opt = LintConfig(rules={"PK205": {"components": ["role"]}})
    assert run_text("PK205", "# Task\nx\n", path="t.md", config=opt)


def test_json_output_needs_instructions() -> None:
    fm = "---\nname: t\nmodel:\n  id: gpt-4o\n  parameters:\n    response_format: {type: json_object}\n---\n"
    [f] = run_text("PK206", fm + "system:\nClassify the review.\n")
    assert f.span.start.line == 6  # the response_format line
    assert run_text("PK206", fm + "system:\nClassify the review. Reply with a JSON object.\n") == []


SCHEMA = (
    "---\nname: t\noutput:\n  format: json\n  schema:\n    type: object\n    required: [label]\n"
    "    properties:\n      label: {enum: [bug, feature]}\n---\nsystem:\nReturn JSON.\n"
)


def test_examples_validate_against_the_schema() -> None:
    good = SCHEMA + '\n<examples>\n{"label": "bug"}\n</examples>\n'
    assert run_text("PK207", good) == []
    bad = SCHEMA + '\n## Examples\n```json\n{"label": "question"}\n```\n\n```json\n{"label": "bug",}\n```\n'
    found = run_text("PK207", bad)
    assert len(found) == 2
    assert "at label" in found[0].message and "'question' is not one of" in found[0].message
    assert "not valid JSON" in found[1].message


def test_examples_with_template_tags_are_skipped() -> None:
    text = SCHEMA + '\n## Examples\n```json\n{"label": "{{ label }}"}\n```\n'
    assert run_text("PK207", text) == []


def test_invalid_output_schema_points_into_it() -> None:
    [f] = run_text("PK208", SCHEMA.replace("required: [label]", "required: label"))
    assert "output schema is invalid at required" in f.message
    assert f.span.start.line == 7


def test_missing_version() -> None:
    assert run_text("PK209", CHAT)
    assert run_text("PK209", CHAT.replace("name: t", "name: t\nversion: 0.1.0")) == []
    assert run_text("PK209", "user:\nno front matter at all\n") == []
