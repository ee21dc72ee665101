"""Fixes never change what a prompt renders (beyond what the fix is for).

A fix edits the template *source*; what matters is what reaches the model. Two kinds of
edit look harmless in the source and are not:

* removing or moving a ``noqa`` comment where the comment is part of the prompt: an
  HTML comment in a Markdown or text prompt (sent as written), a ``{# noqa #}`` inside
  ``{% raw %}`` or a string literal;
* a whitespace or invisible-character fix that turns body lines into front matter (a
  body starting with ``\\u200b---``: once the zero-width space goes, the ``---`` lines are
  YAML and the text between them is no longer sent).

So before fixes are written, the fixed template is rendered and compared with the
unfixed one (:func:`rendering`, :func:`changed`): with the template's samples, and with
synthetic values for every declared input (an input without a sample would otherwise
hide what a fix does to the text around it). Compared are the front-matter data, the
message roles, and each message's text, all modulo what the fix may change:

* every fix: whitespace and invisible characters (zero-width spaces, joiners, soft
  hyphens, BOMs, bidi controls: Unicode format characters and the Hangul fillers) -- the
  property ``tests/lint/test_fix_properties.py`` states for the safe fixes;
* a fix that writes or removes visible text (a substitution such as a rule pack's
  ``utilize -> use``, PK315's straight quotes, PK106's role-line typo) may also change
  the lines it edits, and, where an edited line is or becomes a role line, the message
  boundaries -- *unless* the edit touches a ``noqa`` directive: a directive is meta, its
  removal must render to nothing.

Templates that do not render strictly are compared rendered permissively (undefined
names render empty); Markdown, text and Handlebars prompts are compared as the message
text they send. A fix that fails the comparison is dropped with a warning naming its
rule (:func:`refusal`); the others are applied.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from promptkit.diagnostics import Diagnostic, Edit, Severity
from promptkit.template.model import PromptTemplate

#: Characters no reader sees, beyond Unicode's format characters (category Cf).
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")
_ROLE_LINE: re.Pattern[str] | None = None


def _invisible(ch: str) -> bool:
    return ch.isspace() or ch in _FILLERS or unicodedata.category(ch) == "Cf"


def norm(s: str) -> str:
    """``s`` without whitespace and invisible characters."""
    if s.isascii():
        return "".join(s.split())
    return "".join(ch for ch in s if not _invisible(ch))


def _norm_data(data: Any) -> Any:
    """Front-matter data with strings normalized (trailing spaces inside a YAML block
    scalar are part of its value; PK300 may remove them)."""
    if isinstance(data, str):
        return norm(data)
    if isinstance(data, dict):
        return {k: _norm_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_norm_data(v) for v in data]
    return data


# --------------------------------------------------------------------------- rendering

Messages = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Probe:
    """One render of a template: ``strict`` with promptkit's renderer (None when it
    raised), ``loose`` with undefined names rendering empty (None when that failed too)."""

    strict: Messages | None
    loose: Messages | None


@dataclass(frozen=True)
class Rendering:
    """What a template sends, for comparing a fix: front-matter data and the probes."""

    front_matter: Any
    probes: tuple[Probe, ...]


def _synthetic(name: str, kind: str) -> Any:
    k = kind.lower()
    if k in ("number", "float"):
        return 3.5
    if k in ("integer", "int"):
        return 7
    if k in ("boolean", "bool"):
        return True
    if k in ("list", "array"):
        return [f"pk-probe-{name}-1", f"pk-probe-{name}-2"]
    if k in ("object", "dict"):
        return {"pk_probe": name}
    return f"pk-probe-{name}"


def value_sets(t: PromptTemplate) -> list[dict[str, Any]]:
    """The values a fix is checked with: the samples (synthetic values for inputs
    without one), then synthetic values for every declared input."""
    synthetic = {n: _synthetic(n, str(s.type)) for n, s in t.inputs.items()}
    samples = {**synthetic, **t.samples()}
    return [samples, synthetic] if samples != synthetic else [samples]


@functools.lru_cache(maxsize=1)
def _loose_env(base: Any) -> Any:
    from jinja2 import ChainableUndefined

    return base.overlay(undefined=ChainableUndefined)


@functools.lru_cache(maxsize=32)
def _loose_compiled(body: str) -> Any:
    """Compiled once per body: a fix is checked with two value sets."""
    from promptkit.template.sandbox import environment

    return _loose_env(environment()).from_string(body)


def _loose(t: PromptTemplate, values: dict[str, Any]) -> Messages | None:
    from promptkit.template.sandbox import generate_bounded, range_budget

    try:
        compiled = _loose_compiled(t.body)
        with range_budget():
            return (("*", generate_bounded(compiled, values)),)
    except Exception:  # noqa: BLE001 - a body that cannot render at all is compared as unrenderable
        return None


def _probe(t: PromptTemplate, values: dict[str, Any]) -> Probe:
    from promptkit.diagnostics import PromptkitError
    from promptkit.template.render import render

    try:
        strict: Messages | None = tuple((m.role, m.content) for m in render(t, values))
    except PromptkitError:
        strict = None
    except Exception:  # noqa: BLE001 - any other failure: compare the loose render
        strict = None
    return Probe(strict, None if strict is not None else _loose(t, values))


def rendering(t: PromptTemplate) -> Rendering:
    """Render ``t`` for comparison (see the module docstring)."""
    fm = None
    if t.front_matter_span is not None:
        # YAML that is not a mapping reads as {}: compare its text then
        fm = _norm_data(t.raw_front_matter) if t.raw_front_matter else norm(t.front_matter_text or "")
    if not t.engine.renders:  # sent as written
        msgs = tuple((m.role, m.content) for m in t.messages)
        return Rendering(fm, (Probe(msgs, None),))
    return Rendering(fm, tuple(_probe(t, v) for v in value_sets(t)))


# --------------------------------------------------------------------------- allowances


@dataclass
class Allowance:
    """What a set of applied fixes may change in the rendered text: the normalized
    texts of the lines they edit, and whether message boundaries may move."""

    texts: set[str]
    roles: bool = False

    def merge(self, other: Allowance) -> Allowance:
        return Allowance(self.texts | other.texts, self.roles or other.roles)


def _role_line(line: str) -> bool:
    global _ROLE_LINE
    if _ROLE_LINE is None:
        from promptkit.template.structure import DYNAMIC_ROLE_LINE, ROLE_LINE

        _ROLE_LINE = re.compile(f"(?:{ROLE_LINE.pattern})|(?:{DYNAMIC_ROLE_LINE.pattern})", re.IGNORECASE)
    return bool(_ROLE_LINE.match(line))


def _line_at(text: str, start: int, end: int) -> str:
    s = text.rfind("\n", 0, start) + 1
    e = text.find("\n", end)
    return text[s : len(text) if e == -1 else e]


def allowance(before: PromptTemplate, edits: Sequence[Edit], after_text: str | None = None,
              noqa_spans: Sequence[tuple[int, int]] = (), applied: Sequence[Edit] | None = None) -> Allowance:
    """What ``edits`` (one fix's, on ``before.text``) may change in the render.
    ``applied`` are all the edits (as applied, line endings adapted) that made
    ``after_text``, for finding the edited lines there; default ``edits``."""
    text = before.text
    done = sorted(applied if applied is not None else edits, key=lambda e: (e.start, e.end))
    out = Allowance(set())
    for e in edits:
        old = text[e.start : e.end]
        new = next((x.content for x in done if (x.start, x.end) == (e.start, e.end)), e.content)
        if not norm(old) and not norm(new):
            continue  # whitespace and invisible characters only: normalized away anyway
        if any(s < e.end and e.start < t or s <= e.start < t for s, t in noqa_spans):
            continue  # a noqa directive is meta: no allowance
        old_line = _line_at(text, e.start, e.end)
        out.texts.update(x for x in (norm(old), norm(new), norm(old_line)) if x)
        if after_text is not None:
            a = e.start + sum(len(x.content) - (x.end - x.start) for x in done
                              if x.end <= e.start and (x.start, x.end) != (e.start, e.end))
            new_line = _line_at(after_text, a, a + len(new))
            if norm(new_line):
                out.texts.add(norm(new_line))
            out.roles = out.roles or _role_line(old_line) or _role_line(new_line)
    return out


# --------------------------------------------------------------------------- comparing


def _strip(s: str, texts: Iterable[str]) -> str:
    for x in sorted(texts, key=len, reverse=True):
        s = s.replace(x, "")
    return s


def _same_messages(a: Messages, b: Messages, allow: Allowance) -> str | None:
    if allow.roles:
        ja = _strip("".join(norm(c) for _, c in a), allow.texts)
        jb = _strip("".join(norm(c) for _, c in b), allow.texts)
        return None if ja == jb else "the text of the messages"
    if [r for r, _ in a] != [r for r, _ in b]:
        return f"the messages (roles {[r for r, _ in a]} -> {[r for r, _ in b]})"
    for i, ((_, ca), (_, cb)) in enumerate(zip(a, b, strict=True)):
        if _strip(norm(ca), allow.texts) != _strip(norm(cb), allow.texts):
            return f"the text of message {i + 1}"
    return None


def changed(before: Rendering, after: Rendering, allow: Allowance) -> str | None:
    """What differs between two renderings beyond ``allow`` (in words), or None."""
    if before.front_matter != after.front_matter:
        return "the front matter"
    for pb, pa in zip(before.probes, after.probes, strict=False):
        if pb.strict is not None:
            if pa.strict is None:
                return "whether the template renders"
            why = _same_messages(pb.strict, pa.strict, allow)
        elif pb.loose is not None and (pa.loose or pa.strict) is not None:
            why = _same_messages(pb.loose, pa.loose or pa.strict, Allowance(allow.texts, True))  # type: ignore[arg-type]
        else:
            why = None
        if why:
            return why
    if len(before.probes) != len(after.probes):
        return "the inputs"
    return None


def refusal(d: Diagnostic, why: str) -> Diagnostic:
    """The warning for a fix that was not applied because it would change ``why``."""
    return Diagnostic(
        d.path,
        f"{d.name or 'the'} fix not applied: it would change what the prompt renders ({why})",
        severity=Severity.WARNING,
        code=d.code,
        name=d.name,
        span=d.span,
        hint="make the change by hand if it is meant; a fix may only change whitespace and the text it edits",
    )
