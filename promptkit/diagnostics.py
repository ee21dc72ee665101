"""Source positions and diagnostics shared by every part of promptkit.

Everything that can go wrong with a user's file -- a YAML error, a Jinja syntax error,
a lint finding, a missing recording -- is reported as a :class:`Diagnostic` that points
at an exact place in the file. One type for all of them means one way to print them
(``path:line:col: severity: message``), one JSON shape, and no tracebacks for bad input.

Positions are 1-based lines and columns (what editors show) plus a 0-based character
offset into the decoded text (what code slices with).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import Enum


class Severity(str, Enum):
    """How bad a diagnostic is. Ordered: ``ERROR`` > ``WARNING`` > ``INFO``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


@dataclass(frozen=True, slots=True)
class Position:
    """A place in a file: 1-based ``line`` and ``column``, 0-based character ``offset``."""

    line: int
    column: int
    offset: int


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range ``[start, end)`` of a file."""

    start: Position
    end: Position

    def contains(self, offset: int) -> bool:
        return self.start.offset <= offset < self.end.offset

    @property
    def line(self) -> int:
        return self.start.line

    @property
    def column(self) -> int:
        return self.start.column


class LineIndex:
    """Maps character offsets of a text to (line, column) in O(log n).

    Built once per file; every span in the template model is made through it, so all
    parts of promptkit agree on where things are.
    """

    __slots__ = ("text", "_starts")

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            starts.append(i + 1)
            i = find("\n", i + 1)
        self._starts = starts

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        """Offset of the first character of 1-based ``line`` (clamped to the text)."""
        if line < 1:
            return 0
        if line > len(self._starts):
            return len(self.text)
        return self._starts[line - 1]

    def line_end(self, line: int) -> int:
        """Offset just past the last character of ``line``, excluding its newline."""
        if line >= len(self._starts):
            return len(self.text)
        end = self._starts[line] - 1
        if end > 0 and self.text[end - 1] == "\r":
            end -= 1
        return end

    def line_text(self, line: int) -> str:
        return self.text[self.line_start(line) : self.line_end(line)]

    def position(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset)
        return Position(line, offset - self._starts[line - 1] + 1, offset)

    def position_at(self, line: int, column: int = 1) -> Position:
        start = self.line_start(line)
        offset = min(start + max(column, 1) - 1, self.line_end(line) if line <= self.line_count else len(self.text))
        return self.position(max(offset, start))

    def span(self, start: int, end: int) -> Span:
        return Span(self.position(start), self.position(max(start, end)))

    def line_span(self, line: int) -> Span:
        return self.span(self.line_start(line), self.line_end(line))


@dataclass(slots=True)
class Edit:
    """Replace ``[start, end)`` (character offsets) of the file's text with ``content``."""

    start: int
    end: int
    content: str


@dataclass(slots=True)
class Fix:
    """A set of edits that resolves a diagnostic. ``safe`` fixes apply with ``--fix``;
    unsafe ones (which may change meaning) only with ``--unsafe-fixes``."""

    edits: list[Edit]
    safe: bool = True
    description: str = ""


@dataclass(slots=True)
class Diagnostic:
    """One finding about one file.

    ``code`` is a stable identifier (``PK101``); ``name`` its kebab-case alias. ``hint``
    says how to fix the problem, in words. ``span`` is ``None`` only when the problem has
    no place in the file (an unreadable file, say); it is then reported at 1:1.
    """

    path: str
    message: str
    severity: Severity = Severity.ERROR
    code: str = ""
    name: str = ""
    span: Span | None = None
    hint: str = ""
    fix: Fix | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def line(self) -> int:
        return self.span.start.line if self.span else 1

    @property
    def column(self) -> int:
        return self.span.start.column if self.span else 1

    def format(self) -> str:
        """The one-line form: ``path:line:col: error: PK101 message (hint)``."""
        code = f"{self.code} " if self.code else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.path}:{self.line}:{self.column}: {self.severity.value}: {code}{self.message}{hint}"

    def to_dict(self) -> dict[str, object]:
        span = self.span
        return {
            "path": self.path,
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "line": self.line,
            "column": self.column,
            "end_line": span.end.line if span else 1,
            "end_column": span.end.column if span else 1,
            "fixable": self.fix is not None,
        }


class PromptkitError(Exception):
    """An error caused by user input. Carries a :class:`Diagnostic`; the CLI prints its
    one-line form and exits with status 2 instead of showing a traceback."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Every problem this error carries (one, unless it is a :class:`PromptkitErrors`)."""
        return [self.diagnostic]

    def format_all(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


class PromptkitErrors(PromptkitError):
    """Several problems found in one pass (every problem of a test file in one run, not
    one per run). ``diagnostic`` is the first; the CLI prints them all."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics[0])
        self._all = list(diagnostics)
        self.args = (self.format_all(),)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return list(self._all)


class TemplateLoadError(PromptkitError):
    """The file cannot be loaded at all (unreadable, binary, invalid front matter...)."""


class RenderError(PromptkitError):
    """Rendering failed: undefined or mistyped variable, Jinja error, unsupported engine."""
