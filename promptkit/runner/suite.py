"""The runtime model of a regression suite: the objects the engine runs.

A :class:`Suite` says *which prompts* run on *which models* with *which cases*; each
:class:`Case` holds variables and the assertions its output must satisfy;
:meth:`Suite.expand` turns them into :class:`CaseRun` units (case x prompt x model) with
final variables and parameters, each carrying the loaded template it runs on.

These objects come from a ``*.prompttest.yaml`` file (:mod:`promptkit.runner.suite_file`
parses and validates it, with positions) or from Python:
``Suite.from_cases(prompt, [Case(id=..., vars=..., assertions=[...])], models=[...])``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from promptkit.codes import INVALID_TEST_FILE, MISSING_FILE
from promptkit.diagnostics import Diagnostic, PromptkitError, Span
from promptkit.runner.assertions.registry import SpecError, build_spec
from promptkit.runner.assertions.spec import AssertionContext, AssertionSpec, JudgeFn
from promptkit.template.model import PromptTemplate

__all__ = [
    "Case",
    "CaseRun",
    "Defaults",
    "ModelTarget",
    "PerturbSpec",
    "Suite",
    "SUITE_GLOB",
    "coerce_vars",
    "line_span",
    "same_file",
]

#: How suite files are named (the pytest plugin collects these).
SUITE_GLOB = "*.prompttest.yaml"


class ModelTarget(BaseModel):
    """One entry of the model matrix: a litellm id, call parameters, a display label."""

    model_config = ConfigDict(frozen=True)

    id: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None

    @property
    def name(self) -> str:
        """What reports and test ids show: the label, or the id."""
        return self.label or self.id

    @classmethod
    def of(cls, value: str | dict[str, Any] | ModelTarget) -> ModelTarget:
        if isinstance(value, ModelTarget):
            return value
        if isinstance(value, str):
            return cls(id=value)
        return cls.model_validate(value)


class PerturbSpec(BaseModel):
    """``perturb:`` of a case or suite: run the case again on seeded variants of its
    template and inputs (see docs/robustness.md). Plain data: :mod:`promptkit.perturb`
    makes and scores the variants."""

    model_config = ConfigDict(extra="forbid")

    operators: list[str] = Field(min_length=1)
    n: int = Field(default=5, ge=1, le=1000)
    seed: int | str = 0
    edits: int = Field(default=1, ge=1, le=50)
    min_pass_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    components: list[str] | None = None
    messages: list[str | int] | None = None
    protect: list[str] = Field(default_factory=list)
    #: operator name -> its parameters (e.g. ``choice-order: {choices: options, answer: gold}``)
    params: dict[str, dict[str, Any]] = Field(default_factory=dict)
    payloads: str | None = None  # a payload list file, relative to the test file
    model: str | None = None  # the model behind ``paraphrase``
    #: Resolved path of ``payloads`` (set by the loader).
    payloads_path: Path | None = None


class Case(BaseModel):
    """One test case: variables plus the assertions its output must satisfy.

    ``repeat`` samples the model N times; the case passes when at least ``min_pass``
    samples pass. A ``flaky`` case is reported but never fails the run. ``threshold``
    lets a sample pass on its weighted score even if a check failed. ``prompt`` and
    ``models`` override the suite's for this case only.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: str
    description: str | None = None
    prompt: Path | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    assertions: list[AssertionSpec] = Field(default_factory=list)
    repeat: int = Field(default=1, ge=1)
    min_pass: int | None = Field(default=None, ge=1)
    flaky: bool = False
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    models: list[ModelTarget] | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    #: Where the case is written (``file:line``), for reports; None for Python cases.
    source: str | None = None
    line: int | None = None
    #: Row of the dataset file this case came from, when it did.
    dataset_row: int | None = None
    #: Output transform applied before every assertion of the case
    #: (:mod:`promptkit.runner.assertions.transform`); a raw value is validated.
    transform: Any = None
    #: Robustness: run this case on perturbed variants too (``perturb:``).
    perturb: PerturbSpec | None = None

    @field_validator("transform", mode="before")
    @classmethod
    def _transform(cls, value: Any) -> Any:
        from promptkit.runner.assertions.transform import Transform, build_transform

        return value if value is None or isinstance(value, Transform) else build_transform(value)

    @field_validator("assertions", mode="before")
    @classmethod
    def _specs(cls, value: Any) -> Any:
        """Accept raw dicts (``{"type": "contains", "value": "x"}``) in Python too."""
        if isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, AssertionSpec):
                    out.append(item)
                else:
                    try:
                        out.append(build_spec(item))
                    except SpecError as exc:
                        raise ValueError(f"{exc}" + (f" ({exc.hint})" if exc.hint else "")) from None
            return out
        return value

    @field_validator("models", mode="before")
    @classmethod
    def _models(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [ModelTarget.of(v) if isinstance(v, (str, ModelTarget)) else v for v in value]
        return value

    @property
    def source_path(self) -> str | None:
        """The file the case is written in (``source`` without its line)."""
        return self.source.rsplit(":", 1)[0] if self.source else None

    @property
    def required_passes(self) -> int:
        """``min_pass``, defaulting to every sample."""
        return min(self.min_pass or self.repeat, self.repeat)


class Defaults(BaseModel):
    """Suite-wide defaults a case inherits (its own values win; assertions add up)."""

    vars: dict[str, Any] = Field(default_factory=dict)
    assertions: list[AssertionSpec] = Field(default_factory=list)
    repeat: int = Field(default=1, ge=1)
    min_pass: int | None = Field(default=None, ge=1)
    flaky: bool = False
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    timeout_s: float | None = Field(default=None, gt=0)
    judge: ModelTarget | None = None


class CaseRun(BaseModel):
    """One unit of work for the runner: a case on one prompt with one model.

    ``vars`` are final (defaults merged, dataset values coerced to the template's input
    types); ``params`` are the call parameters (the template's ``model.parameters``
    overridden by the model target's). ``assertions`` include the suite defaults.
    ``template`` is the loaded template the run renders -- the file at ``template_path``
    or an in-memory variant standing in for it -- loaded once by :meth:`Suite.expand`, so
    neither the engine nor an assertion reads the file again.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    suite: str
    case: Case
    model: ModelTarget
    template_path: Path
    vars: dict[str, Any]
    template: PromptTemplate | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    assertions: list[AssertionSpec] = Field(default_factory=list)
    threshold: float | None = None
    judge: ModelTarget | None = None
    multi_prompt: bool = False
    #: Folder that relative paths in assertion options resolve against.
    base_dir: Path | None = None

    def context(
        self,
        messages: list[dict[str, Any]],
        judge: JudgeFn | None = None,
        baseline_output: str | None = None,
        template: PromptTemplate | None = None,
    ) -> AssertionContext:
        """The :class:`AssertionContext` for one sample of this run (``template``: the
        one actually rendered, when it is not :attr:`template`)."""
        return AssertionContext(
            vars=self.vars,
            case=self.case,
            template=template if template is not None else self.template,
            messages=messages,
            judge=judge,
            baseline_output=baseline_output,
            base_dir=self.base_dir,
            judge_model=self.judge.id if self.judge else None,
            judge_params=dict(self.judge.params) if self.judge else {},
        )

    @property
    def id(self) -> str:
        """Stable id ``<suite>::<case>[<model>]`` (``[<prompt>|<model>]`` when the suite
        has several prompts), as used in results and baselines."""
        target = self.model.name
        if self.multi_prompt:
            target = f"{_prompt_name(self.template_path)}|{target}"
        return f"{self.suite}::{self.case.id}[{target}]"


def _prompt_name(path: Path) -> str:
    return path.name.split(".")[0]


class Suite(BaseModel):
    """A loaded test suite: prompts x models x cases."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path | None = None
    prompts: list[Path] = Field(default_factory=list)
    models: list[ModelTarget] = Field(default_factory=list)
    defaults: Defaults = Field(default_factory=Defaults)
    cases: list[Case] = Field(default_factory=list)

    @property
    def name(self) -> str:
        """The suite's id in results: its path relative to the working directory when
        it is inside it (so ids match across machines and checkouts), else as given;
        ``<python>`` for suites built in Python without a name."""
        if self.path is None:
            return "<python>"
        from promptkit.paths import shown

        return shown(self.path)

    @property
    def judge(self) -> ModelTarget | None:
        return self.defaults.judge

    @classmethod
    def from_cases(
        cls,
        prompt: str | Path | Sequence[str | Path],
        cases: Iterable[Case | dict[str, Any]],
        *,
        models: Sequence[str | dict[str, Any] | ModelTarget] = (),
        defaults: Defaults | dict[str, Any] | None = None,
        name: str | Path | None = None,
    ) -> Suite:
        """Build a suite in Python (for ``prompt_runner`` and hand-written tests).

        ``cases`` may be :class:`Case` objects or dicts with the same fields (``assert``
        or ``assertions`` for the list of checks). Missing prompt files raise
        :class:`PromptkitError`.
        """
        prompts = [Path(prompt)] if isinstance(prompt, (str, Path)) else [Path(p) for p in prompt]
        for p in prompts:
            if not p.is_file():
                raise PromptkitError(
                    Diagnostic(str(p), "prompt file not found", code=MISSING_FILE.code, name=MISSING_FILE.name,
                               hint="pass the path of a .prompty (or other template) file")
                )
        built = []
        for c in cases:
            if isinstance(c, Case):
                built.append(c)
            else:
                d = dict(c)
                if "assert" in d:
                    d["assertions"] = d.pop("assert")
                built.append(Case.model_validate(d))
        if isinstance(defaults, dict):
            d = dict(defaults)
            if "assert" in d:
                d["assertions"] = [build_spec(a) for a in d.pop("assert")]
            if isinstance(d.get("judge"), (str, dict)):
                d["judge"] = ModelTarget.of(d["judge"])
            defaults = Defaults.model_validate(d)
        suite = cls(
            path=Path(name) if name else None,
            prompts=prompts,
            models=[ModelTarget.of(m) for m in models],
            defaults=defaults or Defaults(),
            cases=built,
        )
        suite._check_ids()
        return suite

    def _check_ids(self) -> None:
        seen: set[str] = set()
        for c in self.cases:
            if c.id in seen:
                raise PromptkitError(
                    Diagnostic(c.source_path or self.name, f"duplicate case id '{c.id}'", code=INVALID_TEST_FILE.code,
                               name=INVALID_TEST_FILE.name, span=line_span(c.line),
                               hint="give every case a unique id")
                )
            seen.add(c.id)

    def prompt_files(self) -> list[Path]:
        """Every prompt file a case of this suite runs on, in first-use order (the
        suite's prompts, then prompts that only a case names)."""
        out: list[Path] = []
        for p in [*self.prompts, *(c.prompt for c in self.cases if c.prompt is not None)]:
            if not any(same_file(p, q) for q in out):
                out.append(p)
        return out

    def expand(
        self,
        templates: MutableMapping[Path, PromptTemplate] | None = None,
        *,
        only: Collection[Path] | None = None,
    ) -> list[CaseRun]:
        """Every (case, prompt, model) to run, in file order.

        A case without ``prompt`` runs on every suite prompt; a suite without ``models``
        uses each prompt's own front-matter model. Raises :class:`PromptkitError` when a
        prompt names no model and the suite gives none.

        Each prompt is loaded once and every :class:`CaseRun` on it carries that
        :class:`PromptTemplate`. ``templates`` maps prompt paths to templates already
        loaded -- an in-memory variant standing in for its file, or templates shared
        between suites of one run -- which are used instead of reading the file; the
        prompts this call loads are added to it. ``only`` keeps the runs of those prompt
        files (the others are not loaded at all).
        """
        from promptkit.template import load

        cache: MutableMapping[Path, PromptTemplate] = templates if templates is not None else {}
        keys: dict[Path, Path] = {}

        def key(p: Path) -> Path:  # resolving costs syscalls: once per distinct path
            k = keys.get(p)
            if k is None:
                k = keys[p] = _resolved(p)
            return k

        loaded = {key(p): tpl for p, tpl in cache.items()}
        wanted = None if only is None else {key(p) for p in only}

        def template(p: Path) -> PromptTemplate:
            tpl = loaded.get(key(p))
            if tpl is None:
                tpl = loaded[key(p)] = cache[p] = load(p)
            return tpl

        runs: list[CaseRun] = []
        multi = len(self.prompts) > 1
        suite_name = self.name  # resolves paths: once, not per case
        base_dir = self.path.parent if self.path else None
        prompt_params: dict[Path, dict[str, Any]] = {}  # per prompt: its model's params and tools

        def params_of(p: Path, tpl: PromptTemplate) -> dict[str, Any]:
            params = prompt_params.get(key(p))
            if params is None:
                fm_model = tpl.front_matter.model
                params = dict(fm_model.params) if fm_model else {}
                tools = _tools(tpl, p)  # the prompt's declared tools go to the model (OpenAI's shape)
                if tools:
                    params["tools"] = tools
                prompt_params[key(p)] = params
            return params

        for case in self.cases:
            prompts = [case.prompt] if case.prompt else self.prompts
            if not prompts:
                raise PromptkitError(
                    Diagnostic(case.source_path or self.name, f"case '{case.id}' has no prompt to run",
                               code=INVALID_TEST_FILE.code, name=INVALID_TEST_FILE.name, span=line_span(case.line),
                               hint="add 'prompts: [path/to/file.prompty]' to the suite or 'prompt:' to the case")
                )
            for p in prompts:
                if wanted is not None and key(p) not in wanted:
                    continue
                tpl = template(p)
                fm_model = tpl.front_matter.model
                base_params = params_of(p, tpl)
                targets = case.models or self.models
                if not targets:
                    mid = fm_model.litellm_id if fm_model else None
                    if not mid:
                        raise PromptkitError(
                            Diagnostic(str(p), "the prompt names no model and the test suite lists none",
                                       code=INVALID_TEST_FILE.code, name=INVALID_TEST_FILE.name,
                                       span=tpl.span_of("model") or tpl.front_matter_span,
                                       hint=f"add 'models: [openai/gpt-4o-mini]' to {self.name}, or 'model:' to the prompt")
                        )
                    targets = [ModelTarget(id=mid)]
                variables = {**self.defaults.vars, **case.vars}
                if case.dataset_row is not None:
                    variables = coerce_vars(variables, tpl, set(case.vars))
                for m in targets:
                    runs.append(
                        CaseRun(
                            suite=suite_name,
                            case=case,
                            model=m,
                            template_path=p,
                            template=tpl,
                            vars=variables,
                            params={**base_params, **m.params},
                            assertions=[*self.defaults.assertions, *case.assertions],
                            threshold=case.threshold if case.threshold is not None else self.defaults.threshold,
                            judge=self.defaults.judge,
                            multi_prompt=multi and case.prompt is None,
                            base_dir=base_dir,
                        )
                    )
        return runs


def _tools(template: PromptTemplate, path: Path) -> list[dict[str, Any]]:
    """The template's declared tools, or a located error for a malformed ``tools`` entry."""
    from promptkit.runner.tools import ToolsError, declared_tools

    try:
        return declared_tools(template)
    except ToolsError as exc:
        span = template.span_of("tools") or template.front_matter_span
        diag = Diagnostic(str(path), f"invalid tools: {exc}", code=INVALID_TEST_FILE.code, name=INVALID_TEST_FILE.name,
                          span=span, hint="a tool is {name, kind: function, description, parameters: JSON Schema}")
        raise PromptkitError(diag) from None


def coerce_vars(values: dict[str, Any], template: PromptTemplate, names: set[str]) -> dict[str, Any]:
    """Convert string values read from a CSV row to the types the template declares
    (``integer``, ``number``, ``boolean``, ``list``, ``object``), so ``max_words: "60"``
    renders as the integer 60. Values that do not convert are left as they are: the
    renderer's type check then reports them with the template's line."""
    out = dict(values)
    for name in names:
        v = out.get(name)
        spec = template.inputs.get(name)
        if not isinstance(v, str) or spec is None:
            continue
        t = spec.type.lower()
        try:
            if t in ("integer", "int"):
                out[name] = int(v.strip())
            elif t in ("number", "float"):
                out[name] = float(v.strip())
            elif t in ("boolean", "bool") and v.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
                out[name] = v.strip().lower() in ("true", "1", "yes")
            elif t in ("list", "array", "object", "dict"):
                out[name] = json.loads(v)
        except ValueError:
            continue
    return out


def same_file(a: Path, b: Path) -> bool:
    """Whether two prompt paths name the same file (``a/../x`` and ``x`` do)."""
    return a == b or _resolved(a) == _resolved(b)


def _resolved(p: Path) -> Path:
    try:
        return p.resolve()
    except OSError:
        return p


def line_span(line: int | None) -> Span | None:
    """A zero-width span at the start of ``line`` (cases point at their line)."""
    if line is None:
        return None
    from promptkit.diagnostics import Position

    p = Position(line, 1, 0)
    return Span(p, p)


def __getattr__(name: str) -> Any:
    """``load_suite``/``loads_suite`` moved to :mod:`promptkit.runner.suite_file`;
    importing them from here keeps working."""
    if name in ("load_suite", "loads_suite"):
        from promptkit.runner import suite_file

        return getattr(suite_file, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
