"""Per-session state of the promptkit pytest plugin: one runner, batched case results,
the results file, the baseline comparison and the terminal summary.

:func:`session_of` is how extensions reach it (``session_of(config).final`` is the
run's merged :class:`~promptkit.runner.results.RunResults` once the session finished).

PYTEST_DONT_REWRITE: plugin code has no test asserts; see pytest_promptkit.plugin.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from promptkit.runner.config import TestSettings

RESULTS_KEY = "promptkit_results"
DEFAULT_RESULTS = ".promptkit/results.json"
#: The name the session object is registered under (``config.pluginmanager.get_plugin``).
SESSION_NAME = "promptkit-session"


class _Forked:
    """A batch whose results come from a forked child: its items, the child, the stream
    of ``(index, result)`` it sends, and what to do with each."""

    def __init__(self, child: Any, items: list[Any], keep: Any, on_wait: Any) -> None:
        self.child = child
        self.items = items  # by job index; None: a job of the suite not in this session
        self.ids = {i.nodeid for i in items if i is not None}
        self.keep = keep
        self.stream = child.results(on_wait=on_wait)


#: Options that select or skip cases after collection: with any of them, a batch's child
#: is started only when its items are known (see :meth:`PromptkitPlugin.start_early`).
_SELECTING = ("keyword", "markexpr", "lf", "promptkit_last_failed", "deselect", "stepwise", "stepwise_skip",
              "collectonly", "setuponly", "setupplan", "usepdb", "trace", "maxfail")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _worker_processes(config: pytest.Config) -> list[Any]:
    """The local worker processes of an xdist controller (``subprocess.Popen`` objects).
    xdist has no public handle on them; if its internals move, this finds none and the
    workers stop when xdist tears them down, as before."""
    dsession = config.pluginmanager.get_plugin("dsession")
    group = getattr(getattr(dsession, "nodemanager", None), "group", None)
    procs: list[Any] = []
    try:
        for gateway in list(group or ()):
            popen = getattr(getattr(gateway, "_io", None), "popen", None)
            if popen is not None and hasattr(popen, "send_signal"):
                procs.append(popen)
    except Exception:  # noqa: BLE001 - best effort: never turn a stop into a crash
        return []
    return procs


def _has_workers(config: pytest.Config) -> bool:
    """An xdist controller: its cases run (and are reported) in worker processes."""
    return bool(getattr(config.option, "numprocesses", None)) or bool(getattr(config.option, "tx", None))


class PromptkitPlugin:
    """Per-session state: one runner, cached batch results, collected case results."""

    def __init__(self, config: pytest.Config, settings: TestSettings | None = None) -> None:
        from promptkit.runner.config import TestSettings

        self.config = config
        #: ``[tool.promptkit.test]``: defaults for every ``--promptkit-*`` option not given
        self.settings = settings or TestSettings()
        self._runner: Any = None
        self._forked: _Forked | None = None  # a batch replaying in a forked child
        self._early: tuple[Any, list[Any]] | None = None  # a child started at collection, and its jobs
        self.results: dict[str, Any] = {}  # item nodeid -> CaseResult (batch cache)
        self.reported: list[Any] = []  # CaseResults this process reported, in run order
        self.robustness: list[Any] = []  # RobustnessResults (perturb:, pytest_promptkit.robustness)
        self.worker_parts: list[Any] = []  # controller: RunResults from workers
        self.streamed: dict[str, Any] = {}  # controller: CaseResults from workers' reports, by id
        self._signals: Any = None
        self.started_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        self.final: Any = None
        self.comparison: Any = None
        self.results_path: Path | None = None
        self.baseline_error: str | None = None
        self.write_errors: list[str] = []  # results/baseline files that could not be written
        self._baseline_cache: dict[str, str] | None = None
        #: Results and baseline files, checked by :meth:`_confine_files` before any call.
        self._results_target: str | None = None
        self._baseline_target: str | None = None

    # -- interrupts
    def catch_stop_signals(self) -> None:
        """SIGTERM (a CI cancel) stops the session like Ctrl-C (see promptkit.runner.interrupts)."""
        import contextlib

        from promptkit.runner import interrupts

        interrupts.reset()
        self._signals = contextlib.ExitStack()
        self._signals.enter_context(interrupts.stop_on_signals())

    def release_stop_signals(self) -> None:
        if self._signals is not None:
            self._signals.close()
            self._signals = None

    # -- configuration
    def check_files(self) -> None:
        """Refuse, before any (paid) model call, bad option values, a ``--promptkit-baseline``
        that is missing or unreadable and a ``--promptkit-results`` path that cannot be a
        file: one line each, pytest exits 4 (``promptkit test``: 2).

        The same files named in ``[tool.promptkit.test]`` are checked when they are used
        (a missing configured baseline is reported, not fatal): the table applies to every
        pytest run in the project, and one without prompt suites must not fail over them."""
        from promptkit.diagnostics import PromptkitError

        opt = self.config.getoption
        for flag, value, ok, want in (
            ("--promptkit-concurrency", opt("--promptkit-concurrency"), lambda v: v >= 1, "a whole number >= 1"),
            ("--promptkit-timeout", opt("--promptkit-timeout"), lambda v: v > 0, "a number of seconds > 0"),
            ("--promptkit-retries", opt("--promptkit-retries"), lambda v: v >= 0, "a whole number >= 0"),
        ):
            if value is not None and not ok(value):
                raise pytest.UsageError(f"{flag} {value}: must be {want}")
        api_base = opt("--promptkit-api-base") or os.environ.get("PROMPTKIT_API_BASE")
        if api_base and not api_base.startswith(("http://", "https://")):
            raise pytest.UsageError(f"--promptkit-api-base {api_base!r}: not a URL (write it as "
                                    f"http://{api_base.removeprefix('//')}/v1 or https://...)")
        update = self.config.getoption("--promptkit-update-baseline")
        if update and not self.baseline_path():
            raise pytest.UsageError("--promptkit-update-baseline needs --promptkit-baseline FILE (where to store it)")
        baseline = self.config.getoption("--promptkit-baseline")
        if baseline and not update:
            if not os.path.lexists(baseline):  # a symlink loop "exists": load_baseline says what it is
                raise pytest.UsageError(f"{baseline}: baseline file not found; create it with "
                                        f"--promptkit-update-baseline (promptkit test --update-baseline)")
            from promptkit.runner.baseline import baseline_outputs, load_baseline

            try:
                base = load_baseline(baseline)
            except PromptkitError as exc:
                raise pytest.UsageError(exc.diagnostic.format()) from None

            self._baseline_cache = baseline_outputs(base)
        for what, value in (("results", self.config.getoption("--promptkit-results")),
                            ("baseline", baseline if update else None)):
            if value:
                problem = _not_writable(Path(value))
                if problem:
                    raise pytest.UsageError(f"{value}: cannot write the {what} file here: {problem}")
        try:
            self._confine_files()
        except PromptkitError as exc:
            raise pytest.UsageError(exc.diagnostic.format()) from None

    def _confine_files(self) -> None:
        """Where results and baselines may be read and written (:mod:`promptkit.paths`).

        ``results``/``baseline`` from ``[tool.promptkit.test]`` (a file a pull request can
        change) must resolve inside the project, never be the project root, never lie in
        ``.git``, and never replace a file that is not a promptkit results file: refused
        with ``PK011`` at the setting's line. The command line's ``--promptkit-results`` /
        ``--promptkit-baseline`` are the user's own choice and may point anywhere outside
        the project; written inside it, they are checked the same way (a symlink there came
        with the repository). The default ``.promptkit/results.json`` is checked too."""
        from promptkit.paths import PathRefused, confine, confine_output, lexically_inside, project_root
        from promptkit.runner.report import is_results_file

        st = self.settings
        here = Path(self.config.invocation_params.dir)
        root = project_root(config_source=st.source) if st.source is not None else project_root(here)
        update = bool(self.config.getoption("--promptkit-update-baseline"))

        def check(what: str, cli: str | None, setting: str | None, write: bool, default: str | None = None) -> str | None:
            if cli:
                if not lexically_inside(cli, root):
                    return cli
                if write:
                    return str(confine_output(cli, root, what=f"{what} file", base=here, ours=is_results_file))
                return str(confine(cli, root, what=f"{what} file", base=here))
            if setting:
                try:
                    if write:
                        return str(confine_output(setting, root, what=f"{what} file", base=st.root, ours=is_results_file))
                    return str(confine(setting, root, what=f"{what} file", base=st.root))
                except PathRefused as exc:
                    from promptkit.config import located

                    raise PathRefused(located(st.source, ("test", what), exc.diagnostic.message, exc.diagnostic.hint,
                                              code=exc.diagnostic.code, name=exc.diagnostic.name)) from None
            if default:
                return str(confine_output(default, root, what=f"{what} file", base=Path(self.config.rootpath),
                                          ours=is_results_file))
            return None

        self._results_target = check("results", self.config.getoption("--promptkit-results"), st.results, True,
                                     DEFAULT_RESULTS)
        self._baseline_target = check("baseline", self.config.getoption("--promptkit-baseline"), st.baseline, update)

    def baseline_path(self) -> str | None:
        """``--promptkit-baseline``, else the config's ``baseline`` (resolved, confined)."""
        if self._baseline_target is not None:
            return self._baseline_target
        return self.config.getoption("--promptkit-baseline") or self.settings.baseline_path()

    def run_config(self) -> Any:
        """Options win over ``PROMPTKIT_*`` variables, which win over ``[tool.promptkit.test]``."""
        from promptkit.runner.engine import RunConfig
        from promptkit.runner.recordings import Mode, default_mode

        opt = self.config.getoption
        st = self.settings
        mode = opt("--promptkit-mode") or os.environ.get("PROMPTKIT_MODE") or st.mode
        cfg = RunConfig(mode=Mode(mode.lower()) if mode else default_mode())
        concurrency = opt("--promptkit-concurrency") or st.concurrency
        if concurrency:
            cfg.concurrency = max(1, int(concurrency))
        cfg.model = opt("--promptkit-model") or os.environ.get("PROMPTKIT_MODEL") or None
        cfg.api_base = opt("--promptkit-api-base") or os.environ.get("PROMPTKIT_API_BASE") or None
        cfg.allow_endpoints = [*st.allow_endpoints, *(opt("--promptkit-allow-endpoint") or ())]
        timeout = opt("--promptkit-timeout") or st.timeout
        if timeout:
            cfg.timeout_s = float(timeout)
        retries = opt("--promptkit-retries") if opt("--promptkit-retries") is not None else st.retries
        if retries is not None:
            cfg.retry.max_retries = max(0, int(retries))
        cfg.transport = st.transport  # PROMPTKIT_TRANSPORT, read by the client, wins over it
        cfg.progress = False  # pytest owns the terminal; its own progress is per item
        cfg.baseline_outputs = self._baseline_outputs()
        return cfg

    def _baseline_outputs(self) -> dict[str, str]:
        """Outputs of the baseline run, for ``pairwise`` assertions (empty when none)."""
        if self._baseline_cache is None:
            self._baseline_cache = {}
            path = self.baseline_path()
            if path and Path(path).is_file():
                from promptkit.diagnostics import PromptkitError
                from promptkit.runner.baseline import baseline_outputs, load_baseline

                try:
                    self._baseline_cache = baseline_outputs(load_baseline(path))
                except PromptkitError:
                    pass  # reported once, at the end, by _compare
        return self._baseline_cache

    @property
    def runner(self) -> Any:
        if self._runner is None:
            from promptkit.runner.engine import Runner

            self._runner = Runner(self.run_config())
        return self._runner

    def batching_allowed(self) -> bool:
        if not _is_worker(self.config):
            return True
        dist = getattr(self.config.option, "dist", "no")
        return dist in ("loadfile", "loadscope", "loadgroup", "each")

    # -- running
    def start_early(self, jobs: list[Any]) -> None:
        """Start replaying a whole suite in a forked child while the rest is collected.

        Only when nothing after collection can drop any of its cases (no ``-k``, ``-m``,
        ``--lf``, ``--deselect``, shard, node id on the command line...): a child started
        now runs every case of the suite. Otherwise the child starts at the first item,
        for the items selected (:meth:`result_for`)."""
        from pytest_promptkit import forked

        opt = self.config.option
        if (self._early is not None or self._forked is not None or _is_worker(self.config)
                or _has_workers(self.config) or any(getattr(opt, n, None) for n in _SELECTING)
                or self.config.getoption("--promptkit-shard", default=None)
                or any("::" in str(a) for a in self.config.args)):
            return
        cfg = self.run_config()
        if forked.available(cfg.mode, len(jobs)):
            self._early = (forked.ForkedBatch(cfg, jobs), jobs)

    def _activate_early(self, item: CaseItem) -> None:
        """The child started at collection becomes the running batch: its jobs matched to
        this session's items."""
        assert self._early is not None
        child, jobs = self._early
        self._early = None
        by_job = {id(i.job): i for i in (getattr(item.session, "items", None) or []) if isinstance(i, _case_item_type())}
        items = [by_job.get(id(j)) for j in jobs]
        self.config.hook.pytest_promptkit_batch_started(config=self.config, total=sum(i is not None for i in items))
        self._forked = _Forked(child, items, self._keeper(items), on_wait=self._tick)

    def result_for(self, item: CaseItem) -> Any:
        cached = self.results.pop(item.nodeid, None)
        if cached is not None:
            return cached
        if self._early is not None:
            self._activate_early(item)
        if self._forked is not None and item.nodeid in self._forked.ids:
            return self._from_child(item)
        batch = [item]
        if self.batching_allowed():
            session_items = getattr(item.session, "items", None) or []
            seen_self = False
            for other in session_items:
                if other is item:
                    seen_self = True
                    continue
                if (seen_self and isinstance(other, _case_item_type()) and other.parent is item.parent
                        and other.nodeid not in self.results):
                    batch.append(other)
        self._end_forked()  # another suite's batch (items reordered): its child's rest is recomputed if needed
        from pytest_promptkit import forked

        cfg = self.run_config()
        if not _is_worker(self.config) and not _has_workers(self.config) and forked.available(cfg.mode, len(batch)):
            self.config.hook.pytest_promptkit_batch_started(config=self.config, total=len(batch))
            self._forked = _Forked(forked.ForkedBatch(cfg, [i.job for i in batch]), batch, self._keeper(batch),
                                   on_wait=self._tick)
            return self._from_child(item)
        self._run_here(batch)
        return self.results.pop(item.nodeid)

    def _run_here(self, batch: list[CaseItem]) -> None:
        """Run ``batch`` in this process, as one concurrent batch, keeping each result."""
        hook = self.config.hook
        hook.pytest_promptkit_batch_started(config=self.config, total=len(batch))
        try:
            self.runner.run([i.job for i in batch], on_result=self._keeper(batch), on_wait=self._tick)
        finally:
            hook.pytest_promptkit_batch_finished(config=self.config)

    def _keeper(self, batch: list[CaseItem | None]) -> Any:
        """``on_result`` for ``batch``: each result kept under its item (a job with no item
        in this session, from a child started at collection, is dropped)."""
        hook = self.config.hook

        def keep(index: int, result: Any) -> None:  # as each case finishes: Ctrl-C keeps them
            item = batch[index]
            if item is not None:
                self.results[item.nodeid] = result
                hook.pytest_promptkit_case_finished(config=self.config, result=result)

        return keep

    def _tick(self) -> None:
        self.config.hook.pytest_promptkit_tick(config=self.config)

    def _from_child(self, item: CaseItem) -> Any:
        """``item``'s result from the forked child (:mod:`pytest_promptkit.forked`), keeping
        those that arrive before it. Once the child is done (or gone), the cases it did not
        deliver run here, in one batch, as without a fork."""
        run = self._forked
        assert run is not None
        try:
            while item.nodeid not in self.results:
                got = next(run.stream, None)
                if got is None:
                    break
                run.keep(*got)
            if len(run.child.done) == len(run.items):
                for _ in run.stream:  # everything delivered: read the end, reap the child
                    pass
        except BaseException:  # Ctrl-C, SIGTERM: the child is killed; finished cases are kept
            self._end_forked()
            raise
        if not run.child.running:
            self._end_forked()
            missing = [run.items[i] for i in run.child.missing() if run.items[i] is not None]
            if missing:
                self._run_here(missing)
        return self.results.pop(item.nodeid)

    def _end_forked(self) -> None:
        """Stop (or reap) the forked child and close its batch."""
        if self._forked is not None:
            self._forked.child.kill()
            self._forked = None
            self.config.hook.pytest_promptkit_batch_finished(config=self.config)

    def record(self, result: Any) -> None:
        self.reported.append(result)

    # -- hooks
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Python tests using ``prompt_runner`` get the ``promptkit`` marker before
        ``-m`` deselects anything."""
        for item in items:
            if "prompt_runner" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.promptkit)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: collect a worker's part of the results."""
        from promptkit.runner.results import RunResults

        part = getattr(node, "workeroutput", {}).get(RESULTS_KEY)
        if part:
            self.worker_parts.append(RunResults.from_json(part))

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        """xdist controller: pass the stop on to the workers. A SIGTERM sent to the
        controller alone (what many CI runners do) would otherwise leave each worker
        waiting on its model calls until they time out; stopped, each worker hands in the
        cases it finished and exits within moments."""
        if _is_worker(self.config) or not _has_workers(self.config):
            return
        import signal

        from promptkit.runner import interrupts

        signum = interrupts.received() or signal.SIGINT
        for proc in _worker_processes(self.config):
            try:
                proc.send_signal(signum)
            except (OSError, ValueError):
                pass  # already gone

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """xdist controller: keep each finished case as its report arrives (see the
        module docstring); in-process runs already have it."""
        data = getattr(report, "promptkit_result", None)
        if data is None or _is_worker(self.config) or not _has_workers(self.config):
            return
        from promptkit.runner.results import CaseResult

        result = CaseResult.model_validate(data)
        self.streamed[result.id] = result

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from promptkit.runner import interrupts

        self._end_forked()  # -x, or an interrupt between items: the child's rest is not wanted
        if self._early is not None:  # collection failed, or nothing ran
            self._early[0].kill()
            self._early = None

        # A second Ctrl-C (or CI's SIGTERM after its SIGINT) while the results are being
        # written is noted, not raised: it would lose the very file it wants kept.
        with interrupts.deferred():
            self._finish_session(session, exitstatus)

    def _finish_session(self, session: pytest.Session, exitstatus: int) -> None:
        from promptkit.runner import interrupts

        if self._runner is not None:
            self._runner.close()
        interrupted = exitstatus == pytest.ExitCode.INTERRUPTED or interrupts.received() is not None
        if interrupted:  # cases that finished in a batch but were not reported yet
            self.reported.extend(self.results.values())
            self.results.clear()
        if not self.reported and not self.worker_parts and not self.streamed and not self.robustness:
            return
        from promptkit._version import __version__
        from promptkit.runner.report import merge, write_results
        from promptkit.runner.results import RunResults

        mode = self.run_config().mode.value
        now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        own = RunResults(started_at=self.started_at, finished_at=now, mode=mode, promptkit_version=__version__,
                         cases=list(self.reported), interrupted=interrupted, robustness=list(self.robustness))
        if _is_worker(self.config):
            self.config.workeroutput[RESULTS_KEY] = own.to_json()  # type: ignore[attr-defined]
            return
        parts = list(self.worker_parts)
        if self.streamed:  # first, so what the workers handed in at the end wins
            parts.insert(0, RunResults(started_at=self.started_at, finished_at=now, mode=mode,
                                       promptkit_version=__version__, cases=list(self.streamed.values())))
        if self.reported or self.robustness:
            parts.append(own)
        final = merge(parts)
        final.mode = mode
        final.started_at = self.started_at
        final.interrupted = interrupted or final.interrupted
        self.final = final
        path = Path(self._results_target or self.config.getoption("--promptkit-results")
                    or self.settings.results_path() or Path(self.config.rootpath) / DEFAULT_RESULTS)
        try:
            self.results_path = write_results(final, path)
        except OSError as exc:  # the run's outcome still stands; say what was not kept
            self.write_errors.append(f"{path}: results not written: {exc.strerror or exc}")
        baseline = self.baseline_path()
        if baseline and final.interrupted:
            self.baseline_error = "not compared (the run was interrupted; the baseline is unchanged)"
        elif baseline:
            self._compare(session, final, Path(baseline))
            if self.config.getoption("--promptkit-update-baseline"):
                from promptkit.diagnostics import PromptkitError
                from promptkit.runner.baseline import store_baseline

                try:
                    store_baseline(final, baseline)
                except OSError as exc:
                    self.write_errors.append(f"{baseline}: baseline not written: {exc.strerror or exc}")
                except PromptkitError as exc:
                    self.write_errors.append(exc.diagnostic.format())
        if self.write_errors and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _compare(self, session: pytest.Session, final: Any, baseline: Path) -> None:

        if not baseline.is_file():
            if not self.config.getoption("--promptkit-update-baseline"):
                self.baseline_error = f"{baseline}: baseline file not found (create it with --promptkit-update-baseline)"
            return
        from promptkit.diagnostics import PromptkitError
        from promptkit.runner.baseline import load_baseline

        try:
            base = load_baseline(baseline)
        except PromptkitError as exc:  # changed since the run started
            self.baseline_error = exc.diagnostic.format()
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        from promptkit.runner import baseline as baseline_mod

        tol = self.config.getoption("--promptkit-tolerance")
        if tol is None:
            tol = self.settings.tolerance
        kwargs = {"tolerance": tol} if tol is not None else {}
        self.comparison = baseline_mod.compare(base, final, **kwargs)
        if getattr(self.comparison, "regressions", None) and not self.config.getoption("--promptkit-update-baseline"):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.final is None and self.baseline_error is None and not self.write_errors:
            return
        from promptkit.runner.report import format_summary

        tr = terminalreporter
        tr.section("promptkit")
        if self.final is not None:
            tr.write_line(format_summary(self.final, width=max(160, tr._tw.fullwidth)))
            missed = sum(c.recordings_missed for c in self.final.cases)
            if missed and self.final.mode == "replay":
                tr.write_line(f"{missed} recording(s) missing: record them with --promptkit-mode record (see each error's hint)")
            if self.results_path is not None:
                tr.write_line(f"results: {self.results_path}")
        if self.baseline_error:
            tr.write_line(f"baseline: {self.baseline_error}", red=True)
        for problem in self.write_errors:
            tr.write_line(problem, red=True)
        if self.comparison is not None:
            text = self.comparison.format() if hasattr(self.comparison, "format") else str(self.comparison)
            if text:
                tr.write_line(text)
        self.config.hook.pytest_promptkit_terminal_summary(config=self.config, terminalreporter=tr, results=self.final)


def _not_writable(path: Path) -> str:
    """Why ``path`` cannot become a file ("" when it can, as far as can be told up front)."""
    if path.is_dir():
        return "it is a folder (give a file name, e.g. results.json)"
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{parent} is a file, not a folder"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"no permission to write in {parent}"
            return ""
    return ""


def session_of(config: pytest.Config) -> PromptkitPlugin:
    """The session's :class:`PromptkitPlugin` (registered in ``pytest_configure``)."""
    plugin = config.pluginmanager.get_plugin(SESSION_NAME)
    if not isinstance(plugin, PromptkitPlugin):
        raise RuntimeError("the promptkit plugin is not configured in this session")
    return plugin


_plugin = session_of  # the older private name



def _case_item_type() -> type:
    from pytest_promptkit.items import CaseItem

    return CaseItem
