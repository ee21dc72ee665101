"""Rendering a template to chat messages, safely.

* Jinja2's ``ImmutableSandboxedEnvironment`` (:mod:`promptkit.template.sandbox`): template
  code cannot reach Python internals or mutate the values passed in, and every render
  ends quickly in bounded memory.
* ``StrictUndefined``: a variable the caller forgot is an error, not an empty string.
* Inputs are type-checked against the declared ``inputs`` before rendering.
* Role injection is impossible: before rendering, every role line of the *source* is
  replaced by a marker carrying a random nonce; after rendering the output is split only
  at markers with that nonce. An input value containing ``system:`` therefore stays text
  inside its message (Prompty's "strict" mode uses the same idea).
* Errors point at the line of the original file, front matter included.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptkit.codes import (
    INPUT_TYPE_MISMATCH,
    INVALID_RENDERED_ROLE,
    JINJA_SYNTAX_ERROR,
    MISSING_INPUT,
    PATH_OUTSIDE_PROJECT,
    RENDER_ERROR,
    SANDBOX_VIOLATION,
    UNDEFINED_VARIABLE,
    UNSUPPORTED_TEMPLATE_FORMAT,
)
from promptkit.diagnostics import Diagnostic, RenderError, Severity, Span
from promptkit.template import includes, parts, structure
from promptkit.template.model import ROLES, Engine, FileKind, PromptTemplate, RenderedMessage
from promptkit.template.sandbox import (  # noqa: F401 - environment and the limits are re-exported here
    MAX_RANGE_ITEMS,
    MAX_RENDER_CHARS,
    RenderLimitError,
    RenderLimits,
    budget,
    compile_bounded,
    environment,
    generate_bounded,
    range_budget,
)


def parse_body(template: PromptTemplate) -> tuple[Any, Diagnostic | None]:
    """Parse the body as Jinja. Returns ``(ast, None)`` or ``(None, diagnostic)``."""
    if not template.engine.renders:
        return None, None
    from jinja2 import TemplateSyntaxError

    try:
        ast = environment().parse(template.body)
    except TemplateSyntaxError as exc:
        return None, _syntax_diagnostic(template, exc)
    except RecursionError:
        return None, _too_deep(template)
    deepest = _deep_line(ast)
    if deepest is not None:
        # Jinja parsed it, but Python may not compile what Jinja generates from it (20
        # nested loops, 100 indents, 200 nested brackets): only then is it worth
        # compiling here, as render() would.
        try:
            environment().compile(template.body)
        except (RecursionError, SyntaxError, MemoryError):
            return None, _too_deep(template, deepest)
        except Exception:  # noqa: BLE001 - anything else is render()'s to report
            pass
    return ast, None


#: Nesting past which parse_body() tries a compile: far below Python's limits.
_NESTING_TO_CHECK = 40
_LOOPS_TO_CHECK = 10


def _deep_line(ast: Any) -> int | None:
    """The body line of the deepest node when the tree nests past the thresholds above
    (iteratively: the tree may be thousands deep), else None."""
    from jinja2 import nodes

    stack = [(ast, 0, 0)]
    worst: tuple[int, int] | None = None
    while stack:
        node, depth, loops = stack.pop()
        if depth > _NESTING_TO_CHECK or loops > _LOOPS_TO_CHECK:
            if worst is None or depth > worst[0]:
                worst = (depth, getattr(node, "lineno", 1) or 1)
        is_loop = isinstance(node, nodes.For)
        for child in node.iter_child_nodes():
            stack.append((child, depth + 1, loops + is_loop))
    return worst[1] if worst else None


def _too_deep(template: PromptTemplate, line: int | None = None) -> Diagnostic:
    """Jinja's parser and compiler recurse once per nesting level: a few hundred nested
    blocks or parentheses exhaust Python's stack. That is the template's problem, not
    an internal error."""
    return Diagnostic(
        template.path,
        "Jinja syntax error: the template nests blocks or expressions too deeply to parse",
        code=JINJA_SYNTAX_ERROR.code,
        name=JINJA_SYNTAX_ERROR.name,
        span=template.index.line_span(template.body_line + (line or 1) - 1),
        hint="flatten the nesting: split deep {% if %} chains with {% elif %}, or move logic into inputs",
    )


_BLOCK_TAGS = frozenset({"for", "if", "block", "macro", "call", "filter", "with", "raw", "autoescape", "trans"})


def _unclosed_block(source: str) -> tuple[str, int] | None:
    """The innermost ``{% tag %}`` never closed, as ``(tag, body line)``, or None.

    Jinja reports "Unexpected end of template" at the *last* line of the template,
    which is rarely where the mistake is; the opening tag is."""
    from jinja2 import TemplateSyntaxError

    stack: list[tuple[str, int]] = []
    expect_name = False
    try:
        for lineno, kind, value in environment().lex(source):
            if kind == "block_begin":
                expect_name = True
                continue
            if kind == "whitespace":
                continue
            if expect_name and kind == "name":
                if value in _BLOCK_TAGS:
                    stack.append((value, lineno))
                elif value.startswith("end") and stack and stack[-1][0] == value[3:]:
                    stack.pop()
            expect_name = False
    except TemplateSyntaxError:
        return None
    return stack[-1] if stack else None


def _syntax_diagnostic(template: PromptTemplate, exc: Any) -> Diagnostic:
    line = template.body_line + (exc.lineno or 1) - 1
    message = exc.message or str(exc)
    opened = None
    if message.startswith("Unexpected end of template"):
        opened = _unclosed_block(template.body)
        if opened is not None:
            line = template.body_line + opened[1] - 1
            message = f"{{% {opened[0]} %}} is never closed (expected {{% end{opened[0]} %}} before the end of the template)"
    span = _narrow(template, line, message)
    if opened is not None and message.endswith("before the end of the template)"):
        span = _narrow(template, line, "", rf"\{{%-?\s*{opened[0]}\b[^%]*%\}}") or span
    return Diagnostic(
        template.path,
        f"Jinja syntax error: {message}",
        code=JINJA_SYNTAX_ERROR.code,
        name=JINJA_SYNTAX_ERROR.name,
        span=span,
        hint="close every {% block %} with its {% end... %} tag and balance {{ }} and {% %}",
    )


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "str": (str,),
    "number": (int, float), "float": (int, float),
    "integer": (int,), "int": (int,),
    "boolean": (bool,), "bool": (bool,),
    "list": (list, tuple), "array": (list, tuple),
    "object": (Mapping,), "dict": (Mapping,),
}


#: Whether every declared input without a default must be given (and every variable
#: declared), instead of Prompty's rule. Set by ``strict-inputs`` in ``[tool.promptkit.test]``
#: (:func:`configure_inputs`) or per call (``render(..., strict_inputs=True)``).
_STRICT_INPUTS = False


def configure_inputs(*, strict: bool) -> None:
    """Make :func:`render` strict about inputs by default (``strict_inputs=True``): an
    input the file does not mark ``required: false`` and gives no default must be
    passed (``PK020``), and so must every variable a file without ``inputs`` uses
    (``PK022``). The default follows Prompty: absent inputs render empty."""
    global _STRICT_INPUTS
    _STRICT_INPUTS = bool(strict)


def _needs_value(spec: Any, strict: bool) -> bool:
    if spec.is_required:
        return True
    return strict and (spec.required if spec.required is not None else not spec.has_default)


def check_inputs(template: PromptTemplate, values: Mapping[str, Any], *, strict: bool | None = None) -> dict[str, Any]:
    """Apply defaults and check required inputs and types. Returns the final variables.

    An input given no value and no default is left out -- :func:`render` then renders it
    empty, as Prompty does -- unless it is ``required: true`` (or ``strict``: any input
    not marked ``required: false``), which is ``PK020``."""
    strict = _STRICT_INPUTS if strict is None else strict
    out = dict(values)
    for name, spec in template.inputs.items():
        if name not in out:
            if spec.has_default:
                out[name] = spec.default
            elif _needs_value(spec, strict):
                raise RenderError(
                    Diagnostic(
                        template.path,
                        f"missing required input '{name}'",
                        code=MISSING_INPUT.code,
                        name=MISSING_INPUT.name,
                        span=template.span_of("inputs", name),
                        # neutral: each caller says how *its* command passes a value
                        hint=f"give '{name}' a value, or a default in the front matter",
                    )
                )
            else:
                continue
        problem = input_type_error(template, name, out[name])
        if problem is not None:
            raise RenderError(problem)
    return out


def input_type_error(template: PromptTemplate, name: str, value: Any, *, what: str = "input") -> Diagnostic | None:
    """The ``PK021`` diagnostic when ``value`` does not fit the declared type of input
    ``name`` (None when it does, or the type is unknown). ``what`` names where the value
    came from ("sample of"), for callers that know better than the input declaration."""
    spec = template.inputs.get(name)
    want = _PY_TYPES.get(spec.type.lower()) if spec is not None else None
    if spec is not None and spec.type.lower() == "thread":
        want = (list, tuple)
    if spec is None or want is None or value is None:
        return None
    if isinstance(value, want) and not (isinstance(value, bool) and bool not in want):
        return None
    return Diagnostic(
        template.path,
        f"{what} '{name}' must be {spec.type}, got {type(value).__name__} {_short(value)}",
        code=INPUT_TYPE_MISMATCH.code,
        name=INPUT_TYPE_MISMATCH.name,
        span=template.span_of("inputs", name),
        hint=f"pass a value of type {spec.type}, or change the declared type of '{name}'",
    )


def _short(value: Any) -> str:
    import reprlib  # bounded in depth and length: a value may be huge or nested 5,000 deep

    r = reprlib.repr(value)
    return r if len(r) <= 40 else r[:37] + "..."


#: A role line becomes this marker, in place. The nonce is a render variable, fresh and
#: random for every render, so no input value (which is rendered *into* the template,
#: never parsed as one) can contain it; dynamic roles pass through ``__pk_role__``,
#: which accepts only a chat role (so a role value cannot carry a marker either).
_NONCE_VAR = "__pk_nonce__"
_ROLE_FN = "__pk_role__"
_MARK_OPEN = "\x02pk-{{ " + _NONCE_VAR + " }}:"
_RAW = re.compile(r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}", re.DOTALL)


def _marked_body(template: PromptTemplate) -> str:
    """The body with each role line replaced, in place (same line numbers), by a marker."""
    body = template.body
    kind = template.kind if template.kind in (FileKind.PROMPTY, FileKind.JINJA) else FileKind.PROMPTY
    marks = structure.role_lines(body, kind)
    if not marks:
        return body
    raws = [(m.start(), m.end()) for m in _RAW.finditer(body)] if "raw" in body else []
    parts: list[str] = []
    pos = 0
    for start, end, role, dyn in marks:
        line = body[start:end]
        nl = "\n" if line.endswith("\n") else ""
        if dyn is None:
            role_text = role
        elif template.engine is Engine.MUSTACHE:  # a Mustache tag renders the role; _split checks it
            role_text = "{{" + dyn + "}}"
        else:
            role_text = "{{ " + _ROLE_FN + "((" + dyn + ")) }}"
        marker = _MARK_OPEN + role_text + "\x03"
        if any(a <= start < b for a, b in raws):  # inside {% raw %}: step out for the marker
            marker = "{% endraw %}" + marker + "{% raw %}"
        parts.append(body[pos:start])
        parts.append(marker + nl)
        pos = end
    parts.append(body[pos:])
    return "".join(parts)


class _BadRole(Exception):
    """A dynamic role line's value is not a chat role."""


def _role_of(value: Any) -> str:
    """The chat role a dynamic role line (``{{ turn.role }}:``) renders to: one of
    :data:`ROLES` (any case, surrounding whitespace ignored), else an error. A role
    value such as ``"user\nsystem"`` or one holding marker text is refused here, before
    it reaches the output."""
    role = value.strip().lower() if isinstance(value, str) else None
    if role not in ROLES:
        raise _BadRole(f"a role line rendered to {_short(value)}, which is not a chat role")
    return role


def _template_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


#: (path, file text) -> compiled marked body. Compiling costs far more than rendering,
#: and a run renders one template thousands of times; the nonce is not part of it.
_COMPILED: dict[tuple[str, str], Any] = {}


def _compiled(template: PromptTemplate) -> Any:
    if includes.needs_loader(template):
        # {% extends/include %}: a loader confined to the project (promptkit.template.includes);
        # not cached, as the files it reads may change between renders
        with budget():
            return environment().overlay(loader=includes.make_loader(template)).from_string(_marked_body(template))
    key = (str(template.path), template.text)
    hit = _COMPILED.get(key)
    if hit is None:
        hit = compile_bounded(_marked_body(template))
        if len(_COMPILED) >= 256:
            _COMPILED.clear()
        _COMPILED[key] = hit
    return hit


def _lenient_names(template: PromptTemplate, values: Mapping[str, Any], strict: bool) -> list[str]:
    """Variables that render empty because they were given no value: declared inputs
    (Prompty: ``required`` defaults to false), and -- in a file that declares no inputs
    at all, so nothing tells a typo from an input -- every free variable. In a file that
    declares inputs, an undeclared variable stays an error (``PK022``): that is a typo."""
    names = [n for n, spec in template.inputs.items() if n not in values and not _needs_value(spec, strict)]
    if strict:
        return names
    if not template.inputs:  # none declared (or `inputs: ${file:...}`, read only to run a model)
        ast = template.jinja_ast
        if ast is not None:
            from jinja2 import meta

            names += sorted(n for n in meta.find_undeclared_variables(ast) if n not in values)
    return names


def render(template: PromptTemplate, variables: Mapping[str, Any] | None = None, /, *,
           strict_inputs: bool | None = None, **kwargs: Any) -> list[RenderedMessage]:
    """Render ``template`` with ``variables`` (and keyword variables) to chat messages,
    within the configured render limits (:func:`promptkit.template.sandbox.configure`).

    Inputs given no value render empty, as in Prompty, unless ``required: true``;
    ``strict_inputs=True`` (or :func:`configure_inputs`) requires every input without a
    default. ``thread`` inputs become messages at their position, ``image``/``file``/
    ``audio`` inputs (and Prompty v1 Markdown images) content parts
    (:mod:`promptkit.template.parts`).

    Raises :class:`~promptkit.diagnostics.RenderError` with a diagnostic pointing into
    the file for every problem: load errors, unsupported engines, missing or mistyped
    inputs, Jinja syntax and runtime errors, sandbox violations.
    """
    from jinja2 import TemplateError, TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    for d in template.diagnostics:
        if d.severity is Severity.ERROR:
            raise RenderError(d)
    strict = _STRICT_INPUTS if strict_inputs is None else strict_inputs
    if template.engine is Engine.MUSTACHE:
        template = with_referenced_inputs(template)
        from promptkit.template import mustache

        return mustache.render(template, check_inputs(template, {**(variables or {}), **kwargs}, strict=strict), strict)
    if not template.engine.renders:
        raise RenderError(
            Diagnostic(
                template.path,
                (f"cannot render a {_engine_label(template)} template: promptkit renders jinja2/nunjucks/mustache only"
                 if template.kind not in (FileKind.MARKDOWN, FileKind.TEXT) else
                 f"a {template.kind.value} file has no template language to render; it is sent as written"),
                code=UNSUPPORTED_TEMPLATE_FORMAT.code,
                name=UNSUPPORTED_TEMPLATE_FORMAT.name,
                span=template.span_of("template") or template.front_matter_span,
                hint=("convert the body to Jinja2 and set template: jinja2" if template.kind not in (FileKind.MARKDOWN, FileKind.TEXT)
                      else "rename it to .prompty to render it as a template, or count it with promptkit tokens --no-render"),
            )
        )
    template = with_referenced_inputs(template)
    values = check_inputs(template, {**(variables or {}), **kwargs}, strict=strict)
    try:
        compiled = _compiled(template)
    except TemplateSyntaxError as exc:
        raise RenderError(_syntax_diagnostic(template, exc)) from None
    except (RecursionError, SyntaxError, MemoryError):
        # Python's own limits on the generated code (20 nested loops, 100 indents,
        # 200 nested parentheses) or Jinja's recursion: the template nests too deeply.
        raise RenderError(parse_body(template)[1] or _too_deep(template)) from None
    nonce = secrets.token_hex(16)
    from jinja2 import Undefined

    given = values
    values = {**{n: Undefined(name=n) for n in _lenient_names(template, values, strict)}, **values}
    kinds = rich_kinds(template)
    part_nonce = secrets.token_hex(16) if kinds else ""  # another secret: the role nonce never reaches the output
    for name in kinds:
        values[name] = parts.marker(part_nonce, name)
    values = {**values, _NONCE_VAR: nonce, _ROLE_FN: _role_of}
    try:
        with budget():
            out = generate_bounded(compiled, values)
    except _BadRole as exc:
        raise RenderError(_runtime(template, exc, str(exc), f"role values must be one of: {', '.join(ROLES)}",
                                   INVALID_RENDERED_ROLE.code, INVALID_RENDERED_ROLE.name)) from None
    except includes.IncludeRefused as exc:
        m = _OTHER_FILE.search(template.body)
        span = template.index.span(template.body_offset + m.start(), template.body_offset + m.end()) if m else None
        raise RenderError(Diagnostic(template.path, f"cannot load the template: {exc}", code=PATH_OUTSIDE_PROJECT.code,
                                     name=PATH_OUTSIDE_PROJECT.name, span=span,
                                     hint="extend or include files inside the project, by a path relative to this file")) from None
    except RenderLimitError as exc:
        raise RenderError(_runtime(template, exc, f"render limit exceeded: {exc}",
                                   "prompts are small: bound the loop or value (slice inputs, use smaller ranges)"
                                   " or raise the limit",
                                   RENDER_ERROR.code, RENDER_ERROR.name)) from None
    except RecursionError as exc:
        raise RenderError(_runtime(template, exc, "render recursed too deeply (a macro that calls itself without end?)",
                                   "give the recursion a base case that stops it", RENDER_ERROR.code, RENDER_ERROR.name)) from None
    except MemoryError as exc:
        raise RenderError(_runtime(template, exc, "render ran out of memory building a value",
                                   "check for values multiplied or padded to huge sizes", RENDER_ERROR.code, RENDER_ERROR.name)) from None
    except UndefinedError as exc:
        raise RenderError(_runtime(template, exc, f"undefined variable: {exc.message}",
                                   "declare it in inputs and pass a value, or guard it with {% if x is defined %}",
                                   UNDEFINED_VARIABLE.code, UNDEFINED_VARIABLE.name)) from None
    except SecurityError as exc:
        raise RenderError(_runtime(template, exc, f"blocked by the sandbox: {exc}",
                                   "templates may not reach Python internals", SANDBOX_VIOLATION.code, SANDBOX_VIOLATION.name)) from None
    except TemplateNotFound as exc:
        m = _OTHER_FILE.search(template.body)
        span = template.index.span(template.body_offset + m.start(), template.body_offset + m.end()) if m else None
        raise RenderError(Diagnostic(template.path, f"{{% {m.group(1) if m else 'include'} %}} cannot find {exc.name!r} "
                                     f"next to {Path(template.path).name}", code=RENDER_ERROR.code, name=RENDER_ERROR.name,
                                     span=span, hint="name a file inside the project by its path relative to this file")) from None
    except TemplateError as exc:
        raise RenderError(_runtime(template, exc, f"template error: {exc}", "check the expression on this line",
                                   RENDER_ERROR.code, RENDER_ERROR.name)) from None
    except TypeError as exc:
        if "no loader" not in str(exc):
            raise RenderError(_runtime(template, exc, f"TypeError while rendering: {exc}",
                                       "check the expression and the type of the values passed",
                                       RENDER_ERROR.code, RENDER_ERROR.name)) from None
        raise RenderError(_no_loader(template)) from None
    except (ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise RenderError(_runtime(template, exc, f"{type(exc).__name__} while rendering: {exc}",
                                   "check the expression and the type of the values passed",
                                   RENDER_ERROR.code, RENDER_ERROR.name)) from None
    return finish(template, _split(template, out, nonce), part_nonce, kinds, given)


def with_referenced_inputs(template: PromptTemplate) -> PromptTemplate:
    """The template with ``inputs: ${file:schema.json}`` read (inside the project only),
    so that their defaults, kinds and required flags apply when rendering. Loading never
    reads it (the linter reads no file a prompt names); rendering needs it."""
    raw = template.raw_front_matter.get("inputs")
    if template.inputs or not isinstance(raw, str) or not raw.strip().startswith("${file:"):
        return template
    from promptkit.template.frontmatter import normalize
    from promptkit.template.model import InputSpec
    from promptkit.template.references import ReferenceError_, resolve

    try:
        data = resolve(raw, Path(template.path).parent)
        specs = {n: InputSpec.model_validate(v) for n, v in normalize({"inputs": data}).get("inputs", {}).items()}
    except ReferenceError_ as exc:
        raise RenderError(Diagnostic(template.path, f"cannot read the inputs: {exc}", code=exc.code or RENDER_ERROR.code,
                                     name=PATH_OUTSIDE_PROJECT.name if exc.code else RENDER_ERROR.name, span=template.span_of("inputs"),
                                     hint="fix the ${file:...} reference, or declare the inputs inline")) from None
    except Exception as exc:  # noqa: BLE001 - a malformed schema file is the file's problem
        raise RenderError(Diagnostic(template.path, f"cannot read the inputs from {raw.strip()}: {str(exc)[:200]}",
                                     code=RENDER_ERROR.code, name=RENDER_ERROR.name, span=template.span_of("inputs"),
                                     hint="the file must hold a list of {name, kind, ...} or a mapping of inputs")) from None
    return template.model_copy(update={"front_matter": template.front_matter.model_copy(update={"inputs": specs})})


def rich_kinds(template: PromptTemplate) -> dict[str, str]:
    """Declared inputs of kind thread/image/file/audio: name -> kind."""
    return {n: k for n, spec in template.inputs.items() if (k := spec.rich_kind) is not None}


def finish(template: PromptTemplate, messages: list[RenderedMessage], nonce: str, kinds: Mapping[str, str],
           values: Mapping[str, Any]) -> list[RenderedMessage]:
    """Rendered text messages -> the messages sent: threads and parts expanded, and the
    message boundaries of the file's Prompty version (v1: Markdown images are parts,
    empty messages dropped)."""
    try:
        if kinds:
            messages = parts.expand(messages, nonce, kinds, values)
        if template.kind is FileKind.PROMPTY and template.prompty_version == "v1":
            base = Path(template.path).parent
            messages = [parts.markdown_images(m, base, None) for m in messages if m.parts != [{"type": "text", "text": ""}]]
    except parts.PartError as exc:
        raise RenderError(Diagnostic(template.path, str(exc), code=INPUT_TYPE_MISMATCH.code, name=INPUT_TYPE_MISMATCH.name,
                                     span=template.span_of("inputs") or template.front_matter_span,
                                     hint="a thread is a list of {role, content} turns; an image/file/audio a URL or data URL")) from None
    return messages


def _engine_label(template: PromptTemplate) -> str:
    """The body language as the file names it (``mustache``, or an unknown ``fake``)."""
    from promptkit.template.frontmatter import engine_name

    return engine_name(template.raw_front_matter) or template.engine.value


_OTHER_FILE = re.compile(r"\{%-?\s*(extends|include|import|from)\b[^%]*%\}")


def _no_loader(template: PromptTemplate) -> Diagnostic:
    """``{% extends %}``/``{% include %}``: templates are rendered self-contained, so a
    prompt file's meaning never depends on files the reviewer does not see."""
    m = _OTHER_FILE.search(template.body)
    span = None
    tag = "extends/include"
    if m:
        span = template.index.span(template.body_offset + m.start(), template.body_offset + m.end())
        tag = m.group(1)
    return Diagnostic(
        template.path,
        f"{{% {tag} %}} of another file is not supported: promptkit renders each template on its own",
        code=RENDER_ERROR.code,
        name=RENDER_ERROR.name,
        span=span,
        hint="inline the other template's text (or its blocks) into this file",
    )


_QUOTED = re.compile(r"'([^'\n]{1,80})'")


def _narrow(template: PromptTemplate, line: int, message: str, pattern: str | None = None) -> Span:
    """The span of what ``message`` names on ``line`` (``'frobnicate'`` in "unknown tag
    'frobnicate'", ``x`` in "'x' is undefined"), inside a ``{{ }}``/``{% %}`` where
    possible; the whole line when it names nothing found there. Jinja reports lines
    only, and an editor jumping to column 1 of a long line helps nobody."""
    index = template.index
    start, end = index.line_start(line), index.line_end(line)
    text = template.text[start:end]
    candidates = [pattern] if pattern else [
        rx
        for q in _QUOTED.findall(message)
        # a variable first (not after a dot), then an attribute, then any text
        for rx in ((rf"(?<![\w.]){re.escape(q)}(?!\w)", rf"(?<!\w){re.escape(q)}(?!\w)") if q.isidentifier()
                   else (re.escape(q),))
    ]
    for rx in candidates:
        hits = list(re.finditer(rx, text))
        if not hits:
            continue
        tags = _tag_ranges(text)
        h = next((h for h in hits if _inside(tags, h.start())), hits[0])
        return index.span(start + h.start(), start + h.end())
    return index.line_span(line)


def _tag_ranges(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each ``{{ }}`` / ``{% %}`` on one line, in order, found with
    ``str.find`` in one pass (a lazy ``.*?`` regex rescans the rest of the line for every
    unclosed ``{{``: quadratic on a line of ``{{a{{a...``)."""
    out: list[tuple[int, int]] = []
    pos = 0
    a, b = text.find("{{"), text.find("{%")
    while True:
        if a != -1 and a < pos:
            a = text.find("{{", pos)  # searched again only once passed: each search moves on
        if b != -1 and b < pos:
            b = text.find("{%", pos)
        o = a if b == -1 or (a != -1 and a < b) else b
        if o == -1:
            return out
        close = text.find("}}" if o == a else "%}", o + 2)
        if close == -1:  # no closer after o: no later tag of this kind closes either
            if o == a:
                a = -1
            else:
                b = -1
            pos = o + 2
            continue
        out.append((o, close + 2))
        pos = close + 2


def _inside(tags: list[tuple[int, int]], offset: int) -> bool:
    import bisect

    i = bisect.bisect_right(tags, (offset, float("inf"))) - 1
    return i >= 0 and tags[i][0] <= offset < tags[i][1]


def _runtime(template: PromptTemplate, exc: BaseException, msg: str, hint: str, code: str, name: str) -> Diagnostic:
    rel = _template_line(exc)
    span = _narrow(template, template.body_line + rel - 1, msg) if rel else None
    return Diagnostic(template.path, msg, code=code, name=name, span=span, hint=hint)


def _trim(template: PromptTemplate, content: str) -> str:
    """A message's text without the whitespace around it. Prompty v2 trims only line
    breaks (a first line keeps its indentation); promptkit strips all of it, as v1 does,
    so whitespace an input value carries to a message's edge is never sent and a
    message's text does not depend on where a value ends (docs/prompty-compat.md)."""
    return content.strip()


def _split(template: PromptTemplate, out: str, nonce: str) -> list[RenderedMessage]:
    """Cut the output at this render's markers. Text that only looks like a marker (an
    input value holding ``\\x02pk-...``) has another nonce and stays text."""
    pieces = out.split(f"\x02pk-{nonce}:")
    default_role = template.messages[0].role if template.messages and not template.messages[0].explicit else None
    messages: list[RenderedMessage] = []
    head = pieces[0].strip()
    if head:
        messages.append(RenderedMessage(role=default_role or ("user" if template.kind is FileKind.JINJA else "system"), content=head))
    for piece in pieces[1:]:
        role, _, content = piece.partition("\x03")
        role = role.strip().lower()
        if role not in ROLES:  # only the template itself can write a marker
            raise RenderError(
                Diagnostic(
                    template.path,
                    f"a role line rendered to {_short(role)}, which is not a chat role",
                    code=INVALID_RENDERED_ROLE.code,
                    name=INVALID_RENDERED_ROLE.name,
                    hint=f"role values must be one of: {', '.join(ROLES)}",
                )
            )
        messages.append(RenderedMessage(role=role, content=_trim(template, content)))
    if any(nonce in m.content for m in messages):
        raise RenderError(
            Diagnostic(template.path, "the template printed the role marker's nonce", code=INVALID_RENDERED_ROLE.code,
                       name=INVALID_RENDERED_ROLE.name, hint=f"do not print {_NONCE_VAR}; it is promptkit's own")
        )
    return messages


def render_file(path: str | Path, variables: Mapping[str, Any] | None = None, **kwargs: Any) -> list[RenderedMessage]:
    """Load and render in one call."""
    from promptkit.template.loader import load

    return render(load(path), variables, **kwargs)
