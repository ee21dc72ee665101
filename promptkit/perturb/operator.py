"""What a perturbation operator *is*: a small registered unit, like a lint rule.

Each operator has a ``name`` (``typo-swap``), a ``family`` (``noise``, ``format``,
``order``, ``content``, ``inputs``), default ``params``, a ``guarantee`` (what it never
changes, in one sentence people read in ``promptkit perturb --list`` and the docs) and one
method, :meth:`Operator.mutations`: every atomic edit it could make to one template and
one set of inputs, in a deterministic order. Nothing is applied there.

Atomic edits (:class:`Mutation`) are the unit everything else works on:

* a seeded variant (``promptkit perturb --seed 1``, ``perturb: {seed: 7}``) picks a few of
  them with a string-seeded :class:`random.Random`, which is the same in every process
  and on every machine (CPython seeds ``str`` through SHA-512, not ``hash()``);
* the Hypothesis strategies (:mod:`promptkit.strategies`) draw them by index, so shrinking
  drops mutations and moves to lower indices: toward fewer and smaller perturbations;
* :func:`promptkit.perturb.apply` applies any subset through the template edit service
  (:mod:`promptkit.template.edit`) and checks the result re-parses with the same variables,
  roles and components (:func:`promptkit.perturb.check`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from promptkit.perturb.payloads import Payload
    from promptkit.template.analysis import TemplateAnalysis
    from promptkit.template.edit import Edit
    from promptkit.template.model import PromptTemplate

__all__ = ["FAMILIES", "Context", "Mutation", "Operator", "PerturbError", "REGISTRY", "VarEdit", "get", "names",
           "register", "rng_for"]

Family = Literal["noise", "format", "order", "content", "inputs"]
#: The families, in the order ``--list`` and the docs show them.
FAMILIES: tuple[str, ...] = ("noise", "format", "order", "content", "inputs")


class PerturbError(ValueError):
    """A perturbation that cannot be made as asked: an unknown operator, a constraint that
    leaves it nothing it may change (it would have to touch a placeholder), a bad payload
    list. Carries a :class:`~promptkit.diagnostics.Diagnostic` when a place is known."""

    def __init__(self, message: str, *, diagnostic: Any = None) -> None:
        super().__init__(message)
        self.diagnostic = diagnostic


@dataclass(frozen=True, slots=True)
class VarEdit:
    """Replace characters ``[start, end)`` of the string input ``var`` with ``text``
    (``start == end`` inserts), or with ``value`` set, replace the whole input."""

    var: str
    start: int = 0
    end: int = 0
    text: str = ""
    value: Any = None
    whole: bool = False


@dataclass(frozen=True)
class Mutation:
    """One atomic edit an operator proposes.

    ``edits`` are span edits of ``template.text`` (the edit service's :class:`Edit`);
    ``var_edits`` change the case's inputs; ``extra`` carries what scoring needs (an
    injection's canary, a remapped gold answer). ``label`` is what a person reads in a
    report: ``typo-swap: 'triage' -> 'tirage' (line 12)``."""

    operator: str
    index: int
    label: str
    edits: tuple[Edit, ...] = ()
    var_edits: tuple[VarEdit, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        return (self.operator, self.index)


@dataclass
class Context:
    """What an operator may look at: the template, its analysis, the case's inputs, and
    the limits a caller set (components, messages, protected words, operator params)."""

    template: PromptTemplate
    vars: dict[str, Any] = field(default_factory=dict)
    components: tuple[str, ...] | None = None  # component keys/kinds the edits must stay in
    messages: tuple[int | str, ...] | None = None  # message indexes or roles
    protect: frozenset[str] = frozenset()  # extra words never touched (label words...)
    params: dict[str, Any] = field(default_factory=dict)
    payloads: Sequence[Payload] | None = None
    #: Calls a model for the ``paraphrase`` operator: (messages, model) -> text.
    llm: Callable[[list[dict[str, str]], str], str] | None = None

    @property
    def analysis(self) -> TemplateAnalysis:
        from promptkit.template.analysis import analyze

        return analyze(self.template)


def rng_for(*parts: object) -> random.Random:
    """A :class:`random.Random` seeded from ``parts`` as one string: identical in every
    process and on every machine (``str`` seeds go through SHA-512, never ``hash()``)."""
    return random.Random("\x1f".join(str(p) for p in parts))


class Operator:
    """Base class: set the class attributes and implement :meth:`mutations`."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = "noise"
    #: What the operator never changes, stated for people (docs, ``--list``).
    guarantee: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: Default parameters; a suite or the command line may override them.
    params: ClassVar[Mapping[str, Any]] = {}
    #: ``template`` operators edit the prompt file, ``inputs`` operators the case's variables.
    target: ClassVar[Literal["template", "inputs"]] = "template"
    #: Does the operator need the model (``paraphrase``)?
    needs_llm: ClassVar[bool] = False

    def mutations(self, ctx: Context, rng: random.Random) -> list[Mutation]:
        """Every atomic mutation of ``ctx``, deterministic for the same ``rng`` state.
        Never applies anything; an empty list means there is nothing it may change."""
        raise NotImplementedError

    def param(self, ctx: Context, key: str) -> Any:
        return ctx.params.get(key, self.params.get(key))

    def __repr__(self) -> str:
        return f"<operator {self.name} ({self.family})>"


#: name -> operator instance, in registration order.
REGISTRY: dict[str, Operator] = {}
#: Short names that stand for another operator (``typo`` is the mixed typo).
ALIASES: dict[str, str] = {}


def register(cls: type[Operator]) -> type[Operator]:
    """Class decorator: register one instance under ``cls.name`` (refusing duplicates)."""
    if not cls.name or cls.name in REGISTRY:
        raise ValueError(f"operator name {cls.name!r} is empty or registered twice")
    if cls.family not in FAMILIES:
        raise ValueError(f"operator {cls.name}: unknown family {cls.family!r}")
    if not cls.guarantee:
        raise ValueError(f"operator {cls.name} declares no guarantee")
    REGISTRY[cls.name] = cls()
    return cls


def _load() -> None:
    if REGISTRY:
        return
    from promptkit.perturb import content, formatting, inputs, noise, order  # noqa: F401 - registers


def names() -> list[str]:
    """Every operator name, in registration (family) order."""
    _load()
    return list(REGISTRY)


def get(name: str) -> Operator:
    """The operator ``name``; an unknown name is a :class:`PerturbError` that suggests the
    closest one."""
    _load()
    op = REGISTRY.get(ALIASES.get(name, name))
    if op is not None:
        return op
    fam = [o.name for o in REGISTRY.values() if o.family == name]
    if fam:
        raise PerturbError(f"'{name}' is a family, not an operator: its operators are {', '.join(fam)}")
    from rapidfuzz import process

    guess = process.extractOne(name, list(REGISTRY) + list(ALIASES), score_cutoff=60)
    hint = f"did you mean '{guess[0]}'?" if guess else "see `promptkit perturb --list`"
    raise PerturbError(f"unknown perturbation operator '{name}' ({hint})")


def resolve(selection: Iterable[str]) -> list[Operator]:
    """Operators named by ``selection``: names, aliases, or family names (all of its
    operators), in the order given, without duplicates."""
    _load()
    out: list[Operator] = []
    for name in selection:
        fam = [o for o in REGISTRY.values() if o.family == name]
        for op in fam or [get(name)]:
            if op not in out:
                out.append(op)
    return out
