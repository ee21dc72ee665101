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
import contextlib
import functools
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from promptkit.diagnostics import PromptkitError
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


@dataclass
class RunConfig:
    """How a run calls models. ``model`` overrides every case's model; ``api_base`` and
    ``api_key`` override where calls go (a local server) without changing recording keys."""

    mode: Mode = field(default_factory=default_mode)
    concurrency: int = 8
    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    timeout_s: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    progress: bool | None = None  # None: a progress bar on a TTY for runs of 20+ cases
    #: case id -> the baseline run's output, for the ``pairwise`` assertion
    baseline_outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class CaseJob:
    """One unit of work: a case run plus where its suite lives (for ids and recordings).

    ``case_run`` is C1's ``CaseRun`` (``case``, ``model``, ``template_path``, ``vars``);
    anything with those attributes works, which is how the Python API builds ad-hoc jobs.
    """

    case_run: Any
    suite_path: str
    store: RecordingStore
    judge_model: str | None = None
    judge_params: dict[str, Any] = field(default_factory=dict)
    base_dir: str | None = None

    @property
    def case_id(self) -> str:
        return str(self.case_run.case.id)

    @property
    def model_label(self) -> str:
        return model_label(self.case_run.model)

    @property
    def result_id(self) -> str:
        rid = getattr(self.case_run, "id", None)
        return rid if isinstance(rid, str) else f"{self.suite_path}::{self.case_id}[{self.model_label}]"


def model_label(target: Any) -> str:
    if target is None:
        return "default"
    return str(getattr(target, "label", None) or getattr(target, "id", None) or target)


@functools.lru_cache(maxsize=1024)
def _display_path(path: str | Path) -> str:
    """``path`` relative to the working directory when inside it (cached: resolving costs
    a system call per path component, and every case asks)."""
    p = Path(path)
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()


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
        )
        self.recorder = Recorder(self.config.mode, self._call)
        self._templates: dict[str, Any] = {}
        self._loop: _LoopThread | None = None

    async def _call(self, model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> ModelResponse:
        return await self.client.complete(model, messages, params)

    # ------------------------------------------------------------------ public API
    def run(self, jobs: Sequence[CaseJob]) -> list[CaseResult]:
        """Run ``jobs`` to completion (sync wrapper). Results come back in job order.

        Every batch of one runner runs on the same event loop (a background thread):
        litellm and httpx cache connection pools per loop, and a fresh ``asyncio.run``
        per batch would strand them. It also makes this callable from code that is
        itself inside a running loop.
        """
        if self._loop is None:
            self._loop = _LoopThread()
        return self._loop.run(self.run_async(jobs))

    def close(self) -> None:
        """Stop the background loop (idempotent)."""
        if self._loop is not None:
            self._loop.stop()
            self._loop = None

    async def run_async(self, jobs: Sequence[CaseJob]) -> list[CaseResult]:
        case_sem = asyncio.Semaphore(max(4, self.config.concurrency * 2))
        progress = self._progress(len(jobs))

        async def one(job: CaseJob) -> CaseResult:
            async with case_sem:
                try:
                    result = await self.run_case(job)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one broken case never loses the others
                    result = _error_result(job, f"internal error: {type(exc).__name__}: {exc}", "please report this")
            if progress is not None:
                progress[0].advance(progress[1])
            return result

        try:
            if progress is not None:
                progress[0].start()
            return list(await asyncio.gather(*(one(j) for j in jobs)))
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
    def _template(self, path: str) -> Any:
        tpl = self._templates.get(path)
        if tpl is None:
            from promptkit.template import load

            tpl = self._templates[path] = load(path)
        return tpl

    async def run_case(self, job: CaseJob) -> CaseResult:
        cr = job.case_run
        case = cr.case
        repeat = max(1, int(getattr(case, "repeat", None) or 1))
        min_pass = int(getattr(case, "required_passes", None) or getattr(case, "min_pass", None) or repeat)
        base = CaseResult(
            id=job.result_id, suite=job.suite_path, case=job.case_id, model=job.model_label,
            prompt=_display_path(cr.template_path) if cr.template_path else "", outcome=Outcome.ERROR,
            repeat=repeat, min_pass=min_pass, flaky=bool(getattr(case, "flaky", False)), vars=dict(cr.vars or {}),
        )
        # 1. render
        try:
            from promptkit.template import render

            template = self._template(str(cr.template_path))
            rendered = render(template, dict(cr.vars or {}))
        except PromptkitError as exc:
            return _finish(base, [SampleResult(outcome=Outcome.ERROR, error=exc.diagnostic.format(), hint=exc.diagnostic.hint or None)])
        messages = [{"role": m.role, "content": m.content} for m in rendered]
        # 2. model and parameters: template's, then the suite's target, then the override
        model_id, params = self._model_and_params(template, cr)
        if not model_id:
            return _finish(base, [SampleResult(outcome=Outcome.ERROR, error="no model: the suite lists no models and the template names none",
                                               hint="add `models: [openai/gpt-4o-mini]` to the suite or pass --promptkit-model")])
        base.model = job.model_label if self.config.model is None else self.config.model
        timeout = getattr(case, "timeout_s", None)
        if timeout:
            params["timeout"] = float(timeout)
        # 3. samples
        responses = await self.recorder.samples(job.store, model_id, messages, params, repeat,
                                                suite_path=job.suite_path, case_id=job.case_id)
        # 4. assertions, per sample
        ctx = self._context(job, template, messages, model_id, params)
        specs = list(getattr(cr, "assertions", None) or getattr(case, "assertions", None) or [])
        threshold = getattr(cr, "threshold", None)
        if threshold is None:
            threshold = getattr(case, "threshold", None)
        samples = await asyncio.gather(*(self._evaluate(specs, threshold, r, ctx) for r in responses))
        base.recordings_hit = sum(1 for r in responses if isinstance(r, ModelResponse) and r.from_recording)
        base.recordings_missed = sum(1 for r in responses if isinstance(r, ProviderError) and r.kind == "missing_recording") + \
            sum(1 for r in responses if isinstance(r, ModelResponse) and not r.from_recording)
        return _finish(base, list(samples))

    def _model_and_params(self, template: Any, cr: Any) -> tuple[str | None, dict[str, Any]]:
        params: dict[str, Any] = {}
        spec = getattr(getattr(template, "front_matter", None), "model", None)
        target = getattr(cr, "model", None)
        if spec is not None:
            params.update(spec.params)
        model_id = spec.litellm_id if spec is not None else None
        if target is not None:
            model_id = getattr(target, "id", None) or model_id
            params.update(dict(getattr(target, "params", None) or {}))
        params.update(dict(getattr(cr, "params", None) or {}))  # already merged by Suite.expand
        # Prompty's ${env:VAR} placeholders are connection settings, not call parameters
        params = {k: v for k, v in params.items() if not (isinstance(v, str) and v.startswith("${"))}
        if self.config.model:
            model_id = self.config.model
        return model_id, params

    def _context(self, job: CaseJob, template: Any, messages: list[dict[str, Any]], model_id: str, params: dict[str, Any]) -> Any:
        from promptkit.runner.assertions import AssertionContext

        judge_params = dict(job.judge_params)
        judge_target = getattr(job.case_run, "judge", None)
        judge_model = job.judge_model or getattr(judge_target, "id", None)
        if judge_target is not None and not job.judge_params:
            judge_params = dict(getattr(judge_target, "params", None) or {})

        async def judge(jmessages: list[dict[str, Any]], jmodel: str | None, jparams: dict[str, Any]) -> ModelResponse:
            use = jmodel or judge_model or model_id
            merged = {**judge_params, **(jparams or {})}
            out = await self.recorder.samples(job.store, use, jmessages, merged, 1, suite_path=job.suite_path, case_id=job.case_id)
            first = out[0]
            if isinstance(first, ProviderError):
                raise first
            return first

        return AssertionContext(
            vars=dict(job.case_run.vars or {}), case=job.case_run.case, template_path=job.case_run.template_path,
            messages=messages, judge=judge, baseline_output=self.config.baseline_outputs.get(job.result_id),
            base_dir=job.base_dir or str(Path(job.suite_path).parent),
            judge_model=judge_model, judge_params=judge_params,
        )

    async def _evaluate(self, specs: list[Any], threshold: float | None, response: ModelResponse | ProviderError,
                        ctx: Any) -> SampleResult:
        if isinstance(response, ProviderError):
            return SampleResult(outcome=Outcome.ERROR, error=str(response), hint=response.hint or None)
        from promptkit.runner.assertions import evaluate, verdict

        results: list[AssertionResult] = await evaluate(specs, response, ctx)
        outcome, score = verdict(results, threshold)
        usage = response.usage
        for r in results:
            usage = usage + r.usage
        errors = [r.reason for r in results if r.error]
        return SampleResult(outcome=outcome, output=response.text, score=score, assertions=results, usage=usage,
                            from_recording=response.from_recording, error="; ".join(errors) or None)


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
                      prompt=str(cr.template_path or ""), outcome=Outcome.ERROR, flaky=bool(getattr(cr.case, "flaky", False)),
                      samples=[SampleResult(outcome=Outcome.ERROR, error=message, hint=hint or None)])


class _LoopThread:
    """An event loop in a daemon thread, for running coroutines from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="promptkit-runner-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

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


def jobs_for_suite(suite: Any, *, model_override: str | None = None) -> list[CaseJob]:
    """Expand a loaded suite (C1's ``Suite``) into jobs. With a model override each case
    runs once, on the override, instead of once per listed model."""
    suite_path = _display_path(suite.path)
    store = RecordingStore.for_suite(suite.path)
    defaults = getattr(suite, "defaults", None)
    judge = getattr(defaults, "judge", None)
    judge_model = getattr(judge, "id", None) if judge is not None and not isinstance(judge, str) else judge
    judge_params = dict(getattr(judge, "params", None) or {}) if judge is not None and not isinstance(judge, str) else {}
    jobs: list[CaseJob] = []
    seen: set[str] = set()
    for cr in suite.expand():
        if model_override:
            if cr.case.id in seen:
                continue
            seen.add(cr.case.id)
            cr = _with_model(cr, model_override)
        jobs.append(CaseJob(case_run=cr, suite_path=suite_path, store=store, judge_model=judge_model,
                            judge_params=judge_params, base_dir=str(Path(suite.path).parent)))
    return jobs


def _with_model(cr: Any, model: str) -> Any:
    target = cr.model
    try:
        new_target = target.model_copy(update={"id": model, "label": model}) if target is not None else None
    except AttributeError:
        new_target = None
    if new_target is None:
        new_target = _Target(id=model, params=dict(getattr(target, "params", None) or {}), label=model)
    try:
        return cr.model_copy(update={"model": new_target})
    except AttributeError:
        import copy

        out = copy.copy(cr)
        out.model = new_target
        return out


@dataclass
class _Target:
    id: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str | None = None


def run_suites(paths: Iterable[str | Path], config: RunConfig | None = None) -> RunResults:
    """Load and run suites from Python; returns the whole run's results."""
    from promptkit._version import __version__
    from promptkit.runner.suite import load_suite

    runner = Runner(config)
    jobs: list[CaseJob] = []
    for p in paths:
        jobs.extend(jobs_for_suite(load_suite(p), model_override=runner.config.model))
    started = _now()
    try:
        cases = runner.run(jobs)
    finally:
        runner.close()
    return RunResults(started_at=started, finished_at=_now(), mode=runner.config.mode.value,
                      promptkit_version=__version__, cases=cases)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
