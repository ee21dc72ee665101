"""The optimizer: when regression assertions fail, propose the smallest reviewable prompt
patch that fixes them and breaks nothing.

    from promptkit.optimize import Budget, suggest, apply

    s = suggest("templates/classify_ticket.prompttest.yaml", budget=Budget(calls=40))
    if s.patch:
        print(s.patch.diff)          # version bumped, `git apply`-able
        apply(s)                     # writes through the edit service's text

Pipeline (one module each): :mod:`.evidence` (per-case evidence from structured
assertion results) -> :mod:`.repairs` (deterministic repairs) -> :mod:`.proposer`
(critique + proposer meta-prompts in ``templates/optimizer/``) -> :mod:`.candidate`
(local checks) -> :mod:`.evaluate` (staged evaluation) -> :mod:`.patch` (ddmin, version
bump, diff) -> :mod:`.report`. See docs/optimize.md. Names are imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from promptkit._lazy import lazy_exports

_EXPORTS = {
    "suggest": "promptkit.optimize.search",
    "apply": "promptkit.optimize.search",
    "load_baseline": "promptkit.optimize.search",
    "Suggestion": "promptkit.optimize.search",
    "OptimizeError": "promptkit.optimize.search",
    "Budget": "promptkit.optimize.budget",
    "Spend": "promptkit.optimize.budget",
    "Candidate": "promptkit.optimize.candidate",
    "Verdict": "promptkit.optimize.evaluate",
    "Patch": "promptkit.optimize.patch",
}

__all__ = ["Budget", "Candidate", "OptimizeError", "Patch", "Spend", "Suggestion", "Verdict", "apply",
           "load_baseline", "suggest"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), __all__)


if TYPE_CHECKING:  # pragma: no cover
    from promptkit.optimize.budget import Budget, Spend
    from promptkit.optimize.candidate import Candidate
    from promptkit.optimize.evaluate import Verdict
    from promptkit.optimize.patch import Patch
    from promptkit.optimize.search import OptimizeError, Suggestion, apply, load_baseline, suggest
