"""Tools a prompt declares, in the shape litellm sends to the model.

A prompt file declares tools the Prompty way, at the top of its front matter::

    tools:
      - name: get_weather                  # Prompty v2: name, kind, description, parameters
        kind: function
        description: Current weather for a city.
        parameters:                        # a JSON Schema (or Prompty's list of properties)
          type: object
          properties: {city: {type: string}}
          required: [city]

or in OpenAI's own shape (``{type: function, function: {name, description, parameters}}``),
or Prompty v1's ``model.parameters.tools``. :func:`declared_tools` reads them (a small,
read-only look at the template's front matter, kept outside ``promptkit/template/``) and
returns OpenAI's shape, which the runner passes to litellm as ``tools``; the assertions in
:mod:`promptkit.runner.assertions.tools` check the model's calls against the same
``parameters`` schemas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptkit.template.model import PromptTemplate

__all__ = ["ToolsError", "declared_tools", "normalize_tools", "tool_calls_of"]

_PROPERTY_TYPES = {"string": "string", "str": "string", "number": "number", "float": "number", "integer": "integer",
                   "int": "integer", "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array",
                   "object": "object", "dict": "object"}


class ToolsError(ValueError):
    """A ``tools`` entry that is not a tool; the message says which and why."""


def declared_tools(template: PromptTemplate | None) -> list[dict[str, Any]]:
    """The template's tools in OpenAI's shape (empty when it declares none).
    Raises :class:`ToolsError` for a malformed entry."""
    if template is None:
        return []
    fm = template.front_matter
    raw = (fm.model_extra or {}).get("tools")
    if raw is None and fm.model is not None:
        raw = fm.model.params.get("tools")
    return normalize_tools(raw)


def normalize_tools(raw: Any) -> list[dict[str, Any]]:
    """Tools given in any accepted shape, in OpenAI's."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ToolsError("'tools' must be a list of tools")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ToolsError(f"tools[{i}] must be a mapping with a name")
        if item.get("type") == "function" and isinstance(item.get("function"), dict):
            fn = item["function"]
        else:
            kind = item.get("kind", item.get("type", "function"))
            if kind != "function":
                raise ToolsError(f"tools[{i}]: kind {kind!r} is not supported; only function tools are sent to models")
            fn = {k: v for k, v in item.items() if k in ("name", "description", "parameters", "strict")}
        name = fn.get("name")
        if not isinstance(name, str) or not name:
            raise ToolsError(f"tools[{i}] has no name")
        params = fn.get("parameters")
        if isinstance(params, list):  # Prompty v2: a list of properties
            params = _properties_schema(params, i)
        entry = {"name": name, **({"description": fn["description"]} if fn.get("description") else {}),
                 "parameters": params if isinstance(params, dict) else {"type": "object", "properties": {}}}
        if "strict" in fn:
            entry["strict"] = fn["strict"]
        out.append({"type": "function", "function": entry})
    return out


def _properties_schema(props: list[Any], i: int) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for p in props:
        if not isinstance(p, dict) or not isinstance(p.get("name"), str):
            raise ToolsError(f"tools[{i}].parameters: each property needs a name")
        t = str(p.get("kind", p.get("type", "string"))).lower()
        schema: dict[str, Any] = {"type": _PROPERTY_TYPES.get(t, "string")}
        if p.get("description"):
            schema["description"] = p["description"]
        if "enum" in p:
            schema["enum"] = p["enum"]
        properties[p["name"]] = schema
        if p.get("required", True):
            required.append(p["name"])
    return {"type": "object", "properties": properties, "required": required}


def tool_calls_of(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool calls of a response's ``raw`` extras as ``{"id", "name", "arguments"}``
    (``arguments``: the JSON text the model wrote, unparsed). Old-style single
    ``function_call`` replies count as one call."""
    calls = raw.get("tool_calls") or []
    if not calls and isinstance(raw.get("function_call"), dict):
        calls = [{"function": raw["function_call"]}]
    out = []
    for c in calls:
        if not isinstance(c, dict):
            continue
        fn = c.get("function") if isinstance(c.get("function"), dict) else c
        name = fn.get("name")
        if isinstance(name, str):
            args = fn.get("arguments")
            out.append({"id": c.get("id"), "name": name, "arguments": args if isinstance(args, str) else
                        ("" if args is None else __import__("json").dumps(args))})
    return out
