"""The review commands: ``promptkit diff``, ``lock``, ``report`` and ``results merge``.

Imported only when one of them runs (see :mod:`promptkit.cli`). None of them imports
litellm, so a pre-commit hook running ``promptkit diff`` or ``promptkit lock --check``
starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from promptkit.codes import INVALID_FRONT_MATTER, INVALID_RESULTS, REVIEW_BAD_PROMPT, REVIEW_UNKNOWN_REVISION, UNREADABLE_FILE
from promptkit.diagnostics import Diagnostic, PromptkitError, Severity

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def _write_output(text: str, out: str | None) -> None:
    if out:
        from promptkit.atomic import write_atomic

        write_atomic(Path(out), text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


# --------------------------------------------------------------------------- diff


def split_revisions(repo: Any, args: list[str]) -> tuple[list[str], list[str]]:
    """``[REV_A [REV_B]] [PATHS]`` like git: revisions first, then paths; ``--`` ends the
    revisions. An argument that is neither a revision nor an existing path is an unknown
    revision (exit 2), never silently a path that matches nothing."""
    revs: list[str] = []
    paths: list[str] = []
    if "--" in args:
        i = args.index("--")
        revs, paths = args[:i], args[i + 1:]
        for r in revs:
            repo.commit(r)
        if len(revs) > 2:
            raise _usage(f"at most two revisions, got {len(revs)}: {' '.join(revs)}")
        return revs, paths
    for a in args:
        if not paths and len(revs) < 2 and repo.is_revision(a):
            revs.append(a)
        elif os.path.lexists(a):
            paths.append(a)
        elif not paths and len(revs) < 2:
            repo.commit(a)  # raises: unknown revision
        else:
            paths.append(a)  # a path gone from the working tree: git still diffs it
    return revs, paths


def _usage(message: str) -> PromptkitError:
    return PromptkitError(Diagnostic("<command line>", message, code=REVIEW_UNKNOWN_REVISION.code,
                                     name=REVIEW_UNKNOWN_REVISION.name,
                                     hint="promptkit diff [REV_A [REV_B]] [--] [PATHS...]"))


def ci_base(repo: Any) -> str | None:
    """The base of a pull request in CI: GitHub's ``GITHUB_BASE_REF`` (``origin/<ref>``
    when fetched), or ``PROMPTKIT_BASE``."""
    ref = os.environ.get("PROMPTKIT_BASE") or ""
    if ref:
        return ref
    gh = os.environ.get("GITHUB_BASE_REF") or ""
    if gh:
        for cand in (f"origin/{gh}", gh):
            if repo.is_revision(cand):
                return cand
        raise PromptkitError(Diagnostic("<environment>", f"GITHUB_BASE_REF={gh} is not fetched",
                                        code=REVIEW_UNKNOWN_REVISION.code, name=REVIEW_UNKNOWN_REVISION.name,
                                        hint="check out with fetch-depth: 0 (actions/checkout) so the base exists"))
    return None


class _Diff:
    help = "Semantic diff of prompts between git revisions, with the version verdict"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.usage = "promptkit diff [REV_A [REV_B]] [--] [PATHS ...] [options]"
        p.description = ("Compare prompts between two revisions (default: HEAD against the working tree; in CI, "
                         "the merge base of the PR's base against HEAD) by component, input, model, output schema, "
                         "tokens and version. Exit 1 when a version check fails.")
        self._options(p)
        # argparse drops the `--` that separates revisions from paths; keep the rest raw
        # and parse it in run(), where `--` is still seen.
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    @staticmethod
    def _options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--base", metavar="REF", help="compare the merge base of REF and HEAD with HEAD (CI)")
        p.add_argument("--format", choices=["text", "markdown", "json"], default="text")
        p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
        p.add_argument("--base-results", metavar="FILE", help="results file of the base run (results delta)")
        p.add_argument("--head-results", metavar="FILE", help="results file of the head run (results delta)")
        p.add_argument("--tolerance", type=float, default=None, help="score move that counts (default 0.05)")
        p.add_argument("--require-version", action="store_true", help="a changed prompt without a version is an error")
        p.add_argument("--no-lint", dest="lint", action="store_false", help="leave lint findings out")
        p.add_argument("--no-tokens", dest="tokens", action="store_false", help="do not count tokens")
        p.add_argument("--fail-on-regression", action="store_true",
                       help="exit 1 when a case newly fails (stable across repeats)")
        p.add_argument("--exit-zero", action="store_true", help="exit 0 even when the version check fails (CI comment)")

    def _parse_rest(self, args: argparse.Namespace) -> list[str]:
        rest = list(args.rest)
        tail: list[str] = []
        if "--" in rest:
            i = rest.index("--")
            rest, tail = rest[:i], rest[i:]
        again = argparse.ArgumentParser(prog="promptkit diff", add_help=False)
        self._options(again)
        again.add_argument("revs", nargs="*")
        for action in again._actions:
            action.default = argparse.SUPPRESS
        ns = again.parse_intermixed_args(rest)
        for k, v in vars(ns).items():
            if k != "revs":
                setattr(args, k, v)
        return list(getattr(ns, "revs", [])) + tail

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.review.compare import compare_revisions
        from promptkit.review.git import WORKTREE, Repo
        from promptkit.review.output import render

        if bool(args.base_results) != bool(args.head_results):
            raise PromptkitError(Diagnostic("<command line>", "give both --base-results and --head-results",
                                            code=INVALID_RESULTS.code, name=INVALID_RESULTS.name,
                                            hint="the results delta compares the base run with the head run"))
        repo = Repo(os.getcwd())
        revs, paths = split_revisions(repo, self._parse_rest(args))
        label = None
        if args.base:
            if revs:
                raise _usage("give either --base or revisions, not both")
            base, head, label = repo.merge_base(args.base, "HEAD"), "HEAD", f"merge base of {args.base}"
        elif len(revs) == 2:
            base, head = revs
        elif len(revs) == 1:
            base, head = revs[0], WORKTREE
        elif (ci := ci_base(repo)) is not None:
            base, head, label = repo.merge_base(ci, "HEAD"), "HEAD", f"merge base of {ci}"
        else:
            base, head = "HEAD", WORKTREE
        review = compare_revisions(repo, base, head, paths, require_version=args.require_version,
                                   tokens=args.tokens, lint=args.lint and args.format != "text", base_label=label)
        if args.base_results:
            from promptkit.review.delta import DEFAULT_TOLERANCE, results_delta
            from promptkit.runner.baseline import load_results

            review.delta = results_delta(load_results(args.base_results), load_results(args.head_results),
                                         tolerance=DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance)
        _write_output(render(review, args.format), args.output)
        if args.exit_zero:
            return EXIT_OK
        failed = not review.ok or (args.fail_on_regression and review.delta is not None and not review.delta.ok)
        return EXIT_FINDINGS if failed else EXIT_OK


DIFF = _Diff()


# --------------------------------------------------------------------------- lock


def discover_prompts(paths: list[str]) -> list[Path]:
    """Prompt files under ``paths``: git's tracked and unignored files when in a work
    tree, else a walk that skips hidden folders and virtual environments."""
    from promptkit.review.compare import is_prompt_path

    out: list[Path] = []
    for p in paths or ["."]:
        root = Path(p)
        if root.is_file():
            out.append(root)
            continue
        if not root.is_dir():
            raise PromptkitError(Diagnostic(p, "no such file or folder", code=REVIEW_BAD_PROMPT.code,
                                            name=REVIEW_BAD_PROMPT.name, hint="give prompt files or folders"))
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")) and d not in ("node_modules", "venv"))
            out += [Path(dirpath) / f for f in sorted(files) if is_prompt_path(f)]
    return out


class _Lock:
    help = "Write prompts.lock (id, version, content hash per prompt), or --check it"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("paths", nargs="*", help="prompt files or folders (default: the project)")
        p.add_argument("--check", action="store_true", help="compare the prompts with the lock; exit 1 on a mismatch")
        p.add_argument("--lock-file", default=None, metavar="FILE", help="default: prompts.lock in the project root")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.paths import project_root
        from promptkit.review.lock import LOCK_FILE, bad_prompt, check_lock, entry_for, read_lock, write_lock
        from promptkit.template.loader import load

        root = project_root()
        lock_path = Path(args.lock_file) if args.lock_file else root / LOCK_FILE
        base = lock_path.resolve().parent
        entries = {}
        for f in discover_prompts(args.paths or [str(root)]):
            t = load(f)
            for d in t.diagnostics:
                if d.severity is Severity.ERROR and d.code in (UNREADABLE_FILE.code, INVALID_FRONT_MATTER.code):
                    raise bad_prompt(str(f), d)
            try:
                key = f.resolve().relative_to(base).as_posix()
            except ValueError:
                key = f.as_posix()
            entries[key] = entry_for(t)
        if args.check:
            findings = check_lock(read_lock(lock_path), entries)
            for d in findings:
                print(d.format(), file=sys.stderr)
            print(f"prompts.lock: {len(entries)} prompt(s), "
                  + ("ok" if not findings else f"{len(findings)} problem(s)"), file=sys.stderr)
            return EXIT_FINDINGS if findings else EXIT_OK
        write_lock(entries, lock_path)
        print(f"wrote {lock_path} ({len(entries)} prompt(s))", file=sys.stderr)
        return EXIT_OK


LOCK = _Lock()


# --------------------------------------------------------------------------- report


class _Report:
    help = "One self-contained HTML report of results files (matrix, failures, robustness, cost, diffs)"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("results", nargs="+", metavar="RESULTS", help="results files (merged when several)")
        p.add_argument("-o", "--output", default="report.html", metavar="FILE")
        p.add_argument("--diff", metavar="BASE[..HEAD]", default=None,
                       help="include the prompt diffs from BASE to HEAD (default HEAD: the working tree)")
        p.add_argument("--base-results", metavar="FILE", help="the base run, for a results delta section")
        p.add_argument("--title", default="promptkit report")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.review.html import build_report

        review = None
        if args.diff:
            from promptkit.review.compare import compare_revisions
            from promptkit.review.git import WORKTREE, Repo

            repo = Repo(os.getcwd())
            base, _, head = args.diff.partition("..")
            review = compare_revisions(repo, base, head or WORKTREE)
        html = build_report(args.results, review=review, base_results=args.base_results, title=args.title)
        from promptkit.atomic import write_atomic

        write_atomic(Path(args.output), html)
        print(f"wrote {args.output}", file=sys.stderr)
        return EXIT_OK


REPORT = _Report()


# --------------------------------------------------------------------------- results merge


class _Results:
    help = "Work with results files: `promptkit results merge A.json B.json -o results.json`"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
        m = sub.add_parser("merge", help="merge results files of CI shards (the merge xdist workers use)")
        m.add_argument("files", nargs="+", metavar="RESULTS")
        m.add_argument("-o", "--output", required=True, metavar="FILE")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.runner.baseline import load_results
        from promptkit.runner.report import merge, write_results

        parts = [load_results(f) for f in args.files]
        merged = merge(parts)
        write_results(merged, args.output)
        c = merged.counts()
        print(f"merged {len(parts)} file(s): {len(merged.cases)} case(s) "
              f"({', '.join(f'{v} {k.value}' for k, v in c.items())}) -> {args.output}", file=sys.stderr)
        return EXIT_OK


RESULTS = _Results()
