"""The example prompts in templates/: complete front matter, structured bodies, samples
that render, and JSON examples that satisfy the declared output schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from promptkit.template import load, render
from promptkit.template.model import SEMVER_RE
from promptkit.tokens import count_tokens

TEMPLATES = sorted((Path(__file__).resolve().parents[2] / "templates").glob("*.prompty"))
_JSON_BLOCK = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def test_there_are_at_least_six() -> None:
    assert len(TEMPLATES) >= 6


@pytest.mark.parametrize("path", TEMPLATES, ids=[p.stem for p in TEMPLATES])
def test_template_is_complete_and_renders(path: Path) -> None:
    t = load(path)
    assert t.ok and t.diagnostics == [], [d.format() for d in t.diagnostics]
    fm = t.front_matter
    assert fm.name == path.stem and fm.description and fm.authors and fm.tags
    assert fm.version and SEMVER_RE.match(fm.version)
    assert fm.model is not None and fm.model.litellm_id and "/" in fm.model.litellm_id
    assert fm.inputs
    for name, spec in fm.inputs.items():
        assert spec.description, f"input {name} has no description"
        assert spec.sample is not None or spec.has_default, f"input {name} has neither sample nor default"
    # structure: a system message with named components, then a user message
    assert t.messages[0].role == "system" and t.messages[-1].role == "user"
    kinds = {c.kind for c in t.messages[0].components}
    assert {"role", "constraints"} <= kinds
    assert kinds & {"task", "context"}
    msgs = render(t, t.samples())
    assert msgs[0].role == "system" and msgs[-1].role == "user"
    assert all(m.content.strip() for m in msgs)
    assert "{{" not in "".join(m.content for m in msgs)  # everything was substituted
    assert count_tokens(msgs, fm.model.litellm_id).total < 1500
    # user-supplied inputs are rendered outside the system message
    system_source = t.messages[0].content
    for name in fm.inputs:
        assert not re.search(r"\{\{\s*" + name + r"\b", system_source), f"input {name} is rendered into the system message"


@pytest.mark.parametrize("path", [p for p in TEMPLATES if load(p).front_matter.wants_json], ids=lambda p: p.stem)
def test_json_templates_declare_a_schema_that_their_examples_satisfy(path: Path) -> None:
    t = load(path)
    schema = t.front_matter.output_schema
    assert schema is not None
    jsonschema.Draft202012Validator.check_schema(schema)
    (examples,) = t.find_components("examples")
    block = t.text[examples.content_span.start.offset : examples.content_span.end.offset]
    found = _JSON_BLOCK.findall(block)
    assert found, "a JSON example in the Examples section"
    for raw in found:
        jsonschema.validate(json.loads(raw), schema)
    assert t.find_components("output_format")
