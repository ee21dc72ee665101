"""XML output: is-xml (the whole output is one well-formed document) and contains-xml
(a well-formed element somewhere in prose or a code fence).

Parsing goes through ``defusedxml``: model output is untrusted, and the standard
library's parser expands entities, so a reply with a "billion laughs" entity would eat the
CI machine's memory. ``required`` names elements that must be present, as dotted paths
from the root (``order.items.item``), like promptfoo's ``requiredElements``.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import field_validator

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.assertions.text import parse_csv_row
from promptkit.runner.results import ModelResponse, OutputSpan


class XmlOptions(Options):
    #: Elements that must exist: dotted paths from the root element (``root.child``).
    required: list[str] = []
    #: promptfoo's spelling: ``value: {requiredElements: [...]}`` or ``value: "a.b, c"``.
    value: dict[str, Any] | str | None = None

    @field_validator("value")
    @classmethod
    def _promptfoo_value(cls, v: Any) -> Any:
        if isinstance(v, dict) and set(v) - {"requiredElements"}:
            raise ValueError("takes only requiredElements (a list of dotted element paths)")
        if isinstance(v, str):
            parse_csv_row(v)
        return v

    @field_validator("required")
    @classmethod
    def _paths(cls, v: list[str]) -> list[str]:
        for p in v:
            if not re.fullmatch(r"[^\s.]+(\.[^\s.]+)*", p):
                raise ValueError(f"{p!r} is not a dotted element path such as root.child")
        return v

    def paths(self) -> list[str]:
        extra: list[str] = []
        if isinstance(self.value, dict):
            extra = [str(x) for x in self.value.get("requiredElements", [])]
        elif isinstance(self.value, str):
            extra = parse_csv_row(self.value)
        return [*self.required, *extra]


class XmlError(ValueError):
    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


def parse_xml(text: str) -> Any:
    """The root element of ``text`` (defused: no entities, no external references).
    Raises :class:`XmlError` with the offset of the problem when known."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(text)
    except DefusedXmlException as exc:
        raise XmlError(f"refused: {exc} (entities and external references are not allowed)") from None
    except ParseError as exc:
        line, col = exc.position
        lines = text.split("\n")
        offset = sum(len(x) + 1 for x in lines[: line - 1]) + col if line - 1 < len(lines) else None
        raise XmlError(str(exc), offset) from None


def _missing(root: Any, paths: list[str]) -> list[str]:
    missing = []
    for p in paths:
        head, *rest = p.split(".")
        if root.tag != head:
            missing.append(p)
            continue
        nodes = [root]
        for part in rest:
            nodes = [c for n in nodes for c in n if c.tag == part]
        if not nodes:
            missing.append(p)
    return missing


def _verdict(root: Any, o: XmlOptions, what: str, span: OutputSpan | None) -> Check:
    missing = _missing(root, o.paths())
    if missing:
        return Check.of(False, f"{what} lacks element(s) {', '.join(missing)}", span)
    return Check.of(True, f"{what} is well-formed XML (root <{root.tag}>)", span)


@assertion("is-xml", XmlOptions)
def is_xml(output: str, o: XmlOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The whole output is well-formed XML (with the ``required`` elements)."""
    text = output.strip()
    if not text:
        return Check.of(False, "output is empty, not XML")
    try:
        root = parse_xml(text)
    except XmlError as exc:
        lead = len(output) - len(output.lstrip())
        at = None if exc.offset is None else OutputSpan(start=lead + exc.offset, end=lead + exc.offset)
        return Check.of(False, f"output is not well-formed XML: {exc}", at)
    return _verdict(root, o, "output", None)


_OPEN = re.compile(r"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)[^<>]*?(/?)>")


def find_xml(text: str) -> list[tuple[Any, OutputSpan]]:
    """Well-formed XML elements in ``text``: from an opening tag to the farthest closing
    tag of the same name that makes a well-formed element. Bounded work: at most 200
    opening tags are tried."""
    found: list[tuple[Any, OutputSpan]] = []
    pos, tried = 0, 0
    while tried < 200:
        m = _OPEN.search(text, pos)
        if m is None:
            break
        tried += 1
        name = m.group(1)
        candidates = [m.end()] if m.group(2) else [c.end() for c in re.finditer(f"</{re.escape(name)}\\s*>", text[m.end():])]
        ends = [m.end() + e for e in candidates] if not m.group(2) else candidates
        for end in sorted(ends, reverse=True)[:20]:
            try:
                root = parse_xml(text[m.start():end])
            except XmlError:
                continue
            found.append((root, OutputSpan(start=m.start(), end=end)))
            pos = end
            break
        else:
            pos = m.end()
    return found


@assertion("contains-xml", XmlOptions)
def contains_xml(output: str, o: XmlOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains a well-formed XML element (with the ``required`` elements)."""
    found = find_xml(output)
    if not found:
        return Check.of(False, "output contains no well-formed XML element")
    last = None
    for root, span in found:
        c = _verdict(root, o, "XML in the output", span)
        if c.passed:
            return c
        last = c
    assert last is not None
    return last
