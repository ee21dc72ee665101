"""The file schema of ``*.prompttest.yaml`` test files, and their loader.

A test file says which prompts run on which models with which variables, and what the
output must satisfy::

    prompts: [../templates/summarize.prompty]
    models:
      - openai/gpt-4o-mini
      - {id: openai/gpt-4o, params: {temperature: 0}, label: gpt-4o}
    defaults:
      vars: {audience: engineers}
      assert: [{type: length, unit: words, max: 80}]
      judge: openai/gpt-4o-mini
    cases:
      - id: tram-line
        vars: {text: "The council voted..."}
        assert:
          - icontains: tram
          - type: llm-rubric
            value: Mentions the cost and the number of stops.
      - id: from-sheet
        dataset: data/summaries.csv   # one case per row

The pydantic models here mirror the file (``extra="forbid"``); the loader validates a
parsed document against them and builds the runtime model of :mod:`promptkit.runner.suite`.
Everything is validated when the file is loaded -- unknown keys ("did you mean"), wrong
types, misspelt assertion types and options, missing prompt or dataset files -- and each
problem is a :class:`~promptkit.diagnostics.PromptkitError` pointing at ``file:line:col``,
before a single (paid) model call is made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from promptkit.codes import (
    CODES,
    INVALID_ASSERTION,
    INVALID_DATASET,
    INVALID_TEST_FILE,
    INVALID_YAML,
    LENIENT_FRONT_MATTER,
    MISSING_FILE,
)
from promptkit.diagnostics import Diagnostic, LineIndex, PromptkitError, Severity, Span
from promptkit.runner.assertions.registry import SpecError, build_spec
from promptkit.runner.assertions.spec import AssertionSpec
from promptkit.runner.suite import Case, Defaults, ModelTarget, Suite, line_span
from promptkit.runner.suite_cache import OffsetSpans, SuiteCache, _plain

__all__ = ["load_suite", "loads_suite"]

class _ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None


class _DefaultsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    vars: dict[str, Any] = Field(default_factory=dict)
    assertions: list[Any] = Field(default_factory=list, alias="assert")
    repeat: int = Field(default=1, ge=1)
    min_pass: int | None = Field(default=None, ge=1)
    flaky: bool = False
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    timeout_s: float | None = Field(default=None, gt=0)
    judge: str | _ModelEntry | None = None
    transform: Any = None


class _CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | int | None = None
    description: str | None = None
    prompt: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    dataset: str | None = None
    assertions: list[Any] = Field(default_factory=list, alias="assert")
    repeat: int | None = Field(default=None, ge=1)
    min_pass: int | None = Field(default=None, ge=1)
    flaky: bool | None = None
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    models: list[str | _ModelEntry] | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    transform: Any = None
    perturb: dict[str, Any] | None = None


class _SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    description: str | None = None
    prompts: list[str] = Field(default_factory=list)
    prompt: str | None = None
    models: list[str | _ModelEntry] = Field(default_factory=list)
    defaults: _DefaultsFile = Field(default_factory=_DefaultsFile)
    cases: list[_CaseFile] = Field(min_length=1)
    perturb: dict[str, Any] | None = None  # robustness for every case (a case's own perturb: wins)

    @field_validator("prompts", mode="before")
    @classmethod
    def _one_prompt(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("models", mode="before")
    @classmethod
    def _one_model(cls, v: Any) -> Any:
        return [v] if isinstance(v, (str, dict)) else v


_HINTS = {
    "prompts": "list template paths relative to this file: prompts: [../prompts/x.prompty]",
    "models": "list litellm ids, or {id: ..., params: {...}, label: ...}",
    "cases": "write 'cases:' followed by '- id: ...' entries with vars and assert",
    "defaults": "defaults take vars, assert, repeat, min_pass, flaky, threshold, timeout_s, judge, transform",
    "repeat": "repeat is a whole number >= 1",
    "min_pass": "min_pass is a whole number between 1 and repeat",
    "threshold": "threshold is a score between 0 and 1",
    "vars": "vars is a mapping: vars: {name: value}",
    "assert": "assert is a list of checks: assert: [{type: contains, value: ...}]",
}


class _Loader:
    """Turns one parsed YAML document into a :class:`Suite`, raising at the first
    problem with its exact position."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.shown = str(path)
        self.text = text
        self.index = LineIndex(text)
        self.spans: dict[tuple[Any, ...], Span] | OffsetSpans = {}
        #: Problems found so far; the file is read to its end and they are raised together.
        self.problems: list[PromptkitError] = []
        #: Validated assertion entries by their exact text (:meth:`_assertion`).
        self._specs: dict[str, AssertionSpec] = {}
        self.base = path.parent
        from promptkit.paths import root_for

        #: Every file the suite names must resolve inside this folder (promptkit.paths).
        self.root = root_for(path)

    # -- errors -------------------------------------------------------------------

    def span(self, loc: Sequence[Any]) -> Span | None:
        for n in range(len(loc), -1, -1):
            s = self.spans.get(tuple(loc[:n]))
            if s is not None:
                return s
        return None

    def key_span(self, loc: Sequence[Any]) -> Span | None:
        """Span of the *key* ``loc[-1]`` (for unknown keys): its value's line, start
        of the key. Falls back to the parent mapping."""
        s = self.spans.get(tuple(loc))
        parent = self.span(loc[:-1])
        if s is None:
            return parent
        key = str(loc[-1])
        lo = parent.start.offset if parent is not None else 0
        at = self.text.rfind(key, lo, s.start.offset)  # the key precedes its value
        if at >= 0:
            return self.index.span(at, at + len(key))
        return s

    def fail(self, loc: Sequence[Any], message: str, hint: str = "", code: str = INVALID_TEST_FILE.code, *, key: bool = False) -> PromptkitError:
        span = self.key_span(loc) if key else self.span(loc)
        name = CODES[code].name
        return PromptkitError(Diagnostic(self.shown, message, Severity.ERROR, code, name, span, hint))

    # -- parsing ------------------------------------------------------------------

    def parse(self, cache: SuiteCache | None = None) -> Suite:
        """The suite, validated. With a ``cache`` (:mod:`promptkit.runner.suite_cache`)
        the YAML of an unchanged file is not parsed again; validation runs either way."""
        hit = cache.get(self.path, self.text, self.index) if cache is not None else None
        if hit is not None:
            data, self.spans = hit
        else:
            data = self._parse_yaml(cache)
        return self._validate(data)

    def _parse_yaml(self, cache: SuiteCache | None) -> Any:
        from promptkit.template.frontmatter import parse_yaml

        parsed = parse_yaml(self.text, self.shown, self.index, 0)
        if parsed.duplicates:  # every repeated key at once, each named as such
            from promptkit.diagnostics import PromptkitErrors
            from promptkit.template.frontmatter import DUPLICATE_KEY_HINT

            raise PromptkitErrors([Diagnostic(self.shown, dup.message(), Severity.ERROR, INVALID_YAML.code, INVALID_YAML.name,
                                              dup.span, DUPLICATE_KEY_HINT) for dup in parsed.duplicates])
        for d in parsed.diagnostics:  # strict YAML: no lenient re-reading of test files
            problem = d.message.split("(", 1)[-1].split(")", 1)[0] if d.code == LENIENT_FRONT_MATTER.code else d.message
            problem = problem.removeprefix("invalid YAML in front matter: ")
            raise PromptkitError(
                Diagnostic(self.shown, f"invalid YAML: {problem}", Severity.ERROR, INVALID_YAML.code, INVALID_YAML.name, d.span,
                           "fix the indentation or quote the value (values starting with *, &, !, %, @ or containing ': ' need quotes)")
            )
        self.spans = parsed.spans
        if cache is not None:
            cache.put(self.path, self.text, parsed.data, parsed.spans)
        return parsed.data

    def _validate(self, data: Any) -> Suite:
        if not isinstance(data, dict):
            raise self.fail((), "a test file must be a YAML mapping with 'prompts', 'models' and 'cases'",
                            "start with 'prompts:' and 'cases:' keys (see docs/testing.md)")
        try:
            raw = _SuiteFile.model_validate(data)
        except ValidationError as exc:
            raise self._schema_error(exc) from None
        suite = self._build(raw)
        if self.problems:
            from promptkit.diagnostics import PromptkitErrors

            diags = [d for e in self.problems for d in e.diagnostics]
            raise PromptkitErrors(sorted(diags, key=lambda d: (d.line, d.column)))
        return suite

    def _schema_error(self, exc: ValidationError, prefix: tuple[Any, ...] = ()) -> PromptkitError:
        errors = exc.errors()

        def clean(e: Any) -> tuple[Any, ...]:
            return tuple(x for x in e["loc"] if not (isinstance(x, str) and x in _UNION_TAGS))

        # A union (``str | {id, params}``) reports one error per branch: prefer the
        # deepest one under the first error's place, a misspelt key above all.
        head = clean(errors[0])
        same = [e for e in errors if clean(e)[: len(head)] == head]
        err = max(same, key=lambda e: (e["type"] == "extra_forbidden", len(clean(e))))
        loc = tuple(prefix) + clean(err)
        where = "".join(f"[{x}]" if isinstance(x, int) else (f".{x}" if i else str(x)) for i, x in enumerate(loc))
        top = next((str(x) for x in reversed(loc) if isinstance(x, str) and x in _HINTS), "")
        if err["type"] == "extra_forbidden":
            from rapidfuzz import process

            parent = self._model_at(loc[:-1])
            known = list(parent.model_fields) if parent else []
            known = ["assert" if k == "assertions" else k for k in known]
            guess = process.extractOne(str(loc[-1]), known, score_cutoff=60) if known else None
            hint = f"did you mean '{guess[0]}'?" if guess else (f"known keys: {', '.join(known)}" if known else "")
            return self.fail(loc, f"unknown key '{loc[-1]}'", hint, key=True)
        if err["type"] == "missing":
            return self.fail(loc[:-1], f"missing required key '{loc[-1]}'", _HINTS.get(str(loc[-1]), ""))
        msg = re.sub(r" or instance of \w+", "", err["msg"].removeprefix("Value error, "))
        got = err.get("input")
        shown = f" (got {json.dumps(got, default=str)[:60]})" if not isinstance(got, (dict, list)) else ""
        return self.fail(loc, f"{where}: {msg}{shown}", _HINTS.get(top, ""))

    def _model_at(self, loc: Sequence[Any]) -> type[BaseModel] | None:
        keys = [x for x in loc if isinstance(x, str)]
        if not keys:
            return _SuiteFile
        if keys[0] == "defaults":
            return _ModelEntry if keys[-1] == "judge" else _DefaultsFile
        if keys[0] == "cases":
            return _ModelEntry if "models" in keys else _CaseFile
        if keys[0] == "models":
            return _ModelEntry
        return None

    def _confine(self, value: str, loc: tuple[Any, ...], what: str) -> Path:
        """``value`` resolved (symlinks, ``..``) inside the project and out of ``.git``, or
        a ``PK011`` error at its place in the suite: a suite arrives in a pull request."""
        from promptkit.paths import confine

        return confine(value, self.root, what=what, base=self.base, source=self.shown, span=self.span(loc))

    def _path(self, value: str, loc: tuple[Any, ...], what: str) -> Path:
        p = Path(value)
        if not p.is_absolute():
            p = self.base / p
        self._confine(value, loc, what)
        if not p.is_file():
            raise self.fail(loc, f"{what} '{value}' not found (looked for {p})",
                            f"paths are relative to the test file's folder ({self.base})", code=MISSING_FILE.code)
        return p

    def _assertions(self, items: list[Any], loc: tuple[Any, ...]) -> list[AssertionSpec]:
        out = []
        for i, item in enumerate(items):
            try:
                out.append(self._assertion(item, (*loc, i)))
            except PromptkitError as exc:  # keep going: every problem of the file in one run
                self.problems.append(exc)
        return out

    def _transform(self, raw: Any, loc: tuple[Any, ...]) -> Any:
        """A case's (or the defaults') output transform, validated at its line."""
        from promptkit.runner.assertions.transform import build_transform

        try:
            return build_transform(raw)
        except SpecError as exc:
            raise self.fail((*loc, *exc.loc), str(exc), exc.hint, code=INVALID_ASSERTION.code) from None

    def _assertion(self, item: Any, here: tuple[Any, ...]) -> AssertionSpec:
        """One entry validated. An entry repeated verbatim (the same ``length`` check on
        each of 1,000 cases) is validated once: later copies are the first spec with their
        own span. Specs are never mutated (variables are filled into copies,
        :func:`promptkit.runner.assertions._with_vars`), so sharing the options object is
        safe; an ``assert-set`` (children carrying the set's span) is built every time."""
        memo = _entry_key(item)
        seen = self._specs.get(memo) if memo is not None else None
        if seen is not None:
            spec = seen.model_copy(update={"span": self.span(here)})
            self._check_files(spec, item, here)
            return spec
        try:
            spec = build_spec(item, source=self.shown, span=self.span(here))
        except SpecError as exc:
            sub, key = exc.loc, False
            if isinstance(item, dict) and "type" not in item and item:
                first = next(iter(item))
                if sub[:1] in (("type",), ()):
                    sub, key = (first,), True  # shorthand: the key names the type
                elif sub[0] not in item:
                    sub = (first,)  # shorthand: the key's value is the option
            raise self.fail((*here, *sub), str(exc), exc.hint, code=INVALID_ASSERTION.code, key=key) from None
        self._check_files(spec, item, here)
        if memo is not None and not spec.children:
            self._specs[memo] = spec
        return spec

    def _check_files(self, spec: AssertionSpec, item: Any, here: tuple[Any, ...]) -> None:
        """The files an assertion reads exist and lie inside the project (at the option's line)."""
        for option, rel in spec.options.files().items():
            target = Path(rel) if Path(rel).is_absolute() else self.base / rel
            opt_loc = (*here, option) if isinstance(item, dict) and option in item else (*here, next(iter(item)))
            self._confine(rel, opt_loc, f"file of the {spec.type} assertion")
            if not target.is_file():
                raise self.fail(opt_loc, f"file '{rel}' not found (looked for {target})",
                                f"paths in assertions are relative to the test file's folder ({self.base})",
                                code=MISSING_FILE.code)

    def _vars(self, values: dict[str, Any], loc: tuple[Any, ...], base: Path | None = None,
              line: int | None = None, where: Path | None = None) -> dict[str, Any]:
        """Resolve ``${file:path}`` references in variables (long documents, JSON
        fixtures), relative to ``base``. ``${env:...}`` is refused: a variable's value is
        rendered into the prompt and written into recordings, where a secret must never go."""
        from promptkit.template.references import ReferenceError_, references, resolve

        refs = references(values)
        if not refs:
            return values

        def fail(kpath: tuple[Any, ...], message: str, hint: str, code: str) -> PromptkitError:
            if where is not None:  # a dataset row: point at its line
                from promptkit.runner.datasets import _error

                return _error(where, line or 1, message, hint)
            return self.fail((*loc, *kpath), message, hint, code=code)

        out = dict(values)
        refused = set()
        for kpath, kind, target in refs:
            if kind == "env":  # keep going: every bad variable of the file in one run
                self.problems.append(fail(kpath, f"${{env:{target}}} is not allowed in test variables",
                                          "variable values are sent to the model and written into recordings; "
                                          "use ${file:...} or a literal", INVALID_TEST_FILE.code))
                refused.add(kpath[0] if kpath else None)
        for name, value in values.items():
            if name in refused:
                continue
            try:
                out[name] = resolve(value, base or self.base, {}, root=self.root)
            except ReferenceError_ as exc:
                err = fail((name,), str(exc), "paths in ${file:...} are relative to the file that names them",
                           MISSING_FILE.code)
                if exc.code:  # refused, not missing: PK011 (promptkit.paths)
                    from promptkit.paths import CODE, NAME

                    err.diagnostic.code, err.diagnostic.name = CODE, NAME
                    err.args = (err.diagnostic.format(),)
                self.problems.append(err)
        return out

    def _perturb(self, value: dict[str, Any], loc: tuple[Any, ...]) -> Any:
        """``perturb:`` validated, its operators known and its payload list read, each
        problem at its place in the file (operator names: PT020; payload list: PT022)."""
        from promptkit.codes import UNKNOWN_OPERATOR
        from promptkit.runner.suite import PerturbSpec

        try:
            spec = PerturbSpec.model_validate(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            sub = tuple(err["loc"])
            if err["type"] == "extra_forbidden":
                known = [k for k in PerturbSpec.model_fields if k != "payloads_path"]
                raise self.fail((*loc, *sub), f"unknown key '{sub[-1]}' in perturb",
                                f"perturb takes {', '.join(known)}", key=True) from None
            raise self.fail((*loc, *sub), f"perturb.{'.'.join(map(str, sub))}: {err['msg']}",
                            "e.g. perturb: {operators: [typo, separator], n: 10, seed: 7, min_pass_rate: 0.9}") from None
        from promptkit.perturb.operator import PerturbError, get, resolve

        for i, name in enumerate(spec.operators):
            try:
                resolve([name])
            except PerturbError as exc:
                raise self.fail((*loc, "operators", i), str(exc), "see `promptkit perturb --list`",
                                code=UNKNOWN_OPERATOR.code) from None
        for name in spec.params:
            try:
                get(name)
            except PerturbError as exc:
                raise self.fail((*loc, "params", name), str(exc), "params are keyed by operator name",
                                code=UNKNOWN_OPERATOR.code, key=True) from None
        if spec.payloads:
            from promptkit.perturb.payloads import load_payloads

            spec.payloads_path = self._path(spec.payloads, (*loc, "payloads"), "payload list")
            load_payloads(spec.payloads_path)  # a list that does not parse fails here, at its own line
        return spec

    def _build(self, raw: _SuiteFile) -> Suite:
        prompts = [self._path(p, ("prompts", i), "prompt file") for i, p in enumerate(raw.prompts)]
        if raw.prompt:
            prompts.append(self._path(raw.prompt, ("prompt",), "prompt file"))
        models = [ModelTarget.of(m.model_dump() if isinstance(m, _ModelEntry) else m) for m in raw.models]
        d = raw.defaults
        judge = None
        if d.judge is not None:
            judge = ModelTarget.of(d.judge.model_dump() if isinstance(d.judge, _ModelEntry) else d.judge)
        defaults = Defaults(
            vars=self._vars(d.vars, ("defaults", "vars")),
            assertions=self._assertions(d.assertions, ("defaults", "assert")),
            repeat=d.repeat,
            min_pass=d.min_pass,
            flaky=d.flaky,
            threshold=d.threshold,
            timeout_s=d.timeout_s,
            judge=judge,
        )
        cases: list[Case] = []
        seen: dict[str, int] = {}
        for i, c in enumerate(raw.cases):
            loc = ("cases", i)
            line = (self.span(loc) or line_span(1)).start.line  # type: ignore[union-attr]
            cid = str(c.id) if c.id is not None else f"case-{i + 1}"
            if cid in seen:
                raise self.fail((*loc, "id"), f"duplicate case id '{cid}' (first used on line {seen[cid]})",
                                "give every case a unique id")
            seen[cid] = line
            prompt = self._path(c.prompt, (*loc, "prompt"), "prompt file") if c.prompt else None
            if prompt is None and not prompts:
                raise self.fail(loc, f"case '{cid}' has no prompt to run",
                                "add 'prompts: [path/to/file.prompty]' at the top or 'prompt:' to the case")
            specs = self._assertions(c.assertions, (*loc, "assert"))
            transform = self._transform(c.transform, (*loc, "transform")) if c.transform is not None else \
                self._transform(d.transform, ("defaults", "transform"))
            repeat = c.repeat if c.repeat is not None else defaults.repeat
            min_pass = c.min_pass if c.min_pass is not None else defaults.min_pass
            if min_pass is not None and min_pass > repeat:
                where = (*loc, "min_pass") if c.min_pass is not None else ("defaults", "min_pass")
                raise self.fail(where, f"min_pass ({min_pass}) is greater than repeat ({repeat})",
                                "min_pass counts passing samples out of repeat")
            common: dict[str, Any] = {
                "description": c.description,
                "prompt": prompt,
                "repeat": repeat,
                "min_pass": min_pass,
                "flaky": c.flaky if c.flaky is not None else defaults.flaky,
                "threshold": c.threshold,
                "models": [ModelTarget.of(m.model_dump() if isinstance(m, _ModelEntry) else m) for m in c.models]
                if c.models is not None else None,
                "timeout_s": c.timeout_s if c.timeout_s is not None else defaults.timeout_s,
                "source": f"{self.shown}:{line}",
                "line": line,
                "transform": transform,
            }
            common["perturb"] = self._perturb(c.perturb, (*loc, "perturb")) if c.perturb is not None else \
                self._perturb(raw.perturb, ("perturb",)) if raw.perturb is not None else None
            case_vars = self._vars(c.vars, (*loc, "vars"))
            if c.dataset is None:
                cases.append(Case(id=cid, vars=case_vars, assertions=specs, **common))
                continue
            from promptkit.runner.datasets import load_dataset

            ds_path = self._path(c.dataset, (*loc, "dataset"), "dataset file")
            for row in load_dataset(ds_path):
                rid = row.id or f"{cid}#{row.number}"
                if rid in seen:
                    raise PromptkitError(Diagnostic(str(ds_path), f"duplicate case id '{rid}'", Severity.ERROR,
                                                    INVALID_DATASET.code, INVALID_DATASET.name, line_span(row.line),
                                                    "give every row a unique id (or leave the id column empty)"))
                seen[rid] = line
                row_common = dict(common, source=f"{ds_path}:{row.line}", line=row.line)
                if row.description:
                    row_common["description"] = row.description
                row_vars = self._vars(row.vars, (), ds_path.parent, row.line, ds_path)
                cases.append(Case(id=rid, vars={**case_vars, **row_vars}, assertions=[*specs, *row.assertions],
                                  dataset_row=row.number, **row_common))
        return Suite(path=self.path, prompts=prompts, models=models, defaults=defaults, cases=cases)


def _entry_key(item: Any) -> str | None:
    """The exact text of an assertion entry made of JSON's own types (key order kept;
    ``1``, ``1.0``, ``True`` and ``'1'`` told apart by their ``repr``), or None: such an
    entry is not memoised."""
    return repr(item) if _plain(item, 0) else None


#: Tags pydantic puts in error locations of union members (``str | _ModelEntry``).
_UNION_TAGS = {"str", "_ModelEntry", "int", "float", "bool"}


def load_suite(path: str | Path) -> Suite:
    """Load and validate a ``*.prompttest.yaml`` file.

    Raises :class:`PromptkitError` (one ``file:line:col`` diagnostic) for unreadable
    files, invalid YAML, unknown keys, wrong types, bad assertions and missing files.
    """
    from promptkit.template import source

    from promptkit.paths import confine_argument, project_root

    p = Path(path)
    confine_argument(p, project_root(), what="test file")  # a suite symlinked out of the project
    src = source.read(p)
    if not src.ok:
        d = src.diagnostics[0]
        raise PromptkitError(Diagnostic(str(p), d.message, Severity.ERROR, MISSING_FILE.code, MISSING_FILE.name, d.span,
                                        d.hint or "check the path of the test file"))
    import time

    from promptkit import inputs
    from promptkit.paths import root_for

    root = root_for(p)
    cache = SuiteCache.for_root(root)
    kept = cache.loaded(p, src.text, root)  # validated before, and nothing it read has changed
    if kept is not None:
        return kept
    started = time.time_ns()
    with inputs.Watch() as watch:
        loader = _Loader(p, src.text)
        suite = loader.parse(cache)
    cache.keep_loaded(p, src.text, loader.root, suite, watch, started)
    return suite


def loads_suite(text: str, path: str | Path = "inline.prompttest.yaml") -> Suite:
    """Load a suite from text; relative paths resolve against ``path``'s folder."""
    return _Loader(Path(path), text).parse()


def model_param_span(path: str | Path, model_id: str, param: str) -> Span | None:
    """Where the suite file at ``path`` sets call parameter ``param`` for model
    ``model_id`` (a ``models:`` entry, a case's own, a ``judge:``), or None.

    Why: a parameter refused at call time (see :mod:`promptkit.runner.policy`) is found
    long after the load, and a diagnostic at ``file:1:1`` sends the user hunting. This
    reads the file again, only on that error path; a file that changed or cannot be read
    since simply gives no position."""
    from promptkit.template import source
    from promptkit.template.frontmatter import parse_yaml

    src = source.read(path)  # the same reader (and limits) as the load: a FIFO is never opened
    if not src.ok:
        return None
    parsed = parse_yaml(src.text, str(path), LineIndex(src.text), 0)
    todo: list[tuple[tuple[Any, ...], Any]] = [((), parsed.data)]
    while todo:  # breadth first: the suite's own models before a case's
        loc, node = todo.pop(0)
        if isinstance(node, dict):
            params = node.get("params")
            if node.get("id") == model_id and isinstance(params, dict) and param in params:
                return parsed.spans.get((*loc, "params", param))
            todo += [((*loc, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            todo += [((*loc, i), v) for i, v in enumerate(node)]
    return None
