"""Safe fixes are idempotent and never change what a template renders beyond whitespace.

Two properties, checked on generated files (Hypothesis) and on the corpora's Jinja
templates (all Prompty and promptflow files, every 10th PromptSource template):

1. *Idempotent*: fixing a fixed file changes nothing, and no safe fix is left on offer.
2. *Rendering-preserving*: the body rendered before and after the fixes (with a permissive
   undefined, so any template renders) is equal once whitespace is normalized; the front
   matter parses to the same data (strings whitespace-normalized: trailing spaces inside
   a YAML block scalar are part of its value) and the message roles are the same. Invisible format
   characters (zero-width space, word joiner...) count as whitespace here: removing them
   is what PK313's safe fix is for.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.lint.config import LintConfig
from promptkit.lint.fixes import fix_template
from promptkit.lint.rule import REGISTRY
from promptkit.template import load, loads
from promptkit.template.model import PromptTemplate

from ._rules_helpers import CORPORA

SAFE_RULES = [r for r in REGISTRY if r.fixable == "safe" and r.code[:3] in ("PK1", "PK2", "PK3", "PK4", "PK5", "PK6")]
_INVISIBLE = re.compile("[\u200b\u2060\u2061\u2062\u2063\u2064\u00ad\ufeff\u180e\u115f\u1160\u3164\uffa0]")


@lru_cache(maxsize=1)
def _env():  # type: ignore[no-untyped-def]
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, keep_trailing_newline=True)
    env.filters.setdefault("choice", lambda v: v)  # promptsource's own filter
    return env


def rendered(t: PromptTemplate) -> str | None:
    """The body rendered permissively, whitespace-normalized; None if it cannot render."""
    if not t.engine.renders:
        return _norm(t.body)
    try:
        out = _env().from_string(t.body).render({})
    except Exception:  # noqa: BLE001 - templates that fail before fixing are not compared
        return None
    return _norm(out)


def _norm(s: str) -> str:
    return "".join(_INVISIBLE.sub(" ", s).split())


def _norm_data(data: object) -> object:
    """Front-matter data with every string whitespace-normalized (trailing spaces inside
    a YAML block scalar are part of its value)."""
    if isinstance(data, str):
        return _norm(data)
    if isinstance(data, dict):
        return {k: _norm_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_norm_data(v) for v in data]
    return data


def check_fix_properties(t: PromptTemplate, rules: list | None = SAFE_RULES) -> None:  # type: ignore[type-arg]
    """Check both properties for ``t``; ``rules=None`` means every default-enabled rule
    (built-in and rule packs), as ``promptkit lint --fix`` runs them."""
    config = LintConfig()
    first = fix_template(t, config, rules=rules)
    t2 = loads(first.text, path=t.path, kind=t.kind)
    second = fix_template(t2, config, rules=rules)
    assert second.text == first.text, "fixing a fixed file changed it again"
    assert not [d for d in second.diagnostics if d.fix is not None and d.fix.safe], "safe fixes left after fixing"
    assert _norm_data(t2.raw_front_matter) == _norm_data(t.raw_front_matter)
    assert [m.role for m in t2.messages] == [m.role for m in t.messages]
    before = rendered(t)
    if before is not None:
        assert rendered(t2) == before


# --------------------------------------------------------------------------- generated files

_WORDS = st.sampled_from(["Answer", "the", "question", "{{ q }}", "{{ ctx | upper }}", "-", "#", "“x”", "`code`", "(a)", "é"])
_SPACE = st.sampled_from(["", " ", "  ", "\t", " \t"])
_INVIS = st.sampled_from(["", "", "", "\u200b", "\u2060", "\u00ad"])


@st.composite
def prompt_files(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["text", "text", "blank", "role", "heading", "list", "fence"]))
        if kind == "blank":
            lines.extend([draw(_SPACE)] * draw(st.integers(1, 5)))
        elif kind == "role":
            lines.append(draw(st.sampled_from(["system:", "user:", "assistant:"])))
        elif kind == "heading":
            lines.append(draw(st.sampled_from(["#", "##", "###"])) + draw(st.sampled_from([" Task", "Output Format", " Rules"])))
        elif kind == "fence":
            lines.extend(["```", draw(_SPACE) + "x = 1" + draw(_SPACE), "```"])
        else:
            indent = draw(st.sampled_from(["", "", "\t", "  ", "\t "]))
            marker = "- " if kind == "list" else ""
            words = draw(st.lists(_WORDS, min_size=1, max_size=6))
            lines.append(indent + marker + " ".join(words) + draw(_INVIS) + draw(_SPACE))
    eol = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    out = []
    for i, line in enumerate(lines):
        nl = eol if eol != "mixed" else ("\r\n" if i % 3 == 0 else "\n")
        out.append(line + nl)
    body = "".join(out)
    if draw(st.booleans()) and body:
        body = body.rstrip("\r\n")
    fm = "---\nname: gen   \ninputs:\n  q: {type: string}\n  ctx: {type: string}\n---\n"
    return fm.replace("\n", "\r\n") + body if eol == "\r\n" else fm + body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_files())
def test_safe_fixes_on_generated_prompty_files(text: str) -> None:
    check_fix_properties(loads(text, path="gen.prompty"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prompt_files())
def test_safe_fixes_on_generated_markdown_files(text: str) -> None:
    check_fix_properties(loads(text, path="gen.md"))


def test_fixes_reach_a_clean_state() -> None:
    text = "---\nname: t  \n---\r\nsystem:\t\n\tBe brief.\u200b  \n\n\n\n\nuser:\r\n{{ q }}"
    t = loads(text, path="t.prompty")
    result = fix_template(t, LintConfig(), rules=SAFE_RULES)
    assert result.text == "---\nname: t\n---\nsystem:\n    Be brief.\n\n\nuser:\n{{ q }}\n"
    assert {"PK300", "PK301", "PK302", "PK304", "PK305", "PK313"} <= set(result.fixed)
    check_fix_properties(t)


# --------------------------------------------------------------------------- the corpora


def _corpus_jinja() -> list[PromptTemplate]:
    if not CORPORA.is_dir():
        return []
    out = [load(p) for p in sorted((CORPORA / "prompty").glob("*.prompty"))]
    out += [load(p) for p in sorted((CORPORA / "promptflow-jinja").iterdir()) if p.suffix in (".jinja2", ".j2")]
    with open(CORPORA / "promptsource.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % 10 == 0:  # every 10th of 2,085: the variety without the minute
                out.append(loads(json.loads(line)["jinja"], path=f"promptsource.jsonl#{i}.j2"))
    return [t for t in out if t.engine.renders]


def test_safe_fixes_preserve_rendering_on_corpus_jinja() -> None:
    templates = _corpus_jinja()
    if not templates:
        pytest.skip(f"corpora not found at {CORPORA} (../shared/corpora)")
    changed = 0
    for t in templates:
        check_fix_properties(t, rules=None)
        changed += fix_template(t, LintConfig(), rules=SAFE_RULES).changed
    assert changed > 50  # the property was exercised, not vacuously true
