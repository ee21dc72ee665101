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
from promptkit.lint import fix_safety
from promptkit.template.edit import Edit as TextEdit
from promptkit.template.edit import apply_edits, apply_text_edits, conflicts
from promptkit.template.edit import unified_diff as _unified_diff

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
    chosen, applied = choose_fixes(text, diagnostics, unsafe=unsafe, config=config)
    if not chosen:
        return text, []
    return apply_text_edits(text, [TextEdit((e.start, e.end), e.content) for e in chosen]), applied


def choose_fixes(text: str, diagnostics: Iterable[Diagnostic], *, unsafe: bool = False,
                 config: LintConfig | None = None) -> tuple[list[Edit], list[Diagnostic]]:
    """The edits of the fixes to apply to ``text`` in one pass (earliest first, skipping
    any that overlaps one already chosen or is out of range; inserted line breaks follow
    a CRLF file), and the diagnostics they come from."""
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
            chosen.append(_adapted(text, e, crlf))
            taken.append((e.start, e.end))
        applied.append(d)
    return chosen, applied


def _adapted(text: str, e: Edit, crlf: bool) -> Edit:
    content = e.content
    if crlf and "\n" in content and "\r" not in text[e.start : e.end] and "\r" not in content:
        content = content.replace("\n", "\r\n")
    return Edit(e.start, e.end, content)


def _overlaps(e: Edit, taken: Sequence[tuple[int, int]]) -> bool:
    return any(conflicts((e.start, e.end), (s, t)) for s, t in taken)


def _self_overlap(edits: Sequence[Edit]) -> bool:
    from itertools import pairwise

    return any(a.end > b.start for a, b in pairwise(edits))


@dataclass
class FixResult:
    """What fixing one file did. ``refused`` holds a warning for each fix that was not
    applied because it would change what the prompt renders (see
    :mod:`promptkit.lint.fix_safety`); they are in ``diagnostics`` too."""

    path: str
    original: str
    text: str
    fixed: Counter[str] = field(default_factory=Counter)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # what is left
    passes: int = 0
    refused: list[Diagnostic] = field(default_factory=list)
    had_bom: bool = False

    @property
    def changed(self) -> bool:
        return self.text != self.original

    def diff(self) -> str:
        """A patch ``git apply`` accepts (the BOM kept, when the file has one)."""
        bom = "\ufeff" if self.had_bom else ""
        return _unified_diff(bom + self.original, bom + self.text, self.path)


def _fix_key(text: str, d: Diagnostic) -> tuple[object, ...]:
    """Identifies a fix across passes (offsets move when earlier fixes apply)."""
    edits = d.fix.edits if d.fix is not None else []
    return (d.code, tuple((text[e.start : e.end], e.content) for e in edits if 0 <= e.start <= e.end <= len(text)))


def fix_template(template: PromptTemplate, config: LintConfig, *, unsafe: bool = False,
                 rules: Sequence[type[Rule]] | None = None) -> FixResult:
    """Lint, fix, re-lint until nothing more can be fixed (bounded).

    Each pass's edits go through :mod:`promptkit.template.edit` (one edit-and-reload
    path for all of promptkit), and the fixed template is rendered and compared with the
    original before the pass is kept: a fix that would change what the prompt renders
    beyond what it is allowed to (:mod:`promptkit.lint.fix_safety`) is dropped with a
    warning naming its rule, and the other fixes of the pass are applied without it."""
    from promptkit.lint import noqa
    from promptkit.lint.engine import lint_template

    result = FixResult(template.path, template.text, template.text, had_bom=template.had_bom)
    t = template
    diags = lint_template(t, config, rules=rules)
    reference: fix_safety.Rendering | None = None
    allowed = fix_safety.Allowance(set())
    refused: set[tuple[object, ...]] = set()
    for _ in range(MAX_PASSES):
        todo = [d for d in diags if d.fix is None or _fix_key(t.text, d) not in refused]
        _, applied = choose_fixes(t.text, todo, unsafe=unsafe, config=config)
        if not applied:
            break
        if reference is None:
            reference = fix_safety.rendering(template)
        spans = [(x.start, x.end) for x in noqa.parse(t)]
        new, pass_allowed = _checked_pass(t, applied, reference, allowed, spans, refused, result)
        if new is None or new.text == t.text:
            if new is None:  # every fix of the pass was refused: lint again without them
                diags = [d for d in diags if d.fix is None or _fix_key(t.text, d) not in refused]
                continue
            break
        result.passes += 1
        result.fixed.update(d.code for d in pass_allowed[1])
        allowed = pass_allowed[0]
        t = new
        diags = lint_template(t, config, rules=rules)
    result.text = t.text
    if refused:  # the refused fixes are not on offer any more: no "fixable" left behind
        for d in diags:
            if d.fix is not None and _fix_key(t.text, d) in refused:
                d.fix = None
    result.diagnostics = diags + result.refused
    return result


def _checked_pass(t: PromptTemplate, applied: list[Diagnostic], reference: fix_safety.Rendering,
                  allowed: fix_safety.Allowance, noqa_spans: list[tuple[int, int]], refused: set[tuple[object, ...]],
                  result: FixResult) -> tuple[PromptTemplate | None, tuple[fix_safety.Allowance, list[Diagnostic]]]:
    """Apply one pass's fixes if the render stays as it was; else find the fixes that
    change it (each alone), refuse those, and apply the rest. Returns the new template
    (None when nothing could be applied) and (the allowance so far, the applied fixes)."""
    def attempt(ds: list[Diagnostic]) -> tuple[PromptTemplate, fix_safety.Allowance, str | None]:
        edits, _ = choose_fixes(t.text, ds, unsafe=True)
        new = apply_edits(t, [TextEdit((e.start, e.end), e.content) for e in edits]).template
        allow = allowed
        for d in ds:
            allow = allow.merge(fix_safety.allowance(t, d.fix.edits, new.text, noqa_spans, edits))  # type: ignore[union-attr]
        return new, allow, fix_safety.changed(reference, fix_safety.rendering(new), allow)

    new, allow, why = attempt(applied)
    if why is None:
        return new, (allow, applied)
    keep: list[Diagnostic] = []
    for d in applied:
        _, _, why_one = attempt([d])
        if why_one is None:
            keep.append(d)
        else:
            refused.add(_fix_key(t.text, d))
            result.refused.append(fix_safety.refusal(d, why_one))
    if keep:
        new, allow, why = attempt(keep)
        if why is None:
            return new, (allow, keep)
        for d in keep:  # together they change it, alone they do not: refuse the pass
            refused.add(_fix_key(t.text, d))
            result.refused.append(fix_safety.refusal(d, why))
    return None, (allowed, [])


def unified_diff(path: str, before: str, after: str) -> str:
    """The fixes as a patch (see :func:`promptkit.template.edit.unified_diff`)."""
    return _unified_diff(before, after, path)


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


class LinkOutsideProject(OSError):
    """The prompt is a symbolic link (or lies in a symlinked folder) whose target is
    outside the project or in a VCS folder: ``--fix`` does not write through it."""


def write_target(path: str | Path, root: str | Path) -> Path:
    """Where fixes for ``path`` may be written: ``path`` itself, or -- when it is a
    symlink or lies in a symlinked folder -- its target, if that is inside ``root`` and
    not in a VCS folder; else :class:`LinkOutsideProject`. Never the link itself: a
    fixed symlinked prompt stays a link to the fixed file."""
    from promptkit.paths import is_inside, vcs_part

    resolved = Path(os.path.realpath(path))
    if resolved == Path(os.path.abspath(path)):
        return Path(path)
    real_root = os.path.realpath(root)
    if not is_inside(resolved, real_root) or vcs_part(resolved, real_root) is not None:
        raise LinkOutsideProject(errno.EPERM, f"the file is a symbolic link to {resolved}, outside the project "
                                 f"({real_root})" if not is_inside(resolved, real_root)
                                 else f"the file is a symbolic link into a version-control folder ({resolved})",
                                 str(path))
    return resolved


def write_text_atomic(path: str | Path, text: str, *, like: bytes | None = None) -> None:
    """Write ``text`` to ``path`` atomically, with the BOM/encoding of ``like`` (the
    file's previous bytes; read from disk when not given). Keeps the file mode.

    When ``like`` is given it is also what the file must still hold: if the file changed
    meanwhile, :class:`FileChangedError` is raised and nothing is written (unless it
    already holds exactly the new text, as when two runs fix the same file at once). A
    file without write permission is never replaced (``PermissionError``), although the
    rename used for atomicity would allow it: read-only means "do not edit" (Perforce
    checkouts, generated files)."""
    # Through a symlink (or a symlinked folder), the target is what gets written: the
    # rename below would otherwise put a regular file where the link was.
    p = Path(os.path.realpath(path))
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
