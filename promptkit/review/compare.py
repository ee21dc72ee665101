"""Compare two revisions of a repository's prompts: the diffs and the version verdict.

:func:`compare_revisions` is what ``promptkit diff`` runs: list the prompt files git sees
changed (renames followed), read both sides' bytes through :class:`~promptkit.review.git.Repo`
(in memory: nothing of a revision is written to disk), load each with the template loader,
diff and check them. A prompt that cannot be read at one revision (binary, front matter that
does not parse) stops the comparison with one ``PR012`` error naming the file and revision:
a reviewer must not get a verdict that silently skipped a file.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from promptkit.codes import INVALID_FRONT_MATTER, PATH_OUTSIDE_PROJECT, REVIEW_BAD_PROMPT, UNREADABLE_FILE
from promptkit.diagnostics import Diagnostic, PromptkitError, Severity
from promptkit.review.git import WORKTREE, Change, Repo
from promptkit.review.semantic import PromptDiff, diff_templates
from promptkit.review.versioning import Verdict, check_diff
from promptkit.template.loader import PROMPT_GLOBS, loads
from promptkit.template.model import PromptTemplate

__all__ = ["Review", "compare_revisions", "is_prompt_path", "resolve_pathspecs"]

#: Loader codes that mean "this revision of the file is not a prompt we can read".
_UNREADABLE = (UNREADABLE_FILE.code, INVALID_FRONT_MATTER.code)


def is_prompt_path(path: str) -> bool:
    """Whether a repository path is a prompt file promptkit understands (by name)."""
    name = PurePosixPath(path).name
    if name.endswith((".prompttest.yaml", ".prompttest.yml")):
        return False
    return any(fnmatch.fnmatch(name, g) for g in PROMPT_GLOBS)


@dataclass
class Review:
    """The outcome of comparing two revisions."""

    base: str  # as given (``HEAD``, ``main``...)
    head: str  # as given, or "working tree"
    base_commit: str
    head_commit: str | None  # None for the working tree
    diffs: list[PromptDiff] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    lint: dict[str, list[Diagnostic]] = field(default_factory=dict)
    delta: Any = None  # a ResultsDelta, when results files were given

    @property
    def findings(self) -> list[Diagnostic]:
        return [d for v in self.verdicts for d in v.findings]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.findings if d.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors

    def verdict_for(self, path: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "base": self.base, "head": self.head, "base_commit": self.base_commit, "head_commit": self.head_commit,
            "ok": self.ok,
            "prompts": [{**d.to_dict(), "verdict": (v.to_dict() if (v := self.verdict_for(d.path)) else None),
                         "lint": [x.to_dict() for x in self.lint.get(d.path, [])]} for d in self.diffs],
            "errors": len(self.errors),
            "results_delta": self.delta.to_dict() if self.delta is not None else None,
        }


def resolve_pathspecs(repo: Repo, paths: Sequence[str], cwd: str | Path | None = None) -> list[str]:
    """Command-line paths as repository-relative pathspecs; a path outside the
    repository is refused (PK011) instead of silently matching nothing."""
    cwd = Path(cwd or os.getcwd())
    out: list[str] = []
    for p in paths:
        full = Path(os.path.abspath(cwd / p))
        real = full.resolve()
        try:
            rel = real.relative_to(repo.top)
        except ValueError:
            try:
                rel = full.relative_to(repo.top)
            except ValueError:
                raise PromptkitError(Diagnostic(p, f"path is outside the repository {repo.top}",
                                                code=PATH_OUTSIDE_PROJECT.code, name=PATH_OUTSIDE_PROJECT.name,
                                                hint="give paths inside the git work tree being compared")) from None
        if rel.parts and rel.parts[0] == ".git":
            raise PromptkitError(Diagnostic(p, "path is inside the .git folder", code=PATH_OUTSIDE_PROJECT.code,
                                            name=PATH_OUTSIDE_PROJECT.name, hint="give paths of prompt files"))
        out.append(rel.as_posix() if rel.parts else ".")
    return out


def _under(path: str | None, specs: Sequence[str]) -> bool:
    if path is None:
        return False
    return any(s == "." or path == s or path.startswith(s.rstrip("/") + "/") for s in specs)


def _load(data: bytes | None, path: str, rev_label: str) -> PromptTemplate | None:
    if data is None:
        return None
    t = loads(data, path=path)
    for d in t.diagnostics:
        if d.severity is Severity.ERROR and d.code in _UNREADABLE:
            raise PromptkitError(Diagnostic(
                path, f"cannot read the prompt at {rev_label}: {d.message}", span=d.span,
                code=REVIEW_BAD_PROMPT.code, name=REVIEW_BAD_PROMPT.name,
                hint=(d.hint + "; " if d.hint else "") + f"fix the file at {rev_label}, or leave it out of the paths"))
    return t


def _version_line(t: PromptTemplate | None) -> int | None:
    if t is None:
        return None
    span = t.span_of("version")
    return span.start.line if span else None


def compare_revisions(repo: Repo, base: str, head: str = WORKTREE, paths: Sequence[str] = (), *,
                      require_version: bool = False, tokens: bool = True, lint: bool = False,
                      cwd: str | Path | None = None, base_label: str | None = None) -> Review:
    """Diff every changed prompt from ``base`` to ``head`` (a revision or
    :data:`~promptkit.review.git.WORKTREE`) and check its version."""
    specs = resolve_pathspecs(repo, paths, cwd) if paths else []
    base_commit = repo.commit(base)
    head_commit = None if head == WORKTREE else repo.commit(head)
    # the whole tree, then the paths: git follows a rename only when both names are in view
    changes = [c for c in repo.changes(base_commit, head_commit or WORKTREE)
               if (is_prompt_path(c.path) or (c.old_path and is_prompt_path(c.old_path)))
               and (not specs or _under(c.path, specs) or _under(c.old_path, specs))]
    head_label = "the working tree" if head == WORKTREE else head
    old = repo.read_many(base_commit, [c.base_path for c in changes if c.base_path])
    new = repo.read_many(head_commit or WORKTREE, [c.head_path for c in changes if c.head_path])
    changes = _pair_renames(changes, old, new)
    heads: list[PromptTemplate] = []
    review = Review(base=base_label or base, head=head_label, base_commit=base_commit, head_commit=head_commit)
    for c in sorted(changes, key=lambda c: c.path):
        a = _load(old.get(c.base_path) if c.base_path else None, c.base_path or c.path, base)
        b = _load(new.get(c.head_path) if c.head_path else None, c.head_path or c.path, head_label)
        if a is None and b is None:
            continue
        d = diff_templates(a, b, path=c.path, old_path=c.old_path, tokens=tokens)
        if d.status == "modified" and not d.content_changed and not d.whitespace_only and d.version_before == d.version_after:
            continue  # e.g. a mode change: nothing a reviewer of prompts needs to see
        review.diffs.append(d)
        review.verdicts.append(check_diff(
            d, require_version=require_version,
            raw_before=a.raw_front_matter.get("version") if a else None,
            raw_after=b.raw_front_matter.get("version") if b else None, version_line=_version_line(b)))
        if lint and b is not None:
            heads.append(b)
    if heads:
        review.lint = _lint(heads, repo.top)
    return review


def _pair_renames(changes: list[Change], old: dict[str, bytes | None], new: dict[str, bytes | None]) -> list[Change]:
    """Pair a deleted prompt with an added one git could not (an untracked file in the
    working tree is never matched by ``git diff``): same front-matter ``name`` or at
    least 50% similar text."""
    import difflib

    deleted = [c for c in changes if c.status == "D"]
    added = [c for c in changes if c.status == "A"]
    if not deleted or not added:
        return changes
    out = [c for c in changes if c.status not in "AD"]
    for d in deleted:
        od = (old.get(d.path) or b"").decode("utf-8", "replace")
        best, score = None, 0.5
        for a in added:
            na = (new.get(a.path) or b"").decode("utf-8", "replace")
            r = difflib.SequenceMatcher(None, od, na, autojunk=False).quick_ratio()
            if r >= score:
                r = difflib.SequenceMatcher(None, od, na, autojunk=False).ratio()
            if r >= score:
                best, score = a, r
        if best is not None:
            added.remove(best)
            out.append(Change("R", best.path, d.path, int(score * 100)))
        else:
            out.append(d)
    return out + added


def _lint(templates: list[PromptTemplate], top: Path) -> dict[str, list[Diagnostic]]:
    """Errors and warnings of the head revision of each changed prompt, with the project's
    lint config and the lint cache (the CI action lints first, so these are cache hits)."""
    from promptkit.lint.config import load_config
    from promptkit.lint.engine import lint_records

    out: dict[str, list[Diagnostic]] = {t.path: [] for t in templates}
    try:
        config = load_config([top])
        report = lint_records([(t.path, t.text, None) for t in templates], config)
    except Exception:  # noqa: BLE001 - lint findings are an extra; the diff stands without them
        return out
    for d in report.diagnostics:
        if d.severity in (Severity.ERROR, Severity.WARNING) and d.path in out:
            out[d.path].append(d)
    return out
