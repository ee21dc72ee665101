"""What the render budget costs: prints a table, asserts nothing.

Every render runs under a time, step and size budget (``promptkit/template/sandbox.py``,
docs/security.md): a step at each loop iteration, call and filter, size checks before
strings are built, no constant folding at compile time. This script shows that costs
nothing a user can feel, on the bundled example prompts and on the real Jinja templates of
``../shared/corpora`` (PromptSource, Prompty, promptflow):

* **in-process**: each template body compiled and rendered by Jinja2's own
  ``ImmutableSandboxedEnvironment`` (budget off) and by promptkit's budgeted environment
  under a fresh budget (budget on), same values, same strict undefined; totals over the
  templates both render, compile and render timed apart;
* **end to end**: ``promptkit render`` and ``promptkit tokens`` from the shell, in a
  subprocess, start to exit (what a user and pre-commit pay): the budget's share of it is
  the in-process difference above.

Variables get a generic value (a short string; a list of them for loop targets), so a
template that needs structured data is skipped by both sides alike (counted in the table).

Usage: ``python benchmarks/render_budget.py [-n RUNS] [--corpora DIR]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _bodies(corpora: Path) -> Iterator[tuple[str, str]]:
    """(corpus, Jinja body) for the corpora's Jinja templates."""
    from promptkit.template import loads

    for p in sorted((REPO / "templates").glob("*.prompty")):
        yield "templates", loads(p.read_text(encoding="utf-8"), path=str(p)).body
    ps = corpora / "promptsource.jsonl"
    if ps.is_file():
        for line in ps.read_text(encoding="utf-8").splitlines():
            yield "promptsource", json.loads(line)["jinja"].replace("|||", "\n")
    for p in sorted((corpora / "prompty").glob("*.prompty")):
        t = loads(p.read_text(encoding="utf-8", errors="replace"), path=str(p))
        yield "prompty", t.body
    for p in sorted((corpora / "promptflow-jinja").glob("*")):
        if p.suffix in (".jinja2", ".j2"):
            yield "promptflow-jinja", p.read_text(encoding="utf-8", errors="replace")


def _values(env, source: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from jinja2 import meta

    names = meta.find_undeclared_variables(env.parse(source))
    return {n: ["lorem ipsum", "dolor sit"] if n.endswith("s") else "lorem ipsum" for n in names}


def _timed(fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def in_process(corpora: Path, runs: int) -> list[tuple[str, int, int, float, float, float, float]]:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from promptkit.template.sandbox import environment, render_bounded

    plain = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)
    ours = environment()
    per: dict[str, list[float]] = {}
    counts: dict[str, list[int]] = {}
    for corpus, body in _bodies(corpora):
        c = counts.setdefault(corpus, [0, 0])
        c[0] += 1
        try:
            values = _values(plain, body)
            tc_off, compiled_off = _timed(lambda: plain.from_string(body))
            tc_on, compiled_on = _timed(lambda: ours.from_string(body))
            out_off = compiled_off.render(values)  # type: ignore[attr-defined]
            out_on = render_bounded(compiled_on, values)
        except Exception:  # noqa: BLE001 - needs structured data, or not Jinja: skipped by both
            continue
        deterministic = out_off == compiled_off.render(values)  # type: ignore[attr-defined]  # `random`
        if deterministic and out_off != out_on:  # the budget must never change what renders
            raise SystemExit(f"{corpus}: the budgeted render differs from Jinja's for:\n{body[:300]}")
        off = min(_timed(lambda: compiled_off.render(values))[0] for _ in range(runs))  # type: ignore[attr-defined]
        on = min(_timed(lambda: render_bounded(compiled_on, values))[0] for _ in range(runs))
        c[1] += 1
        acc = per.setdefault(corpus, [0.0, 0.0, 0.0, 0.0])
        acc[0] += tc_off
        acc[1] += tc_on
        acc[2] += off
        acc[3] += on
    return [(k, counts[k][0], counts[k][1], *per.get(k, [0.0] * 4)) for k in counts]


def _wall(argv: list[str], runs: int) -> float:
    subprocess.run(argv, capture_output=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--corpora", type=Path, default=REPO.parent / "shared" / "corpora")
    ns = ap.parse_args()
    if not ns.corpora.is_dir():
        print(f"(corpora not found at {ns.corpora}: the bundled templates only)")

    rows = in_process(ns.corpora, ns.runs)
    print("In-process, Jinja body only (best of", ns.runs, "renders each; totals in ms)")
    print(f"{'corpus':<18} {'files':>6} {'rendered':>8} {'compile off':>11} {'compile on':>10} "
          f"{'render off':>10} {'render on':>9} {'on/off':>7}")
    tot = [0.0] * 4
    for corpus, n, ok, c_off, c_on, r_off, r_on in rows:
        ratio = f"{r_on / r_off:.2f}x" if r_off else "-"
        print(f"{corpus:<18} {n:>6} {ok:>8} {c_off * 1e3:>11.1f} {c_on * 1e3:>10.1f} {r_off * 1e3:>10.2f} "
              f"{r_on * 1e3:>9.2f} {ratio:>7}")
        for i, v in enumerate((c_off, c_on, r_off, r_on)):
            tot[i] += v
    rendered = sum(r[2] for r in rows)
    print(f"{'all':<18} {sum(r[1] for r in rows):>6} {rendered:>8} {tot[0] * 1e3:>11.1f} {tot[1] * 1e3:>10.1f} "
          f"{tot[2] * 1e3:>10.2f} {tot[3] * 1e3:>9.2f} "
          f"{(tot[3] / tot[2] if tot[2] else 0):>6.2f}x")
    if rendered:
        print(f"budget cost per render: {(tot[3] - tot[2]) / rendered * 1e6:+.1f} us "
              f"(compile: {(tot[1] - tot[0]) / rendered * 1e6:+.1f} us)")

    exe = str(Path(sys.executable).with_name("promptkit"))
    example = str(REPO / "templates" / "classify_ticket.prompty")
    print("\nEnd to end, from the shell (median of", ns.runs, "runs, ms; the budget is always on)")
    print(f"{'command':<44} {'wall ms':>8}")
    for argv in ([sys.executable, "-c", "pass"], [exe, "render", example], [exe, "tokens", str(REPO / "templates")]):
        label = " ".join(Path(a).name if i == 0 or "/" in a else a for i, a in enumerate(argv))
        print(f"{label:<44} {_wall(argv, ns.runs):>8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
