"""Patches: a candidate as hunks of the original text, shrunk by delta debugging.

A candidate is a whole new template text; a reviewer wants the smallest change that
holds. :func:`hunks` splits the difference into line-level edits of the original
(difflib's opcodes, not the model's idea of a diff), :func:`ddmin` drops every hunk the
fix does not need (Zeller's delta debugging over hunk subsets, each subset applied
through the edit service and re-evaluated), and :func:`finish` bumps the version and
renders the unified diff that ``git apply`` accepts.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from promptkit.template.edit import Edit, EditError, apply_edits, bump_version, unified_diff

if TYPE_CHECKING:
    from promptkit.template import PromptTemplate


@dataclass(frozen=True)
class Hunk:
    """Replace characters ``[start, end)`` of the original with ``text``."""

    start: int
    end: int
    text: str

    @property
    def edit(self) -> Edit:
        return Edit((self.start, self.end), self.text)


def hunks(old: str, new: str) -> list[Hunk]:
    """The line-level edits that turn ``old`` into ``new`` (each a run of changed lines)."""
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    offsets = [0]
    for line in a:
        offsets.append(offsets[-1] + len(line))
    out: list[Hunk] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            out.append(Hunk(offsets[i1], offsets[i2], "".join(b[j1:j2])))
    return out


def apply_hunks(template: PromptTemplate, chosen: Sequence[Hunk]) -> PromptTemplate | None:
    """``template`` with ``chosen`` hunks applied (through the edit service), or None when
    the result does not load cleanly."""
    try:
        result = apply_edits(template, [h.edit for h in chosen])
    except EditError:
        return None
    return result.template


def ddmin(items: Sequence[Hunk], holds: Callable[[list[Hunk]], bool]) -> list[Hunk]:
    """A 1-minimal subset of ``items`` for which ``holds`` is true (``holds(items)`` is
    assumed). Classic ddmin: try subsets, then complements, at growing granularity."""
    current = list(items)
    n = 2
    while len(current) >= 2:
        size = len(current) // n
        chunks = [current[i * size:(i + 1) * size] if i < n - 1 else current[i * size:] for i in range(n)]
        reduced = False
        for c in chunks:
            if c and holds(c):
                current, n, reduced = c, 2, True
                break
        if not reduced:
            for i in range(n):
                comp = [h for j, c in enumerate(chunks) if j != i for h in c]
                if comp and len(comp) < len(current) and holds(comp):
                    current, n, reduced = comp, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(current):
                break
            n = min(len(current), 2 * n)
    return current


def changed_lines(diff: str, *, ignore_version: bool = True) -> int:
    """Lines a reviewer reads as changed in ``diff``: per hunk, the larger of lines removed
    and added (a rewritten line counts once); the version bump is not counted."""
    total = 0
    plus = minus = 0
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            continue
        if line.startswith("@@"):
            total += max(plus, minus)
            plus = minus = 0
        elif line.startswith("+") and not (ignore_version and line[1:].lstrip().startswith("version:")):
            plus += 1
        elif line.startswith("-") and not (ignore_version and line[1:].lstrip().startswith("version:")):
            minus += 1
    return total + max(plus, minus)


def inputs_changed(old: PromptTemplate, new: PromptTemplate) -> bool:
    """Does ``new`` read other inputs than ``old`` (declared or used)?"""
    from promptkit.template.analysis import analyze

    return set(old.inputs) != set(new.inputs) or analyze(old).free_names != analyze(new).free_names


@dataclass(frozen=True)
class Patch:
    """The final change: new file text (version bumped), its diff, and the bump made."""

    text: str
    file_text: str
    diff: str
    bump: str
    old_version: str | None
    new_version: str | None
    changed_lines: int


def finish(original: PromptTemplate, candidate: PromptTemplate, path: str) -> Patch:
    """Bump ``candidate``'s version (patch; minor when its inputs change) and diff it
    against ``original`` as it is on disk."""
    part = "minor" if inputs_changed(original, candidate) else "patch"
    try:
        bumped = bump_version(candidate, part)  # type: ignore[arg-type]
        text, file_text = bumped.text, bumped.file_text
        new_version = bumped.template.front_matter.version
    except EditError:
        text = candidate.text
        file_text = ("\ufeff" + text) if original.had_bom else text
        new_version = candidate.front_matter.version
    old_file = ("\ufeff" + original.text) if original.had_bom else original.text
    diff = unified_diff(old_file, file_text, path)
    return Patch(text, file_text, diff, part, original.front_matter.version, new_version, changed_lines(diff))
