"""Reference-overlap metrics: ROUGE-N (``rouge-n``) and BLEU (``bleu``).

Both are computed by the standard libraries of their fields rather than by hand:
``rouge-score`` (Google's reimplementation of the original ROUGE-1.5.5 Perl script) and
``sacrebleu`` (the reference BLEU implementation that papers report). Scores are in
[0, 1]; promptfoo's default thresholds are kept (0.75 for ROUGE-N, 0.5 for BLEU).

Two deliberate choices, said here because they change numbers:

* ROUGE-N is recall-oriented by definition (Lin, 2004: matched n-grams over the
  reference's n-grams), so ``measure`` defaults to ``recall``; ``precision`` and
  ``fmeasure`` are there too. Tokens are Unicode words (``\\w+``, lower-cased):
  ``rouge-score``'s own tokenizer drops every non-ASCII letter, so "café" would be "caf"
  and a Japanese answer would have no tokens at all.
* BLEU is sacrebleu's sentence BLEU with exponential smoothing and its ``13a``
  tokenizer (``intl`` for Unicode punctuation, ``zh``/``ja-mecab``/``char`` for text
  without spaces), lower-cased like promptfoo's. Against several references, n-grams
  are clipped by the best reference, as BLEU defines.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.assertions.text import excerpt
from promptkit.runner.results import ModelResponse

_WORD = re.compile(r"\w+")


class _UnicodeTokenizer:
    """rouge-score's tokenizer interface, with Unicode words."""

    def tokenize(self, text: str) -> list[str]:
        return _WORD.findall(text.lower())


class RougeOptions(Options):
    #: The reference text (or several: the best-scoring counts).
    value: str | list[str]
    threshold: float = Field(default=0.75, ge=0.0, le=1.0)
    #: n-gram size: 1 (unigrams, promptfoo's rouge-n) to 9.
    n: int = Field(default=1, ge=1, le=9)
    measure: Literal["recall", "precision", "fmeasure"] = "recall"


@assertion("rouge-n", RougeOptions, aliases=("rouge",))
def rouge_n(output: str, o: RougeOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """ROUGE-N overlap with the reference reaches ``threshold`` (rouge-score; recall by default)."""
    from rouge_score import rouge_scorer

    refs = [o.value] if isinstance(o.value, str) else list(o.value)
    if not refs:
        return Check.failed_to_run("rouge-n needs at least one reference")
    key = f"rouge{o.n}"
    scorer = rouge_scorer.RougeScorer([key], tokenizer=_UnicodeTokenizer())
    scores = [getattr(scorer.score(r, output)[key], o.measure) for r in refs]
    best = max(range(len(refs)), key=lambda i: scores[i])
    score = float(scores[best])
    ok = score >= o.threshold
    return Check(ok, score, f"ROUGE-{o.n} {o.measure} {score:.2f} {'>=' if ok else '<'} {o.threshold:g} "
                            f"against {excerpt(refs[best], 50)}")


class BleuOptions(Options):
    #: The reference translation(s).
    value: str | list[str]
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    #: sacrebleu tokenizer: ``13a`` (default, as WMT), ``intl``, ``zh``, ``char``, ``none``...
    tokenize: str = "13a"


@assertion("bleu", BleuOptions)
def bleu(output: str, o: BleuOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """Sentence BLEU against the reference(s) reaches ``threshold`` (sacrebleu, 0-1 scale)."""
    from sacrebleu.metrics import BLEU

    refs = [o.value] if isinstance(o.value, str) else list(o.value)
    if not refs:
        return Check.failed_to_run("bleu needs at least one reference")
    try:
        metric = BLEU(lowercase=True, tokenize=o.tokenize, effective_order=True)
    except Exception as exc:  # noqa: BLE001 - sacrebleu raises several kinds for a bad tokenizer name
        return Check.failed_to_run(f"bleu: tokenizer {o.tokenize!r} unusable: {exc}")
    score = float(metric.sentence_score(output, refs).score) / 100.0
    ok = score >= o.threshold
    return Check(ok, score, f"BLEU {score:.3f} {'>=' if ok else '<'} {o.threshold:g} against {len(refs)} reference(s)")
