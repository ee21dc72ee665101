"""Result types of a regression run: the contract between runner, assertions, plugin,
baseline comparison and reports.

Three outcomes, not two: ``PASS``, ``FAIL`` (the output broke an assertion) and ``ERROR``
(the provider or a judge failed, a recording is missing...). An ERROR is never scored as
a FAIL: it says nothing about the prompt.

Everything here is plain data that serializes to JSON (``results.json``) and back, so a
results file can be stored as a baseline and compared with a later run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


class Usage(BaseModel):
    """Tokens, cost and latency of one model call (or a sum of calls)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            latency_s=self.latency_s + other.latency_s,
        )


class ModelResponse(BaseModel):
    """One model answer, live or replayed from a recording."""

    model_config = ConfigDict(extra="allow")

    text: str
    model: str
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None
    from_recording: bool = False
    #: Provider-specific fields worth keeping (tool calls...). Never headers or keys.
    raw: dict[str, Any] = Field(default_factory=dict)


class ProviderError(Exception):
    """A model call that failed for reasons outside the prompt: 429/5xx after retries,
    timeout, connection error, malformed reply, missing recording. Becomes ``ERROR``."""

    def __init__(self, message: str, *, kind: str = "provider", status: int | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.kind = kind  # "rate_limit", "server", "timeout", "connection", "malformed", "missing_recording", ...
        self.status = status
        self.hint = hint


class OutputSpan(BaseModel):
    """Characters ``[start, end)`` of the output (Python string offsets): where a substring
    or a pattern was found, or (``start == end``) where the output stops being JSON."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["span"] = "span"
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    def describe(self, output: str | None = None) -> str:
        """``line 2 column 5`` when the output is at hand (people read that), else the offsets."""
        if output is not None and self.start <= len(output):
            line = output.count("\n", 0, self.start) + 1
            column = self.start - (output.rfind("\n", 0, self.start) + 1) + 1
            return f"line {line} column {column}"
        return f"output[{self.start}:{self.end}]"


_IDENTIFIER = re.compile(r"[A-Za-z_][\w-]*\Z")


class JsonPath(BaseModel):
    """A place in the output's JSON document: ``parts`` are its keys and list indices
    (``["items", 0, "name"]``), ``path`` the same written ``$.items[0].name``."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["json-path"] = "json-path"
    path: str
    parts: list[str | int] = Field(default_factory=list)

    @classmethod
    def of(cls, parts: Sequence[str | int]) -> JsonPath:
        text = "$"
        for p in parts:
            if isinstance(p, int):
                text += f"[{p}]"
            elif _IDENTIFIER.match(p):
                text += f".{p}"
            else:
                text += f"[{json.dumps(p, ensure_ascii=False)}]"
        return cls(path=text, parts=list(parts))

    def describe(self, output: str | None = None) -> str:
        return self.path


#: Where in the output an assertion's evidence is (``kind`` tells which).
Location = Annotated[OutputSpan | JsonPath, Field(discriminator="kind")]


class AssertionResult(BaseModel):
    """One assertion applied to one output: the evidence, as data.

    Tools read the fields (the optimizer: which check failed, where, by how much);
    people read :meth:`describe`, which is what reports and JUnit show. ``reason`` is
    human text about the output only: the place in the output is ``location``, the
    place of the assertion in the test file is ``where``. Results files written before
    these fields existed still load (``index``, ``location``, ``feedback``, ``where``
    default to None; their reasons may still end in ``[file:line]``).
    """

    #: Position among the case run's assertions (suite defaults first, then the case's,
    #: as in :attr:`~promptkit.runner.suite.CaseRun.assertions`).
    index: int | None = None
    #: How reports name the assertion: ``contains``, ``not-contains``, or its ``metric`` name.
    type: str
    #: The registered assertion type (``contains`` for a negated or metric-named entry).
    assertion_type: str | None = None
    passed: bool
    score: float = Field(ge=0.0, le=1.0)
    reason: str
    weight: float = 1.0
    #: True when the assertion itself could not be evaluated (judge failed): the sample
    #: is then ERROR, not FAIL.
    error: bool = False
    usage: Usage = Field(default_factory=Usage)  # judge calls
    #: Where in the output the evidence is: a span of characters or a JSON path.
    location: Location | None = None
    #: A judge's own explanation of its verdict (model-graded assertions only).
    feedback: str | None = None
    #: ``file:line`` of the assertion's entry in the test file (None for Python specs).
    where: str | None = None

    def describe(self, output: str | None = None) -> str:
        """``reason (at $.items[0]) [suite.prompttest.yaml:12]`` -- one readable line."""
        text = self.reason
        if self.location is not None:
            text += f" (at {self.location.describe(output)})"
        if self.where and not self.reason.endswith(f"[{self.where}]"):
            text += f" [{self.where}]"
        return text


class SampleResult(BaseModel):
    """One model output for a case (a case with ``repeat: N`` has N samples)."""

    outcome: Outcome
    output: str | None = None
    score: float = 0.0
    assertions: list[AssertionResult] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    from_recording: bool = False
    error: str | None = None  # what went wrong, for ERROR
    hint: str | None = None  # how to fix it (e.g. the command that records a missing response)
    #: The tool calls the model made (``{"id", "name", "arguments"}``), when it made any:
    #: a reply that is only tool calls has an empty ``output`` but is not empty.
    tool_calls: list[dict[str, Any]] | None = None


class CaseResult(BaseModel):
    """One case x model: its samples and the verdict over them."""

    id: str  # stable: "<suite file>::<case id>[<model>]"
    suite: str
    case: str
    model: str
    prompt: str  # template path
    outcome: Outcome
    score: float = 0.0
    passes: int = 0
    repeat: int = 1
    min_pass: int = 1
    flaky: bool = False
    vars: dict[str, Any] = Field(default_factory=dict)
    samples: list[SampleResult] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    recordings_hit: int = 0
    recordings_missed: int = 0

    def first_failure(self) -> str:
        """Why the case did not pass, in one line: the first sample's error, else its first
        failing (weighted) or erroring assertion; "" when nothing failed. What the baseline
        comparison and the review's results delta both show beside a flip."""
        for s in self.samples:
            if s.outcome is Outcome.ERROR and s.error:
                return s.error
            for a in s.assertions:
                if a.error or (not a.passed and a.weight > 0):
                    return f"{a.type}: {a.describe(s.output)}"
        return ""


class VariantOutcome(BaseModel):
    """One perturbed variant of a case, as the results file keeps it."""

    key: str  # stable id of the variant's content
    edits: list[str] = Field(default_factory=list)  # what was changed, for people
    outcome: Outcome
    score: float = 0.0
    #: The injection's canary was in the output (``injection`` only), per sample.
    followed: list[bool] = Field(default_factory=list)


class RobustnessResult(BaseModel):
    """Per-operator robustness figures of one case x model (``perturb:`` in a test file).

    The shape is documented in docs/robustness.md ("The results file"); the review report
    reads it. ``pass_rate`` is passing variants / variants that did not ERROR; ``pdr`` is
    promptbench's performance drop rate ``1 - mean(perturbed score) / original score``
    (None when the original scored 0); ``spread`` is max - min score over the original and
    its variants (FormatSpread); ``sensitivity`` the mean output distance from the
    original output, 0..1 (a POSIX-like figure from outputs, since chat APIs give no
    log-likelihoods); for ``injection``, ``attack_success_rate`` is the share of samples
    that printed the canary and ``attack_success_at_k`` the unbiased pass@k estimate that
    an attack lands at least once in ``k`` samples.
    """

    id: str  # "<suite>::<case>[<model>]~<operator>"
    suite: str
    case: str
    model: str
    prompt: str
    operator: str
    family: str
    seed: str = "0"
    variants: int = 0
    passed: int = 0
    errored: int = 0
    pass_rate: float | None = None
    original_outcome: Outcome | None = None
    original_score: float | None = None
    pdr: float | None = None
    spread: float | None = None
    sensitivity: float | None = None
    attack_success_rate: float | None = None
    attack_success_at_k: float | None = None
    k: int = 1
    min_pass_rate: float | None = None
    outcome: Outcome = Outcome.PASS
    calls: int = 0
    #: The variant with the lowest score: its edits, diff and output.
    worst_key: str | None = None
    worst_diff: str | None = None
    worst_output: str | None = None
    worst_reason: str | None = None
    results: list[VariantOutcome] = Field(default_factory=list)


class RunResults(BaseModel):
    """A whole run: what ``results.json`` holds and a baseline is made of."""

    version: int = 1
    started_at: str = ""
    finished_at: str = ""
    mode: str = "replay"
    promptkit_version: str = ""
    cases: list[CaseResult] = Field(default_factory=list)
    #: The run was stopped (Ctrl-C) before every case ran: ``cases`` holds those that finished.
    interrupted: bool = False
    #: Per-operator figures of the cases with ``perturb:`` (see :class:`RobustnessResult`).
    robustness: list[RobustnessResult] = Field(default_factory=list)

    def by_id(self) -> dict[str, CaseResult]:
        return {c.id: c for c in self.cases}

    def counts(self) -> dict[Outcome, int]:
        out = {o: 0 for o in Outcome}
        for c in self.cases:
            out[c.outcome] += 1
        return out

    def to_json(self) -> str:
        """The results as written to files (results, baselines, xdist hand-over): every
        secret value masked (:mod:`promptkit.redact`), whatever field it ended up in."""
        import json

        from promptkit.redact import redact_data

        return json_lines(redact_data(self.model_dump(mode="json")))

    @classmethod
    def from_json(cls, text: str) -> RunResults:
        return cls.model_validate_json(text)


def json_lines(data: dict[str, Any]) -> str:
    """``data`` as JSON with one top-level key per line and one list item (a case) per
    line: a diff of two results files shows which cases changed, and the whole file is
    written by the C encoder (``indent=`` falls back to pure Python: 0.4 s per 1,000 cases)."""
    import json

    def one(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    keys = list(data)
    lines = ["{"]
    for i, key in enumerate(keys):
        comma = "," if i < len(keys) - 1 else ""
        value = data[key]
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            lines.append(f"  {one(key)}: [")
            lines.extend(f"    {one(x)}{',' if j < len(value) - 1 else ''}" for j, x in enumerate(value))
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {one(key)}: {one(value)}{comma}")
    lines.append("}")
    return "\n".join(lines)
