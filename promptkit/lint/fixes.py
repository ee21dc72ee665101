"""Applying fixes: non-overlapping edits, repeated until stable, written atomically.

One pass applies every fix that does not overlap a fix already chosen (earlier offsets
win, as in ruff); fixing can reveal or resolve other findings, so the file is re-linted
and fixed again, at most :data:`MAX_PASSES` times. A fix whose edits are out of range
is skipped, never applied half-way.

Writing keeps what the user's editor chose: the BOM (and its UTF-8/UTF-16 encoding),
and the line-ending convention -- a rule that inserts ``"\\n"`` into a CRLF file gets
``"\\r\\n"`` -- unless the fix itself rewrites line endings. Files are written to a
temporary file in the same directory and moved over the original with ``os.replace``,
so an interrupted run never leaves half a prompt behind.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from promptkit.atomic import write_atomic
from promptkit.diagnostics import Diagnostic, Edit

if TYPE_CHECKING:
    from promptkit.lint.config import LintConfig
    from promptkit.lint.rule import Rule
    from promptkit.template.model import PromptTemplate

MAX_PASSES = 10
_LONE_LF = re.compile(r"(?<!\r)\n")


def _wanted(d: Diagnostic, unsafe: bool, config: LintConfig | None) -> bool:
    if d.fix is None or not d.fix.edits:
        return False
    if not d.fix.safe and not unsafe:
        return False
    return config is None or config.is_fixable(d.code)


def _crlf_only(text: str) -> bool:
    return "\r\n" in text and _LONE_LF.search(text) is None


def apply_fixes(text: str, diagnostics: Iterable[Diagnostic], *, unsafe: bool = False,
                config: LintConfig | None = None) -> tuple[str, list[Diagnostic]]:
    """Apply the fixes of ``diagnostics`` that do not overlap; returns the new text and
    the diagnostics whose fixes were applied."""
    candidates = [d for d in diagnostics if _wanted(d, unsafe, config)]
    candidates.sort(key=lambda d: (min(e.start for e in d.fix.edits), d.code))  # type: ignore[union-attr]
    crlf = _crlf_only(text)
    taken: list[tuple[int, int]] = []
    chosen: list[Edit] = []
    applied: list[Diagnostic] = []
    n = len(text)
    for d in candidates:
        edits = sorted(d.fix.edits, key=lambda e: (e.start, e.end))  # type: ignore[union-attr]
        if any(e.start < 0 or e.end > n or e.start > e.end for e in edits):
            continue
        if any(_overlaps(e, taken) for e in edits) or _self_overlap(edits):
            continue
        for e in edits:
            content = e.content
            if crlf and "\n" in content and "\r" not in text[e.start : e.end] and "\r" not in content:
                content = content.replace("\n", "\r\n")
            chosen.append(Edit(e.start, e.end, content))
            taken.append((e.start, e.end))
        applied.append(d)
    if not chosen:
        return text, []
    out = text
    for e in sorted(chosen, key=lambda e: (e.start, e.end), reverse=True):
        out = out[: e.start] + e.content + out[e.end :]
    return out, applied


def _conflict(s1: int, e1: int, s2: int, e2: int) -> bool:
    """Do two edits touch the same text (or insert at one point, where order is ambiguous)?"""
    if s1 < e2 and s2 < e1:
        return True
    if s1 == e1 and (s1 == s2 or s2 < s1 < e2):
        return True
    return s2 == e2 and (s2 == s1 or s1 < s2 < e1)


def _overlaps(e: Edit, taken: Sequence[tuple[int, int]]) -> bool:
    return any(_conflict(e.start, e.end, s, t) for s, t in taken)


def _self_overlap(edits: Sequence[Edit]) -> bool:
    from itertools import pairwise

    return any(a.end > b.start for a, b in pairwise(edits))


@dataclass
class FixResult:
    """What fixing one file did."""

    path: str
    original: str
    text: str
    fixed: Counter[str] = field(default_factory=Counter)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # what is left
    passes: int = 0

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def diff(self) -> str:
        return unified_diff(self.path, self.original, self.text)


def fix_template(template: PromptTemplate, config: LintConfig, *, unsafe: bool = False,
                 rules: Sequence[type[Rule]] | None = None) -> FixResult:
    """Lint, fix, re-lint until nothing more can be fixed (bounded)."""
    from promptkit.lint.engine import lint_template
    from promptkit.template import loads

    result = FixResult(template.path, template.text, template.text)
    t = template
    diags = lint_template(t, config, rules=rules)
    for _ in range(MAX_PASSES):
        new, applied = apply_fixes(t.text, diags, unsafe=unsafe, config=config)
        if not applied or new == t.text:
            break
        result.passes += 1
        result.fixed.update(d.code for d in applied)
        t2 = loads(new, path=template.path, kind=template.kind)
        t2.had_bom = template.had_bom
        t = t2
        diags = lint_template(t, config, rules=rules)
    result.text = t.text
    result.diagnostics = diags
    return result


def unified_diff(path: str, before: str, after: str) -> str:
    if before == after:
        return ""
    return "".join(
        difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                             fromfile=f"a/{path}", tofile=f"b/{path}")
    )


# --------------------------------------------------------------------------- writing

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def encoding_of(data: bytes) -> tuple[bytes, str]:
    """``(bom, encoding)`` of a file's bytes, as the loader decoded them."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return bom, enc
    return b"", "utf-8"


class FileChangedError(OSError):
    """The file's bytes changed between reading it and writing the fixes back (an editor
    saved it, or another ``promptkit lint --fix`` ran): the fixes were computed for text
    that no longer exists, so they are not written."""


def write_text_atomic(path: str | Path, text: str, *, like: bytes | None = None) -> None:
    """Write ``text`` to ``path`` atomically, with the BOM/encoding of ``like`` (the
    file's previous bytes; read from disk when not given). Keeps the file mode.

    When ``like`` is given it is also what the file must still hold: if the file changed
    meanwhile, :class:`FileChangedError` is raised and nothing is written (unless it
    already holds exactly the new text, as when two runs fix the same file at once). A
    file without write permission is never replaced (``PermissionError``), although the
    rename used for atomicity would allow it: read-only means "do not edit" (Perforce
    checkouts, generated files)."""
    p = Path(path)
    expect = like
    if like is None:
        try:
            like = p.read_bytes()
        except OSError:
            like = b""
    bom, enc = encoding_of(like)
    data = bom + text.encode(enc)
    try:
        mode = os.stat(p).st_mode & 0o7777
    except OSError:
        mode = None
    if mode is not None and not mode & 0o222:
        raise PermissionError(errno.EACCES, "the file is read-only", str(p))

    def unchanged_since_read() -> bool:
        """Checked just before the rename: write only over the bytes the fixes were made for."""
        if expect is None:
            return True
        try:
            now = p.read_bytes()
        except FileNotFoundError:
            now = None
        if now == data:
            return False  # another run already wrote exactly these fixes
        if now != expect:
            raise FileChangedError(errno.EAGAIN, "the file changed while it was being fixed", str(p))
        return True

    write_atomic(p, data, durable=True, mode=mode, before_replace=unchanged_since_read)
