"""The body's structure: role lines split it into messages; headings and XML-style tags
split each message into named components.

Role lines follow Prompty: a line holding only ``system:``, ``user:``, ``assistant:``
(also ``# system:`` as promptflow writes them, any case, optional ``[name=...]``
attributes). A line holding only a Jinja expression and a colon (``{{item.role}}:``) is a
*dynamic* role line, as in chat-history loops. dotprompt marks roles with
``{{role "system"}}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from promptkit.diagnostics import LineIndex
from promptkit.template.model import Component, FileKind, Message

ROLE_LINE = re.compile(
    r"^[ \t]*#?[ \t]*(system|user|assistant|developer|tool|function)(\[[^\]\n]*\])?[ \t]*:[ \t]*\r?$",
    re.IGNORECASE | re.MULTILINE,
)
DYNAMIC_ROLE_LINE = re.compile(
    r"^[ \t]*#?[ \t]*\{\{-?[ \t]*([A-Za-z_][\w.\[\]'\"]*)[ \t]*-?\}\}[ \t]*:[ \t]*\r?$", re.MULTILINE
)
DOTPROMPT_ROLE = re.compile(r"\{\{~?\s*role\s+[\"'](\w+)[\"']\s*~?\}\}")

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*\r?$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_OPEN_TAG = re.compile(r"^[ \t]*<([A-Za-z][\w\-]*)(?:\s[^<>]*)?>")
_HTML_TAGS = frozenset(
    "a b i u p br hr em strong code pre span div img ul ol li table tr td th thead tbody "
    "html head body script style link meta sup sub small big kbd details summary center font "
    "svg path g input button form label select option textarea iframe video audio source".split()
)

#: Normalized heading/tag names -> canonical component kinds.
_KIND_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("output_format", ("output_format", "output", "format", "response_format", "output_instructions",
                       "output_schema", "answer_format", "response", "output_requirements", "formatting",
                       "return_format", "json_schema", "schema")),
    ("examples", ("examples", "example", "few_shot", "fewshot", "demonstrations", "shots", "samples",
                  "sample", "example_output", "example_input")),
    ("constraints", ("constraints", "constraint", "rules", "rule", "guidelines", "restrictions",
                     "requirements", "limitations", "guardrails", "policy", "policies", "dos_and_donts",
                     "do_not", "boundaries", "important", "notes", "limits")),
    ("task", ("task", "tasks", "instructions", "instruction", "goal", "goals", "objective", "steps",
              "your_task", "purpose", "job", "mission", "workflow", "process", "directive", "what_to_do")),
    ("role", ("role", "persona", "identity", "identity_and_purpose", "who_you_are", "character",
              "about_you", "system", "you_are", "profile")),
    ("context", ("context", "background", "information", "knowledge", "reference", "references",
                 "documents", "document", "data", "sources", "retrieved", "facts", "chat_history", "history")),
    ("input", ("input", "inputs", "user_input", "question", "query", "ticket", "request", "text", "message")),
]
_EXACT = {w: kind for kind, words in _KIND_WORDS for w in words}


def normalize_key(title: str) -> str:
    """``"## Output Format:"`` -> ``"output_format"``."""
    key = re.sub(r"[^0-9a-zA-Z]+", "_", title.strip().lower()).strip("_")
    return key


def component_kind(key: str) -> str | None:
    """Canonical kind for a normalized name: exact synonym first, then word match."""
    if key in _EXACT:
        return _EXACT[key]
    words = key.split("_")
    for kind, syn in _KIND_WORDS:
        for w in words:
            if w in syn and w not in ("data", "text", "message", "response", "important", "notes", "system"):
                return kind
    return None


# --------------------------------------------------------------------------- roles


def role_lines(body: str, kind: FileKind) -> list[tuple[int, int, str, str | None]]:
    """Role markers in ``body`` as ``(start, end, role, dynamic_expr)`` offsets.

    ``end`` is just past the marker line's newline (or the helper, for dotprompt)."""
    out: list[tuple[int, int, str, str | None]] = []
    if kind is FileKind.DOTPROMPT:
        for m in DOTPROMPT_ROLE.finditer(body):
            out.append((m.start(), m.end(), m.group(1).lower(), None))
        return out
    if kind not in (FileKind.PROMPTY, FileKind.JINJA):
        return out
    for m in ROLE_LINE.finditer(body):
        end = m.end() + 1 if m.end() < len(body) else m.end()
        out.append((m.start(), end, m.group(1).lower(), None))
    for m in DYNAMIC_ROLE_LINE.finditer(body):
        end = m.end() + 1 if m.end() < len(body) else m.end()
        out.append((m.start(), end, "", m.group(1)))
    out.sort()
    return out


def split_messages(
    text: str, body_offset: int, index: LineIndex, kind: FileKind, default_role: str
) -> tuple[Message, ...]:
    """Split the body (``text[body_offset:]``) into source messages with spans."""
    body = text[body_offset:]
    marks = role_lines(body, kind)
    messages: list[Message] = []
    if not marks or body[: marks[0][0]].strip():
        first_end = marks[0][0] if marks else len(body)
        if body[:first_end].strip() or not marks:
            messages.append(_message(text, body_offset, body_offset + first_end, None, default_role, None, index))
    for i, (start, end, role, dyn) in enumerate(marks):
        stop = marks[i + 1][0] if i + 1 < len(marks) else len(body)
        messages.append(
            _message(text, body_offset + end, body_offset + stop, (body_offset + start, body_offset + end), role or "dynamic", dyn, index)
        )
    return tuple(messages)


def _message(
    text: str, start: int, end: int, role_at: tuple[int, int] | None, role: str, dyn: str | None, index: LineIndex
) -> Message:
    role_span = None
    span_start = start
    if role_at is not None:
        span_start = role_at[0]
        role_end = role_at[1]
        if role_end > role_at[0] and text[role_end - 1] == "\n":
            role_end -= 1
        role_span = index.span(role_at[0], role_end)
    content = text[start:end]
    return Message(
        role=role,
        content=content,
        span=index.span(span_start, end),
        content_span=index.span(start, end),
        role_span=role_span,
        dynamic_role=dyn,
        components=tuple(find_components(text, start, end, index)),
    )


# --------------------------------------------------------------------------- components


def _lines(text: str, start: int, end: int) -> Iterator[tuple[int, str]]:
    pos = start
    while pos < end:
        e = text.find("\n", pos, end)
        if e == -1:
            yield pos, text[pos:end]
            return
        yield pos, text[pos:e]
        pos = e + 1


#: The start of every line that can open or close a fence, be a heading or open a tag;
#: the other lines (most of a prompt) cannot change what :func:`find_components` finds.
_CANDIDATE = re.compile(r"^(?:[ \t]{0,3}(?:`{3}|~{3})|#|[ \t]*<)", re.MULTILINE)


def _candidate_lines(text: str, start: int, end: int) -> Iterator[tuple[int, str]]:
    """The lines of ``text[start:end]`` that :data:`_CANDIDATE` picks, as ``_lines`` gives
    them: one regex scan instead of a Python loop over every line."""
    if start > 0 and text[start - 1] != "\n":  # ``^`` matches only after a newline
        e = text.find("\n", start, end)
        first_end = end if e == -1 else e
        if _CANDIDATE.match(text[start:first_end]):
            yield start, text[start:first_end]
        if e == -1:
            return
        start = e + 1
    for m in _CANDIDATE.finditer(text, start, end):
        pos = m.start()
        e = text.find("\n", pos, end)
        yield pos, text[pos:end if e == -1 else e]


def find_components(text: str, start: int, end: int, index: LineIndex) -> list[Component]:
    """Headings and XML-style tag blocks in ``text[start:end]``, in order, with parents."""
    headings: list[tuple[int, int, int, str, int]] = []  # (start, title_start, title_end, title, level)
    tags: list[tuple[int, int, int, int, str]] = []  # (start, open_end, close_start, close_end, name)
    closes: dict[str, list[int]] = {}  # tag name -> offsets of its closing tags (found once per name)
    fence: str | None = None
    for pos, line in _candidate_lines(text, start, end):
        fm = _FENCE.match(line)
        if fm:
            mark = fm.group(1)
            if fence is None:
                fence = mark[0] * len(mark)
            elif mark.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        if line.startswith("#"):
            hm = _HEADING.match(line)
            if hm:
                t0 = pos + hm.start(2)
                headings.append((pos, t0, pos + hm.end(2), hm.group(2), len(hm.group(1))))
                continue
        if "<" in line:
            tm = _OPEN_TAG.match(line)
            if tm and tm.group(1).lower() not in _HTML_TAGS:
                name = tm.group(1)
                close = _next_close(text, name, pos + tm.end(), end, closes)
                if close != -1:
                    tags.append((pos + tm.start(1) - 1, pos + tm.end(), close, close + len(name) + 3, name))
    # Each heading runs to the next heading of the same or a higher level: found for all
    # headings in one backward pass with a stack (a forward search per heading is
    # quadratic, minutes for a generated file with 100,000 headings).
    stops = [end] * len(headings)
    pending: list[tuple[int, int]] = []  # (level, start) of later headings
    for i in range(len(headings) - 1, -1, -1):
        level = headings[i][4]
        while pending and pending[-1][0] > level:
            pending.pop()
        if pending:
            stops[i] = pending[-1][1]
        pending.append((level, headings[i][0]))
    comps: list[tuple[int, int, Component]] = []
    for i, (h0, t0, t1, title, level) in enumerate(headings):
        stop = stops[i]
        line_end = text.find("\n", t1, end)
        content_start = end if line_end == -1 else line_end + 1
        key = normalize_key(title)
        comps.append(
            (
                h0,
                -level,
                Component(
                    title=title.strip(),
                    key=key,
                    kind=component_kind(key),
                    style="heading",
                    level=level,
                    span=index.span(h0, _rstrip_to(text, h0, stop)),
                    title_span=index.span(t0, t1),
                    content_span=index.span(min(content_start, stop), _rstrip_to(text, min(content_start, stop), stop)),
                ),
            )
        )
    for t_start, open_end, close_start, close_end, name in tags:
        key = normalize_key(name)
        comps.append(
            (
                t_start,
                0,
                Component(
                    title=name,
                    key=key,
                    kind=component_kind(key),
                    style="tag",
                    level=1,
                    span=index.span(t_start, close_end),
                    title_span=index.span(t_start + 1, t_start + 1 + len(name)),
                    content_span=index.span(open_end, close_start),
                ),
            )
        )
    comps.sort(key=lambda c: (c[0], c[1]))
    result: list[Component] = []
    tag_depth: list[int] = []  # tags among each component and its ancestors
    # The innermost earlier component containing this one: the candidates form a stack
    # (components come in start order; one that does not contain this component ends
    # before it, so it contains no later component that this one does not).
    enclosing: list[int] = []
    for _, _, comp in comps:
        while enclosing and not _contains(result[enclosing[-1]], comp):
            enclosing.pop()
        parent = enclosing[-1] if enclosing else None
        if parent is not None or comp.style == "tag":
            updates: dict[str, object] = {"parent": parent}
            if comp.style == "tag":
                updates["level"] = 1 + (tag_depth[parent] if parent is not None else 0)
            comp = comp.model_copy(update=updates)
        tag_depth.append((comp.style == "tag") + (tag_depth[parent] if parent is not None else 0))
        result.append(comp)
        enclosing.append(len(result) - 1)
    return result


def _contains(p: Component, c: Component) -> bool:
    return (p.span.start.offset <= c.span.start.offset and c.span.end.offset <= p.span.end.offset
            and p.span != c.span)


def _next_close(text: str, name: str, start: int, end: int, closes: dict[str, list[int]]) -> int:
    """Offset of the first ``</name>`` in ``text[start:end]``, or -1: all closing tags of a
    name are found once, then bisected (a scan per opening tag is quadratic when many
    tags are never closed)."""
    import bisect

    found = closes.get(name)
    if found is None:
        needle = f"</{name}>"
        found = closes[name] = []
        i = text.find(needle, 0, end)
        while i != -1:
            found.append(i)
            i = text.find(needle, i + 1, end)
    k = bisect.bisect_left(found, start)
    if k < len(found) and found[k] + len(name) + 3 <= end:
        return found[k]
    return -1


def _rstrip_to(text: str, start: int, stop: int) -> int:
    """``stop`` moved back over trailing whitespace, but not before ``start``."""
    while stop > start and text[stop - 1] in " \t\r\n":
        stop -= 1
    return stop
