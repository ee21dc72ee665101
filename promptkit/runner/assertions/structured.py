"""Checks on structured (JSON) output: is-json, json-schema, json-path, pydantic.

Applications parse model output with ``json.loads``; a reply wrapped in a Markdown code
fence breaks them, so these checks are strict by default and accept a fenced reply only
with ``allow_fences: true``. The JSON path syntax is a small, safe subset (``a.b[0]``,
``$.items[-1].name``, ``["key with dots"]``): it is parsed, never evaluated.
"""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import field_validator

from promptkit.runner.assertions.project_code import CodeRefused, check_reference, import_object, reference_file
from promptkit.runner.assertions.jsonvalue import NotJson, json_equal, loads, strip_noise
from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.results import JsonPath, ModelResponse, OutputSpan

_FENCE = re.compile(r"^\s*```[\w-]*[ \t]*\r?\n(.*?)\r?\n?```\s*$", re.DOTALL)


class JsonError(ValueError):
    """The output is not JSON; the message says why, ``location`` where (an empty span at
    the offending character of the output)."""

    def __init__(self, message: str, location: OutputSpan | None = None) -> None:
        super().__init__(message)
        self.location = location

    def check(self) -> Check:
        """The failed check this error makes."""
        return Check.of(False, str(self), self.location)


def parse_json(output: str, allow_fences: bool = False) -> tuple[Any, bool]:
    """Parse the output as strict JSON (no NaN/Infinity; Unicode whitespace around it is
    ignored). Returns ``(value, fenced)``; raises :class:`JsonError`."""
    text, start = strip_noise(output)
    fenced = False
    if allow_fences:
        m = _FENCE.match(text)
        if m:
            text, fenced = m.group(1), True
            start += m.start(1)
    try:
        return loads(text), fenced
    except NotJson as exc:
        hint = ""
        if not allow_fences and _FENCE.match(text):
            hint = " (the reply is wrapped in a ``` code fence; set allow_fences: true to accept that)"
        at = min(len(output), start + exc.pos)
        raise JsonError(f"output is not valid JSON: {exc.msg}{hint}", OutputSpan(start=at, end=at)) from None


class IsJsonOptions(Options):
    #: Optional JSON Schema (or schema file) the JSON must match, as promptfoo's
    #: ``is-json`` with a value.
    value: dict[str, Any] | str | None = None
    allow_fences: bool = False

    @field_validator("value")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | str | None) -> dict[str, Any] | str | None:
        return check_schema(v)

    def files(self) -> dict[str, str]:
        return schema_files(self.value)


def check_schema(v: Any) -> Any:
    """Load-time check of an inline schema (a file is checked when read)."""
    if isinstance(v, dict):
        from jsonschema import validators
        from jsonschema.exceptions import SchemaError

        try:
            validators.validator_for(v).check_schema(v)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
    return v


def schema_files(v: Any) -> dict[str, str]:
    if isinstance(v, str) and "{{" not in v:
        return {"value": v.removeprefix("file://")}
    return {}


@assertion("is-json", IsJsonOptions)
def is_json(output: str, o: IsJsonOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output parses as JSON (and matches ``value``, a JSON Schema, when given)."""
    try:
        value, fenced = parse_json(output, o.allow_fences)
    except JsonError as exc:
        return exc.check()
    if o.value is not None:
        return validate_against(value, o.value, ctx)
    return Check.of(True, f"output is valid JSON ({type(value).__name__}{', fenced' if fenced else ''})")


# --------------------------------------------------------------------------- json-schema


class JsonSchemaOptions(Options):
    #: A JSON Schema, or the path of a ``.json`` schema file relative to the test file.
    #: Left out: the prompt's own declared output schema (``output.schema``/``outputs``).
    value: dict[str, Any] | str | None = None
    allow_fences: bool = False

    @field_validator("value")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | str | None) -> dict[str, Any] | str | None:
        return check_schema(v)

    def files(self) -> dict[str, str]:
        return schema_files(self.value)


def _schema(value: dict[str, Any] | str | None, ctx: AssertionContext) -> tuple[dict[str, Any] | None, str]:
    if isinstance(value, dict):
        return value, "the schema"
    if isinstance(value, str):
        from promptkit.paths import confine, root_for

        rel = value.removeprefix("file://")
        base = Path(ctx.base_dir) if ctx.base_dir is not None else Path.cwd()
        p = confine(rel, root_for(base), what="schema file", base=base)  # also checked at load, at its line
        return loads(p.read_text(encoding="utf-8")), Path(rel).name
    if ctx.template is not None:  # the rendered template (maybe a variant), not its file
        schema = ctx.template.front_matter.output_schema
        if schema is not None:
            return schema, "the prompt's output schema"
    return None, ""


def schema_errors(value: Any, schema: dict[str, Any]) -> list[Any]:
    """Validation errors of ``value`` (sorted by path), formats included. Raises what
    jsonschema raises for a ``$ref`` that is never fetched (see :func:`validate_against`)."""
    from jsonschema import validators

    from promptkit.schemas import offline_validator

    # formats ("date", "email", "uri"...) are checked with the schema's own draft's
    # checker: the JSON Schema default ignores them, promptfoo (ajv-formats) does not
    checker = validators.validator_for(schema).FORMAT_CHECKER
    return sorted(offline_validator(schema, format_checker=checker).iter_errors(value),
                  key=lambda e: list(e.absolute_path))


def validate_against(value: Any, schema_value: dict[str, Any] | str | None, ctx: AssertionContext) -> Check:
    """The check of a parsed JSON ``value`` against a schema option (inline, a file, or
    ``None`` for the prompt's declared output schema)."""
    from promptkit.diagnostics import PromptkitError
    from promptkit.schemas import unresolvable

    try:
        schema, name = _schema(schema_value, ctx)
    except PromptkitError as exc:  # a schema file outside the project (PK011)
        return Check.failed_to_run(exc.diagnostic.message)
    except NotJson as exc:
        return Check.failed_to_run(f"the schema file is not JSON: {exc.msg}")
    if schema is None:
        return Check.failed_to_run("no schema: give 'value', or declare output.schema in the prompt")
    try:
        errors = schema_errors(value, schema)
    except Exception as exc:  # noqa: BLE001 - jsonschema's reference errors have no common base
        ref = unresolvable(exc)
        if ref is None:
            raise
        return Check.failed_to_run(f"{name} has a $ref to {ref!r}, which is never fetched: promptkit does not reach "
                                   "the network or other files for schemas (put the definition under $defs)")
    if not errors:
        return Check.of(True, f"output matches {name}")
    first = errors[0]
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return Check.of(False, f"output does not match {name}: {first.message}{more}", JsonPath.of(list(first.absolute_path)))


@assertion("json-schema", JsonSchemaOptions, aliases=("is-valid-json-schema",))
def json_schema(output: str, o: JsonSchemaOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output is JSON valid against a JSON Schema (default: the prompt's output schema)."""
    try:
        value, _ = parse_json(output, o.allow_fences)
    except JsonError as exc:
        return exc.check()
    return validate_against(value, o.value, ctx)


# --------------------------------------------------------------------------- contains-json


def find_json(text: str) -> list[tuple[Any, OutputSpan]]:
    """Every JSON object in ``text`` -- in prose, in a code fence, one after another --
    with its span; arrays count when they are a whole fenced block or the whole text
    (``see [1]`` in prose is a citation, not a payload). Strict JSON (no NaN)."""
    import json as _json

    decoder = _json.JSONDecoder(parse_constant=_refuse_constant)
    found: list[tuple[Any, OutputSpan]] = []
    whole, lead = strip_noise(text)
    blocks = {(m.start(1), m.end(1)) for m in _FENCE_BLOCK.finditer(text)}
    if whole.startswith("["):
        blocks.add((lead, lead + len(whole)))
    i, failures = 0, 0
    while failures < _MAX_FAILED_STARTS:  # a bound on adversarial "{"a":{"a":{... (quadratic otherwise)
        starts = [j for j in (text.find("{", i), text.find("[", i)) if j >= 0]
        if not starts:
            break
        j = min(starts)
        try:
            value, end = decoder.raw_decode(text, j)
        except ValueError:
            i, failures = j + 1, failures + 1
            continue
        whole_block = any(a <= j and end <= b and not text[a:j].strip() and not text[end:b].strip() for a, b in blocks)
        if isinstance(value, dict) or (isinstance(value, list) and whole_block):
            found.append((value, OutputSpan(start=j, end=end)))
            i = end
        else:
            i = j + 1
    return found


_MAX_FAILED_STARTS = 2000
_FENCE_BLOCK = re.compile(r"```[\w-]*[ \t]*\r?\n(.*?)\r?\n?```", re.DOTALL)


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


class ContainsJsonOptions(Options):
    #: Optional JSON Schema (or schema file): at least one JSON value must match it.
    value: dict[str, Any] | str | None = None

    @field_validator("value")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any] | str | None) -> dict[str, Any] | str | None:
        return check_schema(v)

    def files(self) -> dict[str, str]:
        return schema_files(self.value)


@assertion("contains-json", ContainsJsonOptions)
def contains_json(output: str, o: ContainsJsonOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains a JSON object somewhere (prose, code fence), matching ``value`` when given."""
    found = find_json(output)
    if not found:
        return Check.of(False, "output contains no JSON object")
    if o.value is None:
        value, span = found[0]
        return Check.of(True, f"output contains JSON ({type(value).__name__}, {len(found)} found)", span)
    last: Check | None = None
    for value, span in found:
        c = validate_against(value, o.value, ctx)
        if c.error:
            return c
        if c.passed:
            return Check.of(True, f"output contains JSON that {c.reason.removeprefix('output ')}", span)
        last = c
    assert last is not None
    return Check.of(False, f"none of the {len(found)} JSON value(s) in the output matches: "
                           f"{last.reason.removeprefix('output does not match ')}", last.location)


# --------------------------------------------------------------------------- json-path

_SEGMENT = re.compile(r"""\.?([A-Za-z_][\w-]*)|\[(-?\d+)\]|\[\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\]""")


@lru_cache(maxsize=256)
def parse_path(path: str) -> tuple[str | int, ...]:
    """``$.items[0]["a.b"]`` -> ``("items", 0, "a.b")``. Raises ``ValueError``."""
    p = path.strip()
    if p.startswith("$"):
        p = p[1:]
    out: list[str | int] = []
    pos = 0
    while pos < len(p):
        m = _SEGMENT.match(p, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read JSON path {path!r} at character {pos + 1}: use a.b[0] or [\"key\"]")
        name, idx, dq, sq = m.groups()
        if idx is not None:
            out.append(int(idx))
        else:
            out.append(name if name is not None else json.loads(f'"{dq}"') if dq is not None else sq)
        pos = m.end()
    return tuple(out)


_MISSING = object()


def get_path(value: Any, path: tuple[str | int, ...]) -> tuple[Any, JsonPath]:
    """The value at ``path``, or ``_MISSING`` and the path up to the first segment that
    was not found."""
    cur = value
    for n, seg in enumerate(path):
        if isinstance(seg, int):
            if not isinstance(cur, list) or not -len(cur) <= seg < len(cur):
                return _MISSING, JsonPath.of(path[: n + 1])
        elif not isinstance(cur, dict) or seg not in cur:
            return _MISSING, JsonPath.of(path[: n + 1])
        cur = cur[seg]
    return cur, JsonPath.of(path)


def _short_json(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class JsonPathOptions(Options):
    path: str
    #: Expected value. Left out: the path only has to exist.
    value: Any = _MISSING
    allow_fences: bool = False

    @field_validator("path")
    @classmethod
    def _parses(cls, v: str) -> str:
        parse_path(v)
        return v


@assertion("json-path", JsonPathOptions, aliases=("json-path-equals",))
def json_path(output: str, o: JsonPathOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The JSON output has ``path`` (``a.b[0]``), equal to ``value`` when given."""
    try:
        doc, _ = parse_json(output, o.allow_fences)
    except JsonError as exc:
        return exc.check()
    found, where = get_path(doc, parse_path(o.path))
    if found is _MISSING:
        return Check.of(False, f"output JSON lacks {o.path}", where)  # where: the first part not found
    if o.value is _MISSING:
        return Check.of(True, f"output JSON has {o.path} = {_short_json(found)}", where)
    ok = json_equal(found, o.value)
    shown, want = _short_json(found), _short_json(o.value)
    return Check.of(ok, f"{o.path} is {shown}" + ("" if ok else f", expected {want}"), where)


# --------------------------------------------------------------------------- pydantic


class PydanticOptions(Options):
    #: ``models.py:Invoice``: a model class defined in one of the project's Python files
    #: (see :mod:`promptkit.runner.assertions.project_code`), never an importable module.
    value: str
    allow_fences: bool = False

    @field_validator("value")
    @classmethod
    def _import_path(cls, v: str) -> str:
        return check_reference(v, "ModelName")

    def files(self) -> dict[str, str]:
        return {"value": reference_file(self.value)}


@assertion("pydantic", PydanticOptions, aliases=("is-valid-pydantic",))
def pydantic_model(output: str, o: PydanticOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The JSON output validates against a pydantic model (``module:Model``)."""
    from pydantic import BaseModel, ValidationError

    try:
        model = import_object(o.value, ctx.base_dir)
    except CodeRefused as exc:
        return Check.failed_to_run(f"refused: {exc}")
    except (ImportError, AttributeError, OSError, SyntaxError) as exc:
        return Check.failed_to_run(f"cannot import {o.value}: {exc}")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return Check.failed_to_run(f"{o.value} is not a pydantic model class")
    try:
        doc, _ = parse_json(output, o.allow_fences)
    except JsonError as exc:
        return exc.check()
    try:
        model.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        parts = [x for x in err["loc"] if isinstance(x, (str, int))]
        return Check.of(False, f"output is not a valid {model.__name__}: {err['msg']}{more}", JsonPath.of(parts))
    return Check.of(True, f"output is a valid {model.__name__}")
