"""What an assertion *is* before it runs: its spec, and the context it runs in.

A test file says ``- type: not-icontains`` with a ``value`` and maybe ``weight``,
``metric`` or type-specific options. :class:`AssertionSpec` is that entry, parsed once at
load time (so a typo in an option is reported at its line, not after an expensive model
call) and evaluated many times, once per sample.

:class:`AssertionContext` is everything an assertion may need besides the output: the
case's variables, the rendered messages (a judge must see what was asked), the baseline
output (pairwise comparison) and the ``judge`` function the runner provides. Assertions
never call a model themselves: the runner owns clients, retries, recordings and cost
accounting, so a judge call is recorded and replayed like any other call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from promptkit.diagnostics import Span
from promptkit.runner.results import ModelResponse

if TYPE_CHECKING:
    from promptkit.template.model import PromptTemplate

#: ``judge(messages, model, params) -> ModelResponse``: model ``None`` means the suite's
#: default judge model. Raises :class:`~promptkit.runner.results.ProviderError`.
JudgeFn = Callable[[list[dict[str, Any]], "str | None", dict[str, Any]], Awaitable[ModelResponse]]


class AssertionSpec(BaseModel):
    """One ``assert:`` entry of a test case.

    ``type`` is the base type (``contains``); a ``not-`` prefix in the file sets
    ``negate`` instead. ``options`` are the validated type-specific fields (``value``,
    ``threshold``, ``path``...), an instance of the type's own options model. ``weight``
    0 makes an assertion informational: reported, never failing the case.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    type: str
    negate: bool = False
    weight: float = Field(default=1.0, ge=0.0)
    metric: str | None = None
    options: Any = None
    #: :class:`~promptkit.runner.assertions.transform.Transform` applied to the output
    #: before this check (after the case's own), or None.
    transform: Any = None
    #: The member assertions of an ``assert-set``.
    children: list[AssertionSpec] = Field(default_factory=list)
    #: Where the entry is, for messages that point back at the test file.
    source: str | None = None
    span: Span | None = None

    @property
    def label(self) -> str:
        """How results name this assertion: ``not-contains``, or the ``metric`` name."""
        if self.metric:
            return self.metric
        return f"not-{self.type}" if self.negate else self.type

    @property
    def where(self) -> str:
        """``file:line`` of the entry, or ``""`` for specs built in Python."""
        if self.source and self.span:
            return f"{self.source}:{self.span.start.line}"
        return self.source or ""

    @classmethod
    def make(cls, type: str, value: Any = None, **options: Any) -> AssertionSpec:
        """Build (and validate) a spec in Python: ``AssertionSpec.make("contains", "Paris")``.

        Raises ``ValueError`` for an unknown type or invalid options.
        """
        from promptkit.runner.assertions.registry import build_spec

        raw: dict[str, Any] = {"type": type, **options}
        if value is not None:
            raw["value"] = value
        return build_spec(raw)


@dataclass
class AssertionContext:
    """What an assertion may look at besides the output itself.

    ``template`` is the template that was rendered -- the prompt file as the run loaded
    it, or an in-memory variant -- and the only source an assertion may consult about the
    prompt (its declared output schema...): never the file on disk, which a variant does
    not change. ``messages`` are the rendered chat messages sent to the model (dicts with
    ``role`` and ``content``). ``judge`` is provided by the runner for model-graded
    assertions; ``None`` makes them report an error (never a failure). ``base_dir``
    resolves relative paths in options (schema files, Python helpers): the test file's
    folder.
    """

    vars: dict[str, Any] = field(default_factory=dict)
    case: Any = None
    template: PromptTemplate | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    judge: JudgeFn | None = None
    baseline_output: str | None = None
    base_dir: str | Path | None = None
    #: Judge model from the suite (``defaults.judge``); passed to ``judge`` when a spec
    #: names none. ``None`` lets the runner decide.
    judge_model: str | None = None
    judge_params: dict[str, Any] = field(default_factory=dict)
