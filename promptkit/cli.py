"""The ``promptkit`` command line.

Start-up speed matters (pre-commit runs this on every commit), so this module imports
almost nothing: the sub-command table names each command's module as a string, and only
the module of the command actually run is imported. ``promptkit --version`` imports no
sub-command at all.

Each command object (``module:attribute``) has ``help: str``,
``add_arguments(parser) -> None`` and ``run(args) -> int``.

Exit codes: 0 success, 1 findings or failed tests, 2 usage error, bad input (a missing
path included) or internal error, 5 ``promptkit test`` selected no case, 130/143 stopped by
Ctrl-C/SIGTERM, 141 the output pipe closed early (``promptkit lint | head``), quietly. Bad input prints one ``path:line:col: error: ...`` line, never a traceback
(set ``PROMPTKIT_DEBUG=1`` to see one for internal errors).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
from collections.abc import Sequence

#: name -> ("module:attribute", one-line help). Order is the order shown in --help.
COMMANDS: dict[str, tuple[str, str]] = {
    "lint": ("promptkit.lint.cli:LINT", "Lint prompt templates (rule codes, noqa, --fix)"),
    "format": ("promptkit.lint.cli:FORMAT", "Apply the formatting fixes (whitespace, line endings...)"),
    "rule": ("promptkit.lint.cli:RULE", "Explain a lint rule, or list them all with --all"),
    "test": ("promptkit.runner.cli:TEST", "Run prompt regression tests through pytest"),
    "render": ("promptkit.commands:RENDER", "Render a template to chat messages"),
    "tokens": ("promptkit.commands:TOKENS", "Count tokens per message and in total"),
    "diff": ("promptkit.review.cli:DIFF", "Semantic diff of prompts between git revisions + version check"),
    "lock": ("promptkit.review.cli:LOCK", "Write or --check prompts.lock (id, version, content hash)"),
    "report": ("promptkit.review.cli:REPORT", "Self-contained HTML report of results files"),
    "results": ("promptkit.review.cli:RESULTS", "Results files: merge the parts of a sharded run"),
    "perturb": ("promptkit.perturb.cli:PERTURB", "Print seeded perturbations of a template as diffs (robustness)"),
    "init": ("promptkit.commands:INIT", "Scaffold prompts/, a test suite and a pre-commit config"),
    "serve": ("promptkit.commands:SERVE", "Serve scripted replies as a local OpenAI-compatible endpoint"),
    "suggest": ("promptkit.optimize.cli:SUGGEST", "Propose the smallest prompt patch that fixes failing cases"),
    "import": ("promptkit.importers.cli:IMPORT", "Convert a promptfoo config into prompt files and test suites"),
}


def _version() -> str:
    from promptkit._version import __version__

    return __version__


def _top_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="promptkit",
        description="Prompts as code: lint, render and regression-test prompt templates.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n" + "\n".join(f"  {n:<8} {h}" for n, (_, h) in COMMANDS.items()),
    )
    p.add_argument("--version", action="version", version=f"promptkit {_version()}")
    p.add_argument("command", nargs="?", choices=list(COMMANDS), metavar="COMMAND", help="one of the commands below")
    return p


def _load_command(name: str):  # type: ignore[no-untyped-def]
    target = COMMANDS[name][0]
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _project_root_option(args: list[str]) -> tuple[list[str], str | None]:
    """Take ``--project-root DIR`` (any command) out of ``args``. Only the command line
    can set the root files are confined to; see :mod:`promptkit.paths`."""
    rest: list[str] = []
    root: str | None = None
    it = iter(args)
    for a in it:
        if a == "--":
            rest += [a, *it]
            break
        if a == "--project-root" or a.startswith("--project-root="):
            value = a.partition("=")[2] if "=" in a else next(it, None)
            if not value or not os.path.isdir(value):
                from promptkit.codes import PATH_OUTSIDE_PROJECT
                from promptkit.diagnostics import Diagnostic, PromptkitError

                raise PromptkitError(Diagnostic("<command line>", f"--project-root {value or ''}: not a folder",
                                                code=PATH_OUTSIDE_PROJECT.code, name=PATH_OUTSIDE_PROJECT.name,
                                                hint="give the folder every file promptkit reads must lie in"))
            root = value
            continue
        rest.append(a)
    return rest, root


def main(argv: Sequence[str] | None = None) -> int:
    code = _main(argv)
    if argv is None and sys.argv[1:2] == ["test"]:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End the ``promptkit test`` process without tearing the interpreter down.

    Freeing a finished pytest session object by object (1,000 case items, their results,
    every module) costs a quarter of a second, for nothing: the results are written and
    every file closed. The exit handlers still run (logging flushes), then stdout and
    stderr are flushed and the process ends with ``code``. Only for the command line
    itself (``main()`` without arguments); called with arguments, from Python, it returns."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more to say
            pass
    os._exit(code)


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        top = _top_parser()
        if not args:
            top.print_help()
            return 2
        top.parse_args(args[:1])  # prints usage + error (exit 2) or --version/--help (exit 0)
        return 2
    name = args[0]
    try:
        recorder = None
        if name == "lint":  # an unchanged run prints its memo without importing the linter
            from promptkit.lint import memo

            replayed = memo.replay(args[1:])
            if replayed is not None:
                return replayed
            recorder = memo.Recorder(args[1:]) if memo.eligible(args[1:]) else None
        rest, root = _project_root_option(args[1:])
        command = _load_command(name)
        parser = argparse.ArgumentParser(prog=f"promptkit {name}", description=COMMANDS[name][1],
                                         epilog="--project-root DIR: confine every file read or written to DIR "
                                                "(default: the config file's folder, else the nearest folder with "
                                                "pyproject.toml, promptkit.toml or .git; see docs/security.md)")
        command.add_arguments(parser)
        passthrough: list[str] = []
        if getattr(command, "passthrough", False) and "--" in rest:  # `promptkit test -- --lf`: pytest's own
            rest, passthrough = rest[:rest.index("--")], rest[rest.index("--") + 1:]
        ns = parser.parse_args(rest)
        ns.passthrough = passthrough
        with recorder or contextlib.nullcontext():
            if root is None:
                return int(command.run(ns) or 0)
            from promptkit.paths import using_root

            with using_root(root):
                return int(command.run(ns) or 0)
    except BrokenPipeError:  # `promptkit lint | head -1`: the reader has what it wanted
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool the pipe stopped
    except KeyboardInterrupt:
        from promptkit.runner import interrupts

        print("promptkit: interrupted", file=sys.stderr)
        return interrupts.exit_status(interrupts.received() or signal.SIGINT)  # 130, or 143 for SIGTERM
    except SystemExit as exc:  # argparse usage errors and --help
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into exit codes
        from promptkit.diagnostics import PromptkitError

        if isinstance(exc, PromptkitError):
            print(exc.format_all(), file=sys.stderr)
            return 2
        if isinstance(exc, OSError):
            from promptkit.diagnostics import Diagnostic

            if exc.filename:  # the usual path:line:col form, so editors can jump to it
                print(Diagnostic(str(exc.filename), exc.strerror or str(exc)).format(), file=sys.stderr)
            else:
                print(f"promptkit: error: {exc.strerror or exc}", file=sys.stderr)
            return 2
        if os.environ.get("PROMPTKIT_DEBUG"):
            raise
        print(
            f"promptkit: internal error: {type(exc).__name__}: {exc} "
            "(set PROMPTKIT_DEBUG=1 for a traceback, and please report it)",
            file=sys.stderr,
        )
        return 2


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not complain again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
