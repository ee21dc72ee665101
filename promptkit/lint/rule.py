"""What a lint rule is: one small class with a code, a name, a severity, docs and a check.

Modelled on ruff: every rule is a unit with a stable code (``PK`` + family digit + number),
a kebab-case name, a default severity, an optional fix and documentation whose docstring
has the sections *What it does*, *Why is this bad?*, *Example* and *Use instead*. The
example blocks are real files: a meta-test lints each *Example* and checks the rule fires,
and lints each *Use instead* and checks it does not.

Families: PK0xx load, PK1xx template, PK2xx structure, PK3xx formatting, PK4xx budget,
PK5xx safety, PK6xx clarity (off unless selected).

A rule never raises on purpose; if it does, the engine reports an internal-error
diagnostic for that file and the run goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from promptkit.diagnostics import Diagnostic, Edit, Fix, Severity, Span
from promptkit.template.model import FileKind, PromptTemplate

if TYPE_CHECKING:
    from promptkit.lint.config import LintConfig
    from promptkit.template.analysis import TemplateAnalysis

ALL_KINDS = frozenset(FileKind)
JINJA_KINDS = frozenset({FileKind.PROMPTY, FileKind.JINJA})


@dataclass(slots=True)
class Finding:
    """What a rule's ``check`` yields: a place, a message, and maybe a fix.

    The engine turns findings into :class:`~promptkit.diagnostics.Diagnostic` objects,
    filling in the path, code, name and (configured) severity."""

    span: Span | None
    message: str
    fix: Fix | None = None
    severity: Severity | None = None  # override the rule's default for this finding
    hint: str = ""


class LintContext:
    """Everything a rule may look at for one file, computed lazily and shared.

    Rules must not re-parse or re-render on their own: expensive views (Jinja AST,
    rendered samples, token counts) live here so each is computed once per file."""

    def __init__(self, template: PromptTemplate, config: LintConfig | None = None) -> None:
        self.template = template
        self.config = config
        self._cache: dict[str, Any] = {}

    @property
    def path(self) -> str:
        return self.template.path

    @property
    def text(self) -> str:
        return self.template.text

    @property
    def analysis(self) -> TemplateAnalysis:
        """What the body does with its inputs and which text is prose
        (:func:`promptkit.template.analysis.analyze`), computed on first use."""
        return self.cached("analysis", lambda: _analyze(self.template))

    def cached(self, key: str, compute: Any) -> Any:
        """Memoize ``compute()`` under ``key`` for this file."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def setting(self, rule_code: str, key: str, default: Any) -> Any:
        """A per-rule option from config (``[tool.promptkit.rules.PK401] max-tokens = ...``)."""
        if self.config is None:
            return default
        return self.config.rule_option(rule_code, key, default)

    def edit(self, start: int, end: int, content: str, *, safe: bool = True, description: str = "") -> Fix:
        """A one-edit fix replacing ``text[start:end]``."""
        return Fix([Edit(start, end, content)], safe=safe, description=description)

    def span(self, start: int, end: int) -> Span:
        return self.template.index.span(start, end)


def _analyze(template: PromptTemplate) -> TemplateAnalysis:
    from promptkit.template.analysis import analyze

    return analyze(template)


class Rule:
    """Base class of every rule. Subclasses set the class attributes and ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    #: "safe", "unsafe" or None: what kind of fix the rule can offer.
    fixable: ClassVar[str | None] = None
    #: Preview rules run only with ``preview = true`` or when selected by exact code.
    preview: ClassVar[bool] = False
    #: Off unless selected (the clarity family).
    default_enabled: ClassVar[bool] = True
    #: File kinds the rule applies to.
    kinds: ClassVar[frozenset[FileKind]] = ALL_KINDS
    #: Findings point at secrets: reports must never show the source line they sit on.
    sensitive: ClassVar[bool] = False

    def check(self, ctx: LintContext) -> Iterator[Finding]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    @classmethod
    def doc(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        return cls.doc().split("\n", 1)[0]


@dataclass
class Registry:
    """All known rules by code. A registry, not an if-chain: adding a rule is adding a
    class with ``@register``."""

    rules: dict[str, type[Rule]] = field(default_factory=dict)

    def register(self, rule: type[Rule]) -> type[Rule]:
        """Add a built-in rule; its code goes into the central table
        (:data:`promptkit.codes.CODES`), which refuses a code used twice."""
        from promptkit.codes import CODES

        if rule.code in self.rules:
            raise ValueError(f"duplicate rule code {rule.code}")
        CODES.admit(rule.code, rule.name, rule.summary())
        self.rules[rule.code] = rule
        return rule

    def by_name(self, name: str) -> type[Rule] | None:
        for r in self.rules.values():
            if r.name == name:
                return r
        return None

    def __iter__(self) -> Iterator[type[Rule]]:
        return iter(sorted(self.rules.values(), key=lambda r: r.code))


REGISTRY = Registry()
register = REGISTRY.register


def to_diagnostic(rule: type[Rule], finding: Finding, path: str, severity: Severity | None = None) -> Diagnostic:
    """The diagnostic for a rule's finding. ``severity``, when given, is the resolved one
    (configuration already applied) and wins over the finding's and the rule's."""
    return Diagnostic(
        path=path,
        message=finding.message,
        severity=severity or finding.severity or rule.severity,
        code=rule.code,
        name=rule.name,
        span=finding.span,
        hint=finding.hint,
        fix=finding.fix,
        extra={"sensitive": True} if rule.sensitive else {},
    )
