"""Model-graded checks: rubric, factuality against a reference, pairwise vs a baseline.

A judge is a model, and models fail in ways a deterministic check does not:

* **Unparseable replies** (deepeval#929, #982): every judge asks for one JSON object, and a
  reply that is not one gets exactly one retry that quotes what was wrong. Still
  unparseable -> the assertion is an *error* (the sample is ERROR, never FAIL).
* **Provider failures** (promptfoo#7077 scored a 503 as FAIL): a
  :class:`~promptkit.runner.results.ProviderError` from the judge is an error too.
* **Position bias** (PORTIA; Branch-Solve-Merge): judges prefer whichever answer comes
  first (or second). ``pairwise`` asks twice with the answers swapped and only trusts a
  verdict that survives the swap; a verdict that flips is a tie, reported as low
  confidence.

Judge prompts are ordinary promptkit templates in ``templates/judges/`` (linted, rendered
in the sandbox, untrusted text fenced in tags); a test can point ``template:`` at its own.
The judge call itself goes through ``ctx.judge``, the runner's function, so it is retried,
recorded and replayed like any other model call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.assertions.text import excerpt
from promptkit.runner.results import ModelResponse, ProviderError, Usage

def judges_dir() -> Path:
    """Where the built-in judge templates are: ``templates/judges`` in a checkout,
    ``promptkit/_bundled/templates/judges`` in an installed wheel."""
    from promptkit.resources import bundled_templates_dir

    try:
        return bundled_templates_dir() / "judges"
    except FileNotFoundError:  # broken install: the error names the missing file
        return Path(__file__).resolve().parents[3] / "templates" / "judges"


#: The built-in judge templates' folder (see :func:`judges_dir`).
JUDGES_DIR = judges_dir()


class JudgeFailed(Exception):
    """The judge could not give a usable verdict."""

    def __init__(self, reason: str, usage: Usage) -> None:
        super().__init__(reason)
        self.usage = usage


class JudgeOptions(Options):
    #: Judge model (litellm id); default: the suite's ``defaults.judge``.
    model: str | None = None
    #: Extra call parameters for the judge (merged over the template's).
    params: dict[str, Any] = Field(default_factory=dict)
    #: A judge template of your own (path relative to the test file).
    template: str | None = None

    def files(self) -> dict[str, str]:
        return {"template": self.template} if self.template else {}


def judge_template(name: str, override: str | None, base_dir: str | Path | None) -> Path:
    if override:
        from promptkit.paths import confine, root_for

        base = Path(base_dir) if base_dir is not None else Path.cwd()
        confine(override, root_for(base), what="judge template", base=base)  # PK011: inside the project, no .git
        p = Path(override)
        return p if p.is_absolute() else base / p
    return judges_dir() / f"{name}.prompty"


def _load_template(path: str) -> Any:
    """A judge template, loaded once per file version (every judged sample renders it)."""
    import os

    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        stamp = -1
    return _load_cached(path, stamp)


@lru_cache(maxsize=64)
def _load_cached(path: str, stamp: int) -> Any:
    from promptkit.template import load

    return load(path)


def conversation(messages: list[dict[str, Any]]) -> str:
    """The prompt as the judge sees it: ``role: content`` blocks."""
    parts = []
    for m in messages:
        content = m.get("content", "")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        parts.append(f"[{m.get('role', 'user')}]\n{content}")
    return "\n\n".join(parts)


def extract_json(text: str) -> dict[str, Any]:
    """The JSON object in a judge reply (bare, fenced, or surrounded by prose).
    Raises ``ValueError`` saying why not."""
    from promptkit.runner.assertions.jsonvalue import loads

    s = text.strip()
    try:
        value = loads(s)
    except ValueError:
        start, end = s.find("{"), s.rfind("}")
        if start == -1 or end <= start:
            raise ValueError("the reply contains no JSON object") from None
        try:
            value = loads(s[start : end + 1])
        except ValueError as exc:
            raise ValueError(f"the reply's JSON does not parse ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"the reply is JSON but a {type(value).__name__}, not an object")
    return value


_TRUE = {"true", "pass", "passed", "yes"}
_FALSE = {"false", "fail", "failed", "no"}


def _as_bool(v: Any, key: str) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
        return v.strip().lower() in _TRUE
    raise ValueError(f"'{key}' must be true or false, got {v!r}")


def _as_score(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"'score' must be a number between 0 and 1, got {v!r}")
    if not 0.0 <= float(v) <= 1.0:
        raise ValueError(f"'score' must be between 0 and 1, got {v}")
    return float(v)


async def ask_judge(
    ctx: AssertionContext,
    name: str,
    options: JudgeOptions,
    variables: dict[str, Any],
    parse: Callable[[dict[str, Any]], Any],
) -> tuple[Any, Usage, str]:
    """Render judge template ``name``, call the judge, parse the reply; one retry on an
    unparseable reply. Returns ``(parsed, usage, model)``; raises :class:`JudgeFailed`."""
    from promptkit.diagnostics import PromptkitError
    from promptkit.template import render

    assert ctx.judge is not None
    try:
        path = judge_template(name, options.template, ctx.base_dir)
        tpl = _load_template(str(path))
        messages = [m.to_dict() for m in render(tpl, variables)]
    except PromptkitError as exc:
        raise JudgeFailed(f"judge template unusable: {exc}", Usage()) from None
    fm_model = tpl.front_matter.model
    params = {**(fm_model.params if fm_model else {}), **ctx.judge_params, **options.params}
    model = options.model or ctx.judge_model
    usage = Usage()
    reply = ""
    why = ""
    for attempt in range(2):
        try:
            resp = await ctx.judge(messages, model, params)
        except ProviderError as exc:
            raise JudgeFailed(f"judge call failed ({exc.kind}): {exc}", usage) from None
        usage = usage + resp.usage
        reply = resp.text or ""
        try:
            return parse(extract_json(reply)), usage, resp.model or (model or "")
        except ValueError as exc:
            why = str(exc)
        if attempt == 0:
            messages = [
                *messages,
                {"role": "assistant", "content": reply},
                {"role": "user", "content": f"Your reply could not be used: {why}. Reply again with only the JSON object "
                                            "described above, and no other text."},
            ]
    raise JudgeFailed(f"judge reply unusable after one retry: {why}; last reply: {excerpt(reply, 120)}", usage)


# --------------------------------------------------------------------------- rubric


class RubricOptions(JudgeOptions):
    #: What a good output does, in plain words.
    value: str
    #: Pass on the judge's score instead of its pass/fail verdict.
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


def _parse_verdict(d: dict[str, Any]) -> tuple[bool, float, str]:
    if "pass" not in d and "score" not in d:
        raise ValueError("the reply has neither 'pass' nor 'score'")
    score = _as_score(d["score"]) if "score" in d else None
    passed = _as_bool(d["pass"], "pass") if "pass" in d else (score or 0.0) >= 0.5
    reason = d.get("reason", "")
    if not isinstance(reason, str):
        reason = json.dumps(reason)
    return passed, score if score is not None else (1.0 if passed else 0.0), reason


@assertion("llm-rubric", RubricOptions, judge=True, aliases=("rubric",))
async def llm_rubric(output: str, o: RubricOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """A judge model grades the output against a rubric (JSON verdict: pass, score, reason)."""
    variables = {"rubric": o.value, "output": output, "conversation": conversation(ctx.messages)}
    try:
        (passed, score, reason), usage, model = await ask_judge(ctx, "rubric", o, variables, _parse_verdict)
    except JudgeFailed as exc:
        return Check.failed_to_run(str(exc), exc.usage)
    if o.threshold is not None:
        passed = score >= o.threshold
    return Check(passed, score, f"judge ({model}): {reason or ('pass' if passed else 'fail')} (score {score:.2f})",
                 usage=usage, feedback=reason or None)


# --------------------------------------------------------------------------- factuality

#: Category -> (consistent with the reference?, score). Mirrors OpenAI evals' "Fact" grader.
FACT_CATEGORIES: dict[str, tuple[bool, float, str]] = {
    "A": (True, 0.8, "a consistent subset of the reference"),
    "B": (True, 0.9, "a consistent superset of the reference"),
    "C": (True, 1.0, "the same facts as the reference"),
    "D": (False, 0.0, "in disagreement with the reference"),
    "E": (True, 1.0, "different from the reference only in ways that do not matter"),
}


class FactualityOptions(JudgeOptions):
    #: The reference answer (ground truth).
    value: str
    #: Categories that fail (default: only D, a contradiction).
    fail_on: list[Literal["A", "B", "C", "D", "E"]] = Field(default_factory=lambda: ["D"])  # type: ignore[arg-type]


def _parse_category(d: dict[str, Any]) -> tuple[str, str]:
    cat = d.get("category", d.get("choice"))
    if not isinstance(cat, str) or cat.strip().upper()[:1] not in FACT_CATEGORIES:
        raise ValueError(f"'category' must be one of A, B, C, D, E, got {cat!r}")
    reason = d.get("reason", "")
    return cat.strip().upper()[:1], reason if isinstance(reason, str) else json.dumps(reason)


@assertion("factuality", FactualityOptions, judge=True)
async def factuality(output: str, o: FactualityOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """A judge checks the output's facts against a reference answer (fails on contradiction)."""
    variables = {"reference": o.value, "output": output, "conversation": conversation(ctx.messages)}
    try:
        (cat, reason), usage, model = await ask_judge(ctx, "factuality", o, variables, _parse_category)
    except JudgeFailed as exc:
        return Check.failed_to_run(str(exc), exc.usage)
    _, score, meaning = FACT_CATEGORIES[cat]
    passed = cat not in o.fail_on
    return Check(passed, score, f"judge ({model}): category {cat}, {meaning}: {reason}", usage=usage,
                 feedback=reason or None)


# --------------------------------------------------------------------------- pairwise


class PairwiseOptions(JudgeOptions):
    #: The baseline output to compare with; default: the baseline run's output.
    value: str | None = None
    #: What "better" means for this case.
    criteria: str = "Which response follows the instructions better and answers more helpfully and accurately?"
    #: Pass mark on the score (1 win, 0.5 tie, 0 loss, averaged over both orders):
    #: the default 0.5 passes when the output is at least as good as the baseline.
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)


def _parse_winner(d: dict[str, Any]) -> tuple[str, str]:
    w = d.get("winner")
    if not isinstance(w, str) or w.strip().upper() not in ("A", "B", "TIE"):
        raise ValueError(f"'winner' must be \"A\", \"B\" or \"tie\", got {w!r}")
    reason = d.get("reason", "")
    return w.strip().upper(), reason if isinstance(reason, str) else json.dumps(reason)


_POINTS = {"win": 1.0, "tie": 0.5, "loss": 0.0}


@assertion("pairwise", PairwiseOptions, judge=True)
async def pairwise(output: str, o: PairwiseOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """A judge compares the output with the baseline's, in both orders to cancel position bias."""
    baseline = o.value if o.value is not None else ctx.baseline_output
    if baseline is None:
        return Check.failed_to_run("pairwise needs a baseline output: give 'value', or run with a stored baseline")
    if output.strip() == baseline.strip():
        # Unchanged output (common under temperature 0): a tie by definition, no judge cost.
        return Check(0.5 >= o.threshold, 0.5, "output is identical to the baseline's: a tie, the judge was not asked")
    convo = conversation(ctx.messages)

    def variables(a: str, b: str) -> dict[str, Any]:
        return {"criteria": o.criteria, "conversation": convo, "response_a": a, "response_b": b}

    results = await asyncio.gather(
        ask_judge(ctx, "pairwise", o, variables(output, baseline), _parse_winner),  # output is A
        ask_judge(ctx, "pairwise", o, variables(baseline, output), _parse_winner),  # output is B
        return_exceptions=True,
    )
    usage = Usage()
    for r in results:
        if isinstance(r, JudgeFailed):
            usage = usage + r.usage
        elif isinstance(r, BaseException):
            raise r
        else:
            usage = usage + r[1]
    failed = [r for r in results if isinstance(r, JudgeFailed)]
    if failed:
        return Check.failed_to_run(f"pairwise: {failed[0]}", usage)
    (w1, why1), _, model = results[0]  # type: ignore[misc]
    (w2, why2), _, _ = results[1]  # type: ignore[misc]
    first = {"A": "win", "B": "loss", "TIE": "tie"}[w1]
    second = {"B": "win", "A": "loss", "TIE": "tie"}[w2]
    if {first, second} == {"win", "loss"}:
        score = 0.5
        summary = (f"inconsistent verdicts across the two orders (output first: {first}, output second: {second}): "
                   "the judge followed position, not content; counted as a tie, low confidence")
    else:
        score = (_POINTS[first] + _POINTS[second]) / 2
        if first == second:
            summary = f"{first} against the baseline in both orders"
        else:
            summary = f"{first} with the output first, {second} with it second (partly consistent)"
    passed = score >= o.threshold
    detail = why1 if first != "tie" or not why2 else why2
    feedback = "\n".join(f"{order}: {why}" for order, why in (("output first", why1), ("output second", why2)) if why)
    return Check(passed, score, f"judge ({model}): {summary}; score {score:.2f}: {excerpt(detail, 160)}", usage=usage,
                 feedback=feedback or None)
