"""The edit service keeps every byte outside the edited span, on real files.

Properties, checked on every template of ``../shared/corpora`` (the files the loader
takes: Prompty, dotprompt, Markdown/Copilot/Cursor/skills, Jinja, text) and ``templates/``:

1. A random component edit (replace its content, insert one before/after it or at the
   end of a message, remove it) applies, the result re-loads with the edit where it was
   made, and the text outside the edited span is identical (a removal takes only the
   component and whitespace next to it).
2. A random front-matter field edit (set an existing leaf to a value of another type,
   add a key under an existing mapping, remove a leaf) applies, reads back as asked, the
   rest of the data is unchanged, and the bytes outside the value's node are identical.
3. The :func:`unified_diff` of every edit applies with ``git apply`` in a temporary git
   repository (one repository and one ``git apply`` per batch of files, for speed) and
   gives exactly the edited bytes.

Every file gets one of each edit (fixed seed, per file); a fixed-seed sample gets many
more through Hypothesis, with the file also turned into CRLF with a BOM.
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.template import (
    Edit,
    EditError,
    EditResult,
    apply_edits,
    bump_version,
    dumps,
    insert_component,
    load,
    loads,
    remove_component,
    remove_field,
    replace_component,
    set_field,
    unified_diff,
)
from promptkit.template.model import PromptTemplate

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO / ".." / "shared" / "corpora"
_SKIP_NAMES = {"MANIFEST.jsonl", "README.md"}
_SKIP_SUFFIXES = {".csv", ".jsonl"}


def _corpus_files() -> list[Path]:
    out = sorted((REPO / "templates").rglob("*.prompty"))
    if CORPORA.is_dir():
        out += sorted(p for p in CORPORA.rglob("*") if p.is_file() and "LICENSES" not in p.parts
                      and p.name not in _SKIP_NAMES and p.suffix not in _SKIP_SUFFIXES)
    return out


FILES = _corpus_files()
CHUNK = 150
CHUNKS = [FILES[i : i + CHUNK] for i in range(0, len(FILES), CHUNK)]
SAMPLE = random.Random(9).sample(FILES, min(80, len(FILES)))
needs_corpora = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"corpora not found at {CORPORA} (../shared/corpora)")
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

# --------------------------------------------------------------------------- helpers


def _prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def _suffix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[-1 - i] == b[-1 - i]:
        i += 1
    return i


def assert_replaced(old: str, new: str, start: int, end: int) -> None:
    """``new`` is ``old`` with only ``old[start:end]`` replaced."""
    assert new.startswith(old[:start]), "bytes before the edited span changed"
    assert new.endswith(old[end:]), "bytes after the edited span changed"
    assert len(new) >= start + len(old) - end


def assert_inserted(old: str, new: str, lo: int, hi: int) -> None:
    """``new`` is ``old`` with text inserted at one point, somewhere in ``[lo, hi]``."""
    p, s = _prefix(old, new), _suffix(old, new)
    assert p + s >= len(old), "the edit changed existing bytes, not only inserted"
    assert lo <= max(p, len(old) - s) and min(p, len(old) - s) <= hi, "inserted outside the expected place"


def _leaves(node: yaml.Node, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], yaml.Node, yaml.Node | None]]:
    """(key path, node, key node) of every scalar leaf and every mapping."""
    if isinstance(node, yaml.MappingNode):
        yield path, node, None
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge" and v.start_mark.index >= k.end_mark.index:
                for p, n, kn in _leaves(v, (*path, k.value)):
                    yield p, n, (k if p == (*path, k.value) else kn)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _leaves(item, (*path, i))
    elif isinstance(node, yaml.ScalarNode):
        yield path, node, None


def _strict(t: PromptTemplate) -> yaml.Node | None | bool:
    """The composed front matter, None when empty, False when not strict YAML."""
    try:
        return yaml.compose(t.front_matter_text or "", Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return False


def _unique_keys(node: yaml.Node) -> bool:
    """No duplicate keys anywhere (YAML keeps the last; a test would compare the wrong one)."""
    if isinstance(node, yaml.MappingNode):
        keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
        return len(keys) == len(set(keys)) and all(_unique_keys(v) for _, v in node.value)
    if isinstance(node, yaml.SequenceNode):
        return all(_unique_keys(v) for v in node.value)
    return True


def _set_in(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = dict(data) if isinstance(data, dict) else list(data)
    out[path[0]] = _set_in(out[path[0]], path[1:], value)  # type: ignore[index]
    return out


def _del_in(data: Any, path: tuple[Any, ...]) -> Any:
    out = dict(data) if isinstance(data, dict) else list(data)
    if len(path) == 1:
        del out[path[0]]  # type: ignore[arg-type]
    else:
        out[path[0]] = _del_in(out[path[0]], path[1:])  # type: ignore[index]
    return out


VALUES: list[Any] = [42, 0.5, True, False, "plain words", "needs: quoting # here", "multi\nline\ntext\n",
                     "two lines, no final newline\nsecond", ["a", "b"], {"k": "v", "n": 1}, "", "'single'",
                     "ünïcode ✓", "- dash", "@at", "123", "yes", "null", [], {}]
TITLES = ["Constraints", "Output Format", "Notes", "examples"]
CONTENTS = ["Keep it short.", "- one\n- two", "Line one.\nLine two."]


# --------------------------------------------------------------------------- the properties


def component_edit(t: PromptTemplate, rnd: random.Random) -> EditResult | None:
    """One random component edit on ``t``, checked. None when there is nothing to edit
    or the insertion point cannot hold a component (an EditError, counted by callers)."""
    comps = t.components()
    text = t.text
    ops = ["replace", "insert_after", "insert_before", "remove"] if comps else ["insert_end"]
    op = rnd.choice(ops)
    if not t.messages:
        return None
    if op == "insert_end" or op.startswith("insert"):
        title, content = rnd.choice(TITLES), rnd.choice(CONTENTS)
        anchor = rnd.choice(comps)[1] if comps else None
        m = rnd.randrange(len(t.messages))
        kw: dict[str, Any] = ({"after": anchor} if op == "insert_after" else {"before": anchor} if op == "insert_before"
                              else {"message": m})
        r = insert_component(t, title, content, **kw)
        lo, hi = ((anchor.span.end.offset, anchor.span.end.offset) if op == "insert_after" else
                  (anchor.span.start.offset, anchor.span.start.offset) if op == "insert_before" else
                  (t.messages[m].content_span.start.offset, t.messages[m].content_span.end.offset))
        assert_inserted(text, r.text, lo, hi)
        assert len(r.template.components()) == len(comps) + 1 + content.count("\n- ") * 0
        return r
    _, c = rnd.choice(comps)
    if op == "replace":
        new = rnd.choice(["Rewritten instructions.", "First line.\nSecond line.", "x"])
        r = replace_component(t, c, new)
        s, e = c.content_span.start.offset, c.content_span.end.offset
        assert_replaced(text, r.text, s, e)
        again = [x for _, x in r.template.components() if x.span.start.offset == c.span.start.offset and x.title == c.title]
        assert again, f"component {c.title!r} not found after replacing its content"
        got = r.text[again[0].content_span.start.offset : again[0].content_span.end.offset]
        assert got.replace("\r\n", "\n").strip() == new.strip()
        return r
    r = remove_component(t, c)
    d = len(text) - len(r.text)
    a = min(_prefix(text, r.text), c.span.start.offset)
    assert r.text == text[:a] + text[a + d :], "a removal changed bytes it did not remove"
    assert "".join(text[a : a + d].split()) == "".join(text[c.span.start.offset : c.span.end.offset].split()), \
        "a removal took more than the component and the whitespace around it"
    assert len(r.template.components()) < len(comps)
    return r


def field_edit(t: PromptTemplate, rnd: random.Random) -> EditResult | None:
    """One random front-matter edit on ``t``, checked; None when the front matter
    cannot be edited field by field (not strict YAML, not a mapping, duplicate keys)."""
    node = _strict(t)
    text = t.text
    if t.front_matter_span is None or node is None:
        key = rnd.choice(["name", "version", "description"])
        value = rnd.choice(["pk-edit", "1.0.0", "two\nlines\n"])
        r = set_field(t, key, value)
        assert_inserted(text, r.text, 0, len(text))
        assert r.template.raw_front_matter.get(key) == value
        return r
    if node is False or not isinstance(node, yaml.MappingNode) or not _unique_keys(node):
        with pytest.raises(EditError):
            set_field(t, "pk_probe", 1)
        return None
    base = t.front_matter_span.start.offset + len(text[t.front_matter_span.start.offset :].split("\n", 1)[0]) + 1
    before = yaml.safe_load(t.front_matter_text or "")
    leaves = [(p, n, k) for p, n, k in _leaves(node) if p and isinstance(n, yaml.ScalarNode)]
    maps = [(p, n) for p, n, _ in _leaves(node) if isinstance(n, yaml.MappingNode)]
    op = rnd.choice(["set", "set", "add", "remove"] if leaves else ["add"])
    if op == "set":
        path, n, _ = rnd.choice(leaves)
        value = rnd.choice(VALUES)
        r = set_field(t, path, value)
        s, e = base + n.start_mark.index, base + n.end_mark.index
        if s == e:  # an empty value `key:` gets a space before the new one
            s -= 1
        assert_replaced(text, r.text, s, e)
        assert yaml.safe_load(r.template.front_matter_text or "") == _set_in(before, path, value)
        return r
    if op == "add":
        path, m = rnd.choice(maps)
        taken = {k.value for k, _ in m.value if isinstance(k, yaml.ScalarNode)}
        key = next(k for k in (f"pk_probe_{rnd.randrange(10**6)}" for _ in iter(int, 1)) if k not in taken)
        value = rnd.choice(VALUES)
        r = set_field(t, (*path, key, "deep") if rnd.random() < 0.2 else (*path, key), value)
        assert_inserted(text, r.text, base, base + len(t.front_matter_text or ""))
        return r
    path, n, _ = rnd.choice(leaves)
    r = remove_field(t, path)
    after = yaml.safe_load(r.template.front_matter_text or "")
    expected = _del_in(before, path)
    parent = path[:-1]
    if parent and not _get(expected, parent):  # the only entry went: its parent is left empty
        expected = _set_in(expected, parent, [] if isinstance(_get(before, parent), list) else {})
    assert (after if after is not None else {}) == expected
    p, s = _prefix(text, r.text), _suffix(text, r.text)
    assert p + s >= len(r.text) or parent, "a removal changed bytes it did not remove"
    return r


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        data = data[k]
    return data


def git_apply_all(tmp: Path, cases: list[tuple[bytes, bytes, str]]) -> None:
    """Write every original into one git repo, apply every patch with one ``git apply``
    and compare the files to the expected bytes."""
    repo = tmp / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    patches = []
    for i, (old, new, patch) in enumerate(cases):
        (repo / f"f{i}.txt").write_bytes(old)
        patches.append(patch)
    (tmp / "all.patch").write_bytes("".join(patches).encode("utf-8"))
    done = subprocess.run(["git", "-c", "core.autocrlf=false", "apply", "--whitespace=nowarn", str(tmp / "all.patch")],
                          cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    for i, (_, new, _) in enumerate(cases):
        assert (repo / f"f{i}.txt").read_bytes() == new, f"f{i}.txt differs from the edited text after git apply"


def _patch_case(i: int, t: PromptTemplate, r: EditResult) -> tuple[bytes, bytes, str]:
    bom = "\ufeff" if t.had_bom else ""
    old, new = bom + t.text, r.file_text
    return old.encode("utf-8"), new.encode("utf-8"), unified_diff(old, new, f"f{i}.txt")


# --------------------------------------------------------------------------- every file once


@needs_git
@pytest.mark.parametrize("chunk", range(max(1, len(CHUNKS))), ids=lambda i: f"files{i * CHUNK}")
def test_every_corpus_file_takes_a_component_and_a_field_edit(chunk: int, tmp_path: Path) -> None:
    if chunk >= len(CHUNKS):
        pytest.skip("no templates found")
    cases: list[tuple[bytes, bytes, str]] = []
    refused = edited = 0
    for path in CHUNKS[chunk]:
        t = load(path)
        if not t.text or t.diagnostics and any(d.code == "PK001" for d in t.diagnostics):
            continue
        rnd = random.Random(path.name)
        for edit in (component_edit, field_edit):
            try:
                r = edit(t, rnd)
            except EditError:
                refused += 1
                continue
            except AssertionError as exc:
                raise AssertionError(f"{path}: {edit.__name__}: {exc}") from None
            if r is not None:
                edited += 1
                if not t.had_bom or t.text.encode("utf-8"):
                    cases.append(_patch_case(len(cases), t, r))
    assert edited > 0
    assert refused <= max(3, edited // 20), f"{refused} of {edited + refused} edits refused"
    git_apply_all(tmp_path, [c for c in cases if c[2]])


# --------------------------------------------------------------------------- a sample, many edits


def _crlf_bom(text: str) -> str:
    return "\ufeff" + text.replace("\r\n", "\n").replace("\n", "\r\n")


@needs_corpora
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLE or [Path("none")]), st.randoms(use_true_random=False), st.booleans(),
       st.integers(1, 4))
def test_random_edit_sequences_on_a_sample(path: Path, rnd: random.Random, crlf_bom: bool, n: int) -> None:
    t = load(path)
    if crlf_bom:
        t = loads(_crlf_bom(t.text), path=str(path))
        assert t.had_bom
    start = t
    for _ in range(n):
        try:
            r = (component_edit if rnd.random() < 0.5 else field_edit)(t, rnd)
        except EditError:
            continue
        if r is not None:
            assert r.template.had_bom == start.had_bom
            t = r.template
    if crlf_bom and t.text != start.text:
        assert "\n" not in t.text.replace("\r\n", ""), "an edit wrote a lone LF into a CRLF file"
        assert EditResult(t.text, t).file_text.startswith("\ufeff")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.text("xy\n", max_size=4)), max_size=6))
def test_span_edits_apply_right_to_left_or_refuse_overlaps(raw: list[tuple[int, int, str]]) -> None:
    text = "---\nname: a\n---\nsystem:\nHello {{ x }}.\n"
    t = loads(text, path="s.prompty")
    edits = [Edit((min(a, b), max(a, b)), s) for a, b, s in raw]
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    overlap = any(
        a.start < b.end and b.start < a.end or (a.start == a.end == b.start) or (b.start == b.end == a.end == a.start)
        or (a.start == a.end and b.start < a.start < b.end) or (b.start == b.end and a.start < b.start < a.end)
        for i, a in enumerate(ordered) for b in ordered[i + 1 :]
    )
    if overlap or any(e.end > len(text) for e in edits):
        with pytest.raises(EditError):
            apply_edits(t, edits)
        return
    r = apply_edits(t, edits)
    expected, pos = [], 0
    for e in ordered:  # left to right, by hand
        expected.append(text[pos : e.start] + e.text)
        pos = e.end
    assert r.text == "".join(expected) + text[pos:]


# --------------------------------------------------------------------------- front matter details

COMMENTED = """\ufeff---\r
# leading comment\r
name: demo   # the name\r
description: 'Quoted, kept quoted'\r
version: 1.2.3 # semver\r
model:\r
  id: openai/gpt-4o-mini   # cheap\r
  parameters: {temperature: 0.2, max_tokens: 100}  # flow\r
  # a comment between keys\r
inputs:\r
  q:\r
    type: string  # the type\r
    sample: hi\r
tags: [a, b]  # flow list\r
# trailing comment\r
---\r
system:\r
Answer {{ q }}."""


def test_yaml_comments_quoting_flow_style_bom_and_crlf_survive_every_field_edit() -> None:
    t = loads(COMMENTED, path="c.prompty")
    comments = [line[line.index("#"):] for line in COMMENTED.split("\r\n") if "#" in line]
    node = yaml.compose(t.front_matter_text or "", Loader=yaml.SafeLoader)
    paths = [p for p, n, _ in _leaves(node) if p and isinstance(n, yaml.ScalarNode)]
    assert len(paths) >= 10
    for path in paths:
        for value in ("changed", 7, ["x"], "multi\nline\n"):
            r = set_field(t, path, value)
            assert r.file_text.startswith("\ufeff---\r\n# leading comment\r\n")
            assert all(c in r.text for c in comments), f"a comment went missing editing {path}"
            assert "\n" not in r.text.replace("\r\n", ""), f"a lone LF editing {path}"
            assert r.text.endswith("Answer {{ q }}."), "the missing final newline was added"
            assert "'Quoted, kept quoted'" in r.text or path == ("description",)
    r = set_field(t, "description", "new text")
    assert "description: 'new text'\r\n" in r.text  # the quoting style is kept
    r = set_field(t, "model.parameters.top_p", 0.9)
    assert "parameters: {temperature: 0.2, max_tokens: 100, top_p: 0.9}  # flow\r\n" in r.text
    r = set_field(t, "model.parameters.temperature", 1)
    assert "{temperature: 1, max_tokens: 100}" in r.text
    r = set_field(t, "inputs.q.description", "the question")
    assert "    sample: hi\r\n    description: the question\r\n" in r.text
    r = set_field(t, "output.format", "json")
    assert "tags: [a, b]  # flow list\r\noutput:\r\n  format: json\r\n# trailing comment" in r.text
    assert r.template.front_matter.output is not None and r.template.front_matter.output.format == "json"


def test_field_edits_that_cannot_be_made_are_refused_with_a_reason() -> None:
    t = loads("---\nmodel: openai/gpt-4o\nbase: &b {x: 1}\nother: *b\n---\nhi\n", path="a.prompty")
    with pytest.raises(EditError, match="not a mapping"):
        set_field(t, "model.parameters.temperature", 0)
    with pytest.raises(EditError, match="alias"):
        set_field(t, "other.x", 2)
    lenient = loads("---\nglobs: **/*.py\n---\nhi\n", path="a.mdc")
    assert lenient.raw_front_matter  # read leniently ...
    with pytest.raises(EditError, match="not strict YAML"):
        set_field(lenient, "globs", "*.py")  # ... but not edited by guesswork


def test_a_field_added_to_a_file_without_front_matter_creates_it() -> None:
    t = loads("system:\r\nHi\r\n", path="a.prompty")
    r = set_field(t, "model.parameters.temperature", 0)
    assert r.text == "---\r\nmodel:\r\n  parameters:\r\n    temperature: 0\r\n---\r\nsystem:\r\nHi\r\n"
    assert r.template.front_matter.model is not None and r.template.front_matter.model.params == {"temperature": 0}
    empty = loads("---\n---\nbody", path="a.prompty")
    assert set_field(empty, "name", "x").text == "---\nname: x\n---\nbody"


@pytest.mark.parametrize(("version", "part", "expected"), [
    ("1.4.2", "patch", "1.4.3"), ("1.4.2", "minor", "1.5.0"), ("1.4.2", "major", "2.0.0"),
    ("2.0.0-rc.1", "patch", "2.0.0"), ("2.0.0-rc.1", "minor", "2.0.0"), ("2.0.0-rc.1", "major", "2.0.0"),
    ("1.2.3-beta", "minor", "1.3.0"), ("1.2.0-beta", "minor", "1.2.0"), ("1.2.3+build.5", "patch", "1.2.4"),
    (None, "patch", "0.0.1"), (None, "minor", "0.1.0"), (None, "major", "1.0.0"),
])
def test_bump_version_follows_semver(version: str | None, part: Any, expected: str) -> None:
    head = f"version: '{version}'  # keep me\n" if version else ""
    t = loads(f"---\nname: x\n{head}---\nbody\n", path="v.prompty")
    r = bump_version(t, part)
    assert r.template.version == expected
    if version:
        assert f"version: '{expected}'  # keep me\n" in r.text
    else:
        assert r.text == f"---\nname: x\nversion: {expected}\n---\nbody\n"


def test_bump_version_refuses_what_is_not_semver_and_finds_prompty_v2_metadata() -> None:
    with pytest.raises(EditError, match="not semantic versioning"):
        bump_version(loads("---\nversion: 1.0\n---\nx", path="v.md"))
    t = loads("---\nmetadata:\n  version: 0.9.9\n---\nx", path="v.prompty")
    assert bump_version(t, "patch").text == "---\nmetadata:\n  version: 0.9.10\n---\nx"


# --------------------------------------------------------------------------- bodies, components, diffs


def test_with_body_and_dumps_keep_bom_comments_and_layout() -> None:
    t = loads(COMMENTED, path="c.prompty")
    swapped = t.with_body("user:\r\nnew\r\n")
    assert swapped.had_bom and swapped.front_matter_text == t.front_matter_text
    assert swapped.text == t.text[: t.body_offset] + "user:\r\nnew\r\n"
    data = dict(t.raw_front_matter, name="renamed", extra={"a": 1})
    del data["tags"]
    text = dumps(t, front_matter=data)
    assert "name: renamed   # the name\r\n" in text and "# trailing comment" in text and "tags:" not in text
    assert loads(text, path="c.prompty").raw_front_matter == data


def test_inserted_components_follow_the_files_style() -> None:
    tags = loads("system:\n<role>\nYou help.\n</role>\n\n<task>\nDo it.\n</task>\n", path="t.prompty")
    r = insert_component(tags, "Output Format", "JSON only.", after="task")
    assert r.text.endswith("</task>\n\n<output_format>\nJSON only.\n</output_format>\n")
    heads = loads("### Role\nYou help.\n\n### Task\nDo it.", path="h.md")
    r = insert_component(heads, "Constraints", "Be brief.")
    assert r.text == "### Role\nYou help.\n\n### Task\nDo it.\n\n### Constraints\nBe brief."
    r = insert_component(heads, "Context", "Facts.", before="task")
    assert r.text == "### Role\nYou help.\n\n### Context\nFacts.\n\n### Task\nDo it."
    with pytest.raises(EditError, match="2 components match|no component"):
        replace_component(loads("## A\nx\n## A\ny\n", path="a.md"), "a", "z")


@needs_git
def test_diffs_apply_with_git_for_crlf_bom_no_final_newline_and_odd_separators(tmp_path: Path) -> None:
    cases = []
    texts = [
        ("a\nb\nc", "a\nB\nc"),  # no final newline on both sides
        ("a\nb\n", "a\nb"),  # the final newline removed
        ("a\nb", "a\nb\n"),  # and added
        ("\ufeffx\r\ny\r\n", "\ufeffx\r\nY\r\n"),  # BOM and CRLF kept as bytes
        ("one\u2028two\x0cthree\rfour\n", "one\u2028two\x0cTHREE\rfour\n"),  # not line breaks to git
        ("", "new\n"),
        ("gone\n", ""),
    ]
    for i, (old, new) in enumerate(texts):
        cases.append((old.encode(), new.encode(), unified_diff(old, new, f"f{i}.txt")))
    git_apply_all(tmp_path, cases)
    assert unified_diff("same", "same", "x") == ""
    patch = unified_diff("a", "b", 'dir/we"ird\tname.prompty')
    assert patch.startswith('--- "a/dir/we\\"ird\\tname.prompty"\n+++ "b/dir/we\\"ird\\tname.prompty"\n')
