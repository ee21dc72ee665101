"""``prompts.lock``: each prompt's id, version, content hash and interface, committed.

With the lock in the repository, version discipline needs no git history (a shallow CI
clone, a tarball, a pre-commit hook on a fresh checkout): ``promptkit lock --check``
compares the prompts on disk with the lock and reports a content change without a version
bump (``PR001``), a breaking interface change -- input removed or newly required, output
schema broken, judged from the ``interface`` kept in the lock -- without a major bump
(``PR002``), a version that went down (``PR003``), and a lock that is simply stale
(``PR005``: a prompt added, removed or re-versioned without ``promptkit lock``).

The file is JSON, sorted, one entry per prompt path, written atomically, so it diffs
cleanly in review and merges like any lock file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptkit.atomic import write_atomic
from promptkit.codes import LOCK_MISMATCH, REVIEW_BAD_PROMPT
from promptkit.diagnostics import Diagnostic, PromptkitError, Severity
from promptkit.review.semantic import PromptDiff, content_hash, diff_interface, interface
from promptkit.review.versioning import check_diff
from promptkit.template.model import PromptTemplate

__all__ = ["LOCK_FILE", "LockEntry", "check_lock", "entry_for", "read_lock", "write_lock"]

LOCK_FILE = "prompts.lock"
_FORMAT = 1


@dataclass
class LockEntry:
    id: str
    version: str | None
    hash: str
    interface: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "hash": self.hash, "interface": self.interface}


def entry_for(t: PromptTemplate) -> LockEntry:
    return LockEntry(id=t.name, version=t.version, hash=content_hash(t), interface=interface(t))


def dumps_lock(entries: dict[str, LockEntry]) -> str:
    data = {"lock_version": _FORMAT, "generated_by": "promptkit lock",
            "prompts": {p: entries[p].to_dict() for p in sorted(entries)}}
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n"


def _is_lock(path: Path) -> bool:
    try:
        head = path.read_bytes()[:200].decode("utf-8", "replace")
    except OSError:
        return False
    return '"lock_version"' in head


def write_lock(entries: dict[str, LockEntry], path: str | Path) -> Path:
    """Write the lock atomically; an existing file that is not a lock is never replaced."""
    path = Path(path)
    if path.exists() and not _is_lock(path):
        raise PromptkitError(Diagnostic(str(path), "exists and is not a prompts.lock; it is never overwritten",
                                        code=LOCK_MISMATCH.code, name=LOCK_MISMATCH.name,
                                        hint="name another file with --lock-file"))
    write_atomic(path, dumps_lock(entries))
    return path


def read_lock(path: str | Path) -> dict[str, LockEntry]:
    """Read a lock file; one clear error (exit 2) when it is missing or malformed."""
    from promptkit.template.source import NotAFile, read_bytes

    p = Path(path)
    hint = "create it with `promptkit lock` and commit it"
    try:
        data = json.loads(read_bytes(p, max_bytes=64 * 1024 * 1024).decode("utf-8"))
        prompts = data["prompts"]
        if not isinstance(prompts, dict):
            raise TypeError("prompts is not a mapping")
        return {str(k): LockEntry(id=str(v["id"]), version=v.get("version"), hash=str(v["hash"]),
                                  interface=v.get("interface") or {}) for k, v in prompts.items()}
    except (NotAFile, OSError) as exc:
        msg = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
        raise PromptkitError(Diagnostic(str(p), f"cannot read the lock file: {msg}", code=LOCK_MISMATCH.code,
                                        name=LOCK_MISMATCH.name, hint=hint)) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PromptkitError(Diagnostic(str(p), f"not a prompts.lock: {exc}", code=LOCK_MISMATCH.code,
                                        name=LOCK_MISMATCH.name, hint=hint)) from None


def _mismatch(path: str, message: str, hint: str = "run `promptkit lock` and commit prompts.lock") -> Diagnostic:
    return Diagnostic(path, message, severity=Severity.ERROR, code=LOCK_MISMATCH.code, name=LOCK_MISMATCH.name, hint=hint)


def check_lock(lock: dict[str, LockEntry], current: dict[str, LockEntry]) -> list[Diagnostic]:
    """Findings of the prompts on disk (``current``) against the lock."""
    out: list[Diagnostic] = []
    for path in sorted(set(lock) | set(current)):
        old, new = lock.get(path), current.get(path)
        if old is None:
            out.append(_mismatch(path, "prompt is not in prompts.lock"))
            continue
        if new is None:
            out.append(_mismatch(path, "prompt is in prompts.lock but no longer exists"))
            continue
        inputs, schema = diff_interface(old.interface, new.interface)
        d = PromptDiff(path=path, status="modified", name=new.id, version_before=old.version,
                       version_after=new.version, content_changed=old.hash != new.hash, inputs=inputs, schema=schema,
                       hash_before=old.hash, hash_after=new.hash)
        verdict = check_diff(d, raw_after=new.version)
        out += verdict.findings
        if verdict.ok and (old.hash != new.hash or old.version != new.version):
            out.append(_mismatch(path, f"prompts.lock is stale (version {old.version} → {new.version})"))
    return out


def bad_prompt(path: str, d: Diagnostic) -> PromptkitError:
    return PromptkitError(Diagnostic(path, f"cannot read the prompt: {d.message}", span=d.span,
                                     code=REVIEW_BAD_PROMPT.code, name=REVIEW_BAD_PROMPT.name, hint=d.hint))


