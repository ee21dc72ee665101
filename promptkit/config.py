"""The project configuration: ``[tool.promptkit]`` in ``pyproject.toml``, or ``promptkit.toml``.

One reader for the whole table, so every part of promptkit agrees on what the file says
and on what is a mistake. The table has one typed sub-table per part::

    [tool.promptkit]            # the lint settings, at the top level (docs/lint.md)
    select = ["ALL"]
    [tool.promptkit.test]       # `promptkit test` and the pytest plugin (docs/testing.md)
    paths = ["templates"]
    [tool.promptkit.optimize]   # `promptkit suggest`: budget, search shape, proposer (docs/optimize.md)
    max-calls = 40
    [tool.promptkit.perturb]    # reserved for the coming parts: accepted, not read yet
    [tool.promptkit.review]

In ``promptkit.toml`` the same keys sit at the top level (``[test]``, ``[review]``), or under
``[tool.promptkit]``.

Why one reader: the linter used to own the whole table, so adding a table for another part
made ``promptkit lint`` fail ("unknown setting"), and the runner imported lint's private
helpers to read its own table. Here every part's keys are declared (:class:`LintTable`,
:class:`TestTable`, :class:`OptimizeTable`, :class:`ReservedTable`); every part reads
through :func:`read_part`, which checks the file's top-level keys and then validates that part's own table (another
part's values are not its business: ``promptkit lint`` does not refuse a project over a
test setting). An unknown key -- at the top or inside the part's table -- is one located
``path:line:col: error: PK010 unknown setting 'reveiw' (hint: did you mean 'review'?)`` from
``promptkit lint`` and ``promptkit test`` alike. The linter (:mod:`promptkit.lint.config`)
and the runner (:mod:`promptkit.runner.config`) subclass their table to add behaviour; this
module imports neither.

Keys are kebab-case in TOML (``extend-select``) and snake_case in Python (``extend_select``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from promptkit.codes import INVALID_CONFIG
from promptkit.diagnostics import Diagnostic, LineIndex, PromptkitError

__all__ = [
    "CONFIG_FILES",
    "PARTS",
    "ConfigFile",
    "LintTable",
    "ProjectConfig",
    "RenderTable",
    "OptimizeTable",
    "ReservedTable",
    "TestTable",
    "find_config",
    "apply_render_limits",
    "check_keys",
    "use_project_render_limits",
    "load_project_config",
    "located",
    "read_config_file",
    "read_part",
    "validate_table",
]

CONFIG_FILES = ("promptkit.toml", "pyproject.toml")
#: The sub-tables that belong to a part other than the linter (whose keys are at the top).
PARTS = ("test", "perturb", "optimize", "review")
#: The diagnostic code and name of every configuration error.
CONFIG_CODE = INVALID_CONFIG.code
CONFIG_NAME = INVALID_CONFIG.name

_SEVERITIES = ("error", "warning", "info")


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class Table(BaseModel):
    """Base of every table: kebab-case keys, unknown keys refused.

    ``hints`` maps a key to how to write its value, shown when the value is wrong (a user
    reading "Input should be a valid list" still has to guess the TOML syntax)."""

    #: defer_build: a table is compiled on first use (`promptkit test` validates one of
    #: seven; building all at import cost ~0.1 s of every run's start-up).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=_kebab, defer_build=True)

    hints: ClassVar[dict[str, str]] = {}

    @classmethod
    def keys(cls) -> list[str]:
        """The TOML keys of this table, as written in the file."""
        return [_kebab(k) for k, f in cls.model_fields.items() if not f.exclude]


class RenderTable(Table):
    """The render budget, top-level keys read by every part (docs/security.md): a
    project whose templates legitimately need more than the defaults raises them here,
    up to the hard ceilings of :data:`promptkit.template.sandbox.CEILINGS` (the config
    file arrives in the same pull request as the templates, so a raised limit still
    bounds the render)."""

    render_timeout: float | None = Field(default=None, gt=0)
    render_steps: int | None = Field(default=None, ge=1)
    render_max_output: int | None = Field(default=None, ge=1)

    hints: ClassVar[dict[str, str]] = {
        "render_timeout": "seconds of wall clock per render, e.g. render-timeout = 5",
        "render_steps": "a whole number of render steps, e.g. render-steps = 5000000",
        "render_max_output": "a whole number of characters, e.g. render-max-output = 20000000",
    }


class LintTable(RenderTable):
    """The lint settings: the top level of ``[tool.promptkit]`` (see docs/lint.md), with
    the render budget keys every part shares (:class:`RenderTable`)."""

    select: list[str] | None = None
    extend_select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = Field(default_factory=dict)
    include: list[str] | None = None
    extend_include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    extend_exclude: list[str] = Field(default_factory=list)
    #: Skip files git ignores when walking directories (files named explicitly are linted).
    respect_gitignore: bool = True
    preview: bool = False
    fixable: list[str] = Field(default_factory=lambda: ["ALL"])
    unfixable: list[str] = Field(default_factory=list)
    required_components: list[str] = Field(default_factory=list)
    require_system_message: bool = False
    token_budget: int | None = Field(default=None, gt=0)
    default_model: str | None = None
    rule_packs: list[str] = Field(default_factory=list)
    cache_dir: str | None = None
    #: ``[tool.promptkit.rules.PK401] max-tokens = 2000``; ``severity`` is understood for every rule.
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("select", "extend_select", "ignore", "fixable", "unfixable")
    @classmethod
    def _selectors(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        return [s.strip() for s in v]

    @field_validator("rules")
    @classmethod
    def _rule_options(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for code, opts in v.items():
            sev = opts.get("severity")
            if sev is not None and sev not in _SEVERITIES:
                raise ValueError(f"rules.{code}.severity must be one of {', '.join(_SEVERITIES)}, not {sev!r}")
        return {code: {k.replace("_", "-"): val for k, val in opts.items()} for code, opts in v.items()}


class TestTable(Table):
    """``[tool.promptkit.test]``: project defaults for ``promptkit test`` and the pytest
    plugin (see docs/testing.md). Command-line options win over it."""

    __test__ = False  # not a pytest test class
    model_config = ConfigDict(frozen=True)

    paths: list[str] = Field(default_factory=lambda: ["."], min_length=1)
    mode: Literal["live", "record", "replay", "auto"] | None = None
    concurrency: int | None = Field(default=None, ge=1, le=1024)
    timeout: float | None = Field(default=None, gt=0)
    retries: int | None = Field(default=None, ge=0, le=20)
    results: str | None = None
    baseline: str | None = None
    tolerance: float | None = Field(default=None, ge=0.0, le=1.0)
    #: Hosts prompt and test files may send model calls to (promptkit.runner.policy).
    allow_endpoints: list[str] = Field(default_factory=list)
    #: Stricter than Prompty: every input without a default (not marked `required: false`)
    #: must be given, instead of rendering empty (docs/prompty-compat.md).
    strict_inputs: bool = False
    #: "litellm" sends every call through litellm; "auto" (default) lets calls to an
    #: OpenAI-compatible api_base take the fast path (promptkit.runner.transports).
    transport: Literal["auto", "litellm"] | None = None

    hints: ClassVar[dict[str, str]] = {
        "paths": 'a list of suite files or folders, e.g. paths = ["templates"]',
        "mode": 'one of "live", "record", "replay", "auto"',
        "concurrency": "a whole number of model calls in flight, e.g. concurrency = 8",
        "timeout": "seconds per model call, e.g. timeout = 30",
        "retries": "a whole number of retries per call, e.g. retries = 3",
        "results": 'a file path, e.g. results = ".promptkit/results.json"',
        "baseline": 'a file path, e.g. baseline = ".promptkit/baseline.json"',
        "tolerance": "a score drop between 0 and 1, e.g. tolerance = 0.05",
        "allow_endpoints": 'a list of hosts, e.g. allow-endpoints = ["127.0.0.1:8080", "https://llm.internal/v1"]',
        "strict_inputs": "true or false, e.g. strict-inputs = true",
        "transport": 'one of "auto", "litellm", e.g. transport = "litellm"',
    }


class OptimizeTable(Table):
    """``[tool.promptkit.optimize]``: project defaults for ``promptkit suggest`` and pytest
    ``--promptkit-suggest`` (see docs/optimize.md). Command-line options win over it.
    The budget keys bound one search (target samples and critique/proposer calls
    together); ``proposer`` is the litellm model of the critique and proposer calls."""

    model_config = ConfigDict(frozen=True)

    max_calls: int | None = Field(default=60, ge=1, strict=True)  # strict: `true` is not 1
    max_tokens: int | None = Field(default=None, ge=1, strict=True)
    max_cost: float | None = Field(default=None, gt=0)
    rounds: int = Field(default=3, ge=0, le=20, strict=True)
    candidates: int = Field(default=3, ge=1, le=10, strict=True)
    beam: int = Field(default=2, ge=1, le=10, strict=True)
    proposer: str | None = Field(default=None, min_length=1)

    hints: ClassVar[dict[str, str]] = {
        "max_calls": "a whole number of model calls per search, 1 or more, e.g. max-calls = 40",
        "max_tokens": "a whole number of tokens per search, e.g. max-tokens = 200000",
        "max_cost": "US dollars per search, above zero, e.g. max-cost = 0.50",
        "rounds": "a whole number of critique/propose rounds from 0 to 20, e.g. rounds = 3",
        "candidates": "a whole number of proposals per round from 1 to 10, e.g. candidates = 3",
        "beam": "a whole number of parents kept between rounds from 1 to 10, e.g. beam = 2",
        "proposer": 'a litellm model id, e.g. proposer = "openai/gpt-4o-mini"',
    }


class ReservedTable(Table):
    """A table reserved for a coming part (``perturb``, ``review``): accepted
    with any keys, so a project written for a later promptkit still lints and tests with
    this one, and read by nothing yet. The part that arrives gives it its own typed table."""

    model_config = ConfigDict(extra="allow", frozen=True)


class ProjectConfig(LintTable):
    """The whole ``[tool.promptkit]`` table, validated: lint keys at the top, one table per
    part. Read it with :func:`load_project_config`."""

    test: TestTable = Field(default_factory=TestTable)
    perturb: ReservedTable = Field(default_factory=ReservedTable)
    optimize: OptimizeTable = Field(default_factory=OptimizeTable)
    review: ReservedTable = Field(default_factory=ReservedTable)


#: The top-level keys of :class:`ProjectConfig`, values unchecked: what every part checks.
_ProjectKeys = create_model(  # type: ignore[call-overload]
    "ProjectKeys", __base__=Table, **{name: (Any, None) for name in ProjectConfig.model_fields})


# --------------------------------------------------------------------------- finding and reading


@dataclass(frozen=True)
class ConfigFile:
    """One config file as read: its path, its text (errors point into it) and its promptkit
    table (``{}`` when a ``pyproject.toml`` has none)."""

    path: Path
    text: str
    table: dict[str, Any]

    def part(self, name: str) -> Any:
        """The raw sub-table of one part (``{}`` when absent)."""
        return self.table.get(name, {})

    def lint_table(self) -> dict[str, Any]:
        """The raw lint keys: the table without the other parts' sub-tables."""
        return {k: v for k, v in self.table.items() if k not in PARTS}


def find_config(start: Path) -> Path | None:
    """The nearest ``promptkit.toml``, or ``pyproject.toml`` with a ``[tool.promptkit]``
    table, in ``start`` or a parent directory."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    for d in (start, *start.parents):
        for name in CONFIG_FILES:
            f = d / name
            if f.is_file():
                if name == "pyproject.toml":
                    try:
                        if "[tool.promptkit" not in f.read_text(encoding="utf-8-sig", errors="replace"):
                            continue
                    except OSError:
                        continue
                return f
    return None


def _toml_load(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def read_config_file(path: Path) -> ConfigFile:
    """Read one config file and pick out the promptkit table (TOML errors located)."""
    from promptkit.template.source import read_text

    path = Path(path)
    text = read_text(path, "config file", code=CONFIG_CODE, name=CONFIG_NAME)
    try:
        data = _toml_load(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError: "... (at line 3, column 7)"
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        span = None
        if m:
            idx = LineIndex(text)
            pos = idx.position_at(int(m.group(1)), int(m.group(2)))
            span = idx.span(pos.offset, pos.offset)
            msg = msg[: m.start()].strip()
        elif "(at end of document)" in msg:
            idx = LineIndex(text)
            span = idx.span(len(text), len(text))
            msg = msg.replace("(at end of document)", "at the end of the file").strip()
        raise PromptkitError(Diagnostic(str(path), f"invalid TOML: {msg}", code=CONFIG_CODE, name=CONFIG_NAME,
                                        span=span, hint="fix the TOML syntax")) from None
    tool = data.get("tool")
    table = tool.get("promptkit") if isinstance(tool, dict) else None
    if path.name == "pyproject.toml":
        return ConfigFile(path, text, table if isinstance(table, dict) else {})
    return ConfigFile(path, text, table if isinstance(table, dict) else data)


def load_project_config(path: Path) -> tuple[ProjectConfig, ConfigFile]:
    """Read and validate the whole promptkit table of one config file (every part's
    values), for tools that want all of it."""
    file = read_config_file(path)
    return validate_table(ProjectConfig, file.table, file), file


def read_part(path: Path, part: str | None, model: type[_M]) -> tuple[_M, ConfigFile]:
    """What one part reads: the file's top-level keys checked (an unknown key or table,
    such as a misspelled ``[tool.promptkit.reveiw]``, is a located error for every part),
    then that part's own table validated -- the lint keys when ``part`` is None. Another
    part's values are that part's business: ``promptkit lint`` does not refuse a project
    over a ``[tool.promptkit.test]`` value only ``promptkit test`` reads."""
    file = read_config_file(path)
    check_keys(file)
    apply_render_limits(file)
    if part is None:
        return validate_table(model, file.lint_table(), file), file
    return validate_table(model, file.part(part), file, (part,)), file


def apply_render_limits(file: ConfigFile | None) -> None:
    """Set the process's render budget from ``file``'s ``render-*`` keys (the defaults for
    the keys it does not set, or for ``None``): every part reads its config through
    :func:`read_part`, so a project's limits hold for lint, render, tokens and test alike.
    A value above its ceiling is a located error, not silently capped: the user asked for
    a budget promptkit will not give."""
    from promptkit.template.sandbox import CEILINGS, configure

    if file is None:
        configure()
        return
    raw = {k: v for k, v in file.lint_table().items() if k in RenderTable.keys()}
    table = validate_table(RenderTable, raw, file)
    changes: dict[str, Any] = {}
    for field, limit in (("render_timeout", "timeout"), ("render_steps", "steps"),
                         ("render_max_output", "max_output")):
        value = getattr(table, field)
        if value is None:
            continue
        if value > CEILINGS[limit]:
            key = _kebab(field)
            raise PromptkitError(located(file.path, [key], f"{key} = {value:,} is above its ceiling of "
                                         f"{CEILINGS[limit]:,}", hint=f"set {key} to at most {CEILINGS[limit]:,}",
                                         text=file.text))
        changes[limit] = value
    configure(**changes)


def use_project_render_limits(start: Path) -> None:
    """:func:`apply_render_limits` for the project around ``start`` (a file or folder):
    what the commands that read no other setting (``render``, ``tokens``) call."""
    found = find_config(start if start.exists() else Path.cwd())
    apply_render_limits(read_config_file(found) if found else None)


def check_keys(file: ConfigFile) -> None:
    """Refuse a top-level key no part declares (with a "did you mean" suggestion)."""
    validate_table(_ProjectKeys, file.table, file)


# --------------------------------------------------------------------------- errors


_M = TypeVar("_M", bound=BaseModel)

#: pydantic error type -> how to write the value in TOML.
_TYPE_HINTS = {
    "list_type": 'write a list in brackets, e.g. select = ["PK1", "PK301"]',
    "bool_type": "write true or false (no quotes)",
    "bool_parsing": "write true or false (no quotes)",
    "int_type": "write a whole number (no quotes), e.g. token-budget = 4000",
    "int_parsing": "write a whole number (no quotes), e.g. token-budget = 4000",
    "greater_than": "use a number above zero",
    "string_type": 'write a quoted string, e.g. default-model = "openai/gpt-4o-mini"',
    "dict_type": 'write a table, e.g. [tool.promptkit.per-file-ignores] "prompts/legacy/*" = ["PK2"]',
}


def validate_table(model: type[_M], data: Any, file: ConfigFile, prefix: Sequence[str] = ()) -> _M:
    """``model.model_validate(data)``, with a validation error turned into one located
    :class:`~promptkit.diagnostics.PromptkitError` at the offending key of ``file``.
    ``prefix`` is where ``data`` sits in the promptkit table (``("test",)``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # a misspelled key also shows up as a missing one: report the misspelling
        err = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise PromptkitError(_explain(model, err, file, tuple(prefix))) from None


def _table_at(model: type[BaseModel], loc: Sequence[Any]) -> tuple[type[BaseModel], int]:
    """The (sub-)table model that holds the key at ``loc``, and that key's index in ``loc``."""
    depth = 0
    for key in loc[:-1]:
        field = model.model_fields.get(str(key).replace("-", "_"))
        ann = field.annotation if field is not None else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            break
        model, depth = ann, depth + 1
    return model, depth


def _explain(model: type[BaseModel], err: Any, file: ConfigFile, prefix: tuple[str, ...]) -> Diagnostic:
    raw = tuple(str(x) for x in err["loc"])
    loc = (*prefix, *raw)
    key = ".".join(loc)
    table, depth = _table_at(model, raw)
    own = raw[depth] if depth < len(raw) else ""  # the key of ``table`` the error is under
    if err["type"] == "extra_forbidden":
        known = table.keys() if issubclass(table, Table) else []
        guess = _closest(own, known)
        if guess:
            hint = f"did you mean '{guess}'?"
        elif len(loc) > 1 and known:
            hint = f"known settings: {', '.join(known)}"
        else:
            hint = "see docs/lint.md and docs/testing.md for the settings promptkit understands"
        return located(file.path, loc, f"unknown setting '{key}'", hint, file.text)
    if len(loc) == 1 and loc[0] in PARTS and err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        part = loc[0]
        return located(file.path, loc, f"'{part}' must be a table of settings",
                       f"write it as [tool.promptkit.{part}] (in promptkit.toml: [{part}])", file.text)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "value_error":
        return located(file.path, loc, msg, "", file.text)
    got = err.get("input")
    shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
    hints: dict[str, str] = getattr(table, "hints", {})
    hint = hints.get(own) or hints.get(own.replace("-", "_")) or _TYPE_HINTS.get(err["type"], "")
    return located(file.path, loc, f"'{key}': {msg}{shown}", hint, file.text)


def _closest(word: str, known: Sequence[str]) -> str | None:
    """The known key ``word`` most likely misspells (None when none is close)."""
    import difflib

    found = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def located(path: Path | None, loc: Sequence[Any], message: str, hint: str = "", text: str | None = None,
            *, code: str = CONFIG_CODE, name: str = CONFIG_NAME) -> Diagnostic:
    """A config diagnostic pointing at the line that sets ``loc`` (``("test", "mode")``)."""
    if path is None:
        return Diagnostic("promptkit config", message, code=code, name=name, hint=hint)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError:
            text = ""
    span = None
    idx = LineIndex(text)
    line = _find_key_line(text, path.name == "pyproject.toml", [str(x) for x in loc])
    if line:
        content = idx.line_text(line)
        col = len(content) - len(content.lstrip()) + 1
        pos = idx.position_at(line, col)
        span = idx.span(pos.offset, idx.line_end(line))
    return Diagnostic(str(path), message, code=code, name=name, span=span, hint=hint)


_HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\-" ]+?)\s*=""")


def _find_key_line(text: str, in_pyproject: bool, loc: list[str]) -> int | None:
    """1-based line of the TOML key at ``loc`` (best effort: headers and dotted keys)."""
    prefix = ["tool", "promptkit"] if in_pyproject else []
    table: list[str] = []
    best: int | None = None
    for i, raw in enumerate(text.splitlines(), start=1):
        h = _HEADER.match(raw)
        if h:
            table = [p.strip().strip("\"'") for p in h.group(1).split(".")]
            if not in_pyproject and table[:2] == ["tool", "promptkit"]:
                table = table[2:]
            full = table[len(prefix):] if table[: len(prefix)] == prefix else None
            if full is not None and full == loc:
                return i
            if full is not None and full and loc[: len(full)] == full and best is None:
                best = i
            continue
        if table[: len(prefix)] != prefix:
            continue
        k = _KEY.match(raw)
        if not k:
            continue
        keys = [p.strip().strip("\"'") for p in k.group(1).split(".")]
        full = table[len(prefix):] + keys
        if loc[: len(full)] == full or full[: len(loc)] == loc:
            return i
    return best
