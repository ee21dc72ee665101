"""Front matter: find the fenced YAML block, parse it with positions, validate it.

Three jobs, each kept lenient because real files are messy:

* :func:`split` finds ``---`` fences even after a BOM or blank lines.
* :func:`parse_yaml` parses with PyYAML's composer so every key keeps its line and
  column; YAML that is invalid only because of unquoted glob values (Cursor's
  ``globs: **/*``) is re-read with those values quoted and reported as a warning.
* :func:`validate` normalizes Prompty v1/v2 and dotprompt shapes, validates with
  pydantic, and turns each validation error into a diagnostic at the offending field,
  dropping only that field so the rest of the template still loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from promptkit.codes import FRONT_MATTER_SCHEMA, INVALID_FRONT_MATTER, LENIENT_FRONT_MATTER
from promptkit.diagnostics import Diagnostic, LineIndex, Severity, Span
from promptkit.template.model import FrontMatter

try:  # the C loader is ~10x faster; fall back when libyaml is absent
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

_FENCE = re.compile(r"---[ \t]*\r?$")
_CLOSE = re.compile(r"(?:---|\.\.\.)[ \t]*\r?$")


@dataclass
class Split:
    """Where the front matter and body are in the text (character offsets)."""

    has_front_matter: bool
    yaml_text: str = ""
    yaml_offset: int = 0  # offset of the first YAML character
    block_start: int = 0  # offset of the opening fence
    block_end: int = 0  # offset just past the closing fence line
    body_offset: int = 0
    diagnostics: list[Diagnostic] = field(default_factory=list)


def split(text: str, path: str, index: LineIndex) -> Split:
    """Find the front matter. Leading blank lines before ``---`` are allowed."""
    pos = 0
    n = len(text)
    # skip blank lines
    while pos < n:
        eol = text.find("\n", pos)
        line = text[pos : eol if eol != -1 else n]
        if line.strip():
            break
        if eol == -1:
            pos = n
            break
        pos = eol + 1
    eol = text.find("\n", pos)
    first = text[pos : eol if eol != -1 else n]
    if not _FENCE.match(first):
        return Split(False)
    if eol == -1:  # a lone '---' and nothing else
        return Split(True, "", n, pos, n, n)
    yaml_start = eol + 1
    cur = yaml_start
    while cur <= n:
        e = text.find("\n", cur)
        line = text[cur : e if e != -1 else n]
        if _CLOSE.match(line):
            end = e + 1 if e != -1 else n
            return Split(True, text[yaml_start:cur], yaml_start, pos, end, end)
        if e == -1:
            break
        cur = e + 1
    diag = Diagnostic(
        path,
        "front matter opened with '---' is never closed",
        code=INVALID_FRONT_MATTER.code,
        name=INVALID_FRONT_MATTER.name,
        span=index.line_span(index.position(pos).line),
        hint="add a closing '---' line after the YAML block",
    )
    return Split(False, diagnostics=[diag])


# --------------------------------------------------------------------------- YAML


@dataclass
class Parsed:
    data: Any = None
    spans: dict[tuple[Any, ...], Span] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Keys written twice in one mapping (also reported in ``diagnostics`` as front-matter
    #: warnings); test files and datasets treat them as errors, named as such.
    duplicates: list[DuplicateKey] = field(default_factory=list)


@dataclass(frozen=True)
class DuplicateKey:
    """A mapping key written twice. PyYAML silently keeps the last value, so an edit to
    the first one has no effect: a trap in review, worth its own message."""

    keys: tuple[Any, ...]
    first_line: int
    span: Span  # the repeated key

    @property
    def dotted(self) -> str:
        """``cases[0].vars``: the path as a user reads it in the file."""
        out = ""
        for k in self.keys:
            out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
        return out

    def message(self, where: str = "") -> str:
        return (f"duplicate key '{self.dotted}'{' in ' + where if where else ''} (first on line {self.first_line}); "
                "YAML keeps only this last value")


_UNQUOTED_SPECIAL = re.compile(r"^(\s*(?:-\s+)?[\w.\-\"' ]+:[ \t]+)([*&!%@`|>][^\n]*?|[^\n]*\s#[^\n]*|[^\n\"']*: [^\n]*)[ \t]*$")
_BAD_SCALAR = re.compile(r"^(\s*-\s+)([*&!%@`][^\n]*?)[ \t]*$")


def _quote_lenient(src: str) -> str:
    """Quote scalar values that YAML would misread (``globs: **/*``, ``a: b: c``)."""
    out = []
    for line in src.split("\n"):
        m = _UNQUOTED_SPECIAL.match(line) or _BAD_SCALAR.match(line)
        if m and not m.group(2).lstrip().startswith(("|", ">")):
            val = m.group(2).replace("\\", "\\\\").replace('"', '\\"')
            line = f'{m.group(1)}"{val}"'
        out.append(line)
    return "\n".join(out)


def _walk(node: yaml.Node, path: tuple[Any, ...], index: LineIndex, base: int, spans: dict,
          duplicates: list[tuple[tuple[Any, ...], yaml.Node, yaml.Node]] | None = None) -> None:
    spans[path] = index.span(base + node.start_mark.index, base + node.end_mark.index)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, yaml.Node] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.start_mark.index)
            if duplicates is not None and isinstance(k, yaml.ScalarNode):
                if key in seen:
                    duplicates.append(((*path, key), seen[key], k))
                seen[key] = k
            _walk(v, (*path, key), index, base, spans, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), index, base, spans, duplicates)


def _duplicate_keys(index: LineIndex, base: int,
                    duplicates: list[tuple[tuple[Any, ...], yaml.Node, yaml.Node]]) -> list[DuplicateKey]:
    return [DuplicateKey(keys, index.position(base + first.start_mark.index).line,
                         index.span(base + again.start_mark.index, base + again.end_mark.index))
            for keys, first, again in duplicates]


def _duplicate_diagnostics(path: str, duplicates: list[DuplicateKey]) -> list[Diagnostic]:
    """PyYAML silently keeps the last of two equal keys (YAML forbids them): an edit to
    the first ``model:`` block then has no effect, which is hard to see in review."""
    return [
        Diagnostic(path, dup.message("front matter"), severity=Severity.WARNING, code=LENIENT_FRONT_MATTER.code, name=LENIENT_FRONT_MATTER.name,
                   span=dup.span, hint=DUPLICATE_KEY_HINT)
        for dup in duplicates
    ]


DUPLICATE_KEY_HINT = "remove one of the two, or merge their values"


#: Most values the front matter may expand to through YAML aliases. Aliases share
#: nodes, so nine lines of ``&a [*b, *b, ...]`` describe 10**9 values ("billion laughs"):
#: walking them for spans, references or validation would never end.
MAX_YAML_VALUES = 100_000


class _AliasBomb(yaml.YAMLError):
    def __init__(self, size: int) -> None:
        super().__init__(f"it expands to over {MAX_YAML_VALUES:,} values through aliases (&anchor / *alias)")
        self.size = size


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes ``root`` expands to, counting shared (aliased) nodes at each use;
    computed once per distinct node, and stopping early past the limit."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > 500:
            return MAX_YAML_VALUES + 1
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > MAX_YAML_VALUES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
                if total > MAX_YAML_VALUES:
                    break
        sizes[id(node)] = total
        return total

    return size(root, 0)


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` that refuses alias bombs and nesting too deep for Python's
    stack (raising a ``yaml.YAMLError``): for every YAML file a user hands promptkit
    (``--vars``, ``${file:x.yaml}``, rule packs)."""
    try:
        return _load(text)[0]
    except RecursionError:
        raise yaml.YAMLError(_TOO_DEEP) from None


_FLOW_TOKENS = re.compile(r"""[\[\]{}]|(?:(?<=[\s\[{,:])|^)(?:'(?:[^']|'')*'?|"(?:[^"\\]|\\.)*"?|\#[^\n]*)""",
                          re.MULTILINE)
#: Deepest ``[``/``{`` nesting read. libyaml's C parser overflows the C stack (a
#: segfault, killing a whole lint run) somewhere past 20,000 levels, and Python's own
#: recursion limit stops construction near 1,000 anyway.
MAX_FLOW_DEPTH = 500


def _flow_too_deep(src: str) -> bool:
    """Whether ``[``/``{`` nest past :data:`MAX_FLOW_DEPTH`, in one linear scan.

    Brackets inside quoted scalars and comments do not count: a quote or ``#`` opens one
    only where YAML lets a token start (after whitespace, a flow indicator or ``:``), so
    regexes such as ``'^\\{'`` across a thousand cases are not mistaken for nesting, while
    an apostrophe inside a plain word (``it's``) opens nothing."""
    depth = 0
    for m in _FLOW_TOKENS.finditer(src):
        tok = m.group()
        if tok in ("[", "{"):
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                return True
        elif tok in ("]", "}"):
            if depth:
                depth -= 1
    return False


def _load(src: str) -> tuple[Any, yaml.Node | None]:
    if _flow_too_deep(src):
        raise RecursionError("flow collections nested too deeply")
    node = yaml.compose(src, Loader=_Loader)
    if node is None:
        return None, None
    if "*" in src and _expanded_size(node) > MAX_YAML_VALUES:  # no alias, no bomb
        raise _AliasBomb(MAX_YAML_VALUES)
    loader = _Loader(src)
    try:
        data = loader.construct_document(node)
    finally:
        loader.dispose()
    return data, node


def parse_yaml(src: str, path: str, index: LineIndex, base: int) -> Parsed:
    """Parse front-matter YAML that starts at character ``base`` of the file."""
    try:
        return _parse_yaml(src, path, index, base)
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        return Parsed(None, diagnostics=[Diagnostic(
            path, f"invalid YAML in front matter: {_TOO_DEEP}", code=INVALID_FRONT_MATTER.code, name=INVALID_FRONT_MATTER.name,
            span=index.span(base, base), hint="flatten the structure")])


_TOO_DEEP = "it nests lists or mappings too deeply to read"


def _parse_yaml(src: str, path: str, index: LineIndex, base: int) -> Parsed:
    try:
        data, node = _load(src)
    except _AliasBomb as exc:
        return Parsed(None, diagnostics=[Diagnostic(
            path, f"invalid YAML in front matter: {exc}", code=INVALID_FRONT_MATTER.code, name=INVALID_FRONT_MATTER.name,
            span=index.span(base, base), hint="write the values out, or nest fewer aliases")])
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = index.span(base + mark.index, base + mark.index) if mark else index.span(base, base)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        quoted = _quote_lenient(src)
        if quoted != src:
            try:
                data, node = _load(quoted)
            except yaml.YAMLError:
                pass
            else:
                out = Parsed(data)
                if node is not None:
                    # quoting shifts columns but not lines: map lines back to the original
                    _walk(node, (), LineIndex(quoted), 0, out.spans)
                    out.spans = {k: _remap(v, index, base) for k, v in out.spans.items()}
                out.diagnostics.append(
                    Diagnostic(
                        path,
                        f"front matter is not strict YAML ({problem}); read it leniently with the value quoted",
                        severity=Severity.WARNING,
                        code=LENIENT_FRONT_MATTER.code,
                        name=LENIENT_FRONT_MATTER.name,
                        span=where,
                        hint='quote values that start with *, &, !, % or @, e.g. globs: "**/*"',
                    )
                )
                return out
        return Parsed(
            None,
            diagnostics=[
                Diagnostic(
                    path,
                    f"invalid YAML in front matter: {problem}",
                    code=INVALID_FRONT_MATTER.code,
                    name=INVALID_FRONT_MATTER.name,
                    span=where,
                    hint="fix the YAML syntax (indentation, quoting, colons)",
                )
            ],
        )
    out = Parsed(data)
    if node is not None:
        duplicates: list[tuple[tuple[Any, ...], yaml.Node, yaml.Node]] = []
        _walk(node, (), index, base, out.spans, duplicates)
        out.duplicates = _duplicate_keys(index, base, duplicates)
        out.diagnostics += _duplicate_diagnostics(path, out.duplicates)
    return out


def _remap(span: Span, index: LineIndex, base: int) -> Span:
    """Map a span computed on the quoted YAML back to the same lines in the file."""
    base_line = index.position(base).line
    s = index.line_start(base_line + span.start.line - 1)
    e = index.line_start(base_line + span.end.line - 1)
    return index.span(s, max(s, e + span.end.column - 1))


# --------------------------------------------------------------------------- validation

_INPUT_TYPE_ALIASES = {"kind": "type"}


def _spec_dict(name: str, spec: Any) -> dict[str, Any]:
    if isinstance(spec, dict):
        d = dict(spec)
        if "kind" in d and "type" not in d:
            d["type"] = d.pop("kind")
        if "type" in d and not isinstance(d["type"], str):
            d["type"] = str(d["type"])
        d["has_default"] = "default" in d
        d["name"] = name
        return d
    # shorthand `name: value` -> a string input whose sample is that value
    return {"name": name, "type": _type_of(spec), "sample": spec, "has_default": False}


def _type_of(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return "string"


def _picoschema_inputs(schema: Any) -> dict[str, Any]:
    """dotprompt ``input.schema`` (Picoschema ``name?: type, description``) -> inputs."""
    out: dict[str, Any] = {}
    if not isinstance(schema, dict):
        return out
    props = schema.get("properties") if schema.get("type") == "object" else schema
    if not isinstance(props, dict):
        return out
    for raw, val in props.items():
        name = str(raw)
        optional = name.endswith("?")
        name = name.rstrip("?")
        m = re.match(r"^(\w+)(?:\((\w+)\))?", name)
        if not m:
            continue
        name = m.group(1)
        typ, desc = "string", None
        if isinstance(val, str):
            typ, _, desc = val.partition(",")
            typ, desc = typ.strip() or "string", desc.strip() or None
        elif isinstance(val, dict):
            typ = str(val.get("type", "object"))
            desc = val.get("description")
        out[name] = {"name": name, "type": typ, "description": desc, "required": not optional, "has_default": False}
    return out


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """Map Prompty v1/v2, dotprompt and promptkit shapes onto :class:`FrontMatter`."""
    d = dict(data)
    meta = d.get("metadata")
    if isinstance(meta, dict):  # Prompty v2 keeps authors/tags/version under metadata
        for k in ("authors", "tags", "version"):
            if k in meta and k not in d:
                d[k] = meta[k]
    for k in ("authors", "tags"):
        if isinstance(d.get(k), str):
            d[k] = [d[k]]
        if isinstance(d.get(k), list):
            d[k] = [str(x) for x in d[k]]
    if "version" in d and isinstance(d["version"], (int, float)):
        d["version"] = str(d["version"])
    model = d.get("model")
    if isinstance(model, list) and model and all(isinstance(m, str) for m in model):
        model = model[0]  # Copilot agents list models in order of preference
    if isinstance(model, str) and not model.startswith("${"):
        d["model"] = {"id": model}
    elif isinstance(model, str):
        d["model"] = {"configuration": model}
    inputs = d.get("inputs")
    if isinstance(inputs, str) and inputs.strip().startswith("${"):
        # Prompty's `inputs: ${file:schema.json}`: resolved only when rendering needs it
        # (see references.py); the raw value stays in raw_front_matter.
        d.pop("inputs")
        inputs = None
    if inputs is None and isinstance(d.get("input"), dict):  # dotprompt
        inputs = _picoschema_inputs(d["input"].get("schema"))
        defaults = d["input"].get("default")
        if isinstance(defaults, dict):
            for k, v in defaults.items():
                if k in inputs:
                    inputs[k]["default"] = v
                    inputs[k]["has_default"] = True
    if inputs is None and isinstance(d.get("inputSchema"), dict):
        props = d["inputSchema"].get("properties")
        # Prompty v2: `properties` is a list of {name, kind, default...} (handled below as a
        # list of inputs); otherwise a Picoschema / JSON-Schema mapping.
        inputs = props if isinstance(props, list) else _picoschema_inputs(d["inputSchema"])
    if isinstance(inputs, list):
        d["inputs"] = {
            str(i.get("name")): _spec_dict(str(i.get("name")), {k: v for k, v in i.items() if k != "name"})
            for i in inputs
            if isinstance(i, dict) and i.get("name") is not None
        }
    elif isinstance(inputs, dict):
        d["inputs"] = {str(k): (_spec_dict(str(k), v) if not (isinstance(v, dict) and "has_default" in v) else v) for k, v in inputs.items()}
    outputs = d.get("outputs")
    if isinstance(outputs, list):
        outputs = {str(o.get("name")): o for o in outputs if isinstance(o, dict) and o.get("name") is not None}
    if isinstance(outputs, dict):
        d["outputs"] = {
            str(k): ({**v, "name": str(k), **({"type": str(v["kind"])} if "kind" in v and "type" not in v else {})} if isinstance(v, dict) else {"name": str(k), "type": str(v)})
            for k, v in outputs.items()
        }
    out = d.get("output")
    if isinstance(out, dict) and "format" in out and not isinstance(out["format"], str):
        out = dict(out)
        out["format"] = str(out["format"])
        d["output"] = out
    if isinstance(out, dict) and isinstance(out.get("schema"), str):
        # dotprompt names a registered schema (`schema: Recipe`); keep the name aside
        out = dict(out)
        out["schema_ref"] = out.pop("schema")
        d["output"] = out
    tpl = d.get("template")
    if isinstance(tpl, str):
        d["template"] = {"format": tpl}
    return d


def engine_name(data: dict[str, Any]) -> str | None:
    """The template engine the front matter asks for (``jinja2``, ``mustache``...)."""
    tpl = data.get("template")
    if isinstance(tpl, str):
        return tpl.lower()
    if isinstance(tpl, dict):
        fmt = tpl.get("format", tpl.get("type"))
        if isinstance(fmt, dict):
            fmt = fmt.get("kind") or fmt.get("type")
        if isinstance(fmt, str):
            return fmt.lower()
    fmt = data.get("template_format")
    return fmt.lower() if isinstance(fmt, str) else None


def validate(
    data: Any, path: str, spans: dict[tuple[Any, ...], Span], fallback: Span | None
) -> tuple[FrontMatter, list[Diagnostic]]:
    """Validate front matter. Each invalid field becomes a ``PK006`` diagnostic at its
    own position and is dropped; everything else is kept."""
    diags: list[Diagnostic] = []
    if data is None:
        return FrontMatter(), diags
    if not isinstance(data, dict):
        diags.append(
            Diagnostic(
                path,
                f"front matter must be a YAML mapping of keys to values, not a {type(data).__name__}",
                code=FRONT_MATTER_SCHEMA.code,
                name=FRONT_MATTER_SCHEMA.name,
                span=fallback,
                hint="write 'key: value' lines between the '---' fences",
            )
        )
        return FrontMatter(), diags
    norm = normalize({str(k): v for k, v in data.items()})
    for _ in range(8):  # each round drops the fields that failed
        try:
            fm = FrontMatter.model_validate(norm)
            return fm, diags + _version_warning(fm, path, spans) + _unknown_input_types(fm, path, spans)
        except ValidationError as exc:
            dropped = False
            for err in exc.errors():
                loc = _clean_loc(err["loc"], spans)
                top = loc[0] if loc else None
                if top is None or top not in norm:
                    continue
                span = _span_for(spans, loc) or fallback
                field_name = ".".join(str(x) for x in loc)
                msg = err["msg"].removeprefix("Value error, ")
                diags.append(
                    Diagnostic(
                        path,
                        f"front matter field '{field_name}': {msg}",
                        code=FRONT_MATTER_SCHEMA.code,
                        name=FRONT_MATTER_SCHEMA.name,
                        span=span,
                        hint=_schema_hint(str(top)),
                    )
                )
                norm.pop(top, None)
                dropped = True
            if not dropped:
                break
    return FrontMatter.model_construct(), diags


#: Names pydantic puts into an error's location for the member of a union that failed
#: (``sample.dict[str,any]``): they are not keys the user wrote.
_UNION_TAGS = frozenset({"str", "int", "float", "bool", "dict", "list", "none", "is-instance", "function-after",
                         "function-before", "function-plain", "function-wrap", "tagged-union", "literal"})


#: Input types promptkit knows: Prompty's, their Python spellings, Prompty v2's
#: ``thread``/``image``/``audio``/``file``, and Picoschema's ``any``/``null``.
KNOWN_INPUT_TYPES = frozenset({"string", "str", "number", "float", "integer", "int", "boolean", "bool", "list",
                               "array", "object", "dict", "thread", "image", "audio", "file", "any", "null"})


def _version_warning(fm: Any, path: str, spans: dict[tuple[Any, ...], Span]) -> list[Diagnostic]:
    """A ``version`` that is not semver (``"2.0"``) is worth fixing -- version bumps are
    checked in review -- but Prompty accepts any string, so the file still loads,
    renders and runs: a warning, not an error."""
    if fm.is_semver:
        return []
    return [Diagnostic(
        path,
        f"front matter field 'version': {fm.version!r} is not semantic versioning (MAJOR.MINOR.PATCH, e.g. 1.2.0)",
        severity=Severity.WARNING,
        code=FRONT_MATTER_SCHEMA.code,
        name=FRONT_MATTER_SCHEMA.name,
        span=spans.get(("version",)) or spans.get(("metadata", "version")),
        hint=_HINTS["version"],
    )]


def _unknown_input_types(fm: Any, path: str, spans: dict[tuple[Any, ...], Span]) -> list[Diagnostic]:
    """``type: banana`` (or ``type: strng``) silently turns off the input's type check at
    render time: say so, with the nearest known type."""
    import difflib

    out = []
    for name, spec in fm.inputs.items():
        t = str(spec.type)
        if t.lower() in KNOWN_INPUT_TYPES:
            continue
        close = difflib.get_close_matches(t.lower(), sorted(KNOWN_INPUT_TYPES), n=1)
        out.append(
            Diagnostic(
                path,
                f"input '{name}' has unknown type '{t}'" + (f" (did you mean '{close[0]}'?)" if close else ""),
                severity=Severity.WARNING,
                code=FRONT_MATTER_SCHEMA.code,
                name=FRONT_MATTER_SCHEMA.name,
                span=spans.get(("inputs", name, "type")) or spans.get(("inputs", name, "kind"))
                or spans.get(("inputs", name)),
                hint="use string, number, integer, boolean, array or object; values of an unknown type are not checked",
            )
        )
    return out


def _clean_loc(loc: tuple[Any, ...], spans: dict[tuple[Any, ...], Span]) -> tuple[Any, ...]:
    out: list[Any] = []
    for x in loc:
        if isinstance(x, str) and (x.endswith("]") and "[" in x or x in _UNION_TAGS) and (*out, x) not in spans:
            continue
        out.append(x)
    return tuple(out)


def _span_for(spans: dict[tuple[Any, ...], Span], loc: tuple[Any, ...]) -> Span | None:
    # Prompty v2 writes authors/tags/version under `metadata:`; normalize() lifts them.
    lifted = ("metadata", *loc) if loc and loc[0] in ("authors", "tags", "version") else None
    for key in (loc, lifted):
        if key is None:
            continue
        for n in range(len(key), 0, -1):
            s = spans.get(tuple(key[:n]))
            if s is not None and (key is loc or n > 1):
                return s
    return None


_HINTS = {
    "version": "use semantic versioning, e.g. version: 1.0.0",
    "inputs": "declare inputs as 'name: {type: string, description: ..., sample: ...}'",
    "model": "give a litellm model id, e.g. model: openai/gpt-4o-mini, or {id: ..., parameters: {...}}",
    "authors": "list author names, e.g. authors: [Jane Doe]",
    "tags": "list tags, e.g. tags: [support, classification]",
    "outputs": "declare outputs as 'name: {type: string}'",
    "output": "use output: {format: json, schema: {...}} or output: {format: text}",
}


def _schema_hint(top: str) -> str:
    return _HINTS.get(top, f"check the type of '{top}'")
