"""Git, read-only, through a fixed and safe argument list.

The reviewer runs in CI on a stranger's pull request, so nothing here may let the
repository's content choose what git does: every call is ``git`` plus a fixed list of
arguments (never a shell), revisions are checked with ``rev-parse --verify
--end-of-options`` before use (a "revision" like ``--output=/etc/x`` is refused), diff
drivers, text conversion and external diff tools are switched off (``--no-ext-diff
--no-textconv``: a ``.gitattributes`` in the PR cannot make git run a program), pagers
and prompts are off, and blobs are read through one ``git cat-file --batch`` process:
their bytes go to the template loader in memory, never to disk.

Errors (not a git repository, a revision that does not exist, git missing) become one
:class:`~promptkit.diagnostics.PromptkitError` each, so the CLI prints a line and exits 2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from promptkit.codes import REVIEW_GIT_ERROR, REVIEW_UNKNOWN_REVISION
from promptkit.diagnostics import Diagnostic, PromptkitError

__all__ = ["WORKTREE", "Change", "Repo", "GitError"]

#: The pseudo-revision of the working tree (files on disk, untracked prompts included).
WORKTREE = ":worktree"

#: Options that keep the repository's own configuration from running anything.
_SAFE = ("-c", "core.fsmonitor=false", "-c", "diff.external=", "-c", "core.pager=cat",
         "-c", "core.quotepath=off", "-c", "protocol.allow=never")


class GitError(PromptkitError):
    """A git call failed: not a repository, an unknown revision, git missing."""


def _error(message: str, hint: str, code=REVIEW_GIT_ERROR, where: str = "<git>") -> GitError:  # type: ignore[no-untyped-def]
    return GitError(Diagnostic(where, message, code=code.code, name=code.name, hint=hint))


@dataclass(frozen=True)
class Change:
    """One file changed between two revisions. ``status``: A(dded), D(eleted),
    M(odified), R(enamed; ``old_path`` set). Paths are relative to the repository top."""

    status: str
    path: str
    old_path: str | None = None
    similarity: int | None = None

    @property
    def base_path(self) -> str | None:
        return None if self.status == "A" else (self.old_path or self.path)

    @property
    def head_path(self) -> str | None:
        return None if self.status == "D" else self.path


class Repo:
    """A git work tree, found from ``start`` (a folder inside it)."""

    def __init__(self, start: str | Path = ".") -> None:
        self._git = shutil.which("git")
        if self._git is None:
            raise _error("git is not installed (or not on PATH)", "install git; promptkit diff reads revisions with it")
        start = Path(start)
        if not start.is_dir():
            raise _error(f"{start}: not a folder", "run promptkit diff inside a git work tree", where=str(start))
        self._cwd = str(start)
        proc = self._run(["rev-parse", "--show-toplevel"], check=False)
        if proc.returncode != 0:
            raise _error(f"{Path(start).resolve()}: not a git repository (or any of its parents)",
                         "run promptkit diff inside a git work tree, or use `promptkit lock --check` "
                         "where there is no history", where=str(start))
        self.top = Path(proc.stdout.decode("utf-8", "replace").strip()).resolve()
        self._cwd = str(self.top)
        self._blobs: dict[tuple[str, str], bytes | None] = {}
        self._commits: dict[str, str] = {}

    # -- plumbing
    def _run(self, args: Sequence[str], *, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in ("GIT_DIR", "GIT_WORK_TREE")}
        env.update(GIT_TERMINAL_PROMPT="0", GIT_PAGER="cat", GIT_CONFIG_NOSYSTEM="1", LC_ALL="C",
                   GIT_OPTIONAL_LOCKS="0")
        try:
            proc = subprocess.run([self._git or "git", *_SAFE, *args], cwd=self._cwd, input=stdin,
                                  capture_output=True, env=env, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _error(f"git {args[0]} failed: {exc}", "check that git works in this folder") from None
        if check and proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise _error(f"git {args[0]} failed: {err[-1] if err else 'exit ' + str(proc.returncode)}",
                         "check the repository (git status)")
        return proc

    # -- revisions
    def commit(self, rev: str) -> str:
        """The commit id ``rev`` names; :class:`GitError` (PR010) when it names none."""
        if rev in self._commits:
            return self._commits[rev]
        if not rev or rev.startswith("-") or "\0" in rev or "\n" in rev:
            raise self._unknown(rev)
        proc = self._run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], check=False)
        if proc.returncode != 0:
            raise self._unknown(rev)
        sha = proc.stdout.decode().strip()
        self._commits[rev] = sha
        return sha

    def is_revision(self, rev: str) -> bool:
        try:
            self.commit(rev)
        except GitError:
            return False
        return True

    def _unknown(self, rev: str) -> GitError:
        empty = self._run(["rev-parse", "--verify", "--quiet", "HEAD"], check=False).returncode != 0
        hint = ("the repository has no commits yet: commit once, then diff against HEAD" if empty else
                "give a branch, tag or commit that exists (git log --oneline), or put `--` before paths")
        return _error(f"unknown revision {rev!r}: not a commit in {self.top}", hint, code=REVIEW_UNKNOWN_REVISION)

    def merge_base(self, a: str, b: str = "HEAD") -> str:
        ca, cb = self.commit(a), self.commit(b)
        proc = self._run(["merge-base", ca, cb], check=False)
        if proc.returncode != 0:
            raise _error(f"{a} and {b} have no common ancestor", "give the base revision explicitly: promptkit diff BASE HEAD")
        return proc.stdout.decode().strip()

    # -- changes
    def changes(self, base: str, head: str, pathspecs: Sequence[str] = ()) -> list[Change]:
        """Files changed from ``base`` (a commit) to ``head`` (a commit or :data:`WORKTREE`),
        renames followed (git's ``-M``, 50% similarity)."""
        args = ["diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", "--no-color",
                "--ignore-submodules", "--no-relative", self.commit(base)]
        if head != WORKTREE:
            args.append(self.commit(head))
        args += ["--", *(pathspecs or ["."])]
        out = self._run(args).stdout.decode("utf-8", "surrogateescape").split("\0")
        changes: list[Change] = []
        i = 0
        while i < len(out) - 1:
            status = out[i]
            if not status:
                i += 1
                continue
            kind = status[0]
            if kind in "RC":
                old, new = out[i + 1], out[i + 2]
                sim = int(status[1:]) if status[1:].isdigit() else None
                changes.append(Change("R", new, old, sim) if kind == "R" else Change("A", new))
                i += 3
                continue
            path = out[i + 1]
            if kind == "T":
                kind = "M"
            if kind in "AMD":
                changes.append(Change(kind, path))
            i += 2
        if head == WORKTREE:
            proc = self._run(["ls-files", "-z", "--others", "--exclude-standard", "--", *(pathspecs or ["."])])
            changes += [Change("A", p) for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
        return changes

    def files(self, rev: str, pathspecs: Sequence[str] = ()) -> list[str]:
        """Every file in ``rev`` (a commit) under ``pathspecs``."""
        proc = self._run(["ls-tree", "-r", "-z", "--name-only", "--full-tree", self.commit(rev), "--",
                          *(pathspecs or ["."])])
        return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]

    # -- content
    def read_many(self, rev: str, paths: Sequence[str]) -> dict[str, bytes | None]:
        """The bytes of ``paths`` at ``rev`` (None: not a file there), through one
        ``git cat-file --batch`` process; the working tree is read from disk, confined
        to the repository."""
        want = [p for p in paths if (rev, p) not in self._blobs]
        if want and rev == WORKTREE:
            for p in want:
                self._blobs[(rev, p)] = self._read_worktree(p)
        elif want:
            sha = self.commit(rev)
            proc = self._run(["cat-file", "--batch"], stdin="".join(f"{sha}:{p}\n" for p in want).encode(
                "utf-8", "surrogateescape"))
            data, pos = proc.stdout, 0
            for p in want:
                nl = data.index(b"\n", pos)
                header = data[pos:nl].split()
                pos = nl + 1
                if len(header) == 3 and header[1] == b"blob":
                    size = int(header[2])
                    self._blobs[(rev, p)] = data[pos:pos + size]
                    pos += size + 1
                elif len(header) == 3:  # a tree or submodule: skip its body
                    pos += int(header[2]) + 1
                    self._blobs[(rev, p)] = None
                else:
                    self._blobs[(rev, p)] = None
        return {p: self._blobs[(rev, p)] for p in paths}

    def read(self, rev: str, path: str) -> bytes | None:
        return self.read_many(rev, [path])[path]

    def _read_worktree(self, path: str) -> bytes | None:
        """A working-tree file's bytes (None: gone). A symlink out of the repository or
        into ``.git`` is refused (PK011), never followed: a PR may commit such a link."""
        from promptkit.paths import confine
        from promptkit.template.source import MAX_BYTES, NotAFile, read_bytes

        full = self.top / path
        if not os.path.lexists(full):
            return None
        real = confine(full, self.top, what="prompt file")
        try:
            return read_bytes(real, max_bytes=MAX_BYTES + 1)
        except (NotAFile, OSError):
            return None
