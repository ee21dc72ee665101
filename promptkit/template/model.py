"""The typed template model: what a prompt file *is*, once loaded.

``PromptTemplate`` is the one object every other part of promptkit works on: the linter
reads its messages, components and front-matter positions; the runner renders it; the
perturbation generator, optimizer and reviewer edit or compare its components. Every
piece keeps its exact :class:`~promptkit.diagnostics.Span` in the original file, so any
finding or patch can point at (or rewrite) the right characters.

Front matter is validated by pydantic but never rejected for unknown keys: Prompty,
dotprompt, Copilot and Cursor files all carry keys of their own, and a linter that drops
them could not round-trip the file.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from promptkit.diagnostics import Diagnostic, LineIndex, Severity, Span

#: Roles a chat message can have (OpenAI / litellm vocabulary).
ROLES = ("system", "user", "assistant", "developer", "tool", "function")

#: Prompty v2 input kinds whose values are chat messages or content parts, not text.
RICH_KINDS = frozenset({"thread", "image", "file", "audio"})

SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class FileKind(str, Enum):
    """What sort of file a template came from; decides how strictly it is read."""

    PROMPTY = "prompty"  # native: front matter + Jinja2 body with role lines
    JINJA = "jinja"  # plain .j2/.jinja/.jinja2 (promptflow, promptsource)
    MARKDOWN = "markdown"  # .prompt.md, .instructions.md, .agent.md, SKILL.md, .mdc, .md
    DOTPROMPT = "dotprompt"  # .prompt: front matter + Handlebars (structure only)
    TEXT = "text"  # anything else: a plain prose prompt


class Engine(str, Enum):
    """The body's template language. Only Jinja-family bodies render."""

    JINJA2 = "jinja2"
    NUNJUCKS = "nunjucks"  # close enough to Jinja2 to parse and render with it
    MUSTACHE = "mustache"
    HANDLEBARS = "handlebars"
    NONE = "none"  # prose: no template language

    @property
    def renders(self) -> bool:
        """A Jinja-family body: parsed, analysed and rendered by Jinja2's sandbox."""
        return self in (Engine.JINJA2, Engine.NUNJUCKS)

    @property
    def can_render(self) -> bool:
        """Whether promptkit renders this body at all: Jinja-family, or Mustache (with
        chevron, see :mod:`promptkit.template.mustache`)."""
        return self.renders or self is Engine.MUSTACHE


# --------------------------------------------------------------------------- front matter


class InputSpec(BaseModel):
    """One declared input variable. ``type`` follows Prompty (``string``, ``number``,
    ``integer``, ``boolean``, ``list``/``array``, ``object``/``dict``) and is checked at
    render time."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str = "string"
    description: str | None = None
    default: Any = None
    required: bool | None = None
    sample: Any = None
    example: Any = None  # Prompty v2's name for a sample value
    has_default: bool = Field(default=False, exclude=True)

    @property
    def is_required(self) -> bool:
        """Only when the file says ``required: true``. Prompty v2's ``required`` defaults
        to false and v1 has no such key: an input given no value renders empty, as in both
        reference runtimes (``strict_inputs`` restores "every input without a default
        must be given"; see docs/prompty-compat.md)."""
        return bool(self.required) and not self.has_default

    @property
    def rich_kind(self) -> str | None:
        """``thread``, ``image``, ``file`` or ``audio``: Prompty v2 kinds whose values
        are not text, but chat messages (a thread) or a content part of the message."""
        t = self.type.lower()
        return t if t in RICH_KINDS else None


class OutputSpec(BaseModel):
    """One declared output field (Prompty ``outputs``)."""

    model_config = ConfigDict(extra="allow")

    name: str
    type: str = "string"
    description: str | None = None


class ModelSpec(BaseModel):
    """The model a prompt is written for, as a litellm model id plus call parameters.

    Accepts promptkit's own shape (``model: openai/gpt-4o-mini`` or ``{id, parameters}``),
    Prompty v1 (``api``, ``configuration``, ``parameters``) and Prompty v2 (``id``,
    ``provider``, ``connection``, ``options``).
    """

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    provider: str | None = None
    api: str | None = None
    configuration: dict[str, Any] | str | None = None
    connection: dict[str, Any] | str | None = None
    parameters: dict[str, Any] | str = Field(default_factory=dict)
    options: dict[str, Any] | str = Field(default_factory=dict)

    @property
    def litellm_id(self) -> str | None:
        """The id litellm understands (``azure/gpt-4o``, ``openai/gpt-4o``...), or None."""
        if self.id:
            if "/" in self.id or not self.provider:
                return self.id
            return f"{self.provider}/{self.id}"
        conf = self.configuration if isinstance(self.configuration, dict) else {}
        name = conf.get("azure_deployment") or conf.get("model") or conf.get("name")
        if not isinstance(name, str) or name.startswith("${"):
            return None
        kind = str(conf.get("type", "")).replace("_openai", "")
        if kind == "azure":
            return f"azure/{name}"
        return name

    @property
    def params(self) -> dict[str, Any]:
        """Call parameters (temperature, max_tokens...) from either Prompty shape, by
        litellm's names (``parameters`` win over ``options``; see :meth:`param_entries`)."""
        return {name: value for _, name, value in self.param_entries()}

    def param_entries(self) -> list[tuple[tuple[str, ...], str, Any]]:
        """Every call parameter as ``(where, litellm name, value)``: ``where`` is its key
        path under ``model`` (``("options", "topP")``), for pointing at it. Prompty v2
        ``options`` are camelCase (``maxOutputTokens``...) with provider extras under
        ``additionalProperties``; a name litellm already uses is kept. ``options`` come
        first, so a ``parameters`` entry of the same name wins."""
        out: list[tuple[tuple[str, ...], str, Any]] = []
        if isinstance(self.options, dict):
            for key, value in self.options.items():
                k = str(key)
                if k == "additionalProperties" and isinstance(value, dict):
                    out += [(("options", k, str(x)), str(x), v) for x, v in value.items()]
                else:
                    out.append((("options", k), PROMPTY_V2_OPTIONS.get(k, k), value))
        if isinstance(self.parameters, dict):
            out += [(("parameters", str(k)), str(k), v) for k, v in self.parameters.items()]
        return out


#: Prompty v2's option names (its ``ModelOptions``) and the litellm parameter each one is.
PROMPTY_V2_OPTIONS: dict[str, str] = {
    "maxOutputTokens": "max_tokens", "topP": "top_p", "topK": "top_k", "frequencyPenalty": "frequency_penalty",
    "presencePenalty": "presence_penalty", "stopSequences": "stop", "allowMultipleToolCalls": "parallel_tool_calls",
}


class OutputFormat(BaseModel):
    """What the prompt asks the model to return: ``text`` or ``json`` (with a schema)."""

    model_config = ConfigDict(extra="allow")

    format: str = "text"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")

    @property
    def is_json(self) -> bool:
        return self.format.lower() in ("json", "json_object", "json_schema")


class FrontMatter(BaseModel):
    """Validated front matter. Unknown keys are kept in ``model_extra``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str | None = None
    description: str | None = None
    version: str | None = None
    authors: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    model: ModelSpec | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec] = Field(default_factory=dict)
    output: OutputFormat | None = None
    sample: dict[str, Any] | str | None = None
    template: dict[str, Any] | None = None

    @property
    def is_semver(self) -> bool:
        """Whether ``version`` is semantic versioning. A ``version: "2.0"`` is kept (and
        reported as a warning by the loader): Prompty itself accepts any string."""
        return self.version is None or SEMVER_RE.match(self.version) is not None

    @property
    def output_schema(self) -> dict[str, Any] | None:
        """A JSON Schema for the output, from ``output.schema`` or Prompty ``outputs``."""
        if self.output and self.output.schema_:
            return self.output.schema_
        if self.outputs:
            props = {n: _json_type(o.type) for n, o in self.outputs.items()}
            return {"type": "object", "properties": props, "required": list(props)}
        return None

    @property
    def wants_json(self) -> bool:
        """True when the front matter says the model must answer in JSON."""
        if self.output and self.output.is_json:
            return True
        if self.outputs:
            return True
        rf = self.model.params.get("response_format") if self.model else None
        if isinstance(rf, dict):
            return str(rf.get("type", "")).startswith("json")
        return isinstance(rf, str) and rf.startswith("json")


_JSON_TYPES = {
    "string": "string", "str": "string", "number": "number", "float": "number",
    "int": "integer", "integer": "integer", "bool": "boolean", "boolean": "boolean",
    "list": "array", "array": "array", "object": "object", "dict": "object",
}


def _json_type(t: str) -> dict[str, Any]:
    jt = _JSON_TYPES.get(t.lower())
    return {"type": jt} if jt else {}


# --------------------------------------------------------------------------- body structure


class Component(BaseModel):
    """A named part of a message: a Markdown heading section or an XML-style tag block.

    ``key`` is the normalized name (``output_format`` for "## Output Format"); ``kind``
    is the canonical component it matches (``role``, ``task``, ``context``,
    ``constraints``, ``examples``, ``output_format``, ``input``) or None. ``span`` covers
    heading and content; ``content_span`` the content only. ``parent`` is the index of the
    enclosing component in :attr:`Message.components`, or None at top level.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    title: str
    key: str
    kind: str | None
    style: str  # "heading" or "tag"
    level: int  # heading level 1-6; tags count nesting depth from 1
    span: Span
    title_span: Span
    content_span: Span
    parent: int | None = None


class Message(BaseModel):
    """One chat message of the template *source*: the text between role lines.

    ``role_span`` is the role line itself (None when the role is implicit, e.g. a file
    with no role lines at all). ``content`` is the unrendered template text.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    role: str
    content: str
    span: Span
    content_span: Span
    role_span: Span | None = None
    dynamic_role: str | None = None  # e.g. "item.role" for a `{{item.role}}:` line
    components: tuple[Component, ...] = ()

    @property
    def explicit(self) -> bool:
        return self.role_span is not None


class RenderedMessage(BaseModel):
    """A chat message after rendering: what is sent to the model.

    ``content`` is a string, or -- for a message with images, files or audio (Prompty v2
    ``image``/``file``/``audio`` inputs, v1 Markdown images, a thread's multimodal
    turns) -- a list of content parts in OpenAI's wire shape, which litellm sends to
    every provider: ``{"type": "text", "text": ...}``, ``{"type": "image_url",
    "image_url": {"url": ...}}``, ``{"type": "file", "file": {...}}``,
    ``{"type": "input_audio", "input_audio": {...}}``. ``text`` is the text either way.
    """

    model_config = ConfigDict(frozen=True)

    role: str
    content: str | list[dict[str, Any]]

    @property
    def text(self) -> str:
        """The message's text: the content, or its text parts joined by newlines."""
        return self.content if isinstance(self.content, str) else content_text(self.content)

    @property
    def parts(self) -> list[dict[str, Any]]:
        """The content as a list of parts (one text part for a plain string)."""
        return [{"type": "text", "text": self.content}] if isinstance(self.content, str) else list(self.content)

    @property
    def display(self) -> str:
        """The content for a terminal: the text, with each other part as ``[image: url]``
        (a data URL shortened), for ``promptkit render``."""
        if isinstance(self.content, str):
            return self.content
        out = []
        for p in self.content:
            kind = p.get("type", "?")
            if kind == "text":
                out.append(str(p.get("text", "")))
                continue
            body = p.get(kind) if isinstance(p.get(kind), dict) else {}
            ref = str(body.get("url") or body.get("data") or "")
            if len(ref) > 80:
                ref = ref[:60] + f"... ({len(ref):,} characters)"
            out.append(f"[{kind.replace('_url', '').replace('input_', '')}: {ref}]")
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.content}


def content_text(content: Any) -> str:
    """The text of message ``content``: a string as it is, the text parts of a list
    joined by newlines (images, files and audio have no text)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


# --------------------------------------------------------------------------- the template


class PromptTemplate(BaseModel):
    """A prompt file, loaded: front matter, body, messages, components and diagnostics.

    Build one with :func:`promptkit.load` (from a path) or :func:`promptkit.loads` (from
    text). Loading never raises for bad content: problems are collected in
    ``diagnostics`` and the rest of the file is still modelled as well as it can be.
    ``ok`` tells whether the template is fit to render.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str
    kind: FileKind
    engine: Engine
    text: str  # decoded file text (BOM removed, line endings untouched)
    front_matter: FrontMatter = Field(default_factory=FrontMatter)
    raw_front_matter: dict[str, Any] = Field(default_factory=dict)
    front_matter_text: str | None = None  # YAML between the fences, verbatim
    front_matter_span: Span | None = None  # the whole fenced block
    body: str = ""
    body_offset: int = 0  # character offset of the body in ``text``
    body_line: int = 1  # 1-based line where the body starts
    messages: tuple[Message, ...] = ()
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    had_bom: bool = False
    #: Key path (tuple of str/int) -> span of that key's value, for diagnostics on fields.
    field_spans: dict[tuple[Any, ...], Span] = Field(default_factory=dict, repr=False)

    _index: LineIndex | None = PrivateAttr(default=None)

    # -- convenience ------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.front_matter.name or Path(self.path).name.split(".")[0]

    @property
    def version(self) -> str | None:
        return self.front_matter.version

    @property
    def inputs(self) -> dict[str, InputSpec]:
        return self.front_matter.inputs

    @property
    def prompty_version(self) -> str:
        """``"v1"`` or ``"v2"``: which Prompty a ``.prompty`` file is written for, where
        the two render differently (v1 turns Markdown images into image parts and drops
        empty messages). v1 files name the model by ``api``/``configuration``, or carry a
        top-level ``sample``, or a ``template: jinja2`` string; without any of those a file
        is read as v2, the current specification."""
        raw = self.raw_front_matter
        model = raw.get("model")
        if any(k in raw for k in ("kind", "inputSchema", "instructions", "metadata")):
            return "v2"
        if isinstance(model, dict) and ("api" in model or "configuration" in model):
            return "v1"
        if "sample" in raw or isinstance(raw.get("template"), str):
            return "v1"
        return "v2"

    @property
    def ok(self) -> bool:
        """No error-severity diagnostics from loading."""
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def index(self) -> LineIndex:
        """Line index of :attr:`text`, built on first use."""
        if self._index is None:
            self._index = LineIndex(self.text)
        return self._index

    def span_of(self, *key: Any) -> Span | None:
        """Span of a front-matter value by key path, e.g. ``span_of("inputs", "name")``."""
        return self.field_spans.get(tuple(key))

    def components(self) -> list[tuple[Message, Component]]:
        """All components of all messages, in file order."""
        return [(m, c) for m in self.messages for c in m.components]

    def find_components(self, kind: str) -> list[Component]:
        return [c for _, c in self.components() if c.kind == kind or c.key == kind]

    def samples(self) -> dict[str, Any]:
        """Sample values for every input: ``inputs.*.sample`` (v2: ``example``), then top-level ``sample``
        (when it is inline), then defaults. Used by the linter to render with real data."""
        out: dict[str, Any] = {}
        for name, spec in self.inputs.items():
            if spec.sample is not None:
                out[name] = spec.sample
            elif spec.example is not None:  # Prompty v2
                out[name] = spec.example
            elif spec.has_default:
                out[name] = spec.default
        if isinstance(self.front_matter.sample, dict):
            out.update(self.front_matter.sample)
        return out

    @cached_property
    def jinja_ast(self) -> Any:
        """The body's Jinja AST (``jinja2.nodes.Template``), or None when the body does
        not parse or is not Jinja. Parsing errors are reported by the linter."""
        from promptkit.template.render import parse_body

        return parse_body(self)[0]

    def with_body(self, body: str) -> PromptTemplate:
        """A new template with the same front matter (text, comments and all), BOM, path
        and kind, and a new body (used by the optimizer and perturbations: edit, re-load,
        keep positions exact). See :func:`promptkit.template.edit.replace_body`."""
        from promptkit.template.edit import replace_body

        return replace_body(self, body).template
