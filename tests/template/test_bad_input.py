"""A new user's bad input to the template layer: files that are not files, templates that
would never finish rendering, duplicate YAML keys, ``${file:}`` references that leave the
project. Each ends in one diagnostic that says where and how to fix it, never a hang or a
traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from promptkit.diagnostics import RenderError, Severity
from promptkit.template import load, render
from promptkit.template.references import ReferenceError_, project_root, resolve

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "template"
LIMITS = FIXTURES / "limits"
REFS = FIXTURES / "refs"

# --------------------------------------------------------------------------- render limits

#: fixture -> (code, what the message says, line of the file it points at or None)
_LIMITED = {
    "nested_ranges": ("PK024", "loops over range() ran more than 1,000,000 times", 7),
    "string_times": ("PK024", "'*' would be 10,000,000,000 characters or items, over the limit of 10,485,760", 7),
    "list_times": ("PK024", "'*' would be 1,000,000,000 characters or items", 7),
    "center_filter": ("PK024", "center(1,000,000,000) would be 1,000,000,000 characters", 7),
    "center_method": ("PK024", "center(1,000,000,000) would be 1,000,000,000 characters", 7),
    "percent_format": ("PK024", "the %-format result would be 1,000,000,012 characters", 7),
    "str_format": ("PK024", "the format field would be 1,000,000,000 characters", 7),
    "replace_growth": ("PK024", "replace() would be 40,000,000 characters", 7),
    "indent_filter": ("PK024", "indent() would be 2,000,000,003 characters", 8),
    "tilde_growth": ("PK024", "a '~' result would be 50,000,000 characters", 7),
    "plus_growth": ("PK024", "'+' would be 20,000,000 characters", 7),
    "join_growth": ("PK024", "join() would be 20,000,004 characters", 7),
    "huge_output": ("PK024", "the rendered prompt passed 10,485,760 characters", None),
    "endless_macro": ("PK024", "render recursed too deeply", 7),
    "deep_blocks": ("PK100", "nests blocks or expressions too deeply", 5),
    "deep_expression": ("PK100", "nests blocks or expressions too deeply", 5),
}


@pytest.fixture
def no_clock() -> None:
    """These tests are about steps and sizes: a loaded CI machine's clock must not trip
    the 2 s time budget first (tests/conftest.py restores the defaults)."""
    from promptkit.template.sandbox import configure

    configure(timeout=60)


@pytest.mark.parametrize("name", sorted(_LIMITED))
def test_runaway_templates_stop_with_a_clear_error(name: str, no_clock: None) -> None:
    code, message, line = _LIMITED[name]
    with pytest.raises(RenderError) as info:
        render(load(LIMITS / f"{name}.prompty"))
    d = info.value.diagnostic
    assert (d.code, d.severity) == (code, Severity.ERROR)
    assert message in d.message
    assert d.hint
    if line is not None:
        assert d.span is not None and d.span.start.line == line, d.format()


def test_the_guards_leave_normal_sizes_alone() -> None:
    (msg,) = render(load(LIMITS / "within_limits.prompty"))
    assert msg.content == "You summarize.\n  ab  |    x|c b|  x|a-  b|ababab|1024|a3|x-y|q\n  r"


def test_the_range_budget_is_per_render(no_clock: None) -> None:
    """Each render gets the whole budget: a template that loops 600,000 times renders
    again and again (the runner renders one template thousands of times)."""
    from promptkit.template import loads

    t = loads("---\nname: t\n---\n{% for i in range(100000) %}{% endfor %}" * 6 + "done", path="t.prompty")
    for _ in range(3):
        assert render(t)[0].content.endswith("done")


def test_deep_nesting_is_a_lint_finding_not_a_crash() -> None:
    from promptkit.lint.config import LintConfig
    from promptkit.lint.engine import lint_file

    _, diags = lint_file(LIMITS / "deep_blocks.prompty", LintConfig())
    codes = {d.code for d in diags}
    assert "PK100" in codes and "PK000" not in codes, [d.format() for d in diags]


# --------------------------------------------------------------------------- files that are not files


def _special(tmp_path: Path, kind: str) -> Path:
    p = tmp_path / "x.prompty"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "directory":
        p.mkdir()
    elif kind == "symlink loop":
        (tmp_path / "y.prompty").symlink_to(p)
        p.symlink_to(tmp_path / "y.prompty")
    return p


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and symlinks are POSIX")
@pytest.mark.parametrize(
    ("kind", "message", "hint"),
    [
        ("fifo", "not a regular file (a FIFO, socket or device)", "pass a prompt file"),
        ("directory", "a directory", "pass a prompt file"),
        ("symlink loop", "Too many levels of symbolic links", "points (through other links) back to itself"),
        ("missing", "No such file or directory", "check the path"),
    ],
)
def test_paths_that_are_not_prompt_files_are_pk001(tmp_path: Path, kind: str, message: str, hint: str) -> None:
    t = load(_special(tmp_path, kind))  # a FIFO must not block here
    (d,) = t.diagnostics
    assert d.code == "PK001" and message in d.message and hint in (d.hint or "")


# --------------------------------------------------------------------------- YAML


def test_duplicate_keys_are_a_warning_at_the_second_key() -> None:
    t = load(FIXTURES / "bad_input" / "duplicate_keys.prompty")
    dups = sorted((d.span.start.line, d.message) for d in t.diagnostics if d.code == "PK003")
    assert dups == [
        (7, "duplicate key 'model.parameters.temperature' in front matter (first on line 6); "
            "YAML keeps only this last value"),
        (8, "duplicate key 'name' in front matter (first on line 2); YAML keeps only this last value"),
    ]
    assert all(d.severity is Severity.WARNING for d in t.diagnostics)
    assert t.front_matter.name == "other"  # the file still loads, as YAML reads it


def test_union_type_tags_stay_out_of_field_names() -> None:
    t = load(FIXTURES / "bad_input" / "sample_list.prompty")
    (d,) = [d for d in t.diagnostics if d.code == "PK006"]
    assert d.message == "front matter field 'sample': Input should be a valid dictionary"
    assert d.span is not None and d.span.start.line == 6


# --------------------------------------------------------------------------- ${file:} references


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("${file:ok.json}", None),
        ("${file:../outside.txt}", "points outside the project"),
        ("${file:/etc/passwd}", "is an absolute path"),
        ("${file:~/.netrc}", "is an absolute path"),
        ("${file:image.json}", "binary file"),
        ("${file:}", "empty reference ${file:}"),
        ("${env:}", "empty reference ${env:}"),
        ("${file:nothing.json}", "No such file or directory"),
    ],
)
def test_file_references_stay_inside_the_project(ref: str, message: str | None) -> None:
    base = REFS / "prompts"
    if message is None:
        assert resolve(ref, base, {}, root=base) == {"question": "fine"}
        return
    with pytest.raises(ReferenceError_) as info:
        resolve(ref, base, {}, root=base)
    assert message in str(info.value)


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_a_symlink_out_of_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "link.txt").symlink_to(REFS / "outside.txt")
    assert project_root(tmp_path / "prompts") == tmp_path.resolve()
    with pytest.raises(ReferenceError_, match="points outside the project"):
        resolve("${file:link.txt}", tmp_path / "prompts", {})
    (tmp_path / "prompts" / "in.txt").write_text("inside")
    assert resolve("${file:../prompts/in.txt}", tmp_path / "prompts", {}) == "inside"


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ("banana", "input 'q' has unknown type 'banana'"),
        ("strng", "input 'q' has unknown type 'strng' (did you mean 'string'?)"),
        ("Integer", None),
        ("thread", None),
    ],
)
def test_unknown_input_types_are_a_warning_at_the_type(declared: str, message: str | None) -> None:
    from promptkit.template import loads

    t = loads(f"---\nname: t\ninputs:\n  q:\n    type: {declared}\n---\n{{{{ q }}}}\n", path="t.prompty")
    found = [d for d in t.diagnostics if d.code == "PK006"]
    if message is None:
        assert found == []
        return
    (d,) = found
    assert d.message == message and d.severity is Severity.WARNING
    assert d.span is not None and (d.span.start.line, d.span.start.column) == (5, 11)


# --------------------------------------------------------------------------- error columns


@pytest.mark.parametrize(
    ("line", "code", "column"),
    [
        ("Hi {{ name }} {{ missing_var }}", "PK022", 18),  # the undefined name, not column 1
        ("Hi {% frobnicate %}", "PK100", 7),  # the unknown tag
        ("Hi {% if x %} open", "PK100", 4),  # the {% if %} never closed
        ("Hi {{ name.__class__ }}", "PK023", 12),  # the attribute the sandbox blocks
        ("Hi {{ name }} {{ user.address.city }}", "PK022", 31),  # the missing attribute, after its dot
    ],
)
def test_jinja_errors_point_at_the_column_of_what_they_name(line: str, code: str, column: int) -> None:
    from promptkit.template import loads

    # the file declares its inputs: a variable outside them is a typo, hence an error
    t = loads(f"---\nname: t\ninputs: {{name: {{type: string}}, user: {{type: object}}}}\n---\nsystem:\n{line}\n", path="t.prompty")
    with pytest.raises(RenderError) as info:
        render(t, {"name": "Ada", "user": {"address": {}}})
    d = info.value.diagnostic
    assert d.code == code, d.format()
    assert d.span is not None and (d.span.start.line, d.span.start.column) == (6, column), d.format()


# --------------------------------------------------------------------------- YAML alias bombs


def test_an_alias_bomb_in_front_matter_is_pk002_not_a_hang() -> None:
    t = load(FIXTURES / "bad_input" / "alias_bomb.prompty")  # 9**9 values if expanded
    (d,) = [d for d in t.diagnostics if d.severity is Severity.ERROR]
    assert d.code == "PK002" and "expands to over 100,000 values through aliases" in d.message
    assert t.raw_front_matter == {}


def test_an_alias_bomb_in_a_referenced_yaml_file_is_refused() -> None:
    from promptkit.template.references import ReferenceError_, resolve

    with pytest.raises(ReferenceError_, match="expands to over 100,000 values"):
        resolve("${file:alias_bomb.yaml}", FIXTURES / "bad_input", {}, root=FIXTURES)


def test_ordinary_aliases_and_merge_keys_still_load() -> None:
    from promptkit.template import loads

    t = loads("---\nname: t\nbase: &p {temperature: 0.2}\nmodel:\n  id: openai/gpt-4o-mini\n"
              "  parameters:\n    <<: *p\n    max_tokens: 50\n---\nhi\n", path="t.prompty")
    assert [d for d in t.diagnostics if d.severity is Severity.ERROR] == []
    assert t.front_matter.model is not None
    assert t.front_matter.model.params == {"temperature": 0.2, "max_tokens": 50}


@pytest.mark.parametrize("depth", [600, 50_000])  # 50,000: libyaml itself would crash the process
def test_front_matter_nested_too_deeply_is_pk002(depth: int) -> None:
    from promptkit.template import loads

    t = loads(f"---\nname: t\nx: {'[' * depth}{']' * depth}\n---\nhi\n", path="t.prompty")
    (d,) = [d for d in t.diagnostics if d.severity is Severity.ERROR]
    assert d.code == "PK002" and "nests lists or mappings too deeply" in d.message


def test_nesting_within_the_limit_still_loads() -> None:
    from promptkit.template import loads

    t = loads(f"---\nname: t\nx: {'[' * 100}1{']' * 100}\n---\nhi\n", path="t.prompty")
    assert [d for d in t.diagnostics if d.severity is Severity.ERROR] == []


def test_a_nul_byte_anywhere_makes_a_binary_file() -> None:
    """Not only in the first 8 KiB: a NUL past it was rendered into the prompt."""
    from promptkit.template import loads

    t = loads(b"---\nname: x\n---\nsystem:\n" + b"a" * 9000 + b"\x00b\n", path="x.prompty")
    (d,) = t.diagnostics
    assert d.code == "PK001" and d.message.startswith("binary file (contains NUL bytes)")
