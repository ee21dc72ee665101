"""Editing templates: the one way any part of promptkit changes a prompt file.

The linter's fixes, ``PromptTemplate.with_body``, ``dumps(front_matter=...)``, and the
perturbation, optimizer and review tools all edit through this module, so they share
one guarantee: **every byte outside the edited spans stays as it was** -- the BOM, CRLF
or LF line endings (per line, mixed files too), YAML comments, key order, quoting and
flow style, text after the last message, a missing final newline. A reviewer then sees
exactly the change that was meant, and ``git diff`` shows nothing else.

Every operation takes a :class:`PromptTemplate` and returns an :class:`EditResult`: the
new text and the template re-loaded from it (positions exact again, diagnostics fresh).
The layers:

* :func:`apply_edits` -- a list of :class:`Edit` (a span of ``template.text`` and its new
  text), applied right to left; overlapping edits are an :class:`EditError`.
* Components: :func:`replace_component`, :func:`insert_component` (before/after another,
  or at the end of a message, in the file's own heading or tag style),
  :func:`remove_component`.
* Front matter: :func:`set_field` (one field by its YAML node span, nested keys such as
  ``model.parameters.temperature``, new keys added in block or flow mappings),
  :func:`remove_field`, :func:`set_front_matter`, :func:`bump_version`.
* :func:`unified_diff` -- a patch of two texts that ``git apply`` accepts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

import yaml

from promptkit.diagnostics import Span
from promptkit.template.model import SEMVER_RE, Component, Message, PromptTemplate

__all__ = [
    "Edit", "EditError", "EditResult", "apply_edits", "apply_text_edits", "bump_version", "conflicts",
    "insert_component", "line_ending", "remove_component", "remove_field", "replace_body", "replace_component",
    "set_field", "set_front_matter", "unified_diff",
]


class EditError(ValueError):
    """An edit that cannot be made as asked: overlapping or out-of-range spans, a
    component or field that is not in the template, front matter that is not strict
    YAML, a result that would not re-load as what was asked for. Nothing is changed."""


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``span`` of the template's text with ``text``.

    ``span`` is a :class:`~promptkit.diagnostics.Span` from the template (a component's,
    a message's, a front-matter field's) or a ``(start, end)`` pair of character offsets
    into ``template.text``; ``start == end`` inserts."""

    span: Span | tuple[int, int]
    text: str

    @property
    def start(self) -> int:
        return self.span[0] if isinstance(self.span, tuple) else self.span.start.offset

    @property
    def end(self) -> int:
        return self.span[1] if isinstance(self.span, tuple) else self.span.end.offset


@dataclass(frozen=True)
class EditResult:
    """What an edit produced: the new ``text`` (like ``PromptTemplate.text``: decoded,
    without the BOM, which ``template.had_bom`` keeps) and the template re-loaded from it."""

    text: str
    template: PromptTemplate

    @property
    def file_text(self) -> str:
        """The text as it goes to disk: with the BOM again when the original had one."""
        return ("\ufeff" + self.text) if self.template.had_bom else self.text


# --------------------------------------------------------------------------- span edits


def conflicts(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Do two edits (``(start, end)`` ranges) touch the same text, or insert at one point
    (where their order would be ambiguous)? Adjacent edits do not conflict."""
    s1, e1 = a
    s2, e2 = b
    if s1 < e2 and s2 < e1:
        return True
    if s1 == e1 and (s1 == s2 or s2 < s1 < e2):
        return True
    return s2 == e2 and (s2 == s1 or s1 < s2 < e1)


def _check(text: str, edits: Sequence[Edit]) -> list[Edit]:
    n = len(text)
    for e in edits:
        if not 0 <= e.start <= e.end <= n:
            raise EditError(f"edit [{e.start}, {e.end}) is outside the text (0..{n})")
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for i in range(1, len(ordered)):
        a, b = ordered[i - 1], ordered[i]
        if conflicts((a.start, a.end), (b.start, b.end)):
            raise EditError(f"edits [{a.start}, {a.end}) and [{b.start}, {b.end}) overlap")
    return ordered


def apply_text_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with ``edits`` applied (right to left, so offsets stay valid); raises
    :class:`EditError` for overlapping or out-of-range edits."""
    ordered = _check(text, list(edits))
    parts: list[str] = []
    pos = len(text)
    for e in reversed(ordered):
        parts.append(text[e.end : pos])
        parts.append(e.text)
        pos = e.start
    parts.append(text[:pos])
    return "".join(reversed(parts))


def _reload(template: PromptTemplate, text: str) -> EditResult:
    from promptkit.template.loader import loads

    new = loads(text, path=template.path, kind=template.kind)
    new.had_bom = template.had_bom
    return EditResult(text, new)


def apply_edits(template: PromptTemplate, edits: Iterable[Edit]) -> EditResult:
    """Apply span edits to ``template.text`` and re-load it (same path, kind and BOM)."""
    return _reload(template, apply_text_edits(template.text, edits))


def replace_body(template: PromptTemplate, body: str) -> EditResult:
    """Replace everything after the front matter; the front matter text (comments and
    all) and the BOM stay."""
    return apply_edits(template, [Edit((template.body_offset, len(template.text)), body)])


def line_ending(text: str) -> str:
    """The file's own line ending: ``"\\r\\n"`` when most lines end so, else ``"\\n"``."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def _eol_at(text: str, offset: int) -> str:
    """The line ending of the line at ``offset`` (mixed files keep each line's own)."""
    e = text.find("\n", offset)
    if e > 0 and text[e - 1] == "\r":
        return "\r\n"
    if e != -1:
        return "\n"
    return line_ending(text)


def _with_eol(s: str, eol: str) -> str:
    s = s.replace("\r\n", "\n")
    return s.replace("\n", eol) if eol != "\n" else s


# --------------------------------------------------------------------------- components


def _locate(template: PromptTemplate, component: Component | str) -> tuple[Message, Component]:
    """The (message, component) of ``template`` that ``component`` names: a Component
    (taken from this template, or an equal one) or a key/kind such as ``"output_format"``."""
    pairs = template.components()
    if isinstance(component, str):
        found = [(m, c) for m, c in pairs if c.key == component] or [(m, c) for m, c in pairs if c.kind == component]
        if not found:
            raise EditError(f"no component {component!r} in {template.path}")
        if len(found) > 1:
            where = ", ".join(f"line {c.span.start.line}" for _, c in found)
            raise EditError(f"{len(found)} components match {component!r} in {template.path} ({where}); pass the Component")
        return found[0]
    for m, c in pairs:
        if c.span == component.span and c.title == component.title:
            return m, c
    raise EditError(f"component {component.title!r} (line {component.span.start.line}) is not in {template.path}")


def replace_component(template: PromptTemplate, component: Component | str, text: str, *,
                      whole: bool = False) -> EditResult:
    """Replace a component's content (its heading or tags stay), or with ``whole=True``
    the whole component, heading included. ``text`` is written with the line ending of
    the component's lines."""
    _, c = _locate(template, component)
    span = c.span if whole else c.content_span
    src = template.text
    s, e = span.start.offset, span.end.offset
    eol = _eol_at(src, s)
    new = _with_eol(text, eol)
    if not whole and c.style == "heading" and new:
        if s > 0 and src[s - 1] != "\n":  # a heading on the file's last line: content starts a new line
            new = eol + new
        if s == e and e < len(src) and src[e] not in "\r\n":  # the next heading follows at once
            new = new + eol
    return apply_edits(template, [Edit((s, e), new)])


def _style(template: PromptTemplate, message: Message, anchor: Component | None) -> tuple[str, int, str]:
    """(style, heading level, indentation) matching the file: the anchor's own, else the
    most common among the message's top-level components, then the file's; else ``##``."""
    if anchor is not None:
        line_start = template.text.rfind("\n", 0, anchor.span.start.offset) + 1
        indent = template.text[line_start : anchor.span.start.offset]
        return anchor.style, anchor.level if anchor.style == "heading" else 2, indent if not indent.strip() else ""
    for pool in (message.components, tuple(c for _, c in template.components())):
        top = [c for c in pool if c.parent is None]
        if top:
            style = Counter(c.style for c in top).most_common(1)[0][0]
            levels = Counter(c.level for c in top if c.style == "heading")
            return style, levels.most_common(1)[0][0] if levels else 2, ""
    return "heading", 2, ""


_TAG_NAME = re.compile(r"[A-Za-z][\w\-]*\Z")


def _block(style: str, level: int, indent: str, title: str, content: str, eol: str) -> str:
    body = content.replace("\r\n", "\n").strip("\n")
    if style == "tag":
        from promptkit.template.structure import normalize_key

        name = title if _TAG_NAME.match(title) else normalize_key(title)
        if not name or not _TAG_NAME.match(name):
            raise EditError(f"{title!r} cannot be a tag name")
        text = f"{indent}<{name}>\n{body}\n{indent}</{name}>" if body else f"{indent}<{name}>\n{indent}</{name}>"
    else:
        if "\n" in title or not title.strip():
            raise EditError(f"{title!r} cannot be a heading")
        text = f"{'#' * level} {title.strip()}" + (f"\n{body}" if body else "")
    return _with_eol(text, eol)


def insert_component(template: PromptTemplate, title: str, content: str, *,
                     before: Component | str | None = None, after: Component | str | None = None,
                     message: Message | int | None = None, style: Literal["heading", "tag"] | None = None,
                     level: int | None = None) -> EditResult:
    """Insert a new component ``title`` with ``content``: before or after another
    component, or at the end of ``message`` (a Message or its index; default the last).

    The heading or tag style, heading level and indentation follow the anchor
    component, else the message's or the file's own components; ``style``/``level``
    override. The block is separated from its neighbours by one blank line and written
    with the file's line ending. The re-loaded template must hold the new component
    where it was inserted, else :class:`EditError` (e.g. content that closes a tag)."""
    if sum(x is not None for x in (before, after, message)) > 1:
        raise EditError("give at most one of before=, after= and message=")
    text = template.text
    anchor: Component | None = None
    if before is not None or after is not None:
        msg, anchor = _locate(template, before if before is not None else after)  # type: ignore[arg-type]
    else:
        if not template.messages:
            raise EditError(f"{template.path} has no message to insert into")
        if isinstance(message, int):
            if not -len(template.messages) <= message < len(template.messages):
                raise EditError(f"no message {message} in {template.path} ({len(template.messages)} messages)")
            msg = template.messages[message]
        elif message is None:
            msg = template.messages[-1]
        else:
            found = [m for m in template.messages if m.span == message.span]
            if not found:
                raise EditError(f"the message at line {message.span.start.line} is not in {template.path}")
            msg = found[0]
    st, lv, indent = _style(template, msg, anchor)
    st = style or st
    lv = level or lv
    if not 1 <= lv <= 6:
        raise EditError(f"heading level {lv} is not 1..6")
    if st == "heading":
        indent = ""
    if before is not None:
        assert anchor is not None
        at = anchor.span.start.offset
        eol = _eol_at(text, at)
        new = _block(st, lv, indent, title, content, eol) + eol + eol + indent
        at_block = at
    elif after is not None:
        assert anchor is not None
        at = anchor.span.end.offset
        eol = _eol_at(text, at)
        new = eol + eol + _block(st, lv, indent, title, content, eol)
        at_block = at + 2 * len(eol)
    else:
        start, end = msg.content_span.start.offset, msg.content_span.end.offset
        at = end
        while at > start and text[at - 1] in " \t\r\n":
            at -= 1
        eol = _eol_at(text, at if at > start else start)
        lead = eol + eol if at > start else ""
        if at == start and at > 0 and text[at - 1] != "\n":  # a message with no content line yet
            lead = eol
        block = _block(st, lv, indent, title, content, eol)
        tail = ""
        if at == end and end < len(text):  # content runs right up to the next role line
            tail = eol
        new = lead + block + tail
        at_block = at + len(lead)
    result = apply_edits(template, [Edit((at, at), new)])
    if st == "tag":
        at_block += len(indent)
    ok = [c for _, c in result.template.components() if c.span.start.offset == at_block and c.style == st]
    if not ok:
        raise EditError(f"the inserted {st} {title!r} does not read back as a component at that place "
                        "(it would sit in an unclosed code fence, or its content closes or opens a tag or holds a role line)")
    return result


def remove_component(template: PromptTemplate, component: Component | str) -> EditResult:
    """Remove a component (heading or tags and content) and the blank lines after it
    (before it, when it is the last thing in its message), so the neighbours keep one
    blank line between them. Text sharing a line with the component stays."""
    msg, c = _locate(template, component)
    text = template.text
    s, e = c.span.start.offset, c.span.end.offset
    line_start = text.rfind("\n", 0, s) + 1
    if not text[line_start:s].strip():
        s = line_start
    eol = text.find("\n", e)
    line_end = len(text) if eol == -1 else eol + 1
    if not text[e:line_end].strip():
        # the rest of the line is blank: take it, and the blank lines after it
        e = line_end
        while e < len(text):
            nxt = text.find("\n", e)
            stop = len(text) if nxt == -1 else nxt + 1
            if text[e:stop].strip() or nxt == -1:
                break
            e = stop
        msg_end = msg.content_span.end.offset
        if e >= msg_end:
            # last in its message: take the blank lines before it instead, and keep
            # what ended the message (its final newline, the blank line before a role)
            e = min(e, msg_end)
            keep_from = c.span.end.offset
            p = s
            while p > msg.content_span.start.offset and text[p - 1] in " \t\r\n":
                p -= 1
            if p > msg.content_span.start.offset:
                return apply_edits(template, [Edit((p, keep_from), "")])
    return apply_edits(template, [Edit((s, e), "")])


# --------------------------------------------------------------------------- front matter

Key = str | int
_Path = str | Sequence[Key]


def _keys(path: _Path) -> tuple[Key, ...]:
    keys = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
    if not keys or any(k == "" for k in keys):
        raise EditError(f"empty key in field path {path!r}")
    return keys


def _yaml_offset(template: PromptTemplate) -> int:
    """Offset in ``template.text`` of the first character of the YAML (after ``---``)."""
    assert template.front_matter_span is not None
    start = template.front_matter_span.start.offset
    nl = template.text.find("\n", start)
    return len(template.text) if nl == -1 else nl + 1


def _compose(template: PromptTemplate) -> yaml.Node | None:
    src = template.front_matter_text or ""
    try:
        # The pure-Python composer: its marks count characters of the str exactly, and
        # front matter is small.
        return yaml.compose(src, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise EditError(f"the front matter of {template.path} is not strict YAML ({problem}); "
                        "fix it before editing fields") from None
    except RecursionError:
        raise EditError(f"the front matter of {template.path} nests too deeply to edit") from None


def _dump_flow(value: Any) -> str:
    out = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=2**31 - 1, sort_keys=False)
    out = out.rstrip("\n")
    if out.endswith("\n..."):
        out = out[: -len("\n...")]
    elif out.endswith("..."):
        out = out[:-3].rstrip()
    if "\n" in out:  # a string safe_dump would fold: one double-quoted line instead
        out = yaml.safe_dump(value, default_style='"', default_flow_style=True, width=2**31 - 1,
                             allow_unicode=True).rstrip("\n")
    return out


def _dump_scalar(value: Any, like: yaml.Node | None) -> str:
    """A one-line YAML scalar for ``value``, quoted as the node it replaces was."""
    if isinstance(value, str) and isinstance(like, yaml.ScalarNode) and like.style in ('"', "'") and "\n" not in value:
        out = yaml.safe_dump(value, default_style=like.style, width=2**31 - 1, allow_unicode=True).rstrip("\n")
        if out.endswith("\n..."):
            out = out[:-4]
        return out
    return _dump_flow(value)


def _dump_block(value: Any, indent: str, eol: str) -> str:
    """A block collection at ``indent``, starting on a new line (for ``key:`` + this)."""
    out = yaml.safe_dump(value, default_flow_style=False, allow_unicode=True, width=2**31 - 1, sort_keys=False,
                         indent=2)
    lines = out.rstrip("\n").split("\n")
    return "".join(eol + indent + line for line in lines)


def _literal_block(value: str, indent: str, eol: str) -> str | None:
    """``|`` block scalar text for a multi-line string (None when YAML cannot hold it so:
    a first line starting with a space, or characters a block scalar cannot carry)."""
    if not value or value[0] in " \t" or any(ch in value for ch in "\r\t\x00\ufeff") or \
            any(line.endswith(" ") for line in value.split("\n")):
        return None
    body = value.rstrip("\n")
    trailing = len(value) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = body.split("\n") + [""] * (trailing - 1 if trailing > 1 else 0)
    return "|" + chomp + "".join(eol + (indent + line if line else "") for line in lines)


def _find_key(node: yaml.MappingNode, key: Key) -> tuple[yaml.Node, yaml.Node] | None:
    found = None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == str(key) and k.tag != "tag:yaml.org,2002:merge":
            found = (k, v)  # the last of duplicate keys, as YAML loading keeps
    return found


def _is_flow(node: yaml.Node) -> bool:
    return bool(getattr(node, "flow_style", False))


def _content_end(src: str, start: int, end: int) -> int:
    """``end`` moved back over the whitespace (line breaks, the next line's indentation)
    a block node's end mark includes."""
    while end > start and src[end - 1] in " \t\r\n":
        end -= 1
    return end


def _block_indent(src: str, node: yaml.Node, key_node: yaml.Node | None) -> str:
    """Indentation for the lines of a block scalar replacing ``node``: the old block
    scalar's own, else two spaces more than its key's line."""
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        first = src.find("\n", node.start_mark.index)
        while first != -1 and first + 1 < node.end_mark.index:
            nxt_end = src.find("\n", first + 1)
            line = src[first + 1 : nxt_end if nxt_end != -1 else len(src)]
            if line.strip():
                return line[: len(line) - len(line.lstrip(" "))]
            first = nxt_end
    anchor = key_node if key_node is not None else node
    return " " * anchor.start_mark.column + "  "


def _replacement(src: str, key_node: yaml.Node | None, old: yaml.Node, value: Any, eol: str,
                 in_flow: bool) -> tuple[int, int, str]:
    """(start, end, text) replacing the value node ``old`` (offsets into ``src``)."""
    start, end = old.start_mark.index, old.end_mark.index
    collection = isinstance(value, (dict, list))
    if in_flow:
        return start, end, _dump_flow(value) if collection else _dump_scalar(value, old)
    block_scalar = isinstance(old, yaml.ScalarNode) and old.style in ("|", ">")
    block_collection = isinstance(old, (yaml.MappingNode, yaml.SequenceNode)) and not _is_flow(old)
    if block_scalar or block_collection:
        end = _content_end(src, start, end)
    if block_collection and collection and value and isinstance(value, dict) == isinstance(old, yaml.MappingNode):
        indent = " " * old.start_mark.column  # (after a `- ` marker, the line's indent is less)
        return start, end, _dump_block(value, indent, eol)[len(eol) + len(indent):]
    line_end = src.find("\n", end)
    rest_of_line = src[end : len(src) if line_end == -1 else line_end].strip()
    if isinstance(value, str) and "\n" in value.rstrip("\n") and key_node is not None and not rest_of_line:
        # (a block scalar would take a comment after the value into its text)
        text = _literal_block(value, _block_indent(src, old, key_node), eol)
        if text is None:
            text = _dump_scalar(value, old)
    elif collection:
        text = _dump_flow(value)
    else:
        text = _dump_scalar(value, old)
    if block_collection and key_node is not None:
        # the new value goes after the key's colon, on the key's line
        colon = src.find(":", key_node.end_mark.index, start)
        if colon != -1:
            return colon + 1, end, " " + text
    if start > 0 and src[start - 1] in ":-" and start == end:  # an empty value: `key:` / `- `
        text = " " + text
    return start, end, text


def _new_entry(src: str, mapping: yaml.Node | None, keys: tuple[Key, ...], value: Any, eol: str,
               ) -> tuple[int, int, str]:
    """(start, end, text) adding ``keys[0]: (nested keys[1:] -> value)`` to ``mapping``."""
    nested: Any = value
    for k in reversed(keys[1:]):
        nested = {k: nested}
    key = keys[0]
    if not isinstance(key, str):
        raise EditError(f"cannot add list item {key!r}: only mapping keys can be added")
    key_text = _dump_flow(key)
    if mapping is None:  # empty front matter (or comments only): append at the end
        at = len(src)
        lead = "" if not src or src.endswith("\n") else eol
        if isinstance(nested, (dict, list)) and nested:
            return at, at, lead + key_text + ":" + _dump_block(nested, "  ", eol) + eol
        return at, at, lead + f"{key_text}: {_dump_flow(nested)}" + eol
    if _is_flow(mapping):
        close = mapping.end_mark.index - 1  # the '}'
        if mapping.value:
            last = mapping.value[-1][1]
            at = last.end_mark.index
            return at, at, f", {key_text}: {_dump_flow(nested)}"
        return close, close, f"{key_text}: {_dump_flow(nested)}"
    first_key = mapping.value[0][0]
    indent = " " * first_key.start_mark.column
    last_value = mapping.value[-1][1]
    at = mapping.value[-1][0].end_mark.index
    at = max(at, last_value.end_mark.index)
    # back over the line breaks a block value ends with, then to the end of that line
    while at > 0 and src[at - 1] in " \t\r\n":
        at -= 1
    line_end = src.find("\n", at)
    at = len(src) if line_end == -1 else line_end
    if at > 0 and src[at - 1] == "\r":
        at -= 1
    if isinstance(nested, (dict, list)) and nested:
        entry = key_text + ":" + _dump_block(nested, indent + "  ", eol)
    elif isinstance(nested, str) and "\n" in nested.rstrip("\n"):
        entry = key_text + ": " + (_literal_block(nested, indent + "  ", eol) or _dump_flow(nested))
    else:
        entry = f"{key_text}: {_dump_flow(nested)}"
    return at, at, eol + indent + entry


def _index(k: Key) -> Key:
    """A dotted path's ``"1"`` is a list index where the node is a list."""
    return int(k) if isinstance(k, str) and re.fullmatch(r"-?\d+", k) else k


def _get(data: Any, keys: tuple[Key, ...]) -> Any:
    for k in keys:
        if isinstance(data, list):
            k = _index(k)
        if isinstance(data, dict) and k in data:
            data = data[k]
        elif isinstance(data, list) and isinstance(k, int) and -len(data) <= k < len(data):
            data = data[k]
        else:
            raise KeyError(k)
    return data


def _field_edit(template: PromptTemplate, keys: tuple[Key, ...], value: Any) -> Edit:
    """The span edit that sets ``keys`` to ``value`` in ``template``'s front matter."""
    text = template.text
    eol = line_ending(template.front_matter_text or text)
    if template.front_matter_span is None:
        nested: Any = value
        for k in reversed(keys):
            if not isinstance(k, str):
                raise EditError(f"cannot add list item {k!r}: only mapping keys can be added")
            nested = {k: nested}
        eol = line_ending(text)
        fm = yaml.safe_dump(nested, default_flow_style=False, allow_unicode=True, sort_keys=False, width=2**31 - 1)
        return Edit((0, 0), "---" + eol + _with_eol(fm, eol) + "---" + eol)
    base = _yaml_offset(template)
    src = template.front_matter_text or ""
    node = _compose(template)
    if node is None:
        s, e, new = _new_entry(src, None, keys, value, eol)
        return Edit((base + s, base + e), new)
    parent_key: yaml.Node | None = None
    done: list[Key] = []
    for i, k in enumerate(keys):
        if isinstance(node, yaml.SequenceNode):
            k = _index(k)
        if isinstance(node, yaml.MappingNode):
            pair = _find_key(node, k)
            if pair is None:
                s, e, new = _new_entry(src, node, keys[i:], value, eol)
                return Edit((base + s, base + e), new)
            key_node, child = pair
            if child.start_mark.index < key_node.end_mark.index:
                raise EditError(f"'{'.'.join(map(str, (*done, k)))}' is a YAML alias (*name); edit the anchored value")
        elif isinstance(node, yaml.SequenceNode) and isinstance(k, int):
            if not -len(node.value) <= k < len(node.value):
                raise EditError(f"'{'.'.join(map(str, done))}' has no item {k} (it has {len(node.value)})")
            key_node, child = None, node.value[k]
        else:
            what = "a list" if isinstance(node, yaml.SequenceNode) else "a scalar"
            where = ".".join(map(str, done)) or "the front matter"
            raise EditError(f"{where} is {what}, not a mapping: cannot set '{'.'.join(map(str, keys))}'")
        in_flow = _is_flow(node)
        parent_key, node = key_node, child
        done.append(k)
        if i == len(keys) - 1:
            s, e, new = _replacement(src, parent_key, node, value, eol, in_flow)
            return Edit((base + s, base + e), new)
    raise AssertionError("unreachable")  # pragma: no cover


def _data(t: PromptTemplate, keys: tuple[Key, ...]) -> Any:
    try:
        return yaml.safe_load(t.front_matter_text or "") if t.front_matter_span is not None else None
    except yaml.YAMLError as exc:
        raise EditError(f"editing '{'.'.join(map(str, keys))}' would make the front matter invalid YAML: {exc}") from None


def _verify_removed(before: PromptTemplate, result: EditResult, keys: tuple[Key, ...]) -> EditResult:
    """The parent of ``keys`` must read back as before, less that one entry."""
    old, new = _data(before, keys), _data(result.template, keys)
    try:
        parent_old = _get(old, keys[:-1])
        parent_new = _get(new, keys[:-1]) if keys[:-1] or new is not None else {}
    except (KeyError, TypeError):
        raise EditError(f"removing '{'.'.join(map(str, keys))}' changed its parent") from None
    if isinstance(parent_old, list):
        expected: Any = list(parent_old)
        del expected[int(_index(keys[-1]))]
    else:
        expected = {k: v for k, v in parent_old.items() if k != keys[-1]}
    if (parent_new if parent_new is not None else {}) != expected:
        raise EditError(f"removing '{'.'.join(map(str, keys))}' would change more than that entry")
    return result


def _verify(result: EditResult, keys: tuple[Key, ...], value: Any) -> EditResult:
    data = _data(result.template, keys)
    try:
        got = _get(data, keys)
    except (KeyError, TypeError):
        raise EditError(f"'{'.'.join(map(str, keys))}' did not read back after the edit") from None
    if got != value or type(got) is not type(value) and not isinstance(value, (dict, list)):
        raise EditError(f"'{'.'.join(map(str, keys))}' reads back as {got!r}, not {value!r}; "
                        "the value cannot be written at that place")
    return result


def set_field(template: PromptTemplate, path: _Path, value: Any) -> EditResult:
    """Set one front-matter field, rewriting only its value's text.

    ``path`` is dotted (``"model.parameters.temperature"``) or a tuple of keys (list
    indices as ints, keys with dots). A key that does not exist yet is added at the end
    of its mapping, in the mapping's own block or flow style and indentation, with the
    missing parent mappings; with no front matter at all, one is created. The value is
    written as YAML in the replaced node's style (quotes kept for strings; ``|`` block
    scalars for multi-line strings in block mappings). Comments, key order, quoting and
    flow style everywhere else are untouched. The result is checked: the field must
    read back as ``value``, else :class:`EditError`."""
    keys = _keys(path)
    result = apply_edits(template, [_field_edit(template, keys, value)])
    return _verify(result, keys, value)


def remove_field(template: PromptTemplate, path: _Path) -> EditResult:
    """Remove one front-matter key (its line(s), with a comment on them) or list item.
    Removing the only entry of a block mapping leaves ``{}``."""
    keys = _keys(path)
    if template.front_matter_span is None:
        raise EditError(f"{template.path} has no front matter")
    base = _yaml_offset(template)
    src = template.front_matter_text or ""
    node = _compose(template)
    parent: yaml.Node | None = node
    for k in keys[:-1]:
        if isinstance(parent, yaml.SequenceNode):
            k = _index(k)
        if isinstance(parent, yaml.MappingNode) and (pair := _find_key(parent, k)) is not None:
            parent = pair[1]
        elif isinstance(parent, yaml.SequenceNode) and isinstance(k, int) and -len(parent.value) <= k < len(parent.value):
            parent = parent.value[k]
        else:
            raise EditError(f"no field '{'.'.join(map(str, keys))}' in {template.path}")
    last = _index(keys[-1]) if isinstance(parent, yaml.SequenceNode) else keys[-1]
    items: list[tuple[yaml.Node | None, yaml.Node]]
    if isinstance(parent, yaml.MappingNode):
        items = [(k, v) for k, v in parent.value]
        idx = next((i for i in range(len(items) - 1, -1, -1)
                    if isinstance(items[i][0], yaml.ScalarNode) and items[i][0].value == str(last)), None)  # type: ignore[union-attr]
    elif isinstance(parent, yaml.SequenceNode) and isinstance(last, int):
        items = [(None, v) for v in parent.value]
        idx = last % len(items) if items and -len(items) <= last < len(items) else None
    else:
        idx = None
    if idx is None or parent is None:
        raise EditError(f"no field '{'.'.join(map(str, keys))}' in {template.path}")
    if len(items) == 1 and parent is not node and not _is_flow(parent):
        # the only entry of a nested block mapping or list: the parent becomes empty
        return _verify_removed(template, set_field(template, keys[:-1], {} if isinstance(parent, yaml.MappingNode)
                                                   else []), keys)
    k_node, v_node = items[idx]
    start = (k_node or v_node).start_mark.index
    end = v_node.end_mark.index
    if _is_flow(parent):
        if len(items) == 1:
            s, e = parent.start_mark.index + 1, parent.end_mark.index - 1
        elif idx + 1 < len(items):
            nxt = items[idx + 1]
            s, e = start, (nxt[0] or nxt[1]).start_mark.index
        else:
            prev = items[idx - 1][1]
            s, e = prev.end_mark.index, end
        edit = Edit((base + s, base + e), "")
    else:
        # block: whole lines, from the key's line (or the "- " item marker) to the line
        # before the next entry
        s = src.rfind("\n", 0, start) + 1
        marker = src[s:start].strip()
        if marker and not (marker == "-" and isinstance(parent, yaml.SequenceNode)):
            s = start  # `- key: v` opens a list item: keep the marker
        if idx + 1 < len(items):
            nxt = items[idx + 1]
            nxt_start = (nxt[0] or nxt[1]).start_mark.index
            e = nxt_start if s == start else src.rfind("\n", 0, nxt_start) + 1
        else:
            stop = end
            while stop > start and src[stop - 1] in " \t\r\n":
                stop -= 1
            nl = src.find("\n", stop)
            e = len(src) if nl == -1 else nl + 1
        edit = Edit((base + s, base + e), "")
    return _verify_removed(template, apply_edits(template, [edit]), keys)


def set_front_matter(template: PromptTemplate, data: Mapping[str, Any]) -> EditResult:
    """Make the front matter equal ``data`` with the fewest field edits: changed values
    are set in place (mappings recursively), new keys added at the end of their mapping,
    missing keys removed. Existing keys keep their place (the order of ``data`` decides
    only where new keys go); comments on untouched keys stay."""
    result = EditResult(template.text, template)
    if template.front_matter_span is not None:
        _compose(template)  # refuse non-strict YAML up front, before any edit
    old = template.raw_front_matter if template.front_matter_span is not None else {}

    def walk(prefix: tuple[Key, ...], before: Mapping[Any, Any], after: Mapping[Any, Any]) -> None:
        nonlocal result
        for k in list(before):
            if k not in after:
                result = remove_field(result.template, (*prefix, k))
        for k, v in after.items():
            if k in before and before[k] == v and type(before[k]) is type(v):
                continue
            if k in before and isinstance(before[k], dict) and isinstance(v, dict) and before[k] and v:
                walk((*prefix, k), before[k], v)
            else:
                result = set_field(result.template, (*prefix, k), v)

    if template.front_matter_span is None and not data:
        return result
    walk((), old, dict(data))
    if template.front_matter_span is None and result.template.front_matter_span is None:
        result = apply_edits(result.template, [Edit((0, 0), "---" + line_ending(template.text) * 1 + "---"
                                                    + line_ending(template.text))])
    return result


def bump_version(template: PromptTemplate, part: Literal["patch", "minor", "major"] = "patch") -> EditResult:
    """Bump the semantic version (``version``, or Prompty v2's ``metadata.version``).

    ``1.4.2`` -> patch ``1.4.3``, minor ``1.5.0``, major ``2.0.0``; a pre-release is
    released first (``2.0.0-rc.1`` -> ``2.0.0`` for any part whose lower numbers are
    zero, as ``npm version`` and semver do); build metadata is dropped. A template with
    no version gets one, bumped from ``0.0.0`` (patch ``0.0.1``, minor ``0.1.0``, major
    ``1.0.0``). A version that is not semver is an :class:`EditError`."""
    if part not in ("patch", "minor", "major"):
        raise EditError(f"unknown version part {part!r}: use patch, minor or major")
    raw = template.raw_front_matter
    path: tuple[str, ...] = ("version",)
    if "version" not in raw and isinstance(raw.get("metadata"), dict) and "version" in raw["metadata"]:
        path = ("metadata", "version")
    current = _get(raw, path) if (path[0] in raw) else None
    if current is None:
        major = minor = patch = 0
        pre = None
    else:
        m = SEMVER_RE.match(str(current))
        if not m:
            raise EditError(f"version {current!r} of {template.path} is not semantic versioning (MAJOR.MINOR.PATCH)")
        major, minor, patch = int(m.group(1)), int(m.group(2)), int(m.group(3))
        pre = m.group(4)
    if part == "major":
        new = (major, 0, 0) if pre and minor == 0 and patch == 0 else (major + 1, 0, 0)
    elif part == "minor":
        new = (major, minor, 0) if pre and patch == 0 else (major, minor + 1, 0)
    else:
        new = (major, minor, patch) if pre else (major, minor, patch + 1)
    return set_field(template, path, "{}.{}.{}".format(*new))


# --------------------------------------------------------------------------- diffs

_NEEDS_QUOTE = re.compile(r'[\x00-\x1f\x7f"\\]')


def _git_path(prefix: str, path: str) -> str:
    """``a/path`` as git writes it: C-quoted when it holds quotes, backslashes or
    control characters (git would misread the bare name)."""
    name = prefix + path
    if not _NEEDS_QUOTE.search(name):
        return name
    out = []
    for ch in name:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _lines(text: str) -> list[str]:
    """Lines as git sees them: split after ``\\n`` only (``str.splitlines`` would also
    split at ``\\r``, form feeds and Unicode separators, and the patch would not apply)."""
    if not text:
        return []
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def unified_diff(old: str, new: str, path: str | PurePath, *, context: int = 3) -> str:
    """A unified diff from ``old`` to ``new`` that ``git apply`` (and ``patch -p1``)
    accepts: ``a/``/``b/`` prefixes, ``\\ No newline at end of file`` markers, CRLF and
    a BOM kept as bytes of their lines. Empty when the texts are equal. Pass the texts
    as they are on disk (``EditResult.file_text`` keeps the BOM)."""
    import difflib

    if old == new:
        return ""
    p = PurePath(path).as_posix() if isinstance(path, PurePath) else str(path).replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    a, b = _lines(old), _lines(new)
    out = [f"--- {_git_path('a/', p)}\n", f"+++ {_git_path('b/', p)}\n"]
    for line in difflib.unified_diff(a, b, n=context, lineterm=""):
        if line.startswith(("---", "+++")) and not out[2:]:
            continue  # difflib's own header (empty names); ours is above
        if line.startswith("@@"):
            out.append(line + "\n")
            continue
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
