"""Fixes: non-overlapping application, the fix loop, atomic writes that keep BOM and EOLs."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.diagnostics import Diagnostic, Edit, Fix, Severity
from promptkit.lint.config import LintConfig
from promptkit.lint.fixes import (
    MAX_PASSES,
    apply_fixes,
    fix_template,
    unified_diff,
    write_text_atomic,
)
from promptkit.lint.rule import Finding, LintContext, Rule
from promptkit.template import load, loads


def diag(start: int, end: int, content: str, *, safe: bool = True, code: str = "PK009") -> Diagnostic:
    return Diagnostic("x", "m", Severity.WARNING, code, "unused-noqa", None, "", Fix([Edit(start, end, content)], safe))


def test_non_overlapping_fixes_apply_earliest_first() -> None:
    text = "abcdefghij"
    new, applied = apply_fixes(text, [diag(2, 5, "X"), diag(4, 6, "Y"), diag(8, 9, "Z")])
    assert new == "abXfghZj"
    assert len(applied) == 2


def test_two_insertions_at_one_point_conflict() -> None:
    new, applied = apply_fixes("ab", [diag(1, 1, "X"), diag(1, 1, "Y")])
    assert new == "aXb" and len(applied) == 1


def test_unsafe_fixes_need_opt_in_and_config_can_forbid() -> None:
    d = diag(0, 1, "Z", safe=False)
    assert apply_fixes("abc", [d])[0] == "abc"
    assert apply_fixes("abc", [d], unsafe=True)[0] == "Zbc"
    cfg = LintConfig(unfixable=["PK009"]).resolve()
    assert apply_fixes("abc", [diag(0, 1, "Z")], config=cfg)[0] == "abc"


def test_out_of_range_fix_is_skipped_not_half_applied() -> None:
    bad = Diagnostic("x", "m", code="PK009", fix=Fix([Edit(0, 1, "A"), Edit(5, 99, "B")]))
    assert apply_fixes("abc", [bad]) == ("abc", [])


def test_inserted_newlines_follow_a_crlf_file() -> None:
    text = "line one\r\nline two\r\n"
    new, _ = apply_fixes(text, [diag(10, 10, "inserted\n")])
    assert new == "line one\r\ninserted\r\nline two\r\n"
    # a fix that rewrites the line endings themselves is kept as written
    new, _ = apply_fixes(text, [diag(8, 10, "\n")])
    assert new == "line one\nline two\r\n"


class AlwaysAppends(Rule):
    """Test rule whose fix never converges."""

    code = "PK993"
    name = "test-always-appends"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        n = len(ctx.text)
        yield Finding(ctx.span(0, 0), "more", fix=ctx.edit(n, n, "x"))


class StripTrailing(Rule):
    """Test rule: trailing blanks, with a safe fix."""

    code = "PK994"
    name = "test-strip-trailing"

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        idx = ctx.template.index
        for i in range(1, idx.line_count + 1):
            line = idx.line_text(i)
            stripped = line.rstrip(" \t")
            if stripped != line:
                s = idx.line_start(i) + len(stripped)
                yield Finding(ctx.span(s, idx.line_end(i)), "trailing", fix=ctx.edit(s, idx.line_end(i), ""))


def test_fix_loop_is_bounded() -> None:
    t = loads("---\nname: x\n---\nhi\n", path="a.prompty")
    result = fix_template(t, LintConfig(), rules=[AlwaysAppends])
    assert result.passes == MAX_PASSES
    assert result.text.endswith("x" * MAX_PASSES)


def test_fix_template_reports_what_it_fixed_and_what_is_left() -> None:
    t = loads("---\nname: x\n---\nsystem:  \nhello \t\n", path="a.prompty")
    result = fix_template(t, LintConfig(), rules=[StripTrailing])
    assert result.text == "---\nname: x\n---\nsystem:\nhello\n"
    assert result.fixed["PK994"] == 2 and result.diagnostics == []
    assert "-hello" in result.diff() and "+hello" in result.diff()
    assert unified_diff("a", "same", "same") == ""


def test_atomic_write_keeps_bom_encoding_and_mode(tmp_path: Path) -> None:
    for bom, enc in [(b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"", "utf-8")]:
        p = tmp_path / f"f-{enc}-{len(bom)}.prompty"
        p.write_bytes(bom + "---\nname: ü\n---\r\nhi\r\n".encode(enc))
        os.chmod(p, 0o640)
        t = load(p)
        assert t.had_bom == bool(bom)
        write_text_atomic(p, t.text.replace("hi", "hello"))
        data = p.read_bytes()
        assert data.startswith(bom)
        assert data[len(bom):].decode(enc) == "---\nname: ü\n---\r\nhello\r\n"
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o640
    assert not [x for x in tmp_path.iterdir() if x.name.endswith(".tmp")]  # no temp files left


_pieces = st.sampled_from([
    "Hello there.", "trailing   ", "\ttabbed line", "", "", "   ", "{{ name }}", "# Heading", "- item",
    "* other item", "I hope this helps", "Ask in order to learn.", "the the end", "{# noqa: PK701 #}",
    "Text with a non\u200bbreaking space", "“curly” quotes", "```", "<task>", "</task>",
])
_eol = st.sampled_from(["\n", "\r\n"])


@st.composite
def prompt_texts(draw: st.DrawFn) -> str:
    eol = draw(_eol)
    lines = draw(st.lists(_pieces, min_size=1, max_size=12))
    head = ["---", "name: gen", "version: 1.0.0", "inputs:", "  name: {type: string, sample: Ada}", "---", "system:"]
    end = draw(st.sampled_from(["", eol, eol + eol]))
    return eol.join(head + lines) + end


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_texts(), st.booleans())
def test_fixing_is_idempotent_and_keeps_the_template_loadable(text: str, unsafe: bool) -> None:
    cfg = LintConfig(select=["ALL"]).resolve()
    t = loads(text, path="gen.prompty")
    first = fix_template(t, cfg, unsafe=unsafe)
    again = fix_template(loads(first.text, path="gen.prompty"), cfg, unsafe=unsafe)
    assert again.text == first.text, "a second --fix run changed the file again"
    before = {d.code for d in t.diagnostics if d.severity is Severity.ERROR}
    after = {d.code for d in loads(first.text, path="gen.prompty").diagnostics if d.severity is Severity.ERROR}
    assert after <= before, f"fixing broke loading: {after - before}"
