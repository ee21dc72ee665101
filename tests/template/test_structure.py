"""Body structure: role lines split messages; headings and XML-style tags make components,
each with exact line/column ranges in the file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.template import FileKind, load, loads

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "template"


def _text(t, span) -> str:  # type: ignore[no-untyped-def]
    return t.text[span.start.offset : span.end.offset]


def test_components_with_exact_spans() -> None:
    t = load(FIXTURES / "components.prompty")
    system, user = t.messages
    assert (system.role, user.role) == ("system", "user")
    assert system.role_span is not None and (system.role_span.line, system.role_span.column) == (9, 1)
    assert _text(t, system.role_span) == "system:"
    got = [(c.kind, c.key, c.style, c.level, c.span.start.line, c.span.end.line) for c in system.components]
    assert got == [
        ("role", "role", "heading", 1, 10, 26),
        ("task", "task", "heading", 2, 13, 14),
        ("constraints", "constraints", "heading", 2, 16, 23),
        ("examples", "examples", "tag", 1, 20, 23),
        ("output_format", "output_format", "heading", 2, 25, 26),
    ]
    role, task, constraints, examples, output = system.components
    assert task.parent == 0 and examples.parent == 2 and role.parent is None
    assert _text(t, task.title_span) == "Task"
    assert _text(t, task.content_span) == "Translate the text into French."
    assert _text(t, examples.content_span).strip() == "Input: good morning\nOutput: bonjour"
    assert _text(t, output.title_span) == "Output Format"
    assert _text(t, output.span) == "## Output Format\nOnly the translation."
    (text_tag,) = user.components
    assert (text_tag.kind, text_tag.style, text_tag.span.start.line, text_tag.span.start.column) == ("input", "tag", 29, 1)
    assert _text(t, text_tag.span) == "<text>\n{{ text }}\n</text>"
    assert [c.key for c in t.find_components("constraints")] == ["constraints"]
    assert len(t.components()) == 6


def test_role_line_variants() -> None:
    body = "# system:\nA\n\nUSER:\nB\nassistant[name=bot]:\nC\n  developer :  \nD\n"
    t = loads(body, path="r.j2")
    assert t.kind is FileKind.JINJA
    assert [(m.role, m.content.strip()) for m in t.messages] == [("system", "A"), ("user", "B"), ("assistant", "C"), ("developer", "D")]
    # a role word inside a sentence or with text after the colon is not a role line
    t = loads("system:\nNote that user: is a label.\nsystem: do this\n", path="n.prompty")
    assert [m.role for m in t.messages] == ["system"]


def test_text_before_the_first_role_line_is_an_implicit_message() -> None:
    t = loads("---\nname: x\n---\nYou are terse.\nuser:\nhi\n", path="i.prompty")
    assert [(m.role, m.explicit) for m in t.messages] == [("system", False), ("user", True)]
    t = loads("Translate {{ text }}.\n", path="p.jinja2")
    assert [(m.role, m.explicit) for m in t.messages] == [("user", False)]


def test_headings_inside_code_fences_are_not_components() -> None:
    body = "system:\n## Task\nShow this:\n```md\n# Not a heading\n<task>no</task>\n```\n## Output\nJSON\n"
    t = loads(body, path="f.prompty")
    assert [c.key for c in t.messages[0].components] == ["task", "output"]


def test_html_tags_are_not_components_but_custom_tags_are() -> None:
    body = "system:\n<b>bold</b>\n<instructions>\nBe brief.\n</instructions>\n<div>x</div>\n"
    t = loads(body, path="h.prompty")
    assert [(c.key, c.kind) for c in t.messages[0].components] == [("instructions", "task")]


def test_dotprompt_role_helpers() -> None:
    text = '---\nmodel: googleai/gemini\n---\n{{role "system"}}\nBe kind.\n{{role "user"}}\nHi {{name}}\n'
    t = loads(text, path="d.prompt")
    assert [m.role for m in t.messages] == ["system", "user"]
    assert t.messages[1].content.strip() == "Hi {{name}}"


def test_crlf_files_keep_exact_positions() -> None:
    text = "---\r\nname: crlf\r\n---\r\nsystem:\r\n## Task\r\nDo it.\r\n\r\nuser:\r\n{{ q }}\r\n"
    t = loads(text, path="c.prompty")
    assert t.front_matter.name == "crlf" and [m.role for m in t.messages] == ["system", "user"]
    (task,) = t.messages[0].components
    assert _text(t, task.title_span) == "Task" and task.span.start.line == 5


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.integers(1, 6).map(lambda n: "#" * n + " H\n"),
                          st.sampled_from(["<task>\n", "</task>\n", "<role>\n", "</role>\n", "text\n", "```\n"])),
                max_size=40))
def test_components_match_their_definition(lines: list[str]) -> None:
    """Headings run to the next heading of the same or a higher level; a tag to its first
    closing tag; the parent is the latest earlier component that strictly contains it.
    Checked against a direct (quadratic) reading of those definitions."""
    from promptkit.diagnostics import LineIndex
    from promptkit.template.structure import find_components

    text = "".join(lines)
    comps = find_components(text, 0, len(text), LineIndex(text))
    for i, c in enumerate(comps):
        if c.style == "heading":
            later = [d for d in comps[i + 1:] if d.style == "heading" and d.level <= c.level]
            stop = later[0].span.start.offset if later else len(text)
            while stop > c.span.start.offset and text[stop - 1] in " \t\r\n":
                stop -= 1
            assert c.span.end.offset == stop
        else:
            close = text.find(f"</{c.title}>", c.content_span.end.offset)
            assert close == c.content_span.end.offset
        containers = [j for j, p in enumerate(comps[:i])
                      if p.span.start.offset <= c.span.start.offset and c.span.end.offset <= p.span.end.offset
                      and p.span != c.span]
        assert c.parent == (containers[-1] if containers else None)


def test_many_unclosed_tags_and_headings_load() -> None:
    """100,000 components (a generated file): loads in linear time (this took minutes
    when each heading searched forward for its end and each tag for its closing tag)."""
    from promptkit.template import loads

    body = "".join("#" * (1 + i % 6) + f" H{i}\n<task>\n" for i in range(20_000))
    t = loads("---\nname: x\n---\nsystem:\n" + body, path="x.prompty")
    assert len(t.components()) == 20_000


_LINE_PARTS = ["", "   ", "\t", "#", "## Task", "```", "~~~~", "    ```", "<rules>", "</rules>", "  <b>", "text < 3",
               "plain prose", "\r", "{{ x }}", "<", "#no-space"]


@given(lines=st.lists(st.lists(st.sampled_from(_LINE_PARTS), max_size=3).map("".join), max_size=12),
       cut=st.tuples(st.integers(0, 400), st.integers(0, 400)))
def test_candidate_lines_are_the_lines_that_can_matter(lines: list[str], cut: tuple[int, int]) -> None:
    """find_components scans only the lines a regex picks; they must be exactly the lines
    of the whole-line loop that can open a fence, be a heading or open a tag, from any
    start offset (a message may start mid-line) to any end."""
    from promptkit.template.structure import _CANDIDATE, _candidate_lines, _lines

    text = "\n".join(lines)
    start, end = sorted((min(cut[0], len(text)), min(cut[1], len(text))))
    want = [(p, line) for p, line in _lines(text, start, end) if _CANDIDATE.match(line)]
    assert list(_candidate_lines(text, start, end)) == want
