"""Deterministic assertions, negation, weights and the verdict: mostly as properties."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.runner.assertions import (
    AssertionContext,
    AssertionSpec,
    SpecError,
    build_spec,
    evaluate,
    types,
    verdict,
)
from promptkit.runner.assertions.similarity import string_similarity
from promptkit.runner.assertions.structured import parse_path
from promptkit.runner.results import AssertionResult, JsonPath, ModelResponse, Outcome, OutputSpan, Usage
from promptkit.template import load

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runner"
GREET = FIXTURES / "prompts" / "greet.prompty"

fast = settings(max_examples=40, deadline=None)
text = st.text(max_size=40)
needle = st.text(min_size=1, max_size=8)


def run(spec: AssertionSpec | dict[str, Any], output: str, *, ctx: AssertionContext | None = None,
        response: ModelResponse | None = None) -> AssertionResult:
    s = spec if isinstance(spec, AssertionSpec) else build_spec(spec)
    resp = response or ModelResponse(text=output, model="openai/gpt-4o-mini")
    return asyncio.run(evaluate([s], resp, ctx or AssertionContext()))[0]


# --------------------------------------------------------------------------- properties


@fast
@given(output=text, value=needle, kind=st.sampled_from(["contains", "icontains", "starts-with", "regex"]))
def test_negation_is_the_complement(output: str, value: str, kind: str) -> None:
    if kind == "regex":
        import re

        value = re.escape(value)
    plain = run({"type": kind, "value": value, "trim": False} if kind == "starts-with" else {"type": kind, "value": value}, output)
    prefixed = run({"type": f"not-{kind}", "value": value, **({"trim": False} if kind == "starts-with" else {})}, output)
    flagged = run({"type": kind, "value": value, "negate": True, **({"trim": False} if kind == "starts-with" else {})}, output)
    assert prefixed.passed is (not plain.passed)
    assert flagged.passed is (not plain.passed)
    assert prefixed.score == pytest.approx(1.0 - plain.score)
    assert prefixed.type == f"not-{kind}" and not prefixed.error


@fast
@given(output=text, value=needle, kind=st.sampled_from(["contains", "icontains", "starts-with", "regex", "contains-any"]),
       negate=st.booleans())
def test_span_locations_point_at_the_evidence(output: str, value: str, kind: str, negate: bool) -> None:
    """Whenever a text check reports a span, that slice of the output is what it found --
    negated or not (``not-contains`` fails at the forbidden text)."""
    import re

    pattern = re.escape(value) if kind == "regex" else value
    spec: dict[str, Any] = {"type": kind, "value": [value] if kind == "contains-any" else pattern, "negate": negate}
    if kind == "starts-with":
        spec["trim"] = False
    r = run(spec, output)
    found = {"contains": value in output, "contains-any": value in output, "regex": value in output,
             "icontains": value.casefold() in output.casefold()
             and re.search(re.escape(value), output, re.IGNORECASE) is not None,
             "starts-with": output.startswith(value)}[kind]
    if kind != "starts-with":  # a failed starts-with points at what the output starts with instead
        assert (r.location is not None) is found
    if r.location is not None and found:
        assert isinstance(r.location, OutputSpan) and 0 <= r.location.start <= r.location.end <= len(output)
        piece = output[r.location.start:r.location.end]
        assert piece.casefold() == value.casefold() if kind == "icontains" else piece == value


@fast
@given(output=text, value=needle)
def test_contains_matches_python_semantics(output: str, value: str) -> None:
    assert run({"contains": value}, output).passed is (value in output)
    assert run({"icontains": value}, output).passed is (value.casefold() in output.casefold())
    assert run({"contains": value}, output + value).passed


@fast
@given(output=text, values=st.lists(needle, min_size=1, max_size=4))
def test_contains_any_and_all_agree_with_contains(output: str, values: list[str]) -> None:
    singles = [v in output for v in values]
    any_r = run({"type": "contains-any", "value": values}, output)
    all_r = run({"type": "contains-all", "value": values}, output)
    partial = run({"type": "contains-all", "value": values, "partial": True}, output)
    assert any_r.passed is any(singles)
    assert all_r.passed is all(singles) is partial.passed
    assert all_r.score == float(all(singles))  # promptfoo: no partial credit
    assert partial.score == pytest.approx(sum(singles) / len(values) if len(set(values)) == len(values) else partial.score)


@fast
@given(a=text, b=text)
def test_string_similarity_is_a_symmetric_unit_score(a: str, b: str) -> None:
    assert string_similarity(a, a) == 1.0
    s = string_similarity(a, b)
    assert 0.0 <= s <= 1.0
    assert s == pytest.approx(string_similarity(b, a))


@fast
@given(output=text.filter(lambda s: s.strip()))
def test_similar_to_itself_passes_with_score_one(output: str) -> None:
    r = run({"type": "string-similar", "value": output, "threshold": 1.0}, output)
    assert r.passed and r.score == 1.0


@fast
@given(value=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
))
def test_is_json_accepts_every_json_document(value: Any) -> None:
    out = json.dumps(value)
    assert run({"type": "is-json"}, out).passed
    assert run({"type": "equals", "value": value}, out).passed if isinstance(value, (dict, list)) else True


@fast
@given(words=st.lists(st.text(alphabet="abc", min_size=1, max_size=5), max_size=12), lo=st.integers(0, 6), span=st.integers(0, 6))
def test_length_bounds(words: list[str], lo: int, span: int) -> None:
    out = " ".join(words)
    r = run({"type": "length", "unit": "words", "min": lo, "max": lo + span}, out)
    assert r.passed is (lo <= len(words) <= lo + span)


@fast
@given(results=st.lists(
    st.tuples(st.booleans(), st.floats(0, 1), st.sampled_from([0.0, 0.5, 1.0, 2.0])), min_size=1, max_size=6),
    threshold=st.none() | st.floats(0, 1))
def test_verdict_is_the_weighted_mean(results: list[tuple[bool, float, float]], threshold: float | None) -> None:
    rs = [AssertionResult(type="x", passed=p, score=s, reason="", weight=w) for p, s, w in results]
    outcome, score = verdict(rs, threshold)
    counted = [(p, s, w) for p, s, w in results if w > 0]
    total = sum(w for *_, w in counted)
    expected = sum(s * w for _, s, w in counted) / total if total else 1.0
    assert score == pytest.approx(expected)
    all_pass = all(p for p, *_ in counted)
    assert (outcome is Outcome.PASS) is (all_pass or (threshold is not None and score >= threshold - 1e-9))


def test_any_error_makes_the_sample_error_never_fail() -> None:
    ok = AssertionResult(type="a", passed=True, score=1, reason="")
    bad = AssertionResult(type="b", passed=False, score=0, reason="")
    err = AssertionResult(type="c", passed=False, score=0, reason="judge failed", error=True, weight=0)
    assert verdict([ok, err], None)[0] is Outcome.ERROR
    assert verdict([bad, err], 0.0)[0] is Outcome.ERROR
    assert verdict([ok, bad], None)[0] is Outcome.FAIL
    assert verdict([], None) == (Outcome.PASS, 1.0)


def test_weight_zero_is_reported_but_never_fails() -> None:
    specs = [build_spec({"contains": "Paris"}), build_spec({"type": "contains", "value": "France", "weight": 0})]
    res = asyncio.run(evaluate(specs, ModelResponse(text="Paris!", model="m"), AssertionContext()))
    assert [r.passed for r in res] == [True, False]
    assert verdict(res, None) == (Outcome.PASS, 1.0)


def test_threshold_lets_a_weak_check_fail() -> None:
    specs = [build_spec({"type": "contains", "value": "Paris", "weight": 3}), build_spec({"contains": "France"})]
    res = asyncio.run(evaluate(specs, ModelResponse(text="Paris", model="m"), AssertionContext()))
    assert verdict(res, None)[0] is Outcome.FAIL
    assert verdict(res, 0.75) == (Outcome.PASS, 0.75)
    assert verdict(res, 0.8)[0] is Outcome.FAIL


# --------------------------------------------------------------------------- text checks


def test_equals_trims_and_compares_json() -> None:
    assert run({"type": "equals", "value": "Paris"}, "Paris\n").passed
    assert not run({"type": "equals", "value": "Paris", "trim": False}, "Paris\n").passed
    assert run({"type": "equals", "value": "paris", "ignore_case": True}, "PARIS").passed
    assert run({"type": "equals", "value": {"a": [1, 2]}}, '{"a": [1, 2]}').passed
    r = run({"type": "equals", "value": {"a": 1}}, "not json")
    assert not r.passed and "not JSON" in r.reason


def test_regex_flags_and_full_match() -> None:
    assert run({"type": "regex", "value": "^paris$", "flags": "i"}, "PARIS").passed
    assert not run({"type": "regex", "value": r"\d+", "full": True}, "abc 12").passed
    assert run({"type": "regex", "value": r"\d+", "full": True}, " 12 ").passed
    with pytest.raises(SpecError, match="unknown regex flags"):
        build_spec({"type": "regex", "value": "a", "flags": "q"})


def test_assertion_values_use_case_vars() -> None:
    ctx = AssertionContext(vars={"city": "Lyon"})
    assert run({"contains": "{{ city }}"}, "Welcome to Lyon", ctx=ctx).passed
    assert not run({"contains": "{{ city }}"}, "Welcome to Paris", ctx=ctx).passed
    r = run({"contains": "{{ nope }}"}, "x", ctx=ctx)
    assert r.error and "variables" in r.reason


def test_spec_validation_errors() -> None:
    with pytest.raises(SpecError, match="has no option 'valeu'") as info:
        build_spec({"type": "contains", "valeu": "x"})
    assert info.value.loc == ("valeu",)
    with pytest.raises(SpecError, match="needs 'value'"):
        build_spec({"type": "contains"})
    with pytest.raises(SpecError, match="min .* greater than max"):
        build_spec({"type": "length", "min": 5, "max": 2})
    with pytest.raises(SpecError, match="already negated"):
        build_spec({"type": "not-contains", "value": "x", "negate": True})
    with pytest.raises(SpecError, match="cannot be negated"):
        build_spec({"type": "not-latency", "max_ms": 5})
    with pytest.raises(SpecError, match="weight"):
        build_spec({"type": "contains", "value": "x", "weight": -1})
    with pytest.raises(SpecError, match="empty"):
        build_spec({"contains": ""})


def test_every_type_has_a_summary_and_options_model() -> None:
    reg = types()
    for name in ("equals", "contains", "icontains", "contains-any", "contains-all", "regex", "starts-with",
                 "is-json", "json-schema", "json-path", "pydantic", "length", "tokens", "similar", "string-similar", "ends-with",
                 "semantic-similar", "latency", "cost", "python", "llm-rubric", "factuality", "pairwise"):
        assert name in reg, name
        assert reg[name].summary and reg[name].summary != name


# --------------------------------------------------------------------------- structured


def test_json_fences_are_refused_unless_allowed() -> None:
    fenced = '```json\n{"a": 1}\n```'
    r = run({"type": "is-json"}, fenced)
    assert not r.passed and "allow_fences" in r.reason
    assert run({"type": "is-json", "allow_fences": True}, fenced).passed


def test_json_schema_inline_file_and_prompt_default(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    assert run({"type": "json-schema", "value": schema}, '{"n": 3}').passed
    r = run({"type": "json-schema", "value": schema}, '{"n": "3"}')
    assert not r.passed and "integer" in r.reason and "$." not in r.reason  # the place is a field, not text
    assert r.location == JsonPath(path="$.n", parts=["n"]) and r.describe().endswith("(at $.n)")
    (tmp_path / "s.json").write_text(json.dumps(schema), encoding="utf-8")
    assert run({"type": "json-schema", "value": "s.json"}, '{"n": 1}', ctx=AssertionContext(base_dir=tmp_path)).passed
    # no value: the prompt's declared output schema (greeting required)
    ctx = AssertionContext(template=load(GREET))
    assert run({"type": "json-schema"}, '{"greeting": "hi", "count": 1}', ctx=ctx).passed
    bad = run({"type": "json-schema"}, '{"count": 1}', ctx=ctx)
    assert not bad.passed and "greeting" in bad.reason and "output schema" in bad.reason
    assert bad.location == JsonPath(path="$", parts=[])  # a missing key is an error of the object
    assert run({"type": "json-schema"}, "{}").error  # no schema anywhere: cannot evaluate


def test_json_path() -> None:
    doc = json.dumps({"items": [{"name": "a"}, {"name": "b.c", "tags": {"x.y": 2}}]})
    assert parse_path('$.items[-1].tags["x.y"]') == ("items", -1, "tags", "x.y")
    assert run({"type": "json-path", "path": "items[1].name", "value": "b.c"}, doc).passed
    assert run({"type": "json-path", "path": 'items[1].tags["x.y"]', "value": 2}, doc).passed
    assert run({"type": "json-path", "path": "items[0]"}, doc).passed  # existence only
    missing = run({"type": "json-path", "path": "items[5].name"}, doc)
    assert not missing.passed and missing.location == JsonPath.of(["items", 5])  # the first part not found
    assert missing.describe() == "output JSON lacks items[5].name (at $.items[5])"
    dotted = run({"type": "json-path", "path": 'items[1].tags["x.y"]', "value": 3}, doc)
    assert dotted.location is not None and dotted.location.parts == ["items", 1, "tags", "x.y"]
    assert dotted.location.describe() == '$.items[1].tags["x.y"]'
    wrong = run({"type": "json-path", "path": "items[0].name", "value": "z"}, doc)
    assert not wrong.passed and "expected" in wrong.reason
    with pytest.raises(SpecError, match="cannot read JSON path"):
        build_spec({"type": "json-path", "path": "items[?(@.x)]"})
    with pytest.raises(SpecError):
        build_spec({"type": "json-path", "path": "__import__('os')"})


def test_pydantic_model_by_import_path(tmp_path: Path) -> None:
    (tmp_path / "shapes.py").write_text(
        "from pydantic import BaseModel\nclass Greeting(BaseModel):\n    greeting: str\n    count: int = 1\n",
        encoding="utf-8",
    )
    ctx = AssertionContext(base_dir=tmp_path)
    assert run({"type": "pydantic", "value": "shapes.py:Greeting"}, '{"greeting": "hi"}', ctx=ctx).passed
    r = run({"type": "pydantic", "value": "shapes.py:Greeting"}, '{"count": "x"}', ctx=ctx)
    assert not r.passed and "Greeting" in r.reason
    # an importable module is never reached by name: only the project's own files
    refused = run({"type": "pydantic", "value": "promptkit.runner.results:Usage"}, '{"prompt_tokens": 3}', ctx=ctx)
    assert refused.error and "refused" in refused.reason
    assert run({"type": "pydantic", "value": "no_such_module_xyz:Model"}, "{}", ctx=ctx).error
    with pytest.raises(SpecError, match="file.py"):
        build_spec({"type": "pydantic", "value": "__import__('os').system('x')"})


# --------------------------------------------------------------------------- budgets


def test_latency_refuses_replayed_responses() -> None:
    live = ModelResponse(text="x", model="m", usage=Usage(latency_s=0.2))
    assert run({"type": "latency", "max_ms": 500}, "x", response=live).passed
    assert not run({"type": "latency", "max_ms": 100}, "x", response=live).passed
    replayed = ModelResponse(text="x", model="m", usage=Usage(latency_s=0.2), from_recording=True)
    r = run({"type": "latency", "max_ms": 500}, "x", response=replayed)
    assert r.error and "replayed" in r.reason
    assert run({"type": "latency", "max_ms": 500, "on_replay": "pass"}, "x", response=replayed).passed


def test_cost_and_token_bounds() -> None:
    resp = ModelResponse(text="one two three", model="openai/gpt-4o-mini",
                         usage=Usage(prompt_tokens=100, completion_tokens=7, cost_usd=0.002))
    assert run({"type": "cost", "max_usd": 0.01}, resp.text, response=resp).passed
    assert not run({"type": "cost", "max_usd": 0.001}, resp.text, response=resp).passed
    assert run({"type": "tokens", "max": 3}, resp.text, response=resp).passed  # "one two three" = 3 tokens
    assert not run({"type": "tokens", "max": 2}, resp.text, response=resp).passed
    assert run({"type": "tokens", "of": "total", "min": 107, "max": 107}, resp.text, response=resp).passed


def test_finish_reason_catches_truncation() -> None:
    done = ModelResponse(text="x", model="m", finish_reason="stop")
    cut = ModelResponse(text="x", model="m", finish_reason="length")
    assert run({"type": "finish-reason"}, "x", response=done).passed
    r = run({"type": "finish-reason"}, "x", response=cut)
    assert not r.passed and "cut off" in r.reason
    assert run({"type": "not-finish-reason", "value": "content_filter"}, "x", response=done).passed
    assert run({"type": "finish-reason"}, "x", response=ModelResponse(text="x", model="m")).error


# --------------------------------------------------------------------------- python callables


def test_python_callable_results(tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text(
        "def short(output):\n    return len(output) < 10\n"
        "def scored(output, ctx):\n    return 0.3 if ctx.vars.get('strict') else 0.9\n"
        "def detailed(output):\n    return {'pass': 'ok' in output, 'score': 0.7, 'reason': 'looked for ok'}\n"
        "async def asynchronous(output):\n    return True\n"
        "def asserting(output):\n    assert 'x' in output, 'no x in the output'\n    return True\n"
        "def broken(output):\n    raise KeyError('bug')\n"
        "def wrong(output):\n    return 'yes'\n",
        encoding="utf-8",
    )
    ctx = AssertionContext(base_dir=tmp_path, vars={"strict": True})
    assert run({"type": "python", "value": "checks.py:short"}, "tiny", ctx=ctx).passed
    r = run({"type": "python", "value": "checks.py:scored"}, "x", ctx=ctx)
    assert not r.passed and r.score == pytest.approx(0.3)
    d = run({"type": "python", "value": "checks.py:detailed"}, "ok", ctx=ctx)
    assert d.passed and d.score == pytest.approx(0.7) and d.reason == "looked for ok"
    assert run({"type": "python", "value": "checks.py:asynchronous"}, "", ctx=ctx).passed
    a = run({"type": "python", "value": "checks.py:asserting"}, "abc", ctx=ctx)
    assert not a.passed and not a.error and "no x" in a.reason
    assert run({"type": "python", "value": "checks.py:broken"}, "", ctx=ctx).error
    assert run({"type": "python", "value": "checks.py:wrong"}, "", ctx=ctx).error
    with pytest.raises(SpecError):
        build_spec({"type": "python", "value": "lambda o: True"})


def test_python_check_files_load_once_and_may_import_siblings(tmp_path: Path) -> None:
    (tmp_path / "words.py").write_text("BANNED = ('sorry', 'apologize')\n", encoding="utf-8")
    (tmp_path / "counted.py").write_text(
        "from words import BANNED\nLOADS = []\nLOADS.append(1)\n"
        "def polite(output):\n    return not any(w in output.lower() for w in BANNED) and len(LOADS) == 1\n",
        encoding="utf-8",
    )
    ctx = AssertionContext(base_dir=tmp_path)
    for _ in range(3):  # executed once: LOADS stays [1]
        assert run({"type": "python", "value": "counted.py:polite"}, "Here you go.", ctx=ctx).passed
    assert not run({"type": "python", "value": "counted.py:polite"}, "Sorry!", ctx=ctx).passed
    assert str(tmp_path) not in __import__("sys").path


def test_failing_reason_points_back_at_the_test_file() -> None:
    from promptkit.runner.suite_file import load_suite

    run_ = {r.case.id: r for r in load_suite(FIXTURES / "greet.prompttest.yaml").expand()}["ada"]
    res = asyncio.run(evaluate(run_.assertions, ModelResponse(text="  nope", model="m"), run_.context([])))
    first = res[0]  # the defaults' is-json entry
    assert not first.passed and first.where is not None and first.where.endswith("greet.prompttest.yaml:6")
    assert first.reason == "output is not valid JSON: Expecting value"  # no place glued in
    assert first.location == OutputSpan(start=2, end=2)
    assert [r.index for r in res] == list(range(len(run_.assertions)))
    assert [r.assertion_type for r in res] == [a.type for a in run_.assertions]
    assert first.describe("  nope") == f"output is not valid JSON: Expecting value (at line 1 column 3) [{first.where}]"


def test_docs_describe_every_assertion_type() -> None:
    root = Path(__file__).resolve().parents[2] / "docs"
    docs = "".join((root / n).read_text(encoding="utf-8") for n in ("testing.md", "assertions.md"))
    missing = [name for name in types() if f"`{name}`" not in docs and f"/ `{name}`" not in docs]
    assert not missing, f"docs/testing.md does not describe: {missing}"
