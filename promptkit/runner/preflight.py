"""Checks of a suite's cases against their prompts, before any model is called.

Why: a misspelt variable (``qestion:`` for ``question``) or a prompt whose Jinja does not
compile would otherwise show up case by case as "ERROR (not a failure of the prompt)"
after the run -- and, live, after paying for every other call. These are mistakes in the
test file or the template, so they are reported as such, all at once, at collection:
each with its ``file:line``, what is wrong and how to fix it.

Checked per case run: the prompt loaded without errors, every required input (no
default) has a value, no variable is given that the prompt does not declare (only
when the prompt declares its inputs; the close match is suggested), and the template
uses no variable that is neither an input nor given by the case (``{{ custmer }}`` when
the inputs declare ``customer``: ``PK022`` at the use's ``line:col``, once per prompt).

That last check has no false errors: a name the static analysis finds free (not an
input, not set in the template, not a loop variable or macro argument) is only a suspect
-- ``{% if x is defined %}``, ``x | default(...)`` and the like make it harmless -- so the
case is rendered (no model involved) and only an undefined-variable error of that very
name is reported. Suspects are confirmed on at most :data:`MAX_RENDER_CHECKS` cases of a
prompt; a use that only some values reach still shows as that case's ERROR at run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptkit.codes import MISSING_INPUT, UNDEFINED_VARIABLE
from promptkit.diagnostics import Diagnostic, Severity
from promptkit.runner.suite import line_span

if TYPE_CHECKING:
    from promptkit.runner.engine import CaseJob

__all__ = ["check_jobs"]

#: Cases of one prompt rendered, at most, to confirm that a suspect variable is undefined.
MAX_RENDER_CHECKS = 50


def check_jobs(jobs: Sequence[CaseJob], suite_shown: str) -> list[Diagnostic]:
    """Every problem of ``jobs`` that rendering would hit, one diagnostic each (deduplicated:
    a broken prompt is reported once, not once per case)."""
    out: list[Diagnostic] = []
    seen: set[tuple[str, str, int]] = set()
    undefined = _UndefinedUses()
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
        found = undefined.check(template, job.case_run.vars)
        if found is not None:
            out.append(found)
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


class _UndefinedUses:
    """Variables a template reads that nothing defines, confirmed by rendering (see the
    module docstring); each prompt is reported once."""

    def __init__(self) -> None:
        self._suspects: dict[int, frozenset[str]] = {}  # id(template) -> free names that are no input
        self._tries: dict[int, int] = {}
        self._done: set[int] = set()  # templates reported (or found clean for every name)

    def check(self, template: Any, given: Mapping[str, Any]) -> Diagnostic | None:
        key = id(template)
        if key in self._done or self._tries.get(key, 0) >= MAX_RENDER_CHECKS:
            return None
        suspects = self._suspects.get(key)
        if suspects is None:
            suspects = self._suspects[key] = _free_non_inputs(template)
        open_ = [n for n in suspects if n not in given]
        if not open_:
            return None
        self._tries[key] = self._tries.get(key, 0) + 1
        from promptkit.diagnostics import PromptkitError
        from promptkit.template import render

        try:
            render(template, dict(given))
        except PromptkitError as exc:
            name = _named(exc.diagnostic.message, open_) if exc.diagnostic.code == UNDEFINED_VARIABLE.code else None
            if name is not None:
                self._done.add(key)
                return _diagnostic(template, name)
        return None


def _free_non_inputs(template: Any) -> frozenset[str]:
    from promptkit.template.analysis import analyze

    try:
        analysis = analyze(template)
    except Exception:  # noqa: BLE001 - the analysis is a hint; rendering at run time still reports
        return frozenset()
    if not analysis.parsed:
        return frozenset()
    return frozenset(analysis.free_names - set(template.inputs))


def _named(message: str, names: Sequence[str]) -> str | None:
    """Which of ``names`` Jinja's "'x' is undefined" message is about."""
    for name in names:
        if f"'{name}' is undefined" in message:
            return name
    return None


def _diagnostic(template: Any, name: str) -> Diagnostic:
    from promptkit.template.analysis import analyze

    uses = [u for u in analyze(template).uses if u.name == name and u.kind == "load"]
    span = uses[0].span if uses else None
    inputs = list(template.inputs)
    from promptkit.paths import shown

    prompt = shown(template.path)
    guess = _closest(name, inputs)
    declared = f" (its inputs: {', '.join(inputs)})" if inputs else ""
    hint = (f"did you mean '{guess}'? fix the name in the template" if guess else
            f"declare it under inputs ({name}: {{type: string}}) and give it in the cases' vars, "
            f"or guard it with {{% if {name} is defined %}}")
    return Diagnostic(prompt, f"the template uses variable '{name}', which is not an input of {Path(prompt).name}"
                              f"{declared}: rendering fails wherever it is reached", Severity.ERROR,
                      UNDEFINED_VARIABLE.code, UNDEFINED_VARIABLE.name, span, hint)

