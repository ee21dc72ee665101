"""Loading prompt files into :class:`PromptTemplate`, and writing them back.

``load``/``loads`` never raise for bad *content*: every problem becomes a diagnostic on
the returned template (``template.ok`` says whether it can render). Use
:func:`load_strict` where an unusable file should stop the caller with a one-line error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from promptkit.codes import UNSUPPORTED_TEMPLATE_FORMAT
from promptkit.diagnostics import Diagnostic, LineIndex, Severity, TemplateLoadError
from promptkit.template import frontmatter, source, structure
from promptkit.template.model import Engine, FileKind, PromptTemplate

_MARKDOWN_SUFFIXES = (".md", ".mdc", ".markdown")


def file_kind(path: str | Path) -> FileKind:
    """What kind of prompt file ``path`` is, by its name."""
    name = Path(path).name.lower()
    if name.endswith(".prompty"):
        return FileKind.PROMPTY
    if name.endswith((".j2", ".jinja", ".jinja2")):
        return FileKind.JINJA
    if name.endswith(".prompt"):
        return FileKind.DOTPROMPT
    if name.endswith(_MARKDOWN_SUFFIXES):
        return FileKind.MARKDOWN
    return FileKind.TEXT


#: Globs of the files promptkit understands, for discovery by the CLI and linter.
PROMPT_GLOBS = ("*.prompty", "*.j2", "*.jinja", "*.jinja2", "*.prompt", "*.prompt.md",
                "*.instructions.md", "*.agent.md", "*.chatmode.md", "SKILL.md", "*.mdc")

_ENGINES = {
    "jinja2": Engine.JINJA2, "jinja": Engine.JINJA2, "nunjucks": Engine.NUNJUCKS,
    "mustache": Engine.MUSTACHE, "handlebars": Engine.HANDLEBARS, "hbs": Engine.HANDLEBARS,
}
_DEFAULT_ENGINE = {
    FileKind.PROMPTY: Engine.JINJA2, FileKind.JINJA: Engine.JINJA2, FileKind.DOTPROMPT: Engine.HANDLEBARS,
    FileKind.MARKDOWN: Engine.NONE, FileKind.TEXT: Engine.NONE,
}
_DEFAULT_ROLE = {
    FileKind.PROMPTY: "system", FileKind.JINJA: "user", FileKind.DOTPROMPT: "user",
    FileKind.MARKDOWN: "system", FileKind.TEXT: "system",
}


def load(path: str | Path, *, kind: FileKind | None = None) -> PromptTemplate:
    """Load a prompt file. Never raises for bad content; see ``template.diagnostics``."""
    src = source.read(path)
    t = _build(src.text, str(path), kind or file_kind(path), src.had_bom, src.diagnostics)
    if "base" in t.raw_front_matter and t.kind is FileKind.PROMPTY:
        t = _with_base(t)
    return t


def _with_base(t: PromptTemplate) -> PromptTemplate:
    """Prompty v1 ``base:``: merge the parent's front matter in (the parent is read
    inside the project only, :mod:`promptkit.template.includes`). A parent that cannot
    be read is a warning here; the render that needs it says what is wrong."""
    from promptkit.codes import PATH_OUTSIDE_PROJECT
    from promptkit.template.includes import IncludeRefused, hoist_base

    try:
        return hoist_base(t)
    except (IncludeRefused, RecursionError) as exc:
        t.diagnostics.append(Diagnostic(t.path, f"base template not used: {exc if str(exc) else 'it nests too deeply'}",
                                        severity=Severity.WARNING, code=PATH_OUTSIDE_PROJECT.code,
                                        name=PATH_OUTSIDE_PROJECT.name, span=t.span_of("base"),
                                        hint="name a .prompty file next to this one, inside the project"))
        return t


def loads(text: str | bytes, path: str = "<string>", *, kind: FileKind | None = None) -> PromptTemplate:
    """Load a prompt from text (or bytes, decoded as a file would be)."""
    diags: list[Diagnostic] = []
    had_bom = False
    if isinstance(text, bytes):
        src = source.decode(text, path)
        text, had_bom, diags = src.text, src.had_bom, src.diagnostics
    elif text.startswith("\ufeff"):
        text, had_bom = text[1:], True
    return _build(text, path, kind or file_kind(path), had_bom, diags)


def load_strict(path: str | Path) -> PromptTemplate:
    """Load, raising :class:`TemplateLoadError` on the first error-severity diagnostic."""
    t = load(path)
    for d in t.diagnostics:
        if d.severity is Severity.ERROR:
            raise TemplateLoadError(d)
    return t


def _build(text: str, path: str, kind: FileKind, had_bom: bool, diags: list[Diagnostic]) -> PromptTemplate:
    index = LineIndex(text)
    sp = frontmatter.split(text, path, index)
    diags = list(diags) + sp.diagnostics
    raw: Any = None
    spans: dict[tuple[Any, ...], Any] = {}
    fm_span = None
    if sp.has_front_matter:
        fm_span = index.span(sp.block_start, sp.block_end)
        parsed = frontmatter.parse_yaml(sp.yaml_text, path, index, sp.yaml_offset)
        diags += parsed.diagnostics
        raw, spans = parsed.data, parsed.spans
    fm, schema_diags = frontmatter.validate(raw, path, spans, fm_span)
    if kind is not FileKind.PROMPTY:
        # Copilot, Cursor, dotprompt and skill files follow their own tools' schemas
        # (`version: 1.0`, `model: [a, b]`...): a mismatch with ours is worth a warning,
        # not an error that would make a valid file look broken.
        for d in schema_diags:
            d.severity = Severity.WARNING
    diags += schema_diags
    raw_dict = raw if isinstance(raw, dict) else {}

    engine = _DEFAULT_ENGINE[kind]
    name = frontmatter.engine_name(raw_dict) if raw_dict else None
    if name is not None and kind in (FileKind.PROMPTY, FileKind.JINJA, FileKind.DOTPROMPT):
        engine = _ENGINES.get(name, Engine.NONE)
        if not engine.can_render:
            span = spans.get(("template",)) or fm_span
            what = "unsupported template format" if name in _ENGINES else "unknown template format"
            diags.append(
                Diagnostic(
                    path,
                    f"{what} '{name}': promptkit parses its structure but renders only jinja2/nunjucks/mustache",
                    severity=Severity.WARNING,
                    code=UNSUPPORTED_TEMPLATE_FORMAT.code,
                    name=UNSUPPORTED_TEMPLATE_FORMAT.name,
                    span=span,
                    hint="convert the body to Jinja2 ({{ var }}) and set template: jinja2 to render and test it",
                )
            )

    body_offset = sp.body_offset if sp.has_front_matter else 0
    messages = structure.split_messages(text, body_offset, index, kind, _DEFAULT_ROLE[kind])
    t = PromptTemplate(
        path=path,
        kind=kind,
        engine=engine,
        text=text,
        front_matter=fm,
        raw_front_matter=raw_dict,
        front_matter_text=sp.yaml_text if sp.has_front_matter else None,
        front_matter_span=fm_span,
        body=text[body_offset:],
        body_offset=body_offset,
        body_line=index.position(body_offset).line,
        messages=messages,
        diagnostics=diags,
        had_bom=had_bom,
        field_spans=spans,
    )
    t._index = index
    return t


def dumps(template: PromptTemplate, *, front_matter: dict[str, Any] | None = None, body: str | None = None) -> str:
    """Write a template back to text (without the BOM; ``template.had_bom`` says).

    With no changes this is the original text, byte for byte. Both changes go through
    :mod:`promptkit.template.edit`, so every other byte stays: a new ``front_matter``
    mapping is written field by field (changed values in place, new keys at the end of
    their mapping, missing keys removed; comments, key order, quoting and flow style of
    the rest untouched); a new ``body`` replaces only the text after the front matter.
    Only front matter that is not strict YAML (read leniently, ``PK003``) cannot be
    edited field by field: it is then written anew from the mapping.
    """
    from promptkit.template import edit

    if front_matter is None and body is None:
        return template.text
    t = template
    if front_matter is not None:
        try:
            t = edit.set_front_matter(t, front_matter).template
        except edit.EditError:
            if template.front_matter_span is not None and _strict_yaml(template):
                raise
            return dump_parts(front_matter, template.body if body is None else body)
    if body is not None:
        t = edit.replace_body(t, body).template
    return t.text


def _strict_yaml(template: PromptTemplate) -> bool:
    try:
        yaml.compose(template.front_matter_text or "", Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return False
    return True


def dump_parts(front_matter: dict[str, Any] | None, body: str) -> str:
    """Text of a new prompty file from a front-matter mapping and a body."""
    if front_matter is None:
        return body
    fm_text = yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True, width=100) if front_matter else ""
    return f"---\n{fm_text}---\n{body}"
