"""Checks of a suite's cases against their prompts, before any model is called.

Why: a misspelt variable (``qestion:`` for ``question``) or a prompt whose Jinja does not
compile would otherwise show up case by case as "ERROR (not a failure of the prompt)"
after the run -- and, live, after paying for every other call. These are mistakes in the
test file or the template, so they are reported as such, all at once, at collection:
each with its ``file:line``, what is wrong and how to fix it.

Checked per case run: the prompt loaded without errors, every required input (no
default) has a value, and no variable is given that the prompt does not declare (only
when the prompt declares its inputs; the close match is suggested).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from promptkit.codes import MISSING_INPUT, UNDEFINED_VARIABLE
from promptkit.diagnostics import Diagnostic, Severity
from promptkit.runner.suite import line_span

if TYPE_CHECKING:
    from promptkit.runner.engine import CaseJob

__all__ = ["check_jobs"]


def check_jobs(jobs: Sequence[CaseJob], suite_shown: str) -> list[Diagnostic]:
    """Every problem of ``jobs`` that rendering would hit, one diagnostic each (deduplicated:
    a broken prompt is reported once, not once per case)."""
    out: list[Diagnostic] = []
    seen: set[tuple[str, str, int]] = set()
    for job in jobs:
        template = job.template or job.case_run.template
        if template is None:
            continue
        errors = [d for d in template.diagnostics if d.severity is Severity.ERROR]
        for d in errors:
            key = (str(d.path), d.code, d.line)
            if key not in seen:
                seen.add(key)
                out.append(d)
        if errors:
            continue
        declared = template.inputs
        if not declared:
            continue
        case = job.case_run.case
        line = getattr(case, "line", None) or 1
        given = job.case_run.vars
        prompt = template.path.name if hasattr(template.path, "name") else str(template.path)
        unknown = [k for k in given if k not in declared]
        explained: set[str] = set()  # unknown names already named as a misspelling
        for name, spec in declared.items():
            if name in given or spec.has_default or not spec.is_required:
                continue
            guess = _closest(name, unknown)
            if guess:
                explained.add(guess)
            hint = (f"'{guess}' looks like a misspelling of '{name}': rename it in the case's vars" if guess
                    else f"add {name}: ... to the case's vars (or to defaults: vars:)")
            key = (suite_shown, f"{case.id}:{name}", line)
            if key not in seen:
                seen.add(key)
                out.append(Diagnostic(suite_shown, f"case '{case.id}': missing required input '{name}' of {prompt}",
                                      Severity.ERROR, MISSING_INPUT.code, MISSING_INPUT.name, line_span(line), hint))
        for name in unknown:
            if name in explained:
                continue
            guess = _closest(name, [n for n in declared if n not in given])
            if guess is None:
                continue  # an extra variable is harmless (a default's override, a note); a typo is not
            key = (suite_shown, f"{case.id}:{name}:unknown", line)
            if key not in seen:
                seen.add(key)
                out.append(Diagnostic(suite_shown, f"case '{case.id}': variable '{name}' is not an input of {prompt}",
                                      Severity.ERROR, UNDEFINED_VARIABLE.code, UNDEFINED_VARIABLE.name, line_span(line),
                                      f"did you mean '{guess}'?"))
    return out


def _closest(name: str, choices: Sequence[str]) -> str | None:
    if not choices:
        return None
    from rapidfuzz import process

    found = process.extractOne(name, list(choices), score_cutoff=70)
    return str(found[0]) if found else None
