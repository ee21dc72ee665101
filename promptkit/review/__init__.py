"""Prompt review: semantic diffs between git revisions, version discipline, lock files,
results deltas, Markdown PR comments and HTML reports.

Data flows one way: git blobs -> :func:`promptkit.template.loads` -> :class:`PromptTemplate`
-> :func:`diff_templates` -> :func:`check_diff` -> output. Nothing here renders or runs a
prompt: a stranger's pull request is only parsed.
"""

from promptkit.review.compare import Review, compare_revisions, is_prompt_path
from promptkit.review.delta import CaseDelta, ResultsDelta, results_delta
from promptkit.review.git import WORKTREE, Repo
from promptkit.review.semantic import (
    ComponentChange,
    FieldChange,
    InputChange,
    PromptDiff,
    SchemaChange,
    TokenDelta,
    content_hash,
    diff_templates,
    word_diff,
)
from promptkit.review.versioning import Verdict, bump_kind, check_diff

__all__ = [
    "WORKTREE", "CaseDelta", "ComponentChange", "FieldChange", "InputChange", "PromptDiff", "Repo", "Review",
    "ResultsDelta", "SchemaChange", "TokenDelta", "Verdict", "bump_kind", "check_diff", "compare_revisions",
    "content_hash", "diff_templates", "is_prompt_path", "results_delta", "word_diff",
]
