"""How a :class:`~promptkit.optimize.search.Suggestion` is shown: text for people, JSON
for tools, GitHub "suggestion" review-comment blocks for pull requests."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptkit.optimize.candidate import Candidate
    from promptkit.optimize.search import Suggestion


def _candidate(c: Candidate) -> dict[str, Any]:
    v = c.verdict
    return {
        "source": c.source,
        "hypothesis": c.hypothesis,
        "status": "accepted" if v is not None and v.accepted else "rejected",
        "stage": v.stage if v is not None else "checks",
        "why": c.rejected or (v.why if v is not None else ""),
        "fixed": list(v.fixed) if v is not None else [],
        "regressed": list(v.regressed) if v is not None else [],
        "score_before": round(v.score_before, 4) if v is not None else None,
        "score_after": round(v.score_after, 4) if v is not None else None,
        "changed_lines": c.changed_lines,
    }


def to_json(s: Suggestion) -> str:
    p = s.patch
    data = {
        "suite": s.suite,
        "prompt": s.prompt,
        "status": s.status,
        "message": s.message,
        "failing_before": s.failing_before,
        "fixed": s.fixed,
        "still_failing": s.still_failing,
        "rationale": s.rationale,
        "patch": None if p is None else {
            "diff": p.diff, "bump": p.bump, "old_version": p.old_version, "new_version": p.new_version,
            "changed_lines": p.changed_lines,
        },
        "budget": {"calls": s.budget.calls, "tokens": s.budget.tokens, "cost_usd": s.budget.cost_usd,
                   "rounds": s.budget.rounds, "candidates": s.budget.candidates, "beam": s.budget.beam},
        "spent": {"calls": s.spent.calls, "live_calls": s.spent.live, "meta_calls": s.spent.meta_calls,
                  "tokens": s.spent.tokens, "cost_usd": round(s.spent.cost_usd, 6)},
        "candidates": [_candidate(c) for c in s.candidates],
        "best_rejected": _candidate(s.best_rejected) if s.best_rejected is not None else None,
        "proposer_errors": s.proposer_errors,
    }
    from promptkit.redact import redact_data

    return json.dumps(redact_data(data), indent=2, ensure_ascii=False)


def to_text(s: Suggestion, *, color: bool = False) -> str:
    lines: list[str] = []
    if s.status == "nothing-failing":
        return s.message + "\n"
    lines.append(f"promptkit suggest: {s.suite} ({s.prompt})")
    lines.append(f"budget: {s.budget.describe()}")
    if s.patch is not None:
        lines.append("")
        lines.append(s.patch.diff.rstrip("\n"))
        lines.append("")
        lines.append(f"version: {s.patch.old_version or '(none)'} -> {s.patch.new_version} ({s.patch.bump}); "
                     f"{s.patch.changed_lines} changed line(s)")
        lines.append(f"fixes: {', '.join(s.fixed)}")
        if s.still_failing:
            lines.append(f"still failing: {', '.join(s.still_failing)}")
        lines.append("breaks: none (every passing case still passes)")
        lines.append("rationale:")
        lines.extend(f"  - {r}" for r in s.rationale)
    else:
        lines.append("")
        lines.append(s.message)
        if s.best_rejected is not None:
            b = s.best_rejected
            lines.append(f"best rejected candidate ({b.source}): {b.hypothesis}")
            lines.append(f"  rejected: {b.rejected or (b.verdict.why if b.verdict else '')}")
            from promptkit.template.edit import unified_diff

            if s.accepted is None and b.template is not None and s.original_file_bytes:
                old = s.original_file_bytes.decode("utf-8")
                lines.append("  its diff:")
                lines.extend("    " + ln for ln in unified_diff(old.lstrip("\ufeff"), b.text, s.prompt).splitlines())
    lines.append("")
    lines.append(f"candidates tried: {len(s.candidates)}")
    for c in s.candidates:
        score = ""
        if c.verdict is not None:
            what = "failing rows' summed pass rate" if c.verdict.stage == "robustness" or "~" in "".join(
                c.verdict.fixed + c.verdict.still_failing) else "failing cases' score"
            score = f" [{what} {c.verdict.score_before:.2f} -> {c.verdict.score_after:.2f}]"
        lines.append(f"  {c.source}: {c.status()}{score}")
        lines.append(f"    hypothesis: {c.hypothesis}")
        if c.source.startswith("proposer") and s.original_file_bytes:  # what the model wrote, as changed lines
            changed = _changed_lines(s, c)
            lines.extend("    " + ln for ln in changed[:8])
            if len(changed) > 8:
                lines.append(f"    ... {len(changed) - 8} more changed line(s)")
    lines.append(f"spent: {s.spent.describe()}")
    return "\n".join(lines) + "\n"


def _changed_lines(s: Suggestion, c: Candidate) -> list[str]:
    """The ``-``/``+`` lines of a candidate's diff from the original (no headers, no context)."""
    from promptkit.template.edit import unified_diff

    old = s.original_file_bytes.decode("utf-8").lstrip("\ufeff")
    return [ln for ln in unified_diff(old, c.text, s.prompt).splitlines()
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def to_github(s: Suggestion) -> str:
    """One Markdown review comment per hunk, each with a ```suggestion block replacing the
    hunk's old lines (GitHub applies it with one click)."""
    if s.patch is None:
        return to_text(s)
    from promptkit.optimize.patch import hunks

    old = s.original_file_bytes.decode("utf-8").lstrip("\ufeff")
    new = s.patch.text
    out: list[str] = []
    for h in hunks(old, new):
        first = old.count("\n", 0, h.start) + 1
        # a suggestion replaces whole lines: an insertion replaces the line before it
        if h.start == h.end:
            line_start = old.rfind("\n", 0, max(h.start - 1, 0)) + 1 if h.start > 0 else 0
            old_lines = old[line_start:h.start]
            first = old.count("\n", 0, line_start) + 1
            body = old_lines + h.text
        else:
            old_lines = old[h.start:h.end]
            body = h.text
        last = first + max(old_lines.count("\n"), 1) - 1
        where = f"{s.prompt}:{first}" + (f"-{last}" if last > first else "")
        out.append(f"**promptkit suggest** `{where}`: fixes {', '.join(s.fixed)}\n")
        out.append("```suggestion")
        out.append(body.rstrip("\n"))
        out.append("```")
        out.append("")
    out.append("Rationale: " + " ".join(s.rationale))
    out.append(f"Calls spent: {s.spent.describe()}")
    return "\n".join(out) + "\n"
