"""The search: deterministic repairs, then critique -> propose -> staged evaluation rounds
with a small beam, then ddmin over the hunks of the best safe candidate.

In the spirit of ProTeGi/APO (textual "gradients" from failing cases), GEPA (per-case
feedback from the assertions, minibatch gate before the full set) and GRACE (an update is
rejected when it breaks what worked). The differences: candidates are rewrites of the
failing *sections* only, never of the whole prompt; every candidate is checked locally
(re-load, variables, front matter, lint) before any model sees it; acceptance is per
case, never by a mean; and the result is a minimal, version-bumped patch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptkit.diagnostics import PromptkitError
from promptkit.optimize.budget import Budget, Meter, Spend
from promptkit.optimize.candidate import Candidate, problems
from promptkit.optimize.evaluate import BudgetExhausted, Evaluator, PerturbGate, Verdict
from promptkit.optimize.evidence import Evidence, of_case
from promptkit.optimize.patch import Patch, apply_hunks, ddmin, finish, hunks
from promptkit.optimize.proposer import Proposer, ProposerFormatError, build, parse_reply, sections
from promptkit.optimize.repairs import repairs

if TYPE_CHECKING:
    from promptkit.runner import RunConfig, RunResults, Suite
    from promptkit.template import PromptTemplate


class OptimizeError(PromptkitError):
    """Bad input to the optimizer (a results file of another suite, a budget of 0...);
    ``.diagnostic`` says what and how to fix it. The CLI prints it and exits 2."""


@dataclass
class Suggestion:
    """What a search found. ``status``: ``fixed`` (every failing case passes, nothing
    breaks), ``partial`` (some fixed, nothing breaks), ``none`` (no safe patch within the
    budget), ``nothing-failing``, or ``errors`` (no case fails but some ended in ERROR: the
    run could not judge the prompt, so "nothing to fix" would be a false all-clear)."""

    suite: str
    prompt: str
    status: str
    budget: Budget
    spent: Spend
    patch: Patch | None = None
    fixed: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)
    failing_before: list[str] = field(default_factory=list)
    rationale: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    best_rejected: Candidate | None = None
    message: str = ""
    proposer_errors: list[str] = field(default_factory=list)
    accepted: Candidate | None = None
    original_file_bytes: bytes = b""

    @property
    def ok(self) -> bool:
        return self.patch is not None


def _problem(path: str, message: str, code: Any, hint: str) -> OptimizeError:
    from promptkit.diagnostics import Diagnostic

    return OptimizeError(Diagnostic(path, message, code=code.code, name=code.name, hint=hint))


def load_baseline(suite: Suite, results: RunResults | str | Path) -> RunResults:
    """The cases of ``suite`` in a results file (or object); a file of another suite is a
    PT040 error naming the suites it does hold."""
    from promptkit.codes import SUGGEST_RESULTS_MISMATCH
    from promptkit.runner import RunResults

    where = "<results>"
    if not isinstance(results, RunResults):
        from promptkit.runner.baseline import load_results

        where = str(results)
        try:  # the one reader of results files: a damaged one is located (file:line:col), never a traceback
            results = load_results(results)
        except PromptkitError as exc:
            raise OptimizeError(exc.diagnostic) from None
    mine = [c for c in results.cases if c.suite == suite.name]
    if not mine:
        held = sorted({c.suite for c in results.cases})
        raise _problem(where, f"the results file holds no case of {suite.name} "
                       f"(it holds {', '.join(held) if held else 'no cases at all'})", SUGGEST_RESULTS_MISMATCH,
                       f"run `promptkit test {suite.name}` first, or give the results file of that suite")
    return results.model_copy(update={"cases": mine})


def _rank(c: Candidate) -> tuple[int, float, int]:
    v = c.verdict
    assert v is not None
    return (len(v.fixed), v.score_after, -c.changed_lines)


def suggest(
    suite: Suite | str | Path,
    *,
    results: RunResults | str | Path | None = None,
    config: RunConfig | None = None,
    budget: Budget | None = None,
    proposer_model: str | None = None,
    recordings: str | Path | None = None,
    prompt: str | Path | None = None,
    perturb: PerturbGate | None = None,
    progress: Callable[[str], None] | None = None,
) -> Suggestion:
    """Find the smallest safe patch of the suite's failing prompt.

    ``results``: a results file (or object) of a run of this suite; without it the suite
    runs first. ``config``: how target calls are made (mode, model override, api_base).
    ``budget`` and ``proposer_model`` default to the project's ``[tool.promptkit.optimize]``
    table (:mod:`promptkit.optimize.settings`), else 60 calls and the suite's first model.
    ``proposer_model``: the model for the critique and proposer calls. ``recordings``: where candidate and meta calls are recorded
    (default ``<suite dir>/__recordings__/<suite>.optimize``). Nothing is written to the
    prompt: the result carries the patch (see :func:`apply`)."""
    from promptkit.codes import SUGGEST_BAD_BUDGET
    from promptkit.runner import Mode, Outcome, RunConfig, Runner, load_suite, run_cases
    from promptkit.runner.recordings import RecordingStore

    say = progress or (lambda _msg: None)
    if not isinstance(suite, (str, Path)):
        loaded = suite
    else:
        loaded = load_suite(suite)
    if budget is None or proposer_model is None:  # the project's [tool.promptkit.optimize] defaults
        from promptkit.optimize.settings import budget_from, load_optimize_settings

        table = load_optimize_settings(loaded.path if loaded.path else None)
        budget = budget or budget_from(table)
        proposer_model = proposer_model or table.proposer
    suite_name = loaded.name
    bad = budget.problem()
    if bad:
        raise _problem(suite_name, bad[0], SUGGEST_BAD_BUDGET, bad[1])
    if results is None:
        _check_first_run_fits(loaded, budget)
    config = config or RunConfig()
    meter = Meter(budget)
    store = RecordingStore(Path(recordings)) if recordings else RecordingStore(
        (loaded.path.parent if loaded.path else Path.cwd()) / "__recordings__" / f"{(loaded.path.name.split('.')[0] if loaded.path else 'suite')}.optimize")
    runner = Runner(config)
    meta_config = RunConfig(mode=config.mode if config.mode is not Mode.LIVE else Mode.LIVE, concurrency=config.concurrency,
                            api_base=config.api_base, api_key=config.api_key, timeout_s=config.timeout_s,
                            allow_endpoints=config.allow_endpoints, progress=False)
    meta_runner = Runner(meta_config)
    try:
        if results is not None:
            baseline = load_baseline(loaded, results)
        else:
            say(f"running {suite_name} to find its failing cases")
            baseline = run_cases(loaded, runner=runner)
            for c in baseline.cases:  # the optimizer's own run counts against its budget
                answers = sum(1 for x in c.samples if x.output is not None)
                live = sum(1 for x in c.samples if x.output is not None and not x.from_recording)
                meter.spent.add(calls=answers, live=live, tokens=c.usage.total_tokens, cost_usd=c.usage.cost_usd)
        return _search(loaded, baseline, runner, meta_runner, store, meter, config, proposer_model, prompt, perturb, say)
    finally:
        runner.close()
        meta_runner.close()


def _check_first_run_fits(suite: Suite, budget: Budget) -> None:
    """Refuse, before any call, a call budget the suite's own first run would overspend:
    that run answers every case (``repeat`` times each) and counts against the budget, so
    ``--max-calls 1`` on a two-case suite would otherwise spend two."""
    from promptkit.codes import SUGGEST_BAD_BUDGET

    if budget.calls is None:
        return
    try:
        needed = sum(run.case.repeat for run in suite.expand())
    except Exception:  # noqa: BLE001 - the run itself reports a suite that cannot expand, with its location
        return
    if needed > budget.calls:
        raise _problem(suite.name, f"running the suite to find its failing cases takes {needed} model calls, more than "
                                   f"the budget of {budget.calls}", SUGGEST_BAD_BUDGET,
                       f"give --max-calls {needed} or more (each search step needs more on top), or --results FILE "
                       "with the results of a run you already made (then that run costs nothing)")


def _pick_prompt(suite: Suite, baseline: RunResults, prompt: str | Path | None) -> PromptTemplate | None:
    import promptkit
    from promptkit.runner import Outcome
    from promptkit.runner.suite import same_file

    files = suite.prompt_files()
    if prompt is not None:
        chosen = [p for p in files if same_file(p, Path(prompt))]
        return promptkit.load(chosen[0]) if chosen else None
    counts: dict[str, int] = {}
    for c in baseline.cases:
        if c.outcome is Outcome.FAIL:
            counts[c.prompt] = counts.get(c.prompt, 0) + 1
    if not counts:  # no case fails: a failing perturbation row, or the prompt whose perturbations may
        from promptkit.optimize.robustness import has_perturbations

        for r in baseline.robustness:
            if r.outcome is Outcome.FAIL:
                counts[r.prompt] = counts.get(r.prompt, 0) + 1
        if not counts and has_perturbations(suite):
            runs = [cr for cr in suite.expand() if cr.case.perturb]
            return promptkit.load(runs[0].template_path) if runs else None
    if not counts:
        return None
    worst = max(counts, key=lambda k: counts[k])
    for p in files:
        if same_file(p, Path(worst)) or p.name == Path(worst).name:
            return promptkit.load(p)
    return promptkit.load(files[0]) if files else None


def _search(suite: Suite, baseline: RunResults, runner: Any, meta_runner: Any, store: Any, meter: Meter,
            config: RunConfig, proposer_model: str | None, prompt: str | Path | None,
            perturb: PerturbGate | None, say: Callable[[str], None]) -> Suggestion:
    from promptkit.optimize.candidate import _lint_counts
    from promptkit.runner import Outcome

    original = _pick_prompt(suite, baseline, prompt)
    if original is not None and perturb is None:
        from promptkit.optimize.robustness import gate_for

        perturb = gate_for(suite, original, runner, meter, say=say)
    out = Suggestion(suite.name, str(original.path) if original else "", "nothing-failing", meter.budget, meter.spent)
    if original is None:
        errored = [c for c in baseline.cases if c.outcome is Outcome.ERROR]
        if errored:  # not "nothing to fix": the run could not judge the prompt at all
            out.status = "errors"
            out.message = (f"{len(errored)} of {len(baseline.cases)} case(s) ended in ERROR, which no prompt edit fixes; "
                           f"first: {errored[0].case}: {errored[0].first_failure() or 'error'}")
            return out
        out.message = f"nothing to fix: no case of {suite.name} fails"
        return out
    out.prompt = str(original.path)
    out.original_file_bytes = (("\ufeff" if original.had_bom else "") + original.text).encode("utf-8")
    ev = Evaluator(suite, original, baseline, runner, meter, store=store, perturb=perturb,
                   on_batch=lambda stage, n: say(f"  evaluating on {stage}: {n} call(s)"))
    from promptkit.optimize.robustness import RobustnessGate, row_evidence
    from promptkit.optimize.robustness import failures as robustness_failures

    robust_rows: list[Any] = []
    if not ev.failing and isinstance(perturb, RobustnessGate):
        say("no case fails: running the perturbations to check robustness")
        try:
            robust_rows = perturb.failing()
        except BudgetExhausted as exc:
            out.status, out.message = "none", f"no safe patch found within the budget: stopped: {exc}"
            return out
        ev.robust_targets = [f"{r.case}~{r.operator}" for r in robust_rows]
    if not ev.failing and not ev.robust_targets:
        out.message = f"nothing to fix: no case of {suite.name} fails" + (
            " and no perturbation row is below its min_pass_rate" if isinstance(perturb, RobustnessGate) else "")
        return out
    out.failing_before = list(ev.failing or ev.robust_targets)
    specs = {cr.case.id: cr.assertions for cr in ev.runs}
    evidence = Evidence()
    for c in baseline.cases:
        if c.case not in specs:
            continue
        e = of_case(c, specs.get(c.case))
        (evidence.failing if c.outcome is Outcome.FAIL else evidence.passing if c.outcome is Outcome.PASS else evidence.errored).append(e)
    evidence.robustness = ([row_evidence(r, suite) for r in robust_rows] if robust_rows
                           else robustness_failures(baseline, out.prompt, suite))
    if ev.failing:
        say(f"{len(ev.failing)} failing case(s) of {len(ev.case_ids)}: {', '.join(ev.failing)}; "
            f"budget: {meter.budget.describe()}")
    else:
        say(f"{len(ev.robust_targets)} failing robustness row(s): "
            + ", ".join(f"{r.case}~{r.operator} {r.pass_rate:.0%} < {r.min_pass_rate:.0%}" for r in robust_rows)
            + f"; budget: {meter.budget.describe()}")
    lint_before = _lint_counts(original)
    seen: set[str] = {original.text}

    def consider(c: Candidate) -> Candidate:
        out.candidates.append(c)
        if c.rejected is None:
            if c.text in seen:
                c.rejected = "same as an earlier candidate"
            else:
                c.rejected = problems(original, c.template, lint_before=lint_before)
        if c.rejected is None:
            seen.add(c.text)
            c.changed_lines = sum(max(h.text.count("\n"), original.text.count("\n", h.start, h.end)) or 1
                                  for h in hunks(original.text, c.text))
            try:
                c.verdict = ev.judge(c.template)
            except BudgetExhausted as exc:
                c.rejected = f"not evaluated: {exc}"
                raise
        say(f"  {c.source}: {c.status()}")
        return c

    def better(c: Candidate, than: Candidate | None) -> bool:
        return c.verdict is not None and c.verdict.accepted and (than is None or _rank(c) > _rank(than))

    best: Candidate | None = None
    try:
        # 1. deterministic repairs, greedily stacked while each one improves
        parent_t = original
        say("deterministic repairs")
        for _ in range(3):
            progressed = False
            for c in repairs(parent_t, evidence):
                c.parent = best
                consider(c)
                if better(c, best):
                    best, parent_t, progressed = c, c.template, True
                    if best.verdict and best.verdict.complete:
                        break
            if not progressed or (best and best.verdict and best.verdict.complete):
                break
        # 2. critique -> propose rounds with a small beam
        beam: list[Candidate] = [best] if best is not None else []
        model = proposer_model or config.model or (suite.models[0].id if suite.models else None) \
            or (original.front_matter.model.litellm_id if original.front_matter.model else None)
        proposer = Proposer(model or "openai/gpt-4o-mini", meta_runner, store, meter)
        proposer.robustness = evidence.robustness
        stale = 0
        asked: set[tuple[str, tuple[str, ...]]] = set()
        for rnd in range(1, meter.budget.rounds + 1):
            if best is not None and best.verdict is not None and best.verdict.complete:
                break
            parents = beam[: meter.budget.beam] or [None]
            new_beam: list[Candidate] = []
            produced = 0
            asked_now = 0
            for parent in parents:
                pt = parent.template if parent is not None else original
                still = set(parent.verdict.still_failing) if parent and parent.verdict else set(ev.failing)
                failing_now = [e for e in evidence.failing if e.case in still] or evidence.failing
                request = (pt.text, tuple(sorted(e.case for e in failing_now)))
                if request in asked:  # the same question again: spend nothing on the same answer
                    continue
                asked.add(request)
                asked_now += 1
                if not meter.allows(2):
                    raise BudgetExhausted("no budget left for a critique and a proposer call")
                passing = evidence.passing[:3]
                say(f"round {rnd}: critique and {meter.budget.candidates} proposals"
                    + (f" from {parent.source}" if parent else ""))
                try:
                    critique = proposer.critique(pt, failing_now, passing)
                    reply = proposer.propose(pt, failing_now, passing, critique, meter.budget.candidates)
                    proposals = parse_reply(reply, [x.id for x in sections(pt)])
                except ProposerFormatError as exc:
                    out.proposer_errors.append(str(exc))
                    say(f"  proposer: {exc}")
                    continue
                for p in proposals[: meter.budget.candidates]:
                    c = build(pt, p, rnd)
                    c.parent = parent
                    consider(c)
                    if c.verdict is not None and c.verdict.accepted and (parent is None or _rank(c) > _rank(parent)):
                        new_beam.append(c)
                        produced += 1
                        if better(c, best):
                            best = c
                        if c.verdict.complete:
                            break
                if best is not None and best.verdict is not None and best.verdict.complete:
                    break
            if not asked_now:
                say(f"round {rnd}: nothing new to ask the proposer (same prompt, same failures); stopping")
                break
            if new_beam:
                beam = sorted(new_beam + beam, key=_rank, reverse=True)[: meter.budget.beam]
                stale = 0
            else:
                stale += 1
                if stale >= 2:
                    break
    except BudgetExhausted as exc:
        say(f"budget: {exc}")
        out.message = f"stopped: {exc}"

    if best is None:
        out.status = "none"
        rejected = [c for c in out.candidates if c.verdict is not None]
        if rejected:
            out.best_rejected = max(rejected, key=lambda c: (len(c.verdict.fixed) - len(c.verdict.regressed),  # type: ignore[union-attr]
                                                              c.verdict.score_after))  # type: ignore[union-attr]
        elif out.candidates:
            out.best_rejected = out.candidates[-1]
        reason = out.message or "no candidate fixed a failing case without breaking a passing one"
        if out.proposer_errors and not any(c.source.startswith("proposer") for c in out.candidates):
            from promptkit.codes import SUGGEST_PROPOSER_FORMAT

            reason = f"{SUGGEST_PROPOSER_FORMAT.code} the proposer's reply was not in the requested format: {out.proposer_errors[0]}"
        out.message = f"no safe patch found within the budget: {reason}"
        return out

    # 3. minimal patch: drop every hunk the fix does not need
    accepted = best
    assert accepted.verdict is not None
    need = set(accepted.verdict.fixed)
    parts = hunks(original.text, accepted.text)
    final_t = accepted.template
    if len(parts) > 1:
        say(f"ddmin over {len(parts)} hunks")

        def holds(subset: list[Any]) -> bool:
            t = apply_hunks(original, subset)
            if t is None or problems(original, t, lint_before=lint_before):
                return False
            try:
                v = ev.judge(t)
            except BudgetExhausted:
                return False
            return v.accepted and need <= set(v.fixed)

        keep = ddmin(parts, holds)
        if len(keep) < len(parts):
            shrunk = apply_hunks(original, keep)
            if shrunk is not None:
                final_t = shrunk
                v = ev.judge(final_t)
                out.candidates.append(Candidate("ddmin", f"kept {len(keep)} of {len(parts)} hunks", final_t, verdict=v))
                accepted = out.candidates[-1]
    out.accepted = accepted
    out.patch = finish(original, final_t, _display(original.path))
    verdict: Verdict = accepted.verdict  # type: ignore[assignment]
    out.fixed = list(verdict.fixed)
    out.still_failing = list(verdict.still_failing)
    out.status = "fixed" if not out.still_failing else "partial"
    chain: list[str] = []
    c: Candidate | None = best
    while c is not None:
        chain.append(c.hypothesis)
        c = c.parent
    out.rationale = list(reversed(chain))
    if not out.message:
        out.message = (f"fixes {len(out.fixed)} of {len(out.failing_before)} failing case(s) and breaks none"
                       if out.status == "fixed" else
                       f"fixes {len(out.fixed)} of {len(out.failing_before)} failing case(s) and breaks none; "
                       f"still failing: {', '.join(out.still_failing)}")
    return out


def _display(path: str | Path) -> str:
    from promptkit.paths import shown

    return shown(path)


def apply(suggestion: Suggestion) -> Path:
    """Write the suggestion's patch to its prompt file: the text the edit service produced
    (version bumped, BOM and line endings kept), written atomically and durably, only if
    the file is still what the search started from. Raises ``ValueError`` otherwise."""
    import os

    from promptkit.atomic import write_atomic
    from promptkit.template.source import read_bytes

    if suggestion.patch is None:
        raise ValueError("this suggestion has no patch to apply")
    path = Path(suggestion.prompt)
    expected = suggestion.original_file_bytes

    def unchanged() -> bool:
        if read_bytes(path, max_bytes=16 * 1024 * 1024) != expected:
            raise ValueError(f"{path} changed since the search; run promptkit suggest again")
        return True

    unchanged()
    mode = os.stat(path).st_mode & 0o777
    write_atomic(path, suggestion.patch.file_text.encode("utf-8"), durable=True, mode=mode, before_replace=unchanged)
    return path


__all__ = ["OptimizeError", "Suggestion", "apply", "load_baseline", "suggest"]
