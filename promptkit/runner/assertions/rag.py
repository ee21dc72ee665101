"""Model-graded scores with a procedure: G-Eval criteria scoring and RAG checks.

* ``g-eval`` (Liu et al., 2023): the judge first turns the criteria into evaluation steps
  (skipped when the test gives ``steps``), then follows them and scores 0-10; the score
  is normalised to [0, 1] and passes at ``threshold`` (0.7, promptfoo's default).
* ``context-faithfulness``: the judge splits the answer into claims and marks each as
  supported by the retrieved context or not; score = supported / claims (an answer with
  no claims scores 1). Catches answers that add facts the documents do not contain.
* ``context-relevance``: the context is split into sentences *here* (so the denominator
  does not depend on the judge) and the judge lists the numbers of those needed for the
  query; score = relevant / sentences. Catches retrieval that returns noise.
* ``answer-relevance``: the judge lists the question's information needs and whether the
  answer addresses each; score = addressed / needs, halved when the answer is mostly
  off-topic. Catches answers that are correct but not to the question.

Each asks for one JSON object through :func:`~promptkit.runner.assertions.judges.ask_judge`
(one retry on an unusable reply; still unusable or a provider failure -> ERROR). The
templates are in ``templates/judges/``. ``query`` and ``context`` default to the case's
variables ``query`` (or ``question``) and ``context`` (or ``documents``: a list of
passages or ``{title, text}`` mappings is joined).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import Field

from promptkit.runner.assertions.judges import JudgeFailed, JudgeOptions, ask_judge, conversation
from promptkit.runner.assertions.registry import Check, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.assertions.text import excerpt
from promptkit.runner.results import ModelResponse, Usage

# --------------------------------------------------------------------------- g-eval


class GEvalOptions(JudgeOptions):
    #: The criteria, in plain words.
    value: str
    #: Evaluation steps; left out, the judge writes them first (one more call).
    steps: list[str] | None = None
    threshold: float = Field(default=0.7, ge=0.0, le=1.0)


def _parse_steps(d: dict[str, Any]) -> list[str]:
    steps = d.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) and s.strip() for s in steps):
        raise ValueError("'steps' must be a non-empty list of strings")
    return [s.strip() for s in steps]


def _parse_score10(d: dict[str, Any]) -> tuple[float, str]:
    s = d.get("score")
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 <= s <= 10:
        raise ValueError(f"'score' must be a number from 0 to 10, got {s!r}")
    reason = d.get("reason", "")
    return float(s) / 10.0, reason if isinstance(reason, str) else json.dumps(reason)


@assertion("g-eval", GEvalOptions, judge=True, aliases=("geval",))
async def g_eval(output: str, o: GEvalOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """A judge scores the output 0-10 against criteria by following evaluation steps (G-Eval)."""
    usage = Usage()
    steps = o.steps
    try:
        if not steps:
            steps, usage, _ = await ask_judge(ctx, "geval-steps", o, {"criteria": o.value}, _parse_steps)
        numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
        variables = {"criteria": o.value, "steps": numbered, "output": output, "conversation": conversation(ctx.messages)}
        (score, reason), used, model = await ask_judge(ctx, "geval", o, variables, _parse_score10)
    except JudgeFailed as exc:
        return Check.failed_to_run(str(exc), usage + exc.usage)
    ok = score >= o.threshold - 1e-9
    return Check(ok, score, f"judge ({model}): {score * 10:g}/10 {'>=' if ok else '<'} {o.threshold * 10:g}/10: {reason}",
                 usage=usage + used, feedback=reason or None)


# --------------------------------------------------------------------------- RAG


class RagOptions(JudgeOptions):
    #: The question; default: the case variable ``query`` or ``question``.
    query: str | None = None
    #: The retrieved context; default: the variable ``context`` or ``documents``.
    context: str | list[Any] | None = None
    threshold: float = Field(default=0.7, ge=0.0, le=1.0)


def _query(o: RagOptions, ctx: AssertionContext) -> str | None:
    if o.query is not None:
        return o.query
    for key in ("query", "question"):
        v = ctx.vars.get(key)
        if isinstance(v, str):
            return v
    return None


def _context(o: RagOptions, ctx: AssertionContext) -> str | None:
    raw = o.context if o.context is not None else next(
        (ctx.vars[k] for k in ("context", "documents") if ctx.vars.get(k) is not None), None)
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        parts = []
        for item in raw:
            if isinstance(item, dict):
                head = " ".join(str(item[k]) for k in ("id", "title") if item.get(k))
                body = item.get("text") or item.get("content") or ""
                parts.append(f"{head}: {body}" if head else str(body))
            else:
                parts.append(str(item))
        return "\n\n".join(parts)
    return str(raw)


def _missing(what: str, key: str) -> Check:
    return Check.failed_to_run(f"{what} needs the {key}: give '{key}', or set the case variable "
                               f"'{'query' if key == 'query' else 'context'}'")


def _parse_claims(d: dict[str, Any]) -> list[tuple[str, bool, str]]:
    claims = d.get("claims")
    if not isinstance(claims, list):
        raise ValueError("'claims' must be a list")
    out = []
    for c in claims:
        if not isinstance(c, dict) or not isinstance(c.get("claim"), str) or not isinstance(c.get("supported"), bool):
            raise ValueError("each claim must be {\"claim\": string, \"supported\": true or false}")
        out.append((c["claim"], c["supported"], str(c.get("reason", ""))))
    return out


@assertion("context-faithfulness", RagOptions, judge=True)
async def context_faithfulness(output: str, o: RagOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """Every claim of the output is supported by the retrieved context (score: supported / claims)."""
    query, context = _query(o, ctx), _context(o, ctx)
    if context is None:
        return _missing("context-faithfulness", "context")
    try:
        claims, usage, model = await ask_judge(ctx, "context-faithfulness", o,
                                               {"query": query or "", "context": context, "output": output},
                                               _parse_claims)
    except JudgeFailed as exc:
        return Check.failed_to_run(str(exc), exc.usage)
    if not claims:
        return Check(True, 1.0, f"judge ({model}): the output makes no factual claims", usage=usage)
    bad = [(c, why) for c, ok, why in claims if not ok]
    score = 1 - len(bad) / len(claims)
    ok = score >= o.threshold - 1e-9
    detail = "; unsupported: " + "; ".join(f"{excerpt(c, 60)} ({why})" if why else excerpt(c, 60) for c, why in bad[:3]) \
        if bad else ""
    return Check(ok, score, f"judge ({model}): {len(claims) - len(bad)} of {len(claims)} claims supported by the context "
                            f"({score:.2f} {'>=' if ok else '<'} {o.threshold:g}){detail}", usage=usage)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[^\s])|\n\s*\n|\n(?=\s*[-*\d])")


def sentences(text: str) -> list[str]:
    """The context split into sentences (and paragraphs, list items)."""
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def _parse_relevant(n: int) -> Any:
    def parse(d: dict[str, Any]) -> tuple[list[int], str]:
        rel = d.get("relevant")
        if not isinstance(rel, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in rel):
            raise ValueError("'relevant' must be a list of sentence numbers")
        bad = [i for i in rel if not 1 <= i <= n]
        if bad:
            raise ValueError(f"sentence numbers must be between 1 and {n}, got {bad}")
        return sorted(set(rel)), str(d.get("reason", ""))
    return parse


@assertion("context-relevance", RagOptions, judge=True)
async def context_relevance(output: str, o: RagOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The retrieved context is relevant to the query (score: relevant sentences / sentences)."""
    query, context = _query(o, ctx), _context(o, ctx)
    if query is None:
        return _missing("context-relevance", "query")
    if context is None:
        return _missing("context-relevance", "context")
    parts = sentences(context)
    if not parts:
        return Check.of(False, "the context is empty")
    numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(parts, 1))
    try:
        (rel, reason), usage, model = await ask_judge(ctx, "context-relevance", o,
                                                      {"query": query, "sentences": numbered}, _parse_relevant(len(parts)))
    except JudgeFailed as exc:
        return Check.failed_to_run(str(exc), exc.usage)
    score = len(rel) / len(parts)
    ok = score >= o.threshold - 1e-9
    return Check(ok, score, f"judge ({model}): {len(rel)} of {len(parts)} context sentences relevant to the query "
                            f"({score:.2f} {'>=' if ok else '<'} {o.threshold:g}){': ' + reason if reason else ''}",
                 usage=usage, feedback=reason or None)


def _parse_needs(d: dict[str, Any]) -> tuple[list[tuple[str, bool]], bool, str]:
    needs = d.get("needs")
    if not isinstance(needs, list) or not needs:
        raise ValueError("'needs' must be a non-empty list")
    out = []
    for n in needs:
        if not isinstance(n, dict) or not isinstance(n.get("need"), str) or not isinstance(n.get("addressed"), bool):
            raise ValueError("each need must be {\"need\": string, \"addressed\": true or false}")
        out.append((n["need"], n["addressed"]))
    off = d.get("off_topic", False)
    if not isinstance(off, bool):
        raise ValueError("'off_topic' must be true or false")
    return out, off, str(d.get("reason", ""))


@assertion("answer-relevance", RagOptions, judge=True)
async def answer_relevance(output: str, o: RagOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output addresses what the query asks (score: needs addressed / needs, halved when off-topic)."""
    query = _query(o, ctx)
    if query is None:
        return _missing("answer-relevance", "query")
    try:
        (needs, off, reason), usage, model = await ask_judge(ctx, "answer-relevance", o,
                                                             {"query": query, "output": output}, _parse_needs)
    except JudgeFailed as exc:
        return Check.failed_to_run(str(exc), exc.usage)
    done = sum(1 for _, a in needs if a)
    score = done / len(needs) * (0.5 if off else 1.0)
    ok = score >= o.threshold - 1e-9
    missed = [n for n, a in needs if not a]
    detail = (f"; not addressed: {', '.join(excerpt(n, 50) for n in missed[:3])}" if missed else "") + \
        ("; mostly off-topic" if off else "")
    return Check(ok, score, f"judge ({model}): {done} of {len(needs)} needs addressed ({score:.2f} "
                            f"{'>=' if ok else '<'} {o.threshold:g}){detail}", usage=usage, feedback=reason or None)
