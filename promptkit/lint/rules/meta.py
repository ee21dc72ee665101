"""PK000 and PK009: diagnostics the engine itself reports, registered for docs and selection.

Their ``check`` finds nothing: the engine emits ``PK000`` when another rule crashes and
:mod:`promptkit.lint.noqa` emits ``PK009`` for directives that suppressed nothing. They are
rules all the same, so ``promptkit rule PK009`` explains them and ``ignore = ["PK009"]``
turns the unused-noqa check off.
"""

from __future__ import annotations

from collections.abc import Iterator

from promptkit.codes import INTERNAL_ERROR, UNUSED_NOQA
from promptkit.diagnostics import Severity
from promptkit.lint.rule import Finding, LintContext, Rule, register


@register
class InternalError(Rule):
    """A lint rule crashed on this file; the other rules still ran.

    ## What it does
    Reports, instead of a traceback, that a rule raised an exception on this file. The
    message names the rule and the exception. It cannot be suppressed with ``noqa``;
    ignore the named rule for the file in ``per-file-ignores`` until it is fixed.

    ## Why is this bad?
    It is a bug in promptkit (or in a rule pack), not in the prompt: the rule's findings
    for this file are missing. Please report it with the file that triggers it.

    ## Example
    ```text
    (any file on which a rule raises an exception)
    ```

    ## Use instead
    ```text
    (the same file, once the rule is fixed)
    ```
    """

    code = INTERNAL_ERROR.code
    name = INTERNAL_ERROR.name
    severity = Severity.ERROR
    engine_reported = True

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        return iter(())


@register
class UnusedNoqa(Rule):
    """A ``noqa`` directive suppresses nothing, or names an unknown code.

    ## What it does
    Reports ``{# noqa: ... #}``, ``<!-- noqa: ... -->`` and ``# noqa`` directives (and
    file-level ``promptkit: noqa`` ones) whose codes no longer match any finding. The
    safe fix removes the directive, or only its unused codes.

    ## Why is this bad?
    Stale suppressions hide the next real problem on the same line and make readers
    think a problem exists that does not.

    ## Example
    ```prompty
    ---
    name: greet
    ---
    system:
    You are a friendly assistant. {# noqa: PK301 #}
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    ---
    system:
    You are a friendly assistant.
    ```
    """

    code = UNUSED_NOQA.code
    name = UNUSED_NOQA.name
    severity = Severity.WARNING
    fixable = "safe"
    engine_reported = True

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        return iter(())
