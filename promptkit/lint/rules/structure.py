"""PK2xx: the shape of the prompt -- messages, components, declared output, version.

These rules read the structured model the loader builds (role-line messages, heading and
XML-tag components, front matter) and check it against what a well-formed prompt has:
a system message first, no empty parts, the components a team requires, output
instructions that match the declared JSON output, and few-shot examples that validate
against the declared output schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, ClassVar

from promptkit.codes import INVALID_FRONT_MATTER
from promptkit.diagnostics import Severity
from promptkit.lint.rule import Finding, LintContext, Rule, register
from promptkit.lint.rules import _util
from promptkit.template.model import FileKind

_SYSTEM_ROLES = ("system", "developer")
_CHAT_KINDS = frozenset({FileKind.PROMPTY, FileKind.JINJA, FileKind.DOTPROMPT})


def _first_line_span(ctx: LintContext) -> Any:
    t = ctx.template
    line = t.body_line if t.body_line <= t.index.line_count else 1
    return t.index.line_span(line)


@register
class MissingSystemMessage(Rule):
    """Missing system message: the config requires one and the prompt has none.

    ## What it does
    When ``require-system-message = true`` is set in ``[tool.promptkit]`` (or in this
    rule's options), reports chat templates with no ``system:`` (or ``developer:``)
    message. Without that setting the rule is silent.

    ## Why is this bad?
    Teams that keep behaviour, tone and guardrails in the system message want every
    prompt to have one; a prompt without it runs with the model's defaults.

    ## Example
    ```prompty
    ---
    name: ask
    ---
    user:
    What is the capital of France?
    ```

    ## Use instead
    ```prompty
    ---
    name: ask
    ---
    system:
    You answer geography questions in one sentence.

    user:
    What is the capital of France?
    ```
    """

    code = "PK200"
    name = "missing-system-message"
    severity = Severity.WARNING
    kinds = _CHAT_KINDS
    #: Config the docs' examples are checked with (the rule is off without it).
    example_config: ClassVar[dict[str, Any]] = {"require_system_message": True}

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        required = ctx.setting(self.code, "require", None)
        if required is None:
            required = _util.conf(ctx, "require_system_message", False)
        if not required:
            return
        msgs = ctx.template.messages
        if not msgs or any(m.role in _SYSTEM_ROLES or m.dynamic_role for m in msgs):
            return
        first = msgs[0]
        yield Finding(first.role_span or _first_line_span(ctx), "the prompt has no system message",
                      hint="start the body with a 'system:' line holding the instructions")


@register
class SystemMessageNotFirst(Rule):
    """System message not first: a system message comes after a user or assistant one.

    ## What it does
    Reports a ``system:`` (or ``developer:``) message that follows a user or assistant
    message. Messages with a dynamic role (``{{ item.role }}:``) are not counted.

    ## Why is this bad?
    Most providers take the system prompt from the first message only (Anthropic's API
    has a separate ``system`` field; others ignore or reject a late one). A late system
    message is usually a role line that moved during editing.

    ## Example
    ```prompty
    ---
    name: ask
    ---
    user:
    What is the capital of France?

    system:
    Answer in one sentence.
    ```

    ## Use instead
    ```prompty
    ---
    name: ask
    ---
    system:
    Answer in one sentence.

    user:
    What is the capital of France?
    ```
    """

    code = "PK201"
    name = "system-message-not-first"
    severity = Severity.WARNING
    kinds = _CHAT_KINDS

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        seen_other = None
        for m in ctx.template.messages:
            if m.dynamic_role:
                continue
            if m.role in _SYSTEM_ROLES:
                if seen_other is not None:
                    yield Finding(m.role_span or m.span, f"the {m.role} message comes after the {seen_other} message",
                                  hint="move the system message to the top of the body")
                    return
            elif m.explicit and m.content.strip():
                seen_other = m.role




def _blank(text: str) -> bool:
    if not text.strip():
        return True
    if "{#" in text or "{{!" in text:
        rest = _util.without(text, _util.delimited(text, "{#", "#}"))
        return not _util.without(rest, _util.handlebars_comments(rest)).strip()
    return False


@register
class EmptyMessage(Rule):
    """Empty message: a role line with nothing after it before the next role line.

    ## What it does
    Reports ``system:``/``user:``/... lines whose message holds only whitespace or
    comments. A final empty ``assistant:`` message (a prefill slot) is allowed, and so is
    a final empty message in a dotprompt file (a partial ending in ``{{role "user"}}``
    sets the role of the text that follows where it is included).

    ## Why is this bad?
    Providers reject empty messages or treat them as noise; usually the content went
    under the wrong role line, or two role lines are left from editing.

    ## Example
    ```prompty
    ---
    name: ask
    ---
    system:

    user:
    What is the capital of France?
    ```

    ## Use instead
    ```prompty
    ---
    name: ask
    ---
    system:
    Answer in one sentence.

    user:
    What is the capital of France?
    ```
    """

    code = "PK202"
    name = "empty-message"
    severity = Severity.WARNING
    kinds = _CHAT_KINDS

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        msgs = ctx.template.messages
        for i, m in enumerate(msgs):
            if not m.explicit or not _blank(m.content):
                continue
            if i == len(msgs) - 1 and (m.role == "assistant" or ctx.template.kind is FileKind.DOTPROMPT):
                continue  # a prefill slot; in dotprompt, a partial setting the role of what follows
            yield Finding(m.role_span, f"the {m.role or 'dynamic-role'} message is empty",
                          hint="write its content, or delete the role line")


def _children(ctx: LintContext) -> dict[tuple[int, int], list[int]]:
    """(message index, component index) -> indexes of its child components."""
    def build() -> dict[tuple[int, int], list[int]]:
        out: dict[tuple[int, int], list[int]] = {}
        for mi, m in enumerate(ctx.template.messages):
            for ci, c in enumerate(m.components):
                if c.parent is not None:
                    out.setdefault((mi, c.parent), []).append(ci)
        return out

    return ctx.cached("structure.children", build)


_MARKER_KEY = re.compile(r"(?:^|_)(?:end|start|begin|beginning)(?:_|$)")


def _is_marker(key: str) -> bool:
    """"END EXAMPLE OUTPUT", "PROFILE_START": delimiters, not sections."""
    return _MARKER_KEY.search(key) is not None


@register
class EmptyComponent(Rule):
    """Empty component: a heading or XML-style tag block with no content.

    ## What it does
    Reports sections and tag blocks of a known kind (``## Output format``, ``# Task``,
    ``<context></context>``...) whose content is only whitespace or comments and that
    have no sub-sections. Other headings and tags (outlines, HTML samples, "END EXAMPLE"
    markers) are often empty on purpose and are not checked.

    ## Why is this bad?
    An empty section announces instructions that are not there. The model sees the
    heading and guesses what belongs under it; often the text was deleted or never
    written.

    ## Example
    ```markdown
    # Task
    Summarize the article in three bullet points.

    # Output format

    # Article
    The article text follows.
    ```

    ## Use instead
    ```markdown
    # Task
    Summarize the article in three bullet points.

    # Output format
    A Markdown list, one sentence per bullet.

    # Article
    The article text follows.
    ```
    """

    code = "PK203"
    name = "empty-component"
    severity = Severity.WARNING

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        text = ctx.text
        kids = _children(ctx)
        for mi, m in enumerate(ctx.template.messages):
            n = len(m.components)
            for ci, c in enumerate(m.components):
                if (mi, ci) in kids:
                    continue
                if c.kind is None or _is_marker(c.key):
                    continue  # outlines, HTML samples and "END EXAMPLE" markers are empty on purpose
                if c.style == "heading" and ci + 1 < n and m.components[ci + 1].span.start.offset <= c.content_span.end.offset:
                    continue
                body = text[c.content_span.start.offset : c.content_span.end.offset]
                if _blank(body) and c.content_span.end.offset < len(text.rstrip()):
                    what = f"section '{c.title}'" if c.style == "heading" else f"tag block <{c.title}>"
                    yield Finding(c.title_span, f"{what} is empty", hint="write its content, or remove it")


_DUP_KINDS = frozenset({"role", "task", "output_format", "context", "constraints"})
_UNIQUE_TAG_KINDS = frozenset({"role", "task", "constraints"})


@register
class DuplicateComponent(Rule):
    """Duplicate component: the same kind of section appears twice at the same level.

    ## What it does
    Reports a section whose name repeats an earlier sibling (same message, same parent),
    for the components that should be unique: role, task, context, constraints and
    output format. Tag blocks count for role, task and constraints only (few-shot
    examples repeat ``<context>`` and ``<response>`` blocks on purpose); delimiter
    headings such as "END EXAMPLE" are skipped.

    ## Why is this bad?
    Two "Output format" sections usually disagree after a few edits, and the model has
    to guess which one wins. Merge them.

    ## Example
    ```markdown
    # Task
    Classify the ticket.

    # Output format
    One word: bug, feature or question.

    # Output format
    Answer in JSON.
    ```

    ## Use instead
    ```markdown
    # Task
    Classify the ticket.

    # Output format
    Answer in JSON: {"label": "bug" | "feature" | "question"}.
    ```
    """

    code = "PK204"
    name = "duplicate-component"
    severity = Severity.WARNING

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for m in ctx.template.messages:
            seen: dict[tuple[int | None, str, str], Any] = {}
            for c in m.components:
                if c.kind not in _DUP_KINDS or not c.key or _is_marker(c.key):
                    continue
                if c.style == "tag" and c.kind not in _UNIQUE_TAG_KINDS:
                    continue  # few-shot examples repeat <context>/<response> blocks on purpose
                k = (c.parent, c.style, c.key)
                if k in seen:
                    yield Finding(c.title_span, f"'{c.title}' repeats the section at line {seen[k].span.start.line}",
                                  hint="merge the two sections into one")
                else:
                    seen[k] = c


@register
class MissingRequiredComponent(Rule):
    """Missing required component: the config requires a section the prompt lacks.

    ## What it does
    With ``required-components = ["task", "output_format"]`` in ``[tool.promptkit]``,
    reports each required component kind (role, task, context, constraints, examples,
    output_format, input) that no heading or tag block of the prompt provides. Headings
    match by meaning: "## Output Format", "<output_format>" and "# Response format" are all
    ``output_format``. Without that setting the rule is silent.

    ## Why is this bad?
    Teams agree on a prompt skeleton so that every prompt states its task and its output
    contract; a prompt without them is harder to review and to test.

    ## Example
    ```markdown
    # Task
    Classify the ticket as bug, feature or question.
    ```

    ## Use instead
    ```markdown
    # Task
    Classify the ticket as bug, feature or question.

    # Output format
    One lowercase word.
    ```
    """

    code = "PK205"
    name = "missing-required-component"
    severity = Severity.WARNING
    example_config: ClassVar[dict[str, Any]] = {"required_components": ["task", "output_format"]}

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        required = ctx.setting(self.code, "components", None) or _util.conf(ctx, "required_components", ())
        if not required:
            return
        t = ctx.template
        have = {c.kind for _, c in t.components()} | {c.key for _, c in t.components()}
        for kind in required:
            if kind not in have:
                yield Finding(_first_line_span(ctx), f"required component '{kind}' is missing",
                              hint=f"add a '# {kind.replace('_', ' ').capitalize()}' section (or a <{kind}> tag block)")


def _json_spans(ctx: LintContext) -> Any:
    t = ctx.template
    fm = t.front_matter
    if fm.output and fm.output.is_json:
        return t.span_of("output", "format") or t.span_of("output")
    if fm.outputs:
        return t.span_of("outputs")
    return t.span_of("model", "parameters", "response_format") or t.span_of("model", "options", "response_format") or t.span_of("model")


_MENTIONS_JSON = re.compile(r"json|schema|\{\s*\"", re.I)


def _sends_schema(t: Any) -> bool:
    """Does the call carry a structured-output schema? promptkit's runner sends the model
    parameters of the front matter (and the suite's) to litellm as they are, so a schema
    reaches the model only through ``response_format: {type: json_schema, ...}`` there. It
    never turns ``outputs`` or ``output.schema`` into one: they are what assertions such as
    ``json-schema`` check the answer against."""
    spec = t.front_matter.model
    rf = spec.params.get("response_format") if spec else None
    if isinstance(rf, dict):
        kind = str(rf.get("type", ""))
        return kind == "json_schema" or bool(rf.get("json_schema") or rf.get("schema"))
    return isinstance(rf, str) and not rf.startswith(("json_object", "text"))  # a pydantic class path


def _key_line(ctx: LintContext, key: str) -> Any:
    """The line of a top-level front-matter key (``outputs:``), where the declaration is."""
    m = re.search(rf"^{re.escape(key)}[ \t]*:", ctx.text[: ctx.template.body_offset], re.M)
    return _util.line_span(ctx, _util.offset_line(ctx, m.start())) if m else None


def _mentions_keys(body: str, keys: list[str]) -> bool:
    low = body.lower()
    return any(re.search(rf"(?<![\w-]){re.escape(k.lower())}(?![\w-])", low) for k in keys if k)


@register
class JsonOutputWithoutInstructions(Rule):
    """JSON output without instructions: JSON is declared but the prompt never asks for it.

    ## What it does
    When the front matter asks for JSON -- ``outputs`` (keys and types), an
    ``output.schema``, ``output.format: json`` or a ``response_format`` of
    ``json_object`` -- checks that the body says so: it mentions JSON or a schema, shows a
    JSON object, or (for declared outputs) names at least one output key. A prompt that
    does none of these relies on the caller sending a structured-output schema.
    promptkit's runner sends one only when the model parameters carry it
    (``response_format: {type: json_schema, json_schema: ...}``): it never builds one
    from ``outputs``, so those prompts are reported -- run without a schema, the model
    never learns the keys. dotprompt files are skipped: the dotprompt runtime appends its
    output schema to the prompt.

    ## Why is this bad?
    Without instructions the model invents the keys (or answers in prose), and the
    output fails the schema on every call. JSON mode only constrains the syntax, and
    OpenAI's JSON mode even rejects requests whose messages never mention JSON.

    ## Example
    ```prompty
    ---
    name: triage
    outputs:
      category:
        type: string
      confidence:
        type: number
    ---
    system:
    Triage the bug report below for the on-call engineer.

    user:
    {{ report }}
    ```

    ## Use instead
    ```prompty
    ---
    name: triage
    outputs:
      category:
        type: string
      confidence:
        type: number
    ---
    system:
    Triage the bug report below. Answer with a JSON object with the keys "category"
    (bug, feature or question) and "confidence" (0 to 1).

    user:
    {{ report }}
    ```
    """

    code = "PK206"
    name = "json-output-without-instructions"
    severity = Severity.WARNING
    kinds = _CHAT_KINDS

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        t = ctx.template
        fm = t.front_matter
        if not fm.wants_json or _MENTIONS_JSON.search(t.body):
            return
        raw_output = t.raw_front_matter.get("output")
        declared = fm.output_schema or (isinstance(raw_output, dict) and raw_output.get("schema"))
        if not declared:
            yield Finding(_json_spans(ctx) or _first_line_span(ctx),
                          "JSON output is declared but the prompt never asks for JSON or shows its shape",
                          hint="describe the JSON object to return (keys and types), or show an example")
            return
        if t.kind is FileKind.DOTPROMPT or not isinstance(fm.output_schema, dict):
            return  # dotprompt appends its output schema itself; a schema by name is a registered one
        if _sends_schema(t):
            return  # the call carries the schema as structured output
        props = fm.output_schema.get("properties")
        keys = [str(k) for k in props] if isinstance(props, dict) else []
        if _mentions_keys(t.body, keys):
            return
        what = f"outputs ({', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''})" if keys else "an output schema"
        where = _key_line(ctx, "outputs" if fm.outputs else "output")
        yield Finding(where or _json_spans(ctx) or _first_line_span(ctx),
                      f"the prompt declares {what} but never asks for JSON or names a key, and no schema is sent: "
                      "promptkit's runner sends model.parameters.response_format, never 'outputs'",
                      hint="describe the JSON object in the prompt (keys and types), or send the schema as "
                           "model.parameters.response_format: {type: json_schema, json_schema: {...}}")


_JSON_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)\n[ \t]*```", re.S)
_JSON_FENCE_LABELLED = re.compile(r"^[ \t]{0,3}```[ \t]*(?:json|JSON|jsonc)[ \t]*\n(.*?)\n[ \t]*```", re.S | re.M)


_TYPE_NAMES = frozenset({"string", "str", "number", "integer", "int", "float", "boolean", "bool", "array", "list",
                         "object", "dict", "null", "any", "text"})


def _is_shape(value: Any) -> bool:
    """A JSON *shape* written with placeholders (``{"label": "string"}``,
    ``{"score": "<0-1>"}``, ``"a|b"``, ``"..."``) describes the output; it is not an
    example of it, so it is not validated."""
    if isinstance(value, dict):
        return any(_is_shape(v) for v in value.values())
    if isinstance(value, list):
        return any(_is_shape(v) for v in value)
    if isinstance(value, str):
        v = value.strip()
        return (v.lower() in _TYPE_NAMES or (v.startswith(("<", "[", "{")) and v.endswith((">", "]", "}")))
                or "..." in v or "…" in v or " | " in v or ("|" in v and " " not in v) or v.lower().startswith(("one of", "either")))
    return False


def _examples_json(ctx: LintContext) -> list[tuple[int, Any, str | None]]:
    """JSON values the prompt shows as examples: ``(offset, value, parse_error)``.

    In example components: every ``json`` code fence, else every ``{...}`` block. Anywhere
    else in the body: ``json`` code fences and objects written inline on a prose line
    (``Reply like: {"category": "bug"}``). Outside example components, shapes written
    with placeholders (``{"label": "string"}``) are descriptions, not examples, and
    inline text that does not parse is not reported (it may be prose with braces)."""
    t = ctx.template
    text = t.text
    out: list[tuple[int, Any, str | None]] = []
    taken: list[tuple[int, int]] = []

    def add(off: int, src: str, *, strict: bool) -> None:
        if "{{" in src or "{%" in src or not src.lstrip().startswith(("{", "[")):
            return
        try:
            value = json.loads(src)
        except ValueError as exc:
            if strict:
                out.append((off, None, str(exc)))
            return
        if strict or not (_is_shape(value) or _unrelated(value)):
            out.append((off, value, None))

    props = (t.front_matter.output_schema or {}).get("properties")
    keys = set(props) if isinstance(props, dict) else None

    def _unrelated(value: Any) -> bool:
        """An object outside the examples that shares no key with the schema's properties
        is some other mapping the prose shows ({"bug": "a defect"}), not the output."""
        return keys is not None and isinstance(value, dict) and bool(value) and not (set(value) & keys)

    for _, c in t.components():
        if c.kind != "examples":
            continue
        s, e = c.content_span.start.offset, c.content_span.end.offset
        chunk = text[s:e]
        blocks = [(s + m.start(1), m.group(1)) for m in _JSON_FENCE.finditer(chunk)]
        if not blocks:
            blocks = [(s + m.start(), m.group()) for m in re.finditer(r"^\{.*?^\}", chunk, re.S | re.M)]
        taken.append((s, e))
        for off, src in blocks:
            add(off, src, strict=True)
    body = t.body_offset
    for m in _JSON_FENCE_LABELLED.finditer(text, body):
        if not any(a <= m.start() < b for a, b in taken):
            add(m.start(1), m.group(1), strict=False)
    for s, e in _util.inline_json(ctx):
        if not any(a <= s < b for a, b in taken):
            add(s, text[s:e], strict=False)
    out.sort(key=lambda x: x[0])
    return out


@register
class ExampleViolatesOutputSchema(Rule):
    """Example violates output schema: a few-shot example's JSON does not fit the schema.

    ## What it does
    When the front matter declares an output schema (``output.schema`` or Prompty
    ``outputs``), validates with ``jsonschema`` every JSON value the prompt shows as an
    example: in an examples section, each ``json`` code fence or ``{...}`` block;
    anywhere else, ``json`` code fences and objects written inline on a prose line
    (``Reply like: {"category": "bug"}``). Shapes written with placeholders
    (``{"label": "string"}``, ``"<score>"``, ``"a|b"``, ``"..."``) describe the output
    rather than exemplify it and are not validated.

    ## Why is this bad?
    Models copy few-shot examples more faithfully than they follow schemas: an example
    with a missing or mistyped field teaches the model to produce invalid output.

    ## Example
    ````prompty
    ---
    name: sentiment
    outputs:
      label:
        type: string
      score:
        type: number
    ---
    system:
    Rate the review. Answer in JSON.

    # Examples
    ```json
    {"label": "positive", "score": "high"}
    ```
    ````

    ## Use instead
    ````prompty
    ---
    name: sentiment
    outputs:
      label:
        type: string
      score:
        type: number
    ---
    system:
    Rate the review. Answer in JSON.

    # Examples
    ```json
    {"label": "positive", "score": 0.9}
    ```
    ````
    """

    code = "PK207"
    name = "example-violates-output-schema"
    severity = Severity.ERROR

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        schema = ctx.template.front_matter.output_schema
        if not schema:
            return
        examples = _examples_json(ctx)
        if not examples:
            return
        from jsonschema import validators
        from jsonschema.exceptions import SchemaError

        cls = validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except SchemaError:
            return  # PK208 reports the schema itself
        from promptkit.schemas import offline_validator

        validator = offline_validator(schema)
        for off, value, err in examples:
            span = ctx.span(off, ctx.text.find("\n", off) if "\n" in ctx.text[off:] else len(ctx.text))
            if err is not None:
                yield Finding(span, f"example is not valid JSON: {err}", hint="fix the JSON syntax of the example")
                continue
            try:
                error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
            except Exception as exc:  # noqa: BLE001 - a $ref outside the schema is never fetched
                from promptkit.schemas import unresolvable

                if unresolvable(exc) is None:
                    raise
                return
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "the top level"
                yield Finding(span, f"example does not match the output schema at {where}: {error.message}",
                              hint="fix the example, or the schema, so they agree")


@register
class InvalidOutputSchema(Rule):
    """Invalid output schema: ``output.schema`` is not a valid JSON Schema.

    ## What it does
    Checks the declared output schema with the JSON Schema meta-schema (the draft its
    ``$schema`` names, else the newest).

    ## Why is this bad?
    Structured-output APIs reject an invalid schema, and response validation in tests
    cannot run.

    ## Example
    ```prompty
    ---
    name: sentiment
    output:
      format: json
      schema:
        type: object
        properties:
          label:
            type: text
    ---
    system:
    Rate the review. Answer in JSON with a "label" key.
    ```

    ## Use instead
    ```prompty
    ---
    name: sentiment
    output:
      format: json
      schema:
        type: object
        properties:
          label:
            type: string
    ---
    system:
    Rate the review. Answer in JSON with a "label" key.
    ```
    """

    code = "PK208"
    name = "invalid-output-schema"
    severity = Severity.ERROR
    kinds = _CHAT_KINDS

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        fm = ctx.template.front_matter
        if not (fm.output and fm.output.schema_):
            return
        from jsonschema import validators
        from jsonschema.exceptions import SchemaError

        schema = fm.output.schema_
        try:
            validators.validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            key = ("output", "schema", *exc.absolute_path)
            span = ctx.template.span_of(*key) or ctx.template.span_of("output", "schema")
            yield Finding(span, f"output schema is invalid{' at ' + where if where else ''}: {exc.message}",
                          hint="fix the schema so it follows JSON Schema")


@register
class MissingVersion(Rule):
    """Missing version: a ``.prompty`` file has no ``version`` in its front matter.

    ## What it does
    Reports Prompty files whose front matter has no ``version`` key. (An invalid value is
    reported when the file loads, as a front-matter schema error.)

    ## Why is this bad?
    Prompts are code: a semantic version in the file lets recordings, reports and
    deployments say which revision of the prompt produced an answer, and lets reviewers
    see when a change is breaking.

    ## Example
    ```prompty
    ---
    name: greet
    ---
    user:
    Say hello.
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    version: 1.0.0
    ---
    user:
    Say hello.
    ```
    """

    code = "PK209"
    name = "missing-version"
    severity = Severity.INFO
    kinds = frozenset({FileKind.PROMPTY})

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        t = ctx.template
        if t.front_matter_span is None or "version" in t.raw_front_matter:
            return
        if any(d.code == INVALID_FRONT_MATTER.code for d in t.diagnostics):
            return  # front matter that does not parse says nothing about a version (PK002 reports it)
        yield Finding(t.index.line_span(t.front_matter_span.start.line), "the front matter has no version",
                      hint="add 'version: 1.0.0' (semantic versioning) to the front matter")
