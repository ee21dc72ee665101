"""noqa: line and file directives in every comment syntax, unused-noqa, --add-noqa."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import Diagnostic
from promptkit.lint.config import LintConfig
from promptkit.lint.engine import lint_template, lint_text
from promptkit.lint.fixes import apply_fixes
from promptkit.lint.noqa import add_noqa, parse
from promptkit.template import FileKind, loads

HEAD = "---\nname: plan\nversion: 1.0.0\n---\nsystem:\n"
BAD_LINE = "Design a plan for [YOUR TOPIC]."


def codes(text: str, path: str = "a.prompty", **kw: object) -> list[str]:
    return [d.code for d in lint_text(text, path, **kw)]  # type: ignore[arg-type]


def test_finding_without_noqa() -> None:
    assert codes(HEAD + BAD_LINE + "\n") == ["PK701"]


def test_line_noqa_jinja_markdown_handlebars() -> None:
    assert codes(HEAD + BAD_LINE + " {# noqa: PK701 #}\n") == []
    assert codes(HEAD + BAD_LINE + " {# noqa #}\n") == []
    assert codes(HEAD + BAD_LINE + " {#- noqa: fill-in-marker -#}\n") == []  # rule names work
    assert codes("# Plan\n\n" + BAD_LINE + " <!-- noqa: PK701 -->\n", "a.md") == []
    assert codes("Hi\n" + BAD_LINE + " {{! noqa: PK701 }}\n", "a.prompt") == []
    # a directive on another line does not apply
    assert "PK701" in codes(HEAD + "{# noqa: PK701 #}\n" + BAD_LINE + "\n")


def test_yaml_front_matter_noqa() -> None:
    text = "---\nname: x\nversion: one # noqa: PK006\n---\nsystem:\nHello.\n"
    assert "PK006" not in codes(text)
    assert "PK006" in codes(text.replace(" # noqa: PK006", ""))


def test_file_level_directives() -> None:
    assert codes(HEAD + "{# promptkit: noqa #}\n" + BAD_LINE + "\n") == []
    assert codes(HEAD + "{# promptkit: noqa: PK701, PK702 #}\n" + BAD_LINE + "\nI hope this helps\n") == []
    assert codes("<!-- promptkit: noqa: PK701 -->\n# Plan\n" + BAD_LINE + "\n", "a.md") == []
    assert codes("---\n# promptkit: noqa\nname: x\nversion: one\n---\nbody\n") == []


def test_unused_noqa_is_reported_with_a_safe_fix() -> None:
    text = HEAD + "All fine here. {# noqa: PK701 #}\n"
    diags = lint_text(text, "a.prompty")
    assert [d.code for d in diags] == ["PK009"]
    d = diags[0]
    assert "unused noqa code PK701" in d.message and d.line == 6
    assert d.fix is not None and d.fix.safe
    fixed, applied = apply_fixes(text, diags)
    assert applied and fixed == HEAD + "All fine here.\n"


def test_partly_unused_and_unknown_codes() -> None:
    text = HEAD + BAD_LINE + " {# noqa: PK701, PK702, PK9999 #}\n"
    diags = [d for d in lint_text(text, "a.prompty") if d.code == "PK009"]
    assert len(diags) == 1
    assert "unused noqa code PK702" in diags[0].message and "unknown code PK9999" in diags[0].message
    fixed, _ = apply_fixes(text, diags)
    assert fixed == HEAD + BAD_LINE + " {# noqa: PK701 #}\n"


def test_unused_blanket_and_whole_line_directive_removed() -> None:
    text = HEAD + "Fine.\n{# noqa #}\nStill fine.\n"
    diags = lint_text(text, "a.prompty")
    assert [d.code for d in diags] == ["PK009"]
    fixed, _ = apply_fixes(text, diags)
    assert fixed == HEAD + "Fine.\nStill fine.\n"


def test_codes_of_disabled_rules_are_not_reported_unused() -> None:
    text = HEAD + "Fine. {# noqa: PK712 #}\n"  # PK712 is opt-in, so it cannot have fired
    assert codes(text) == []
    assert codes(text, config=LintConfig(ignore=["PK009"])) == []


def test_parse_positions() -> None:
    t = loads(HEAD + "a {# noqa: PK701 #}\n<!-- promptkit: noqa -->\n", path="a.prompty")
    ds = parse(t)
    assert [(d.line, d.codes, d.file_level) for d in ds] == [(6, ("PK701",), False), (7, None, True)]
    assert t.text[ds[0].start : ds[0].end] == "{# noqa: PK701 #}"


def test_add_noqa_uses_the_right_comment_syntax() -> None:
    for path, kind, expect in [
        ("a.prompty", FileKind.PROMPTY, "{# noqa: PK701 #}"),
        ("a.md", FileKind.MARKDOWN, "<!-- noqa: PK701 -->"),
        ("a.prompt", FileKind.DOTPROMPT, "{{! noqa: PK701 }}"),
    ]:
        text = ("---\nname: x\nversion: 1.0.0\n---\n" if kind is not FileKind.MARKDOWN else "") + BAD_LINE + "\n"
        t = loads(text, path=path)
        new, n = add_noqa(t, lint_template(t))
        assert n == 1 and expect in new
        assert [d.code for d in lint_text(new, path)] == []


def test_add_noqa_in_front_matter_and_merge_into_existing() -> None:
    text = "---\nname: x\nversion: one\n---\nsystem:\n" + BAD_LINE + " {# noqa: PK702 #}\n"
    t = loads(text, path="a.prompty")
    new, _ = add_noqa(t, [d for d in lint_template(t) if d.code != "PK009"])
    assert "version: one # noqa: PK006" in new
    assert "{# noqa: PK702, PK701 #}" in new
    assert [d.code for d in lint_text(new, "a.prompty") if d.code != "PK009"] == []


_line = st.sampled_from([
    "Plain text.", BAD_LINE, "I hope this helps", "Ask in order to learn.", "the the end", "", "  ",
    "TODO: later", "Use [YOUR NAME] and [ENTER DATE] please.",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, min_size=1, max_size=8))
def test_add_noqa_silences_every_finding(lines: list[str]) -> None:
    text = HEAD + "\n".join(lines) + "\n"
    t = loads(text, path="a.prompty")
    before = lint_template(t)
    new, _ = add_noqa(t, before)
    after = [d for d in lint_text(new, "a.prompty") if d.code != "PK009"]
    assert after == []
    # idempotent: nothing left to add
    t2 = loads(new, path="a.prompty")
    assert add_noqa(t2, [d for d in lint_template(t2) if d.code != "PK009"])[1] == 0


def test_crlf_files() -> None:
    text = "---\r\nname: x\r\nversion: one # noqa: PK006\r\n---\r\nsystem:\r\n" + BAD_LINE + " {# noqa: PK701 #}\r\n"
    assert [c for c in codes(text) if c not in ("PK303",)] == []
    stale = text.replace("version: one", "version: 1.0.0")
    diags = [d for d in lint_text(stale, "a.prompty") if d.code == "PK009"]
    assert len(diags) == 1
    fixed, _ = apply_fixes(stale, diags)
    assert "version: 1.0.0\r\n---" in fixed  # the directive goes, the line ending stays


def test_add_noqa_never_writes_into_a_multiline_yaml_string() -> None:
    text = "---\nname: x\nversion: one\ndescription: |\n  Line one: with a colon\n  Line two\n---\nsystem:\nHi.\n"
    t = loads(text, path="a.prompty")
    fake = Diagnostic("a.prompty", "m", code="PK006", name="front-matter-schema", span=t.index.line_span(5))
    new, _ = add_noqa(t, [fake])
    assert "Line one: with a colon\n" in new and "{# promptkit: noqa: PK006 #}" in new
    assert loads(new, path="a.prompty").raw_front_matter["description"] == "Line one: with a colon\nLine two\n"
