"""Checks on the tool calls a model made: which tools, with which arguments.

The runner passes a prompt's declared ``tools`` (:mod:`promptkit.runner.tools`) to the
model and keeps the calls it returns (``response.raw["tool_calls"]``, also in recordings
and in results). These assertions read those calls, never the text: a reply that is only
tool calls has empty text and is checked here, not failed as empty.

* ``tool-called`` -- a call to ``value`` (any tool when left out), whose arguments include
  ``arguments`` (JSON equality: ``true`` is not ``1``).
* ``tool-args-valid`` (aliases ``is-valid-openai-tools-call``, ``is-valid-function-call``)
  -- every call names a declared tool and its arguments are a JSON object valid against
  that tool's ``parameters`` schema (formats enforced); fails when there is no call.
* ``tool-call-f1`` -- F1 of the set of tools called against the expected set
  (precision: called tools that were expected; recall: expected tools that were called),
  as promptfoo and Ragas define it; ``threshold`` default 1.0.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from promptkit.runner.assertions.jsonvalue import NotJson, json_equal, loads
from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.assertions.text import parse_csv_row
from promptkit.runner.results import JsonPath, ModelResponse
from promptkit.runner.tools import ToolsError, declared_tools, normalize_tools, tool_calls_of


def _calls(response: ModelResponse) -> list[dict[str, Any]]:
    return tool_calls_of(response.raw)


def _names(calls: list[dict[str, Any]]) -> str:
    return ", ".join(c["name"] for c in calls) or "(none)"


class ToolCalledOptions(Options):
    #: The tool's name; left out: any tool.
    value: str | None = None
    #: Arguments the call must have (others may be there too).
    arguments: dict[str, Any] | None = None


@assertion("tool-called", ToolCalledOptions)
def tool_called(output: str, o: ToolCalledOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The model called the tool ``value`` (any tool when left out), with ``arguments`` when given."""
    calls = _calls(response)
    named = [c for c in calls if o.value is None or c["name"] == o.value]
    what = f"tool {o.value!r}" if o.value else "a tool"
    if not named:
        return Check.of(False, f"the model did not call {what}; it called: {_names(calls)}")
    if o.arguments is None:
        return Check.of(True, f"the model called {what} ({len(named)} call{'s' if len(named) != 1 else ''})")
    last = ""
    for c in named:
        try:
            args = loads(c["arguments"] or "{}")
        except NotJson as exc:
            last = f"its arguments are not JSON: {exc.msg}"
            continue
        if not isinstance(args, dict):
            last = "its arguments are not a JSON object"
            continue
        wrong = [k for k, v in o.arguments.items() if k not in args or not json_equal(args[k], v)]
        if not wrong:
            return Check.of(True, f"the model called {c['name']!r} with the expected arguments")
        k = wrong[0]
        last = f"argument {k!r} is {args[k]!r}, expected {o.arguments[k]!r}" if k in args else f"argument {k!r} missing"
    return Check.of(False, f"the model called {what}, but {last}")


class ToolArgsOptions(Options):
    #: The tools to check against (any accepted shape); left out: the prompt's declared tools.
    tools: list[dict[str, Any]] | None = None

    @field_validator("tools")
    @classmethod
    def _shape(cls, v: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if v is not None:
            try:
                normalize_tools(v)
            except ToolsError as exc:
                raise ValueError(str(exc)) from None
        return v


@assertion("tool-args-valid", ToolArgsOptions, aliases=("is-valid-openai-tools-call", "is-valid-function-call"))
def tool_args_valid(output: str, o: ToolArgsOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """Every tool call names a declared tool, with arguments valid against its JSON schema."""
    from promptkit.runner.assertions.structured import schema_errors

    try:
        tools = normalize_tools(o.tools) if o.tools is not None else declared_tools(ctx.template)
    except ToolsError as exc:
        return Check.failed_to_run(f"the prompt's tools are invalid: {exc}")
    if not tools:
        return Check.failed_to_run("no tools to check against: declare 'tools' in the prompt or give 'tools'")
    calls = _calls(response)
    if not calls:
        return Check.of(False, "the model made no tool call")
    schemas = {t["function"]["name"]: t["function"].get("parameters") or {} for t in tools}
    for n, c in enumerate(calls):
        if c["name"] not in schemas:
            return Check.of(False, f"call {n + 1} names {c['name']!r}, which is not a declared tool "
                                   f"({', '.join(sorted(schemas))})")
        try:
            args = loads(c["arguments"] or "{}")
        except NotJson as exc:
            return Check.of(False, f"call {n + 1} ({c['name']}): arguments are not JSON: {exc.msg}")
        if not isinstance(args, dict):
            return Check.of(False, f"call {n + 1} ({c['name']}): arguments are a {type(args).__name__}, not an object")
        errors = schema_errors(args, schemas[c["name"]])
        if errors:
            e = errors[0]
            return Check.of(False, f"call {n + 1} ({c['name']}): {e.message}", JsonPath.of(list(e.absolute_path)))
    return Check.of(True, f"{len(calls)} tool call{'s' if len(calls) != 1 else ''} valid against the declared tools "
                          f"({_names(calls)})")


class ToolF1Options(Options):
    #: Expected tool names: a list, or one CSV row (``"search, book"``).
    value: list[str]
    threshold: float = Field(default=1.0, ge=0.0, le=1.0)

    @field_validator("value", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return parse_csv_row(v) if isinstance(v, str) else v

    @field_validator("value")
    @classmethod
    def _not_empty(cls, v: list[str]) -> list[str]:
        v = [x.strip() for x in v if x.strip()]
        if not v:
            raise ValueError("needs at least one expected tool name")
        return v


@assertion("tool-call-f1", ToolF1Options)
def tool_call_f1(output: str, o: ToolF1Options, response: ModelResponse, ctx: AssertionContext) -> Check:
    """F1 of the tools called against the expected tools reaches ``threshold`` (default 1.0)."""
    expected = set(o.value)
    actual = {c["name"] for c in _calls(response)}
    hit = len(expected & actual)
    precision = hit / len(actual) if actual else 0.0
    recall = hit / len(expected)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ok = f1 >= o.threshold - 1e-9
    return Check(ok, f1, f"tool-call F1 {f1:.2f} {'>=' if ok else '<'} {o.threshold:g} (precision {precision:.2f}, "
                         f"recall {recall:.2f}; expected {', '.join(sorted(expected))}; called "
                         f"{', '.join(sorted(actual)) or '(none)'})")
