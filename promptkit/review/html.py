"""``promptkit report``: one self-contained static HTML file of a run.

Everything is inline (CSS, a few lines of script, the robustness chart as SVG), and a
Content-Security-Policy forbids every network fetch, so the file opens from a CI artifact,
an e-mail or an air-gapped laptop and shows the same thing. Model outputs and prompt text
are escaped (an output that says ``<script>`` is shown, never run) and secret-looking
values are masked (:mod:`promptkit.redact`).

Sections: totals (cases, outcomes, tokens, cost), the pass/fail matrix of prompts x models,
each failure with its output and assertion reasons, robustness per perturbation operator as
a bar chart, the results delta against a base run, and the prompt diffs of a revision range.

Robustness figures are read from whatever the results hold, so files from before and after
the perturbation runner added them both work: promptkit's own ``robustness`` rows (one per
case x model x operator, :class:`~promptkit.runner.results.RobustnessResult`: pooled per
operator, with PDR, spread, attack success and the worst variant), a mapping (operator ->
rate, or -> ``{pass_rate | rate | score | passed/total}``) or a list of such records from
other tools, or per-case ``perturbation`` / ``perturb`` / ``operator`` fields (aggregated by
operator from the cases' outcomes). With none, the section says so.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptkit.redact import redact
from promptkit.runner.results import CaseResult, Outcome, RunResults

__all__ = ["build_report", "robustness_by_operator"]

_MAX_OUTPUT = 4000


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- robustness


def _rate(value: Any) -> tuple[float, int | None] | None:
    """(rate 0..1, sample count or None) from the shapes a robustness figure may take."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        v = float(value)
        return (v / 100 if v > 1 else v), None
    if isinstance(value, dict):
        for key in ("pass_rate", "robustness", "rate", "score", "mean"):
            if isinstance(value.get(key), (int, float)) and not isinstance(value.get(key), bool):
                n = value.get("total") or value.get("cases") or value.get("n")
                r = float(value[key])
                return (r / 100 if r > 1 else r), n if isinstance(n, int) else None
        passed, total = value.get("passed", value.get("passes")), value.get("total", value.get("cases"))
        if isinstance(passed, int) and isinstance(total, int) and total > 0:
            return passed / total, total
    return None


def _operator_of(case: dict[str, Any]) -> str | None:
    for key in ("perturbation", "perturb", "operator"):
        v = case.get(key)
        if isinstance(v, str) and v:
            return v
        if isinstance(v, dict):
            name = v.get("operator") or v.get("name") or v.get("op")
            if isinstance(name, str) and name:
                return name
    return None


def robustness_by_operator(raw_files: Sequence[dict[str, Any]]) -> dict[str, tuple[float, int | None]]:
    """Operator -> (pass rate, variants) from the raw JSON of results files (any shape
    described in the module docstring; unknown shapes are skipped, never an error).

    promptkit's own rows (``robustness: [{operator, variants, passed, errored, ...}]``, one
    per case x model x operator) are pooled per operator: passing variants over variants
    that did not ERROR, across every case."""
    out: dict[str, tuple[float, int | None]] = {}
    for data in raw_files:
        rob = data.get("robustness") if isinstance(data, dict) else None
        found: dict[str, tuple[float, int | None]] = {}
        if isinstance(rob, dict):
            for k, v in rob.items():
                if isinstance(v, dict) and isinstance(v.get("operators"), dict):
                    for op, fig in v["operators"].items():
                        r = _rate(fig)
                        if r:
                            found[str(op)] = r
                    continue
                r = _rate(v)
                if r is not None:
                    found[str(k)] = r
        elif isinstance(rob, list):
            pooled: dict[str, list[float]] = {}
            for item in rob:
                if not isinstance(item, dict) or not isinstance(item.get("operator"), str):
                    continue
                variants, passed = item.get("variants"), item.get("passed")
                if isinstance(variants, int) and isinstance(passed, int) and not isinstance(variants, bool):
                    decided = variants - (item.get("errored") if isinstance(item.get("errored"), int) else 0)
                    if decided > 0:
                        acc = pooled.setdefault(item["operator"], [0, 0])
                        acc[0] += passed
                        acc[1] += decided
                    continue
                r = _rate(item)
                if r is not None:
                    found[item["operator"]] = r
            found.update({op: (p / n, int(n)) for op, (p, n) in pooled.items() if n})
        if not found:
            counts: dict[str, list[int]] = {}
            for case in data.get("cases", []) if isinstance(data, dict) else []:
                if not isinstance(case, dict):
                    continue
                op = _operator_of(case)
                if op is None or case.get("outcome") == "error":
                    continue
                c = counts.setdefault(op, [0, 0])
                c[0] += case.get("outcome") == "pass"
                c[1] += 1
            found = {op: (p / n, n) for op, (p, n) in counts.items() if n}
        for op, (rate, n) in found.items():  # several files (shards): pool again
            if op in out and out[op][1] and n:
                (r0, n0) = out[op]
                out[op] = ((r0 * n0 + rate * n) / (n0 + n), n0 + n)  # type: ignore[operator]
            else:
                out[op] = (rate, n)
    return dict(sorted(out.items()))


def _robustness_table(rows: list[Any]) -> str:
    """The per-operator detail of promptkit's own robustness rows: pass rate, PDR, spread,
    attack success, and the worst variant (its diff and output)."""
    if not rows:
        return ""
    by: dict[str, list[Any]] = {}
    for r in rows:
        by.setdefault(r.operator, []).append(r)

    def mean(vals: list[float | None]) -> str:
        xs = [v for v in vals if v is not None]
        return f"{sum(xs) / len(xs):.2f}" if xs else "–"

    trs = []
    for op in sorted(by):
        rs = by[op]
        worst = min(rs, key=lambda r: (r.pass_rate if r.pass_rate is not None else 1.0))
        detail = ""
        if worst.worst_diff or worst.worst_output:
            detail = (f"<details><summary>worst: {_e(worst.case)}</summary>"
                      + (f"<pre>{_e(worst.worst_diff)}</pre>" if worst.worst_diff else "")
                      + (f"<pre>{_e(worst.worst_output)}</pre>" if worst.worst_output else "")
                      + (f"<p>{_e(worst.worst_reason)}</p>" if worst.worst_reason else "") + "</details>")
        failing = sum(r.outcome is Outcome.FAIL for r in rs)
        trs.append(f"<tr><td>{_e(op)}</td><td>{_e(rs[0].family)}</td><td>{len(rs)}</td>"
                   f"<td>{sum(r.variants for r in rs)}</td><td>{mean([r.pdr for r in rs])}</td>"
                   f"<td>{mean([r.spread for r in rs])}</td><td>{mean([r.attack_success_rate for r in rs])}</td>"
                   f"<td>{failing}</td><td>{detail}</td></tr>")
    return ("<table><thead><tr><th>operator</th><th>family</th><th>cases</th><th>variants</th><th>mean PDR</th>"
            "<th>mean spread</th><th>attack success</th><th>below min pass rate</th><th></th></tr></thead>"
            f"<tbody>{''.join(trs)}</tbody></table>")


def _chart(figures: dict[str, tuple[float, int | None]]) -> str:
    if not figures:
        return '<p class="muted">No robustness figures in these results (run a suite with <code>perturb:</code>).</p>'
    bar_w, row_h, label_w = 420, 26, 220
    height = row_h * len(figures) + 30
    rows = []
    for i, (op, (rate, n)) in enumerate(sorted(figures.items(), key=lambda kv: kv[1][0])):
        y = 10 + i * row_h
        w = max(1.0, rate * bar_w)
        cls = "good" if rate >= 0.9 else "warn" if rate >= 0.7 else "bad"
        count = f" ({n})" if n else ""
        rows.append(
            f'<g class="bar {cls}"><title>{_e(op)}: {rate:.0%}{count}</title>'
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{_e(op)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="{row_h - 8}" class="track"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}"/>'
            f'<text x="{label_w + bar_w + 8}" y="{y + 17}">{rate:.0%}{_e(count)}</text></g>')
    return (f'<svg class="chart" role="img" aria-label="pass rate per perturbation operator" '
            f'viewBox="0 0 {label_w + bar_w + 90} {height}" width="{label_w + bar_w + 90}" height="{height}">'
            + "".join(rows) + "</svg>")


# --------------------------------------------------------------------------- sections


def _matrix(cases: list[CaseResult]) -> str:
    prompts = sorted({c.prompt for c in cases})
    models = sorted({c.model for c in cases})
    cells: dict[tuple[str, str], list[CaseResult]] = {}
    for c in cases:
        cells.setdefault((c.prompt, c.model), []).append(c)
    head = "".join(f"<th>{_e(m)}</th>" for m in models)
    rows = []
    for p in prompts:
        tds = []
        for m in models:
            group = cells.get((p, m), [])
            if not group:
                tds.append('<td class="none">–</td>')
                continue
            passed = sum(c.outcome is Outcome.PASS for c in group)
            failed = sum(c.outcome is Outcome.FAIL for c in group)
            errors = sum(c.outcome is Outcome.ERROR for c in group)
            decided = passed + failed
            rate = passed / decided if decided else None
            cls = "none" if rate is None else "good" if rate == 1 else "warn" if rate >= 0.7 else "bad"
            extra = f' <span class="err">{errors} error{"s" if errors != 1 else ""}</span>' if errors else ""
            tds.append(f'<td class="{cls}" title="{passed} pass, {failed} fail, {errors} error">'
                       f'{passed}/{len(group)}{extra}</td>')
        rows.append(f"<tr><th class=\"prompt\">{_e(p)}</th>{''.join(tds)}</tr>")
    return f'<table class="matrix"><thead><tr><th>prompt \\ model</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _failures(cases: list[CaseResult]) -> str:
    bad = [c for c in cases if c.outcome is not Outcome.PASS]
    if not bad:
        return '<p class="good-text">Every case passed.</p>'
    out = []
    for c in bad:
        samples = []
        for i, s in enumerate(c.samples):
            if s.outcome is Outcome.PASS:
                continue
            reasons = [f"<li><b>{_e(a.type)}</b>{' (error)' if a.error else ''}: {_e(a.describe(s.output))}</li>"
                       for a in s.assertions if a.error or not a.passed]
            if s.error:
                reasons.append(f"<li><b>error</b>: {_e(s.error)}{' — ' + _e(s.hint) if s.hint else ''}</li>")
            output = s.output if s.output is None or len(s.output) <= _MAX_OUTPUT else s.output[:_MAX_OUTPUT] + "…"
            samples.append(
                f'<div class="sample"><div class="muted">sample {i + 1} of {len(c.samples)}: {_e(s.outcome.value)}</div>'
                f'<ul>{"".join(reasons)}</ul>'
                + (f"<pre>{_e(output)}</pre>" if output is not None else "") + "</div>")
        passes = f"{c.passes}/{c.repeat} samples passed" if c.repeat > 1 else ""
        out.append(f'<details class="failure {c.outcome.value}" data-search="{_e(c.id.lower())}">'
                   f'<summary><span class="tag {c.outcome.value}">{_e(c.outcome.value.upper())}</span> '
                   f'{_e(c.id)} <span class="muted">{_e(passes)}</span></summary>{"".join(samples)}</details>')
    return ('<input id="filter" type="search" placeholder="filter failures by id…" aria-label="filter failures">'
            f'<div id="failures">{"".join(out)}</div>')


def _totals(results: RunResults) -> str:
    counts = results.counts()
    usage = sum((c.usage for c in results.cases), start=type(results.cases[0].usage)()) if results.cases else None
    prompt_t = usage.prompt_tokens if usage else 0
    completion_t = usage.completion_tokens if usage else 0
    cost = usage.cost_usd if usage else 0.0
    hit = sum(c.recordings_hit for c in results.cases)
    missed = sum(c.recordings_missed for c in results.cases)
    cards = [("cases", len(results.cases)), ("pass", counts[Outcome.PASS]), ("fail", counts[Outcome.FAIL]),
             ("error", counts[Outcome.ERROR]), ("prompt tokens", prompt_t), ("completion tokens", completion_t),
             ("cost", f"${cost:.4f}"), ("recordings hit/miss", f"{hit}/{missed}")]
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="num">{_e(v)}</div><div class="muted">{_e(k)}</div></div>' for k, v in cards) + "</div>"


def _usage_table(cases: list[CaseResult]) -> str:
    from promptkit.runner.report import summarize

    rows = "".join(
        f"<tr><td>{_e(r.prompt)}</td><td>{_e(r.model)}</td><td>{r.usage.prompt_tokens}</td>"
        f"<td>{r.usage.completion_tokens}</td><td>${r.usage.cost_usd:.4f}</td></tr>" for r in summarize(cases))
    return ("<table><thead><tr><th>prompt</th><th>model</th><th>prompt tokens</th><th>completion tokens</th>"
            f"<th>cost</th></tr></thead><tbody>{rows}</tbody></table>")


def _words_html(words: list[tuple[str, str]]) -> str:
    from promptkit.review.output import word_runs

    return " ".join(_e(t) if op == "=" else f"<del>{_e(t)}</del>" if op == "-" else f"<ins>{_e(t)}</ins>"
                    for op, t in word_runs(words))


def _diffs(review: Any) -> str:
    if review is None:
        return '<p class="muted">No revision range given (<code>promptkit report … --diff BASE</code>).</p>'
    if not review.diffs:
        return f"<p>No prompt changed between {_e(review.base)} and {_e(review.head)}.</p>"
    parts = [f'<p class="muted">{_e(review.base)} ({_e(review.base_commit[:7])}) → {_e(review.head)}</p>']
    for d in review.diffs:
        v = review.verdict_for(d.path)
        verdict = ""
        if v is not None:
            verdict = "".join(f'<li class="bad-text">{_e(f.code)} {_e(f.message)} — {_e(f.hint)}</li>' for f in v.findings)
        items = []
        for c in d.components:
            body = f": {_words_html(c.words)}" if c.kind == "changed" else ""
            items.append(f"<li><code>{_e(c.where)}</code> {_e(c.summary().removeprefix(c.where).strip())}{body}</li>")
        items += [f"<li>{'💥 ' if c.breaking else ''}{_e(c.summary())}</li>" for c in d.inputs]
        items += [f"<li>model: {_e(c.summary())}</li>" for c in d.model]
        items += [f"<li>{'💥 ' if c.breaking else ''}output {_e(c.summary())}</li>" for c in d.schema]
        tok = ", ".join(f"{_e(t.message)} {t.before if t.before is not None else '–'} → "
                        f"{t.after if t.after is not None else '–'}" for t in d.tokens)
        name = f"{d.old_path} → {d.path}" if d.old_path else d.path
        parts.append(f'<details open class="diff"><summary><code>{_e(name)}</code> — {_e(d.headline())}, version '
                     f'{_e(d.version_before or "–")} → {_e(d.version_after or "–")}</summary>'
                     f'<ul>{verdict}{"".join(items)}</ul><p class="muted">tokens: {tok}</p></details>')
    return "".join(parts)


def _delta(delta: Any) -> str:
    if delta is None:
        return ""
    c = delta.counts()
    cells = "".join(f"<td>{v}</td>" for v in c.values())
    heads = "".join(f"<th>{_e(k.replace('_', ' '))}</th>" for k in c)
    lists = []
    for bucket in ("newly_failing", "score_down", "unstable", "newly_passing"):
        items = getattr(delta, bucket)
        if items:
            lis = "".join(f"<li>{_e(x.id)}: {_e(x.before)} → {_e(x.after)} ({_e(x.passes_before)} → "
                          f"{_e(x.passes_after)}) {_e(x.reason)}</li>" for x in items[:100])
            lists.append(f"<h3>{_e(bucket.replace('_', ' '))} ({len(items)})</h3><ul>{lis}</ul>")
    return (f"<section><h2>Results delta (base → this run)</h2><table><thead><tr>{heads}</tr></thead>"
            f"<tbody><tr>{cells}</tr></tbody></table>{''.join(lists)}</section>")


_CSS = """
:root{--good:#1a7f37;--warn:#9a6700;--bad:#cf222e;--muted:#57606a;--line:#d0d7de}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:18px 28px;border-bottom:1px solid var(--line);background:#f6f8fa}
main{padding:10px 28px 40px;max-width:1200px}
h1{margin:0;font-size:22px}h2{margin-top:28px;font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px}
.muted{color:var(--muted)}.good-text{color:var(--good)}.bad-text{color:var(--bad)}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:110px}
.card .num{font-size:20px;font-weight:600}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid var(--line);padding:4px 10px;text-align:left}
.matrix td{text-align:center;font-variant-numeric:tabular-nums}
td.good{background:#dafbe1}td.warn{background:#fff8c5}td.bad{background:#ffebe9}td.none{color:var(--muted)}
.err{color:var(--warn);font-size:12px}
details.failure{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:4px 10px}
details.failure[hidden]{display:none}
.tag{font-size:11px;font-weight:700;padding:1px 6px;border-radius:10px;color:#fff}
.tag.fail{background:var(--bad)}.tag.error{background:var(--warn)}
pre{background:#f6f8fa;border:1px solid var(--line);padding:8px;white-space:pre-wrap;word-break:break-word;max-height:320px;overflow:auto}
#filter{padding:5px 8px;width:320px;margin:4px 0 8px;border:1px solid var(--line);border-radius:6px}
svg.chart text{font-size:12px;fill:#1f2328}svg.chart .track{fill:#eaeef2}
svg.chart .good rect:last-of-type{fill:var(--good)}svg.chart .warn rect:last-of-type{fill:var(--warn)}
svg.chart .bad rect:last-of-type{fill:var(--bad)}
del{background:#ffebe9;color:#82071e}ins{background:#dafbe1;color:#055d20;text-decoration:none}
"""

_JS = """
(function(){
  var box=document.getElementById('filter');
  if(box){box.addEventListener('input',function(){
    var q=box.value.toLowerCase();
    document.querySelectorAll('details.failure').forEach(function(d){d.hidden=q&&d.dataset.search.indexOf(q)<0;});
  });}
  document.body.setAttribute('data-ready','1');
})();
"""


def build_report(results_files: Sequence[str | Path], *, review: Any = None, base_results: str | Path | None = None,
                 title: str = "promptkit report") -> str:
    """The report's HTML. Several results files (CI shards) are merged first, with the
    merge the xdist workers use."""
    from promptkit.runner.baseline import load_results
    from promptkit.runner.report import merge

    parts = [load_results(f) for f in results_files]
    results = merge(parts)
    raw: list[dict[str, Any]] = []
    for f in results_files:
        try:
            data = json.loads(Path(f).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            raw.append(data)
    delta = None
    if base_results is not None:
        from promptkit.review.delta import results_delta

        delta = results_delta(load_results(base_results), results)
    figures = robustness_by_operator(raw)
    when = results.finished_at or results.started_at or ""
    body = f"""
<header><h1>{_e(title)}</h1>
<div class="muted">{len(results_files)} results file(s) · mode {_e(results.mode)} · {_e(when)}
{' · <b class="bad-text">interrupted run</b>' if results.interrupted else ''}</div></header>
<main>
<section><h2>Totals</h2>{_totals(results)}</section>
<section><h2>Pass/fail by prompt and model</h2>{_matrix(results.cases) if results.cases else '<p>No cases.</p>'}</section>
<section><h2>Failures</h2>{_failures(results.cases)}</section>
<section><h2>Robustness per operator</h2>{_chart(figures)}{_robustness_table(list(results.robustness))}</section>
<section><h2>Tokens and cost</h2>{_usage_table(results.cases) if results.cases else ''}</section>
{_delta(delta)}
<section><h2>Prompt changes</h2>{_diffs(review)}</section>
</main>"""
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{_CSS}</style></head>
<body>{body}
<script>{_JS}</script></body></html>
"""
    return redact(page)
