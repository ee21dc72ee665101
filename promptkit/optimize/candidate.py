"""A candidate prompt and the checks every candidate passes before any model sees it.

Whoever wrote the candidate -- a deterministic repair or the proposer model -- it must
re-load without errors, keep the front matter byte for byte (the version is bumped only
at the end), keep the variables the prompt reads, and add no lint finding. A candidate
that fails here costs no model call.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promptkit.optimize.evaluate import Verdict
    from promptkit.template import PromptTemplate


@dataclass
class Candidate:
    """One proposed version of the prompt. ``source``: ``repair:<name>``, ``proposer``
    (round n) or ``ddmin``; ``hypothesis``: why it should help, in words."""

    source: str
    hypothesis: str
    template: PromptTemplate
    round: int = 0
    verdict: Verdict | None = None
    rejected: str | None = None  # why it never reached evaluation
    changed_lines: int = 0
    parent: Candidate | None = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return self.template.text

    def status(self) -> str:
        if self.rejected:
            return f"rejected before evaluation: {self.rejected}"
        if self.verdict is None:
            return "not evaluated (budget)"
        return ("accepted: " if self.verdict.accepted else f"rejected at {self.verdict.stage}: ") + self.verdict.why


def _lint_counts(template: PromptTemplate) -> Counter[str]:
    from promptkit.diagnostics import Severity
    from promptkit.lint.engine import lint_template

    return Counter(d.code for d in lint_template(template) if d.severity in (Severity.ERROR, Severity.WARNING))


def problems(original: PromptTemplate, new: PromptTemplate, *, lint_before: Counter[str] | None = None) -> str | None:
    """Why ``new`` may not stand in for ``original`` (a sentence), or None."""
    from promptkit.template.analysis import analyze

    if new.text == original.text:
        return "no change"
    if not new.ok and original.ok:
        from promptkit.diagnostics import Severity

        d = next((d for d in new.diagnostics if d.severity is Severity.ERROR), None)
        return f"does not load: {d.code} {d.message}" if d is not None else "does not load"
    if (new.front_matter_text or "") != (original.front_matter_text or ""):
        return "changes the front matter"
    a, b = analyze(original), analyze(new)
    if a.free_names != b.free_names:
        gone = sorted(a.free_names - b.free_names)
        added = sorted(b.free_names - a.free_names)
        what = "; ".join(x for x in (f"drops {', '.join(gone)}" if gone else "", f"adds {', '.join(added)}" if added else "") if x)
        return f"changes the variables ({what})"
    if len(new.messages) != len(original.messages) or [m.role for m in new.messages] != [m.role for m in original.messages]:
        return "changes the messages (roles)"
    before = lint_before if lint_before is not None else _lint_counts(original)
    after = _lint_counts(new)
    worse = sorted(code for code, n in after.items() if n > before.get(code, 0))
    if worse:
        return f"adds lint finding{'s' if len(worse) > 1 else ''} {', '.join(worse)}"
    return None
