"""Property tests: load(dump(t)) round-trips, and no input makes the loader raise."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import Severity
from promptkit.template import dump_parts, dumps, loads
from promptkit.template.structure import DYNAMIC_ROLE_LINE, ROLE_LINE

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------ strategies for valid templates

_word = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=12)
_scalar = st.one_of(
    st.text(string.printable.replace("\r", "").replace("\x0b", "").replace("\x0c", ""), max_size=30),
    st.integers(-10**6, 10**6), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
_semver = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(lambda v: "%d.%d.%d" % v)
_input = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer", "number", "boolean", "list", "object"])},
    optional={"description": st.text(string.ascii_letters + " .,", max_size=40), "sample": _scalar, "default": _scalar},
)
_front_matter = st.fixed_dictionaries(
    {"name": _word},
    optional={
        "description": st.text(string.ascii_letters + " .,'\"#:-", max_size=60),
        "version": _semver,
        "authors": st.lists(_word, max_size=3),
        "tags": st.lists(_word, max_size=3),
        "model": st.fixed_dictionaries({"id": _word.map(lambda w: "openai/" + w)},
                                       optional={"parameters": st.dictionaries(_word, _scalar, max_size=3)}),
        "inputs": st.dictionaries(_word.filter(str.isidentifier), _input, max_size=4),
        "x-custom": st.dictionaries(_word, _scalar, max_size=3),
    },
)
_line = st.text(string.ascii_letters + string.digits + " .,!?'\"()[]#<>/-*", max_size=50).filter(
    lambda s: not ROLE_LINE.match(s) and not DYNAMIC_ROLE_LINE.match(s) and s.strip() not in ("---", "...")
)
_content = st.lists(_line, min_size=1, max_size=6).map(lambda ls: "\n".join(ls).strip() + "\n").filter(lambda s: s.strip())
_messages = st.lists(st.tuples(st.sampled_from(["system", "user", "assistant"]), _content), min_size=1, max_size=4)


def _body(messages: list[tuple[str, str]]) -> str:
    return "\n".join(f"{role}:\n{content}" for role, content in messages)


@_SETTINGS
@given(_front_matter, _messages)
def test_load_dump_round_trips(front_matter: dict, messages: list[tuple[str, str]]) -> None:
    text = dump_parts(front_matter, _body(messages))
    t = loads(text, path="prop.prompty")
    assert t.ok, [d.format() for d in t.diagnostics]
    assert t.raw_front_matter == front_matter
    assert [(m.role, m.content.strip()) for m in t.messages] == [(r, c.strip()) for r, c in messages]
    # dump of an unchanged template is the text itself
    assert dumps(t) == text
    # re-serializing the front matter gives an equal template
    again = loads(dumps(t, front_matter=t.raw_front_matter), path="prop.prompty")
    assert again.raw_front_matter == t.raw_front_matter
    assert again.front_matter.model_dump() == t.front_matter.model_dump()
    assert again.body == t.body
    assert [(m.role, m.content) for m in again.messages] == [(m.role, m.content) for m in t.messages]
    # replacing the body keeps the front matter text verbatim
    swapped = t.with_body("user:\nnew body\n")
    assert swapped.front_matter_text == t.front_matter_text
    assert [(m.role, m.content) for m in swapped.messages] == [("user", "new body\n")]


# ------------------------------------------------------------------ arbitrary input never crashes

_SUFFIXES = ["a.prompty", "a.j2", "a.prompt", "a.prompt.md", "SKILL.md", "a.mdc", "a.txt"]
_nasty = st.sampled_from(["---", "---\n", "...", "system:", "# user:", "{{", "}}", "{%", "%}", "{#", "<task>", "</task>",
                          "## ", "```", "\ufeff", "\r\n", "\n", "\t", ":", "- ", "[", "{", "&a", "*a", "!!python/object", "%YAML",
                          "{{item.role}}:", "{{role \"system\"}}", "${env:X}", "\x00", "\u202e"])
_texty = st.lists(st.one_of(_nasty, st.text(max_size=15)), max_size=40).map("".join)


def _check(t, text_len: int) -> None:  # type: ignore[no-untyped-def]
    for d in t.diagnostics:
        assert isinstance(d.format(), str) and d.severity in Severity
        if d.span is not None and d.code != "PK001":  # PK001 points into undecodable bytes, not text
            assert 0 <= d.span.start.offset <= d.span.end.offset <= len(t.text)
    for m in t.messages:
        assert 0 <= m.span.start.offset <= m.span.end.offset <= len(t.text)
        assert t.text[m.content_span.start.offset : m.content_span.end.offset] == m.content
        for c in m.components:
            assert m.span.start.offset <= c.span.start.offset <= c.span.end.offset <= m.span.end.offset
    assert t.body == t.text[t.body_offset :]


@_SETTINGS
@given(_texty, st.sampled_from(_SUFFIXES))
def test_arbitrary_text_never_raises(text: str, path: str) -> None:
    t = loads(text, path=path)
    _check(t, len(text))


@_SETTINGS
@given(st.binary(max_size=400), st.sampled_from(_SUFFIXES))
def test_arbitrary_bytes_never_raise(data: bytes, path: str) -> None:
    t = loads(data, path=path)
    _check(t, len(data))


@_SETTINGS
@given(_texty.map(lambda s: "---\n" + s + "\n---\nsystem:\nhi {{ x }}\n"))
def test_arbitrary_front_matter_never_raises(text: str) -> None:
    t = loads(text, path="fm.prompty")
    _check(t, len(text))
    assert t.messages  # the body is still modelled whatever the front matter holds
