"""``promptkit lint``, ``promptkit format`` and ``promptkit rule``.

Exit codes (ruff's): 0 nothing to report, 1 findings (errors or warnings; ``info``
findings alone do not fail), 2 usage error, a named path that does not exist or is not a
file (still reported as ``PK001`` with the other files linted), invalid config or an
internal error (``PK000``). ``--exit-zero`` turns 1 into 0. Config errors print one
``file:line:col: error: PK010 ...`` line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptkit.codes import UNREADABLE_FILE
from promptkit.diagnostics import Diagnostic, Severity


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


class _ExtendCsv(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        current = list(getattr(namespace, self.dest, None) or [])
        current.extend(values)
        setattr(namespace, self.dest, current)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help="files or directories (default: the project root)")
    p.add_argument("--config", metavar="FILE", help="read settings from this pyproject.toml/promptkit.toml")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the lint cache")


def _failing(diags: Sequence[Diagnostic]) -> bool:
    return any(d.severity is not Severity.INFO for d in diags)


_SUITE_SUFFIXES = (".prompttest.yaml", ".prompttest.yml")


def _suite_files(paths: Sequence[str], named: Sequence[Any], root: Any) -> list[Path]:
    """The test suites ``promptkit lint`` checks besides the prompts: the ones named, and
    those under the folders named (the project root when none)."""
    from promptkit.runner.cli import find_suites

    out: list[Path] = []
    for raw in paths or [str(root or ".")]:
        p = Path(raw)
        if p.is_dir():
            out.extend(find_suites(p))
        elif str(p).endswith(_SUITE_SUFFIXES) and p.is_file():
            out.append(p)
    seen: set[str] = set()
    return [p for p in out if not (str(p) in seen or seen.add(str(p)))]  # type: ignore[func-returns-value]


def check_suites(suites: Sequence[Path]) -> list[Diagnostic]:
    """Located ``PT`` findings of each suite: everything ``promptkit test`` would refuse
    at collection (the file's schema, assertions, missing files, the cases against their
    prompts), without running anything. Imports no model client."""
    from promptkit.diagnostics import PromptkitError
    from promptkit.runner.engine import jobs_for_suite
    from promptkit.runner.preflight import check_jobs
    from promptkit.runner.suite_file import load_suite

    out: list[Diagnostic] = []
    for path in suites:
        shown = _shown(path)
        try:
            out.extend(check_jobs(jobs_for_suite(load_suite(shown)), shown))
        except PromptkitError as exc:
            out.extend(exc.diagnostics)
        except OSError as exc:
            out.append(Diagnostic(shown, f"cannot read the test file: {exc.strerror or exc}", Severity.ERROR,
                                  UNREADABLE_FILE.code, UNREADABLE_FILE.name))
    return out


def _shown(path: Path) -> str:
    from promptkit.paths import shown

    return shown(path)


class LintCommand:
    help = "Lint prompt templates (rule codes, noqa, --fix)"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        _add_common(p)
        sel = p.add_argument_group("rule selection")
        sel.add_argument("--select", type=_csv, action=_ExtendCsv, metavar="CODES",
                         help="only these rules (codes, prefixes like PK3, names, ALL); replaces the config's select")
        sel.add_argument("--extend-select", type=_csv, action=_ExtendCsv, metavar="CODES", help="also these rules")
        sel.add_argument("--ignore", type=_csv, action=_ExtendCsv, metavar="CODES", help="not these rules")
        sel.add_argument("--preview", action="store_true", help="enable preview rules")
        fix = p.add_argument_group("fixing")
        fix.add_argument("--fix", action="store_true", help="apply safe fixes in place")
        fix.add_argument("--unsafe-fixes", action="store_true", help="also apply unsafe fixes (with --fix or --diff)")
        fix.add_argument("--diff", action="store_true", help="print the fixes as a unified diff; write nothing")
        fix.add_argument("--add-noqa", action="store_true", help="add noqa directives for every current finding")
        out = p.add_argument_group("output")
        out.add_argument("--output-format", choices=["text", "concise", "json", "sarif", "github", "gitlab", "junit"],
                         default="text", help="how to print diagnostics (default: text)")
        out.add_argument("--statistics", action="store_true", help="print the number of findings per rule")
        out.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
        out.add_argument("--quiet", "-q", action="store_true", help="print diagnostics only, no summary")
        p.add_argument("--jobs", "-j", type=int, default=None, help="worker processes (default: all cores)")
        p.add_argument("--show-files", action="store_true", help="print the files that would be linted, and stop")
        p.add_argument("--show-settings", action="store_true",
                       help="print the resolved settings (and where they came from), and stop")
        p.add_argument("--stdin-filename", metavar="NAME",
                       help="with the path '-': lint standard input as if it were the file NAME (for editors)")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.lint.config import load_config
        from promptkit.lint.engine import INTERNAL_ERROR_CODE, discover, lint_files

        overrides: dict[str, Any] = {}
        if args.paths == ["-"]:
            return self._stdin(args)
        cfg0 = load_config(args.paths, args.config)
        if args.select:
            overrides["select"] = args.select
        if args.extend_select:
            overrides["extend_select"] = [*cfg0.extend_select, *args.extend_select]
        if args.ignore:
            overrides["ignore"] = [*cfg0.ignore, *args.ignore]
        if args.preview:
            overrides["preview"] = True
        cfg = load_config(args.paths, args.config, overrides) if overrides else cfg0
        found = discover(args.paths, cfg)
        if args.show_settings:
            import json

            print(f"# settings from {cfg.source or 'defaults'} (project root {cfg.root})")
            print(json.dumps(cfg.model_dump(mode="json", by_alias=True), indent=2))
            print("# enabled rules: " + " ".join(r.code for r in cfg.enabled_rules()))
            return 0
        if args.show_files:
            for f in found.files:
                print(f)
            for d in found.missing:
                print(d.format(), file=sys.stderr)
            return 2 if found.missing else 0
        use_cache = not args.no_cache
        fixing = args.fix or args.diff or args.add_noqa
        suites = _suite_files(args.paths, found.files, cfg.root)
        files = [f for f in found.files if not str(f).endswith(_SUITE_SUFFIXES)]
        report = lint_files(files, cfg, use_cache=use_cache, jobs=args.jobs)
        suite_diags = check_suites(suites) if suites and not fixing else []
        report.files += len(suites) if not fixing else 0
        diags = sorted([*report.diagnostics, *found.missing, *suite_diags], key=lambda d: (d.path, d.line, d.column, d.code))
        out = sys.stdout
        fixed = 0
        if fixing:
            diags, fixed, rc = self._fix(args, cfg, diags)
            if rc is not None:
                return rc
        if args.statistics:
            from promptkit.lint.output import emit_statistics

            emit_statistics(diags, out)
        else:
            from promptkit.lint.output import emit

            emit(diags, args.output_format, out, files=report.files, paths=[*map(str, files), *map(str, suites)],
                 fixed=fixed, show_summary=not args.quiet, rules=cfg.ruleset)
        if any(d.code == INTERNAL_ERROR_CODE for d in diags) or found.missing:
            rc = 2  # a path that does not exist is bad input, as for render and tokens
        else:
            rc = 0 if args.exit_zero else (1 if _failing(diags) else 0)
        if use_cache and not fixing:
            from promptkit.lint import memo
            from promptkit.lint.engine import git_tops

            recorder = memo.current()
            if recorder is not None:
                recorder.finish(rc, files=files, git_tops=git_tops() if cfg.respect_gitignore else ())
        return rc

    def _stdin(self, args: argparse.Namespace) -> int:
        """Lint (or fix) standard input: diagnostics go to stdout, or with ``--fix`` the
        fixed text does and the remaining diagnostics go to stderr."""
        from promptkit.lint.config import load_config
        from promptkit.lint.engine import lint_template
        from promptkit.lint.fixes import fix_template
        from promptkit.lint.output import emit
        from promptkit.template import loads

        name = args.stdin_filename or "<stdin>"
        overrides: dict[str, Any] = {"select": args.select, "preview": True if args.preview else None}
        cfg = load_config([name] if args.stdin_filename else [], args.config, overrides)
        if args.ignore:
            cfg = load_config([], args.config, {**overrides, "ignore": [*cfg.ignore, *args.ignore]})
        data = sys.stdin.buffer.read()
        template = loads(data, path=name)
        if args.fix:
            from promptkit.lint.fixes import encoding_of

            if any(d.code == UNREADABLE_FILE.code for d in template.diagnostics):
                # Not decodable: an editor replaces the buffer with our stdout, so echo
                # the bytes unchanged rather than the empty text the loader kept.
                out_bytes = data
                diags = lint_template(template, cfg)
            else:
                result = fix_template(template, cfg, unsafe=bool(args.unsafe_fixes))
                bom, enc = encoding_of(data)  # same BOM and encoding as came in
                out_bytes = bom + result.text.encode(enc)
                diags = result.diagnostics
            sys.stdout.flush()
            sys.stdout.buffer.write(out_bytes)
            sys.stdout.buffer.flush()
            emit(diags, "concise", sys.stderr, files=1, show_summary=False)
        else:
            diags = lint_template(template, cfg)
            emit(diags, args.output_format, sys.stdout, files=1, paths=[name], show_summary=not args.quiet,
                 texts={name: template.text}, rules=cfg.ruleset)
        if args.exit_zero:
            return 0
        return 1 if _failing(diags) else 0

    def _fix(self, args: argparse.Namespace, cfg: Any, diags: list[Diagnostic]
             ) -> tuple[list[Diagnostic], int, int | None]:
        """Fix (or diff, or add noqa to) the files that have something to fix."""
        from promptkit.lint.engine import load_file
        from promptkit.lint.fixes import fix_template

        by_path: dict[str, list[Diagnostic]] = {}
        for d in diags:
            by_path.setdefault(d.path, []).append(d)
        if args.add_noqa:
            from promptkit.lint.noqa import add_noqa

            total = 0
            for path, items in by_path.items():
                if not Path(path).is_file():
                    continue
                template, data = load_file(path)
                if data is None or any(d.code == UNREADABLE_FILE.code for d in items):
                    continue
                text, n = add_noqa(template, items)
                if n and text != template.text:
                    try:
                        _write_fixed(path, text, data, cfg)
                    except OSError as exc:
                        print(_not_written(path, exc, "noqa directives").format(), file=sys.stderr)
                        continue
                    total += n
            print(f"Added {total} noqa directive{'s' if total != 1 else ''}.", file=sys.stderr)
            return diags, 0, 0
        unsafe = bool(args.unsafe_fixes)
        remaining: list[Diagnostic] = []
        fixed = 0
        diffs: list[str] = []
        for path, items in by_path.items():
            can = any(d.fix is not None and (d.fix.safe or unsafe) and cfg.is_fixable(d.code) for d in items)
            if not can or not Path(path).is_file():
                remaining.extend(items)
                continue
            template, data = load_file(path)
            if data is None:
                remaining.extend(items)
                continue
            result = fix_template(template, cfg, unsafe=unsafe)
            remaining.extend(result.refused)  # fixes dropped because they change the render
            if not result.changed:
                remaining.extend(items)
                continue
            if args.diff:
                diffs.append(result.diff())
                remaining.extend(items)
            else:
                try:
                    _write_fixed(path, result.text, data, cfg)
                except OSError as exc:  # read-only, changed meanwhile, disk full: keep going
                    remaining.append(_not_written(path, exc, "fixes"))
                    remaining.extend(items)
                    continue
                fixed += sum(result.fixed.values())
                remaining.extend(d for d in result.diagnostics if not any(d is r for r in result.refused))
        if args.diff:
            sys.stdout.write("".join(diffs))
            n = len(diffs)
            print(f"Would fix {n} file{'s' if n != 1 else ''}." if n else "No fixes available.", file=sys.stderr)
            return diags, 0, (1 if n and not args.exit_zero else 0)
        remaining.sort(key=lambda d: (d.path, d.line, d.column, d.code))
        return remaining, fixed, None


def _write_fixed(path: str | Path, text: str, data: bytes, cfg: Any) -> None:
    """Write fixes back: through a symlink only to a target inside the project (see
    :func:`promptkit.lint.fixes.write_target`), never over a changed or read-only file."""
    from promptkit.lint.fixes import write_target, write_text_atomic
    from promptkit.paths import project_root

    target = write_target(path, project_root(cfg.root, config_source=cfg.source))
    write_text_atomic(target, text, like=data)


def _not_written(path: str, exc: OSError, what: str) -> Diagnostic:
    """The finding for a file whose fixes could not be written back (its other findings
    are reported unfixed; the other files are still fixed)."""
    from promptkit.lint.fixes import FileChangedError, LinkOutsideProject

    if isinstance(exc, LinkOutsideProject):
        from promptkit import paths

        return Diagnostic(path, f"{what} not written: {exc.strerror}", severity=Severity.WARNING, code=paths.CODE,
                          name=paths.NAME, hint="fix the file the link points to in its own project, "
                          "or replace the link with a copy of the file")
    if isinstance(exc, FileChangedError):
        hint = "run promptkit lint --fix again on the saved file"
    elif isinstance(exc, PermissionError):
        hint = "make the file and its folder writable (chmod u+w), or exclude the file"
    else:
        hint = "check the disk and the folder's permissions"
    return Diagnostic(path, f"{what} not written: {exc.strerror or exc}", code=UNREADABLE_FILE.code, name=UNREADABLE_FILE.name,
                      hint=hint)


class FormatCommand:
    help = "Apply the formatting fixes (whitespace, line endings...)"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        _add_common(p)
        p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
        p.add_argument("--diff", action="store_true", help="print a unified diff; write nothing")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.lint.config import load_config
        from promptkit.lint.engine import discover, load_file
        from promptkit.lint.fixes import fix_template

        cfg = load_config(args.paths, args.config)
        rules = formatting_rules(cfg)
        found = discover(args.paths, cfg)
        for d in found.missing:
            print(d.format(), file=sys.stderr)
        changed = failed = 0
        for f in found.files:
            template, data = load_file(f)
            if data is None or not template.text:
                continue
            result = fix_template(template, cfg, rules=rules)
            for d in result.refused:
                print(d.format(), file=sys.stderr)
            if not result.changed:
                continue
            changed += 1
            if args.diff:
                sys.stdout.write(result.diff())
            elif args.check:
                print(f"Would reformat: {f}")
            else:
                try:
                    _write_fixed(f, result.text, data, cfg)
                except OSError as exc:
                    print(_not_written(str(f), exc, "formatting").format(), file=sys.stderr)
                    failed += 1
                    changed -= 1
        n, total = changed, len(found.files)
        verb = "would be reformatted" if (args.check or args.diff) else "reformatted"
        print(f"{n} file{'s' if n != 1 else ''} {verb}, {total - n} left unchanged", file=sys.stderr)
        if found.missing or failed:
            return 2
        return 1 if changed and (args.check or args.diff) else 0


def formatting_rules(cfg: Any) -> list[Any]:
    """The PK3xx rules that have fixes and that the config does not ignore or mark unfixable."""
    from promptkit.lint.config import _best

    out = []
    for r in cfg.ruleset:
        if not r.code.startswith("PK3") or not r.fixable or r.preview and not cfg.preview:
            continue
        ign = _best(cfg.ignore, r)
        if ign is not None and ign >= 3:
            continue
        if cfg.is_fixable(r.code):
            out.append(r)
    return out


class RuleCommand:
    help = "Explain a lint rule, or list them all with --all"

    def add_arguments(self, p: argparse.ArgumentParser) -> None:
        p.add_argument("rule", nargs="?", help="a rule code (PK101) or name")
        p.add_argument("--all", action="store_true", help="list every rule")
        p.add_argument("--output-format", choices=["text", "json"], default="text")
        p.add_argument("--config", metavar="FILE", help="also load the rule packs named in this config")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.lint.config import load_config

        cfg = load_config([], args.config)
        rules = cfg.ruleset
        if args.all:
            rows = [_rule_row(r, cfg) for r in rules]
            if args.output_format == "json":
                import json

                json.dump(rows, sys.stdout, indent=2)
                sys.stdout.write("\n")
                return 0
            _print_table(rows)
            return 0
        if not args.rule:
            print("promptkit rule: give a rule code (e.g. PK101) or --all", file=sys.stderr)
            return 2
        r = rules.lookup(args.rule)
        if r is None:
            from rapidfuzz import process

            choices = [*(r.code for r in rules), *(r.name for r in rules)]
            best = process.extractOne(args.rule, choices)
            hint = f" (did you mean {best[0]}?)" if best and best[1] > 70 else ""
            print(f"promptkit rule: unknown rule {args.rule!r}{hint}; `promptkit rule --all` lists them",
                  file=sys.stderr)
            return 2
        if args.output_format == "json":
            import json

            json.dump({**_rule_row(r, cfg), "doc": r.doc()}, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return 0
        row = _rule_row(r, cfg)
        head = f"# {r.name} ({r.code})"
        meta = (f"Severity: {row['severity']}. Fix: {row['fixable'] or 'none'}. "
                f"{'Preview. ' if r.preview else ''}{'Enabled' if row['enabled'] else 'Not enabled'} in this project"
                f"{'' if r.default_enabled else ' (off unless selected)'}.")
        origin = getattr(r, "pack_path", None)
        if origin:
            meta += f" From rule pack {origin}."
        body = f"{head}\n\n{meta}\n\n{r.doc()}\n"
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(body))
        else:
            sys.stdout.write(body)
        return 0


def _rule_row(r: Any, cfg: Any) -> dict[str, Any]:
    return {
        "code": r.code, "name": r.name, "severity": r.severity.value, "fixable": r.fixable,
        "preview": r.preview, "default_enabled": r.default_enabled, "enabled": cfg.is_enabled(r),
        "summary": r.summary(), "pack": getattr(r, "pack_path", None),
    }


def _print_table(rows: list[dict[str, Any]]) -> None:
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        t = Table("code", "name", "severity", "fix", "preview", "summary", show_lines=False)
        for r in rows:
            t.add_row(r["code"], r["name"], r["severity"], r["fixable"] or "", "yes" if r["preview"] else "",
                      r["summary"])
        Console().print(t)
        return
    for r in rows:
        flags = ",".join(x for x in (r["fixable"] and f"fix={r['fixable']}", r["preview"] and "preview",
                                     not r["default_enabled"] and "opt-in") if x)
        sys.stdout.write(f"{r['code']}\t{r['name']}\t{r['severity']}\t{flags or '-'}\t{r['summary']}\n")


LINT = LintCommand()
FORMAT = FormatCommand()
RULE = RuleCommand()
