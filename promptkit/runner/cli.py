"""``promptkit test``: run prompt regression suites through pytest.

Why through pytest and not a runner of our own: one tool, one report format, and
everything pytest users already rely on keeps working (``-k``, ``-x``, ``--junitxml``,
``-n auto`` with pytest-xdist, IDE integration). This command only finds the suite files
and translates its options into the plugin's ``--promptkit-*`` options.

Paths: files are passed as given; directories are searched for ``*.prompttest.yaml``
(hidden folders, virtual environments and ``__recordings__`` skipped), so Python tests in
the same folders are not collected by accident. With no path, the ``paths`` of
``[tool.promptkit.test]`` are run (see :mod:`promptkit.runner.config`), else the current
directory is searched.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
from collections.abc import Iterator
from pathlib import Path

from promptkit.codes import MISSING_FILE

_SKIP_DIRS = {"node_modules", "__recordings__", "__pycache__", "venv", "site-packages"}
_SUFFIXES = (".prompttest.yaml", ".prompttest.yml")


def find_suites(root: Path) -> Iterator[Path]:
    """Suite files under ``root``, sorted, skipping hidden and dependency folders."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        found.extend(Path(dirpath) / f for f in filenames if f.endswith(_SUFFIXES))
    yield from sorted(found)


#: pytest plugins that act only on Python test functions: a run of prompt suites has none,
#: and loading them costs start-up time (Hypothesis' plugin imports all of Hypothesis for
#: its summary; anyio's imports anyio's sockets and streams for async test functions;
#: unraisable/thread-exception hooks run full garbage collections; platformdirs' and
#: unittest's only serve Python tests).
_PYTHON_ONLY_PLUGINS = ("hypothesispytest", "anyio", "platformdirs", "unittest", "unraisableexception",
                        "threadexception")
#: pytest-xdist's plugins, turned off too when the run asks for no workers (no ``-n``,
#: ``--dist`` or ``--tx``): importing them (and execnet) is start-up time for nothing.
_XDIST_PLUGINS = ("xdist", "xdist.looponfail")
_XDIST_FLAGS = ("-n", "--numprocesses", "--dist", "-d", "--tx", "--looponfail", "-f", "--maxprocesses",
                "--max-worker-restart")

#: What ``promptkit test`` exits with (docs/testing.md, README): pytest's codes, except that
#: bad input and usage errors are all 2 and a stop by signal is 128 + the signal.
EXIT_CODES = {
    0: "every selected case passed (flaky cases may have failed)",
    1: "a case failed or errored, or a regression against the baseline",
    2: "bad input or usage: a path, suite, option or config file (one located line)",
    5: "no case was selected (e.g. -k or --last-failed matched nothing)",
    130: "interrupted by Ctrl-C (finished cases kept, results marked interrupted)",
    143: "stopped by SIGTERM (a CI cancel), like Ctrl-C",
}


def _runs_python_tests(files: list[str], extra: list[str]) -> bool:
    """Whether this run may collect Python test files (then pytest keeps every plugin and
    its assertion rewriting, as in a plain ``pytest`` run)."""
    return any(a.split("::", 1)[0].endswith(".py") for a in [*files, *extra])


class TestCommand:
    """The ``test`` sub-command object named in :data:`promptkit.cli.COMMANDS`."""

    help = "Run prompt regression tests (*.prompttest.yaml) through pytest"
    __test__ = False  # not a pytest test class
    #: arguments after ``--`` go to pytest as they are (promptkit.cli)
    passthrough = True

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("paths", nargs="*", metavar="PATH", help="suite files or folders to search (default: [tool.promptkit.test] paths, else .)")
        parser.add_argument("--mode", choices=["live", "record", "replay", "auto"],
                            help="record/replay mode (default: replay when CI is set, else auto)")
        parser.add_argument("--concurrency", type=int, help="model calls in flight at once (default 8)")
        parser.add_argument("--model", help="run every case on this litellm model id")
        parser.add_argument("--api-base", help="send calls to this OpenAI-compatible base URL (e.g. a local server)")
        parser.add_argument("--allow-endpoint", action="append", metavar="HOST", default=None,
                            help="let prompt and test files send calls to this host (host, host:port or URL prefix; "
                                 "repeatable; adds to [tool.promptkit.test] allow-endpoints)")
        parser.add_argument("--timeout", type=float, help="per-call timeout in seconds")
        parser.add_argument("--retries", type=int, help="retries per call on 429/5xx/timeouts (default 3)")
        parser.add_argument("--results", metavar="FILE", help="write the results JSON here (default .promptkit/results.json)")
        parser.add_argument("--baseline", metavar="FILE", help="compare with this results file; regressions fail the run")
        parser.add_argument("--update-baseline", action="store_true", help="store this run's results as the baseline")
        parser.add_argument("-k", dest="keyword", metavar="EXPR", help="only cases matching this pytest -k expression")
        parser.add_argument("-n", dest="workers", metavar="N", help="pytest-xdist workers (a number or 'auto')")
        parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing case")
        parser.add_argument("-q", "--quiet", action="count", default=0, help="less output")
        parser.add_argument("-v", "--verbose", action="count", default=0, help="more output (one line per case)")
        parser.add_argument("--junitxml", metavar="FILE", help="also write a JUnit XML report")
        parser.add_argument("--lf", "--last-failed", dest="last_failed", action="store_true",
                            help="rerun only the cases that failed or errored last time (all when none did)")
        parser.add_argument("--progress", choices=["auto", "live", "plain", "off"], default=None,
                            help="progress while cases run: live line on a terminal, a periodic plain line "
                                 "otherwise (auto, the default)")
        parser.add_argument("--pytest-args", default="", metavar="ARGS",
                            help="more pytest arguments, as one quoted string (e.g. \"--tb=short -p no:randomly\")")

    def pytest_args(self, args: argparse.Namespace) -> list[str]:
        """Translate the options into a pytest command line (exposed for tests)."""
        from promptkit.diagnostics import Diagnostic, PromptkitError
        from promptkit.runner.config import load_test_settings

        settings = load_test_settings()
        from_config = not args.paths and settings.source is not None
        files: list[str] = []
        for raw in args.paths or settings.test_paths():
            p = Path(raw)
            if p.is_dir():
                files.extend(str(f) for f in find_suites(p))
            elif p.exists() or "::" in raw:
                files.append(raw)
            else:
                if from_config:  # point at the setting, not at a path the user never typed
                    from promptkit.config import located

                    d = located(settings.source, ("test", "paths"), f"test path '{raw}': no such file or directory",
                                "fix 'paths' in [tool.promptkit.test] (relative to this file's folder)")
                    raise PromptkitError(dataclasses.replace(d, code=MISSING_FILE.code, name=MISSING_FILE.name))
                raise PromptkitError(Diagnostic(raw, "no such file or directory", code=MISSING_FILE.code, name=MISSING_FILE.name,
                                                hint="pass a *.prompttest.yaml file or a folder containing some"))
        if not files:
            where = ", ".join(args.paths or settings.test_paths())
            raise PromptkitError(Diagnostic(where, "no *.prompttest.yaml suites found", code=MISSING_FILE.code, name=MISSING_FILE.name,
                                            hint="write one (see docs/testing.md) or pass its path"))
        extra = shlex.split(args.pytest_args or "") + list(getattr(args, "passthrough", None) or ())
        out = [*files, "-p", "no:cacheprovider"]
        if not _runs_python_tests(files, extra):
            names = list(_PYTHON_ONLY_PLUGINS)
            if args.workers is None and not any(a.split("=", 1)[0] in _XDIST_FLAGS or a.startswith("-n") for a in extra):
                names += _XDIST_PLUGINS
            for name in names:
                if f"no:{name}" not in extra and name not in extra:
                    out += ["-p", f"no:{name}"]
            if not any(a.startswith("--assert") for a in extra):
                # Rewriting asserts matters for Python tests only; without it pytest does not
                # recompile the installed plugins' packages on every run.
                out.append("--assert=plain")
        from promptkit.paths import root_override

        if root_override() is not None:  # promptkit --project-root: the workers need it too
            out += ["--promptkit-project-root", str(root_override())]
        for flag, value in (("--promptkit-mode", args.mode), ("--promptkit-concurrency", args.concurrency),
                            ("--promptkit-model", args.model), ("--promptkit-api-base", args.api_base),
                            ("--promptkit-timeout", args.timeout), ("--promptkit-retries", args.retries),
                            ("--promptkit-results", args.results),
                            ("--promptkit-baseline", args.baseline), ("-k", args.keyword),
                            ("--junitxml", args.junitxml)):
            if value is not None:
                out += [flag, str(value)]
        for host in args.allow_endpoint or ():
            out += ["--promptkit-allow-endpoint", host]
        if args.update_baseline:
            if not args.baseline and not settings.baseline:
                raise PromptkitError(Diagnostic("promptkit test", "--update-baseline needs --baseline FILE",
                                                code=MISSING_FILE.code, hint="e.g. --baseline .promptkit/baseline.json --update-baseline"))
            out.append("--promptkit-update-baseline")
        if getattr(args, "last_failed", False):
            out.append("--promptkit-last-failed")
        if getattr(args, "progress", None):
            out += ["--promptkit-progress", args.progress]
        if args.workers is not None:
            out += ["-n", str(args.workers)]
            if not any(a.startswith("--dist") for a in extra):
                out += ["--dist", "loadfile"]  # a suite stays on one worker: its cases batch concurrently
        if args.exitfirst:
            out.append("-x")
        out += ["-q"] * args.quiet + ["-v"] * args.verbose
        return out + extra

    def run(self, args: argparse.Namespace) -> int:
        import pytest

        argv = self.pytest_args(args)
        if args.workers is not None:
            try:
                import xdist  # noqa: F401
            except ImportError:
                from promptkit.diagnostics import Diagnostic, PromptkitError

                raise PromptkitError(Diagnostic("promptkit test", "-n needs pytest-xdist", code=MISSING_FILE.code,
                                                hint="pip install 'promptkit[test]' (or pytest-xdist)")) from None
        from promptkit.runner import interrupts

        interrupts.reset()
        code = int(pytest.main(argv))
        stopped_by = interrupts.received()
        if stopped_by is not None:  # Ctrl-C or a CI cancel: 130 / 143, as a shell reports it
            return interrupts.exit_status(stopped_by)
        if code in (0, 1):
            return code
        if code == 5:  # nothing selected: say so in words, not only pytest's "1000 deselected"
            import sys

            why = f" (-k {args.keyword!r} matched none)" if args.keyword else ""
            print(f"promptkit test: no case ran{why}: exit 5 (see `promptkit test --help`)", file=sys.stderr)
            return 5
        return 2


TEST = TestCommand()
