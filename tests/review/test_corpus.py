"""The semantic diff on real prompts (../shared/corpora): it never crashes, a file equals
itself, whitespace is whitespace, and an edit is found where it was made."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promptkit.review.semantic import diff_templates
from promptkit.review.versioning import check_diff
from promptkit.template.loader import loads

CORPORA = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora"
FOLDERS = ("prompty", "promptflow-jinja", "dotprompt", "awesome-cursorrules", "fabric-patterns")
pytestmark = pytest.mark.skipif(not (CORPORA / "prompty").is_dir(),
                                reason=f"the real-prompt corpora are not here ({CORPORA.resolve()})")


def _files() -> list[Path]:
    out: list[Path] = []
    for folder in FOLDERS:
        files = sorted(p for p in (CORPORA / folder).glob("*") if p.is_file() and p.suffix not in (".jsonl",))
        out += files[::2] if folder in ("awesome-cursorrules", "fabric-patterns") else files
    return out


def _reflow(body: str) -> str:
    """Trailing spaces on every prose line and a doubled blank line: whitespace only."""
    lines = body.split("\n")
    # not role lines ("user:") nor bare "#" lines, whose trailing space would change the
    # structure itself (an empty heading), not only the whitespace
    return "\n".join(line + "  " if line.strip("# \t") and not line.rstrip().endswith(":") else line for line in lines)


def test_diff_on_the_corpora() -> None:
    files = _files()
    assert len(files) > 400
    edited = whitespace = 0
    for f in files:
        data = f.read_bytes()
        name = f.name if not f.name.endswith(".md") or f.name.endswith((".prompt.md", ".agent.md")) else f.name
        a = loads(data, path=name)
        same = diff_templates(a, loads(data, path=name), path=name, tokens=False)
        assert not same.content_changed and not same.components and not same.inputs and not same.schema, f
        assert check_diff(same).ok, f
        body = a.text[a.body_offset:]
        if not body.strip():
            continue
        ws = loads(a.text[:a.body_offset] + _reflow(body), path=name)
        d = diff_templates(a, ws, path=name, tokens=False)
        assert not d.content_changed, f
        assert d.whitespace_only or body == _reflow(body), f
        assert {c.kind for c in d.components} <= {"whitespace", "moved"}, (f, [c.summary() for c in d.components])
        whitespace += d.whitespace_only
        marker = "Zebra-quartz sentinel sentence."
        last = body.rstrip().rsplit("\n", 1)
        new_body = (last[0] + "\n" if len(last) == 2 else "") + last[-1] + " " + marker + body[len(body.rstrip()):]
        e = diff_templates(a, loads(a.text[:a.body_offset] + new_body, path=name), path=name, tokens=False)
        assert e.content_changed, f
        shown = [w for c in e.components for op, w in c.words if op == "+"]
        assert any("Zebra-quartz" in w for w in shown), (f, [c.summary() for c in e.components])
        v = check_diff(e)
        if a.version:
            assert not v.ok and v.findings[0].code == "PR001", f
        edited += 1
    assert edited > 400 and whitespace > 400
