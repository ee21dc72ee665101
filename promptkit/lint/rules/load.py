"""PK0xx load rules: the loader's diagnostics, made selectable like any other rule.

The template loader never raises for bad content; it records what went wrong
(unreadable bytes, broken YAML, an unsupported engine) on ``template.diagnostics``.
These rules forward those diagnostics, so they can be ignored, selected, given a
severity or suppressed with ``noqa`` in the same way as every other finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from promptkit.codes import (
    EMPTY_FILE,
    FRONT_MATTER_SCHEMA,
    INVALID_FRONT_MATTER,
    LENIENT_FRONT_MATTER,
    UNREADABLE_FILE,
    UNSUPPORTED_TEMPLATE_FORMAT,
)
from promptkit.diagnostics import Severity
from promptkit.lint.rule import Finding, LintContext, Rule, register
from promptkit.template.model import FileKind


class _Forward(Rule):
    """Base of the forwarding rules: yield the loader's diagnostics with this code."""

    forwards: ClassVar[str]

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        for d in ctx.template.diagnostics:
            if d.code == self.forwards:
                yield Finding(d.span, d.message, fix=d.fix, severity=d.severity, hint=d.hint)


@register
class UnreadableFile(_Forward):
    """The file cannot be read as text: binary content, a bad encoding, or too large.

    ## What it does
    Reports files that are not valid UTF-8 (or UTF-16 with a BOM), contain NUL bytes,
    cannot be opened (or, with `--fix`, written back), or are over the 10 MB limit for
    prompt files.

    ## Why is this bad?
    Nothing else can be checked in a file that cannot be decoded, and a model would be
    sent mojibake. Usually the wrong file was committed, or an editor saved it in a
    legacy encoding.

    ## Example
    ```text
    caf\xe9 au lait (Latin-1 bytes, not UTF-8)
    ```

    ## Use instead
    ```text
    café au lait (saved as UTF-8)
    ```
    """

    code = UNREADABLE_FILE.code
    name = UNREADABLE_FILE.name
    severity = Severity.ERROR
    forwards = UNREADABLE_FILE.code


@register
class InvalidFrontMatter(_Forward):
    """The YAML front matter does not parse, or its ``---`` fence is never closed.

    ## What it does
    Reports front matter that is not valid YAML even when read leniently, with the line
    and column where the YAML parser gave up.

    ## Why is this bad?
    Without front matter the model, inputs and samples of the prompt are unknown, so the
    prompt cannot be rendered or tested, and tools that read it (Prompty, dotprompt,
    Copilot) reject or misread the file.

    ## Example
    ```prompty
    ---
    name: summarize
    inputs:
      text:
        type: string
       sample: A long article.
    ---
    Summarize {{ text }}.
    ```

    ## Use instead
    ```prompty
    ---
    name: summarize
    inputs:
      text:
        type: string
        sample: A long article.
    ---
    Summarize {{ text }}.
    ```
    """

    code = INVALID_FRONT_MATTER.code
    name = INVALID_FRONT_MATTER.name
    severity = Severity.ERROR
    forwards = INVALID_FRONT_MATTER.code


@register
class LenientFrontMatter(_Forward):
    """The front matter is not strict YAML; promptkit could read it only by quoting a value.

    ## What it does
    Reports front-matter values such as ``globs: **/*`` that strict YAML rejects (``*``
    starts an alias, ``a: b: c`` is a nested mapping) and that promptkit read by quoting
    them.

    ## Why is this bad?
    Strict YAML parsers (CI tools, other editors) reject the file or read a different
    value. Quoting the value makes every reader agree.

    ## Example
    ```markdown
    ---
    description: Rules for TypeScript files
    globs: **/*.ts
    ---
    Use strict mode.
    ```

    ## Use instead
    ```markdown
    ---
    description: Rules for TypeScript files
    globs: "**/*.ts"
    ---
    Use strict mode.
    ```
    """

    code = LENIENT_FRONT_MATTER.code
    name = LENIENT_FRONT_MATTER.name
    severity = Severity.WARNING
    forwards = LENIENT_FRONT_MATTER.code


@register
class UnsupportedTemplateFormat(_Forward):
    """The front matter names a template format promptkit cannot render (mustache, handlebars...).

    ## What it does
    Reports a ``template:`` format other than jinja2/nunjucks. promptkit still parses the
    file's structure and lints it, but it cannot render it or run its tests.

    ## Why is this bad?
    Rules that need the rendered prompt (token budget, input checks) are skipped, and the
    regression runner cannot call the model with it.

    ## Example
    ```prompty
    ---
    name: greet
    template: handlebars
    ---
    Hello {{name}}!
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    template: jinja2
    inputs:
      name: {type: string}
    ---
    Hello {{ name }}!
    ```
    """

    code = UNSUPPORTED_TEMPLATE_FORMAT.code
    name = UNSUPPORTED_TEMPLATE_FORMAT.name
    severity = Severity.WARNING
    forwards = UNSUPPORTED_TEMPLATE_FORMAT.code


@register
class FrontMatterSchema(_Forward):
    """A front-matter field has the wrong type or value (for example a non-semver ``version``).

    ## What it does
    Validates the front matter against promptkit's schema (Prompty-compatible; unknown
    keys are allowed) and reports each field that does not fit, at the field. In Markdown
    and text prompts (Copilot, Cursor, skills), whose front matter belongs to other tools,
    a mismatch is a warning rather than an error.

    ## Why is this bad?
    A mistyped field is silently ignored by some tools and rejected by others; the
    runner and the linter cannot use it.

    ## Example
    ```prompty
    ---
    name: summarize
    version: one
    ---
    Summarize the text.
    ```

    ## Use instead
    ```prompty
    ---
    name: summarize
    version: 1.0.0
    ---
    Summarize the text.
    ```
    """

    code = FRONT_MATTER_SCHEMA.code
    name = FRONT_MATTER_SCHEMA.name
    severity = Severity.ERROR
    forwards = FRONT_MATTER_SCHEMA.code

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        foreign = ctx.template.kind in (FileKind.MARKDOWN, FileKind.TEXT)
        for f in super().check(ctx):
            if foreign and f.severity is Severity.ERROR:
                f.severity = Severity.WARNING
            yield f


@register
class EmptyFile(Rule):
    """A prompt file with nothing in it (or only whitespace).

    ## What it does
    Reports a ``.prompty`` file that is empty or holds only blank lines.

    ## Why is this bad?
    An empty prompt sends the model nothing; it is almost always a file created and never
    written, or a copy that lost its content. "All checks passed" would hide it.

    ## Example
    An empty ``greet.prompty``:

    ```prompty
    ```

    ## Use instead
    ```prompty
    ---
    name: greet
    description: Greets the user by name.
    ---
    user:
    Say hello to {{ name }}.
    ```
    """

    code = EMPTY_FILE.code
    name = EMPTY_FILE.name
    severity = Severity.WARNING
    kinds = frozenset({FileKind.PROMPTY})

    def check(self, ctx: LintContext) -> Iterator[Finding]:
        t = ctx.template
        if t.text.strip() or any(d.code == UNREADABLE_FILE.code for d in t.diagnostics):
            return
        yield Finding(t.index.line_span(1), "the prompt file is empty",
                      hint="write the prompt (front matter and messages), or delete the file")

