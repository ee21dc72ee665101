"""The template model: prompt files loaded into typed, position-exact objects.

Data flows one way: file -> :func:`load` -> :class:`PromptTemplate` -> :func:`render` ->
rendered messages. Everything downstream (linter, runner, perturbations, optimizer,
review) starts from a ``PromptTemplate``.
"""

from promptkit.template.analysis import Region, Scope, TemplateAnalysis, VariableUse, analyze
from promptkit.template.edit import (
    Edit,
    EditError,
    EditResult,
    apply_edits,
    bump_version,
    insert_component,
    remove_component,
    remove_field,
    replace_body,
    replace_component,
    set_field,
    set_front_matter,
    unified_diff,
)
from promptkit.template.loader import PROMPT_GLOBS, dump_parts, dumps, file_kind, load, load_strict, loads
from promptkit.template.model import (
    ROLES,
    Component,
    Engine,
    FileKind,
    FrontMatter,
    InputSpec,
    Message,
    ModelSpec,
    OutputFormat,
    OutputSpec,
    PromptTemplate,
    RenderedMessage,
)
from promptkit.template.render import check_inputs, environment, parse_body, render, render_file

__all__ = [
    "PROMPT_GLOBS", "ROLES", "Component", "Edit", "EditError", "EditResult", "Engine", "FileKind", "FrontMatter",
    "InputSpec", "Message", "ModelSpec", "OutputFormat", "OutputSpec", "PromptTemplate", "RenderedMessage",
    "apply_edits", "bump_version", "check_inputs", "dump_parts", "dumps", "environment", "file_kind",
    "insert_component", "load", "load_strict", "loads", "parse_body", "remove_component", "remove_field",
    "render", "render_file", "replace_body", "replace_component", "set_field", "set_front_matter", "unified_diff",
    "Region", "Scope", "TemplateAnalysis", "VariableUse", "analyze",
]
