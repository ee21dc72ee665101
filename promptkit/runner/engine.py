"""The engine: runs expanded cases (case x model) and turns them into :class:`CaseResult`.

For each case run: load and render the template (a render error is that case's ERROR,
with the diagnostic pointing into the template), get ``repeat`` samples through the
:class:`~promptkit.runner.recordings.Recorder` (replayed or live), evaluate the
assertions on each sample (C1's :func:`~promptkit.runner.assertions.evaluate` and
:func:`~promptkit.runner.assertions.verdict`), then aggregate:

* ``passes >= min_pass`` -> PASS;
* else, if the errored samples could have made up the difference -> ERROR (a provider
  failure says nothing about the prompt, so it is never scored as FAIL);
* else FAIL. ``flaky`` cases keep their outcome but are flagged so reports show them
  without failing the run.

Cases run concurrently (``asyncio``), bounded twice: the client's semaphore bounds
model calls in flight, and a case-level semaphore bounds how many cases render and
evaluate at once. Each case is isolated: any exception inside one becomes that case's
ERROR and never cancels the others. No telemetry of any kind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptkit.codes import MISSING_FILE, REFUSED_CALL_PARAMETER
from promptkit.diagnostics import Diagnostic, PromptkitError
from promptkit.runner.client import ModelClient, RetryPolicy
from promptkit.runner.recordings import Mode, Recorder, RecordingStore, default_mode
from promptkit.runner.results import (
    AssertionResult,
    CaseResult,
    ModelResponse,
    Outcome,
    ProviderError,
    RunResults,
    SampleResult,
    Usage,
)

if TYPE_CHECKING:
    from promptkit.runner.assertions import AssertionContext
    from promptkit.runner.assertions.spec import AssertionSpec
    from promptkit.runner.suite import CaseRun, ModelTarget, Suite
    from promptkit.template import PromptTemplate


#: Called with (job index, result) as each case of a batch finishes.
ResultCallback = Callable[[int, CaseResult], None]


@dataclass
class RunConfig:
    """How a run calls models. ``model`` overrides every case's model; ``api_base`` and
    ``api_key`` override where calls go (a local server) without changing recording keys."""

    mode: Mode = field(default_factory=default_mode)
    concurrency: int = 8
    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    #: Hosts a prompt or test file may send calls to (``allow-endpoints``, ``--allow-endpoint``);
    #: see :mod:`promptkit.runner.policy`. ``api_base`` above is the command line's and always allowed.
    allow_endpoints: list[str] = field(default_factory=list)
    timeout_s: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress: bool | None = None  # None: a progress bar on a TTY for runs of 20+ cases
    #: case id -> the baseline run's output, for the ``pairwise`` assertion
    baseline_outputs: dict[str, str] = field(default_factory=dict)
    #: "auto" or "litellm" (``[tool.promptkit.test] transport``); see ModelClient.
    transport: str | None = None

    def __post_init__(self) -> None:
        # Accept the mode as written in config files and on the command line ("replay").
        if not isinstance(self.mode, Mode):
            try:
                self.mode = Mode(str(self.mode).lower())
            except ValueError:
                choices = ", ".join(m.value for m in Mode)
                raise ValueError(f"unknown mode {self.mode!r}: use one of {choices}") from None


@dataclass
class CaseJob:
    """One unit of work: a case run plus where its suite lives (for ids and recordings).

    ``template`` runs the case against an in-memory template instead of the file at
    ``case_run.template_path`` (a perturbed or optimized variant, built with
    ``template.with_body(...)``): nothing is written, results keep the case's id, and
    recordings are keyed by the rendered messages, so a variant records and replays
    like any other request.
    """

    case_run: CaseRun
    suite_path: str
    store: RecordingStore
    base_dir: str | None = None
    template: PromptTemplate | None = None

    @property
    def case_id(self) -> str:
        return self.case_run.case.id

    @property
    def model_label(self) -> str:
        return model_label(self.case_run.model)

    @property
    def result_id(self) -> str:
        return self.case_run.id


def model_label(target: ModelTarget | None) -> str:
    """What results show for a model target: its label, else its id."""
    return "default" if target is None else target.name


@functools.lru_cache(maxsize=1024)
def _display_path(path: str | Path) -> str:
    """``path`` relative to the working directory when inside it (cached: resolving costs
    a system call per path component, and every case asks)."""
    from promptkit.paths import shown

    return shown(path)


class Runner:
    """Runs :class:`CaseJob` batches. One runner (and one client) per run."""

    def __init__(self, config: RunConfig | None = None, client: ModelClient | None = None) -> None:
        self.config = config or RunConfig()
        self.client = client or ModelClient(
            concurrency=self.config.concurrency,
            timeout_s=self.config.timeout_s,
            retry=self.config.retry,
            api_base=self.config.api_base,
            api_key=self.config.api_key,
            transport=self.config.transport,
        )
        self.recorder = Recorder(self.config.mode, self._call)
        self._templates: dict[str, PromptTemplate] = {}
        self._loop: _LoopThread | None = None

    async def _call(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> ModelResponse:
        return await self.client.complete(model, messages, params)

    # ------------------------------------------------------------------ public API
    def run(self, jobs: Sequence[CaseJob], on_result: ResultCallback | None = None,
            on_wait: Callable[[], None] | None = None) -> list[CaseResult]:
        """Run ``jobs`` to completion (sync wrapper). Results come back in job order;
        ``on_result(index, result)`` is also called as each case finishes (from the loop's
        thread), so a caller interrupted by Ctrl-C still has every finished case.
        ``on_wait()`` is called in the calling thread about every 0.2 s while the batch
        runs (a live progress display draws there, never from the loop's thread).

        Every batch of one runner runs on the same event loop (a background thread):
        litellm and httpx cache connection pools per loop, and a fresh ``asyncio.run``
        per batch would strand them. It also makes this callable from code that is
        itself inside a running loop.
        """
        if self._loop is None:
            self._loop = _LoopThread()
        stopped = threading.Event()
        deliver = on_result
        if on_result is not None:
            def deliver(index: int, result: CaseResult) -> None:
                # After an interrupt the batch is being cancelled: a case that "finishes" now
                # finished because of the cancel (a call cut off, an SDK turning the cancel
                # into a connection error) and says nothing about the prompt. Only cases
                # that finished before the signal are kept.
                if not stopped.is_set():
                    on_result(index, result)
        return self._loop.run(self.run_async(jobs, deliver), on_interrupt=stopped.set, on_wait=on_wait)

    def close(self) -> None:
        """Stop the background loop (idempotent)."""
        if self._loop is not None:
            aclose = getattr(self.client, "aclose", None)  # the fast path's connection pool
            if aclose is not None:
                with contextlib.suppress(Exception):  # best effort at shutdown
                    asyncio.run_coroutine_threadsafe(aclose(), self._loop.loop).result(timeout=5)
            self._loop.stop()
            self._loop = None

    async def run_async(self, jobs: Sequence[CaseJob], on_result: ResultCallback | None = None) -> list[CaseResult]:
        case_sem = asyncio.Semaphore(max(4, self.config.concurrency * 2))
        progress = self._progress(len(jobs))

        async def one(index: int, job: CaseJob) -> CaseResult:
            async with case_sem:
                try:
                    result = await self.run_case(job)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one broken case never loses the others
                    result = _error_result(job, f"internal error: {type(exc).__name__}: {exc}", "please report this")
            if on_result is not None:
                on_result(index, result)
            if progress is not None:
                progress[0].advance(progress[1])
            return result

        try:
            if progress is not None:
                progress[0].start()
            return list(await asyncio.gather(*(one(i, j) for i, j in enumerate(jobs))))
        finally:
            if progress is not None:
                progress[0].stop()

    def _progress(self, total: int) -> tuple[Any, Any] | None:
        show = self.config.progress
        if show is None:
            show = total >= 20 and sys.stderr.isatty()
        if not show:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        bar = Progress(TextColumn("promptkit"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=Console(stderr=True), transient=True)
        return bar, bar.add_task("cases", total=total)

    # ------------------------------------------------------------------ one case
    def _template(self, job: CaseJob) -> PromptTemplate:
        """The template a job renders: its variant, else the one :meth:`Suite.expand`
        loaded; only a :class:`CaseRun` built by hand without one is loaded here (once
        per runner)."""
        if job.template is not None:
            return job.template
        if job.case_run.template is not None:
            return job.case_run.template
        path = str(job.case_run.template_path)
        tpl = self._templates.get(path)
        if tpl is None:
            from promptkit.template import load

            tpl = self._templates[path] = load(path)
        return tpl

    async def run_case(self, job: CaseJob) -> CaseResult:
        cr = job.case_run
        case = cr.case
        base = CaseResult(
            id=job.result_id, suite=job.suite_path, case=job.case_id, model=job.model_label,
            prompt=_display_path(cr.template_path), outcome=Outcome.ERROR,
            repeat=case.repeat, min_pass=case.required_passes, flaky=case.flaky, vars=dict(cr.vars),
        )
        # 1. render
        try:
            from promptkit.template import render

            template = self._template(job)
            rendered = render(template, dict(cr.vars))
        except PromptkitError as exc:
            return _finish(base, [SampleResult(outcome=Outcome.ERROR, error=exc.diagnostic.format(), hint=exc.diagnostic.hint or None)])
        messages = [{"role": m.role, "content": m.content} for m in rendered]
        # 2. model and parameters: the case run's (template's, then the target's), then the override
        try:
            model_id, params = self._model_and_params(job, template)
        except PromptkitError as exc:
            return _finish(base, [SampleResult(outcome=Outcome.ERROR, error=exc.diagnostic.format(), hint=exc.diagnostic.hint or None)])
        if self.config.model is not None:
            base.model = self.config.model
        if case.timeout_s:
            params["timeout"] = float(case.timeout_s)
        # 3. samples
        responses = await self.recorder.samples(job.store, model_id, messages, params, case.repeat,
                                                suite_path=job.suite_path, case_id=job.case_id,
                                                record_hint=_VARIANT_HINT if job.template is not None else None)
        # 4. assertions, per sample
        ctx = self._context(job, messages, model_id, template)
        samples = await asyncio.gather(*(self._evaluate(cr.assertions, cr.threshold, r, ctx) for r in responses))
        base.recordings_hit = sum(1 for r in responses if isinstance(r, ModelResponse) and r.from_recording)
        base.recordings_missed = sum(1 for r in responses if isinstance(r, ProviderError) and r.kind == "missing_recording") + \
            sum(1 for r in responses if isinstance(r, ModelResponse) and not r.from_recording)
        return _finish(base, list(samples))

    def _model_and_params(self, job: CaseJob, template: PromptTemplate) -> tuple[str, dict[str, Any]]:
        cr = job.case_run
        if job.template is None:
            params = dict(cr.params)  # Suite.expand merged the template's parameters and the target's
        else:  # a variant may change its own model parameters; the target's still win
            spec = template.front_matter.model
            params = {**(spec.params if spec is not None else {}), **cr.model.params}
        # Prompty's ${env:VAR} placeholders are connection settings, not call parameters
        params = {k: v for k, v in params.items() if not (isinstance(v, str) and v.startswith("${"))}
        return self.config.model or cr.model.id, self._checked_params(params, template, job.suite_path, cr.model.id)

    def _checked_params(self, params: dict[str, Any], template: PromptTemplate | None, suite_path: str,
                        model_id: str) -> dict[str, Any]:
        """Parameters from files through the allow-list of :mod:`promptkit.runner.policy`;
        a refused one is a :class:`PromptkitError` at the key that set it (the prompt's
        front matter, else the test file's ``models:`` entry), so the case is an ERROR that
        says where to look."""
        from promptkit.runner.policy import ParamRefused, check_call_params

        try:
            return check_call_params(params, allow_endpoints=self.config.allow_endpoints,
                                     override_endpoint=bool(self.config.api_base))
        except ParamRefused as exc:
            where, span = suite_path, None
            spec = template.front_matter.model if template is not None else None
            if template is not None and spec is not None:  # the key that set it, the last one winning as in params
                places = [where for where, name, _ in spec.param_entries() if name == exc.param]
                span = template.span_of("model", *places[-1]) if places else None
                if span is not None:
                    where = str(template.path)
            if span is None:
                from promptkit.runner.suite_file import model_param_span

                span = model_param_span(suite_path, model_id, exc.param)
            raise PromptkitError(Diagnostic(where, exc.message, code=REFUSED_CALL_PARAMETER.code, name=REFUSED_CALL_PARAMETER.name,
                                            span=span, hint=exc.hint)) from None

    def _context(self, job: CaseJob, messages: list[dict[str, Any]], model_id: str,
                 template: PromptTemplate) -> AssertionContext:
        cr = job.case_run
        judge_model = cr.judge.id if cr.judge is not None else None
        judge_params = dict(cr.judge.params) if cr.judge is not None else {}

        async def judge(jmessages: list[dict[str, Any]], jmodel: str | None, jparams: dict[str, Any]) -> ModelResponse:
            use = jmodel or judge_model or model_id
            try:
                merged = self._checked_params({**judge_params, **(jparams or {})}, None, job.suite_path, use)
            except PromptkitError as exc:
                raise ProviderError(exc.diagnostic.format(), kind="bad_request", hint=exc.diagnostic.hint) from None
            out = await self.recorder.samples(job.store, use, jmessages, merged, 1, suite_path=job.suite_path, case_id=job.case_id)
            first = out[0]
            if isinstance(first, ProviderError):
                raise first
            return first

        ctx = cr.context(messages, judge=judge, baseline_output=self.config.baseline_outputs.get(job.result_id),
                         template=template)
        ctx.base_dir = job.base_dir or str(Path(job.suite_path).parent)
        return ctx

    async def _evaluate(self, specs: Sequence[AssertionSpec], threshold: float | None,
                        response: ModelResponse | ProviderError, ctx: AssertionContext) -> SampleResult:
        if isinstance(response, ProviderError):
            return SampleResult(outcome=Outcome.ERROR, error=str(response), hint=response.hint or None)
        from promptkit.runner.assertions import evaluate, verdict

        results: list[AssertionResult] = await evaluate(list(specs), response, ctx)
        outcome, score = verdict(results, threshold)
        usage = response.usage
        for r in results:
            usage = usage + r.usage
        errors = [r.reason for r in results if r.error]
        from promptkit.runner.tools import tool_calls_of

        return SampleResult(outcome=outcome, output=response.text, score=score, assertions=results, usage=usage,
                            from_recording=response.from_recording, error="; ".join(errors) or None,
                            tool_calls=tool_calls_of(response.raw) or None)


#: A variant's requests are not the file's: `promptkit test --mode record` would not record them.
_VARIANT_HINT = "this is an in-memory variant: run it once with RunConfig(mode=Mode.AUTO) or Mode.RECORD to record it"


def _finish(base: CaseResult, samples: list[SampleResult]) -> CaseResult:
    """Aggregate samples into the case's outcome (see the module docstring)."""
    base.samples = samples
    base.passes = sum(1 for s in samples if s.outcome is Outcome.PASS)
    errors = sum(1 for s in samples if s.outcome is Outcome.ERROR)
    if base.passes >= base.min_pass:
        base.outcome = Outcome.PASS
    elif base.passes + errors >= base.min_pass:
        base.outcome = Outcome.ERROR
    else:
        base.outcome = Outcome.FAIL
    scored = [s.score for s in samples if s.outcome is not Outcome.ERROR]
    base.score = sum(scored) / len(scored) if scored else 0.0
    total = Usage()
    for s in samples:
        total = total + s.usage
    base.usage = total
    return base


def _error_result(job: CaseJob, message: str, hint: str = "") -> CaseResult:
    cr = job.case_run
    return CaseResult(id=job.result_id, suite=job.suite_path, case=job.case_id, model=job.model_label,
                      prompt=str(cr.template_path), outcome=Outcome.ERROR, flaky=cr.case.flaky,
                      samples=[SampleResult(outcome=Outcome.ERROR, error=message, hint=hint or None)])


#: How often a thread waiting on a batch wakes up to notice a stop signal (seconds).
_WAKE_S = 0.2


class _LoopThread:
    """An event loop in a daemon thread, for running coroutines from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="promptkit-runner-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Any, on_interrupt: Callable[[], None] | None = None,
            on_wait: Callable[[], None] | None = None) -> Any:
        """Run ``coro`` on the loop and wait. Interrupted while waiting (Ctrl-C, SIGTERM):
        ``on_interrupt`` runs first (so nothing more is delivered), then the batch and its
        calls are cancelled, and the interrupt goes on up."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            # Wait in short slices, not one blocking wait: the kernel may deliver SIGTERM or
            # SIGINT to another thread (it does in pytest-xdist workers), and Python runs
            # the handler only when the main thread executes again. A blocked wait would
            # hold the stop until the batch ended by itself (the model calls' timeout).
            while not future.done():
                concurrent.futures.wait([future], timeout=_WAKE_S)
                if on_wait is not None:
                    on_wait()
            return future.result()
        except BaseException:
            if on_interrupt is not None:
                on_interrupt()
            future.cancel()
            raise

    def stop(self) -> None:
        """Cancel what is left (litellm starts background logging tasks), then stop."""

        async def cancel_rest() -> None:
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in rest:
                t.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        with contextlib.suppress(Exception):  # best effort at shutdown
            asyncio.run_coroutine_threadsafe(cancel_rest(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


# ---------------------------------------------------------------------- suites


def jobs_for_suite(
    suite: Suite,
    *,
    model_override: str | None = None,
    template: PromptTemplate | None = None,
    store: RecordingStore | None = None,
    templates: dict[Path, PromptTemplate] | None = None,
) -> list[CaseJob]:
    """Expand a loaded suite into jobs. With a model override each case runs once, on the
    override, instead of once per listed model.

    With ``template`` (an in-memory variant of one of the suite's prompts), only the case
    runs of the prompt it replaces are returned, and they run against the variant (see
    :func:`replaced_prompt`); that prompt's file is not read at all (model parameters,
    dataset type coercion and assertions all use the variant). ``store`` overrides where
    recordings live (needed for a suite built in Python without a path). ``templates``
    shares loaded prompts between the suites of one run (see :meth:`Suite.expand`).
    """
    if store is None:
        if suite.path is None:
            raise ValueError("a suite built without a path needs an explicit RecordingStore (store=...)")
        store = RecordingStore.for_suite(suite.path)
    suite_path = suite.name
    base_dir = str(suite.path.parent) if suite.path is not None else None
    if template is not None:  # the variant stands in for its file, which is never read
        target = replaced_prompt(suite, template)
        runs = suite.expand({target: template}, only=[target])
    else:
        runs = suite.expand(templates)
    jobs: list[CaseJob] = []
    seen: set[str] = set()
    for cr in runs:
        if model_override:
            if cr.case.id in seen:
                continue
            seen.add(cr.case.id)
            cr = cr.model_copy(update={"model": cr.model.model_copy(update={"id": model_override, "label": model_override})})
        jobs.append(CaseJob(case_run=cr, suite_path=suite_path, store=store, base_dir=base_dir, template=template))
    return jobs


def replaced_prompt(suite: Suite, template: PromptTemplate) -> Path:
    """Which of the suite's prompt files an in-memory ``template`` stands in for: the one
    at ``template.path`` (a variant made with ``with_body`` keeps its original's path),
    else the suite's only prompt. Raises :class:`PromptkitError` when that is ambiguous.
    Reads no file."""
    from promptkit.runner.suite import same_file

    prompts = suite.prompt_files()
    for p in prompts:
        if same_file(p, Path(template.path)):
            return p
    if len(prompts) == 1:
        return prompts[0]
    from promptkit.diagnostics import Diagnostic

    names = ", ".join(p.as_posix() for p in prompts) or "none"
    raise PromptkitError(Diagnostic(
        str(template.path), f"this template is not one of the prompts of {suite.name} ({names})",
        code=MISSING_FILE.code, name=MISSING_FILE.name,
        hint="load the variant with the path of the prompt it replaces: loads(text, path=<prompt file>)"))


def run_cases(
    suite: Suite,
    *,
    template: PromptTemplate | None = None,
    config: RunConfig | None = None,
    runner: Runner | None = None,
    case_ids: Collection[str] | None = None,
    store: RecordingStore | None = None,
) -> RunResults:
    """Run a suite's cases, optionally against an in-memory ``template`` -- the hook for
    perturbations and the optimizer, which try many variants of a prompt without writing
    a file.

    Pass a ``runner`` to reuse one client and event loop across many calls (it is left
    open; close it when done); otherwise one is made from ``config`` and closed.
    ``case_ids`` limits the run to those case ids. Result ids are the same as for the
    original prompt, so a variant's results compare case by case with the original's
    (:func:`promptkit.runner.baseline.compare`).
    """
    from promptkit._version import __version__

    own = runner is None
    run_with = runner if runner is not None else Runner(config)
    jobs = jobs_for_suite(suite, model_override=run_with.config.model, template=template, store=store)
    if case_ids is not None:
        wanted = set(case_ids)
        jobs = [j for j in jobs if j.case_id in wanted]
    started = _now()
    try:
        cases = run_with.run(jobs)
    finally:
        if own:
            run_with.close()
    return RunResults(started_at=started, finished_at=_now(), mode=run_with.config.mode.value,
                      promptkit_version=__version__, cases=cases)


def run_suites(paths: Iterable[str | Path], config: RunConfig | None = None) -> RunResults:
    """Load and run suites from Python; returns the whole run's results."""
    from promptkit._version import __version__
    from promptkit.runner.suite_file import load_suite

    runner = Runner(config)
    jobs: list[CaseJob] = []
    templates: dict[Path, PromptTemplate] = {}  # a prompt shared by several suites loads once
    for p in paths:
        jobs.extend(jobs_for_suite(load_suite(p), model_override=runner.config.model, templates=templates))
    started = _now()
    try:
        cases = runner.run(jobs)
    finally:
        runner.close()
    return RunResults(started_at=started, finished_at=_now(), mode=runner.config.mode.value,
                      promptkit_version=__version__, cases=cases)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
