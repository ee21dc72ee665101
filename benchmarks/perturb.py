"""Perturbation speed, measured as users meet it. Prints three tables:

1. variants per second per operator over the corpora's Jinja templates (in-process:
   ``generate(template, op, n=5)``, each variant applied through the edit service and
   checked -- re-parsed, same variables, roles and components);
2. ``promptkit perturb FILE --op OP --n 5`` timed in a subprocess from start to exit, next
   to the in-process time of the same work;
3. the overhead of a perturbed replay run over a plain one: ``pytest`` on
   ``templates/robustness.prompttest.yaml`` (replayed from its recordings) against the same
   suite without its ``perturb:`` key, both in subprocesses.

    python benchmarks/perturb.py            # a deterministic sample of the corpora
    python benchmarks/perturb.py --all      # every Jinja template of the corpora
    python benchmarks/perturb.py --record   # (re)record templates/robustness.prompttest.yaml
                                            # against SmolLM2 (llama-cpp), new variants only
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / ".." / "shared" / "corpora"
sys.path.insert(0, str(ROOT))


def _templates(every: int) -> list:
    from promptkit.template import load, loads
    from promptkit.template.analysis import analyze

    out = [load(p) for p in sorted((CORPORA / "prompty").glob("*.prompty"))]
    out += [load(p) for p in sorted((CORPORA / "promptflow-jinja").iterdir()) if p.suffix in (".jinja2", ".j2")]
    with open(CORPORA / "promptsource.jsonl", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % every == 0:
                out.append(loads(json.loads(line)["jinja"], path=f"promptsource.jsonl#{i}.j2"))
    return [t for t in out if t.engine.renders and analyze(t).parsed]


def _table(title: str, head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))


def corpus_rate(every: int) -> None:
    from promptkit.perturb import Context, PerturbError, generate, get, names

    if not CORPORA.is_dir():
        print(f"corpora not found at {CORPORA}: table 1 skipped")
        return
    templates = _templates(every)
    rows = []
    for name in names():
        op = get(name)
        if op.needs_llm or name == "choice-order":
            continue
        made = impossible = 0
        t0 = time.perf_counter()
        for t in templates:
            from promptkit.template.analysis import analyze

            values = {v: "The committee approved the budget in March after a long debate." for v in analyze(t).free_names}
            try:
                made += len(generate(t, op, n=5, seed=1, ctx=Context(t, values)))
            except PerturbError:
                impossible += 1
        dt = time.perf_counter() - t0
        rows.append([name, op.family, str(len(templates) - impossible), str(made), f"{dt:.2f}",
                     f"{made / dt:.0f}" if dt else "-"])
    _table(f"1. variants per second per operator ({len(templates)} corpus Jinja templates, n=5 each, in-process)",
           ["operator", "family", "templates", "variants", "seconds", "variants/s"], rows)


def cli_rate() -> None:
    from promptkit.perturb import generate, get
    from promptkit.template import load

    target = ROOT / "templates" / "classify_ticket.prompty"
    rows = []
    for op in ("typo", "separator", "component-order", "injection"):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "promptkit.cli", "perturb", str(target), "--op", op, "--n", "5"],
                              capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        tpl = load(target)
        generate(tpl, get(op), n=5, seed=0, vars=tpl.samples())
        inproc = time.perf_counter() - t1
        rows.append([op, str(proc.returncode), f"{wall * 1000:.0f}", f"{inproc * 1000:.0f}"])
    _table("2. `promptkit perturb templates/classify_ticket.prompty --op OP --n 5`",
           ["operator", "exit", "subprocess start-to-exit ms", "in-process ms"], rows)


def replay_overhead() -> None:
    suite = ROOT / "templates" / "robustness.prompttest.yaml"
    recs = ROOT / "templates" / "__recordings__" / "robustness"
    if not recs.is_dir():
        print("\n3. skipped: templates/__recordings__/robustness is not recorded")
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "templates", work / "templates")
        (work / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
        text = suite.read_text(encoding="utf-8")
        plain = re.sub(r"(?m)^perturb:\n(?:  .*\n)+", "", text)
        (work / "templates" / "plain.prompttest.yaml").write_text(plain, encoding="utf-8")
        shutil.copytree(recs, work / "templates" / "__recordings__" / "plain")
        env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        rows = []
        for name in ("plain", "robustness"):
            best = None
            for _ in range(2):
                t0 = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                                       f"templates/{name}.prompttest.yaml", "--promptkit-mode", "replay",
                                       "--promptkit-results", f"{name}.json"], cwd=work, env=env,
                                      capture_output=True, text=True)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            doc = json.loads((work / f"{name}.json").read_text())
            items = len(doc["cases"]) + len(doc.get("robustness", []))
            variants = sum(r["variants"] for r in doc.get("robustness", []))
            rows.append([name, str(proc.returncode), str(items), str(len(doc["cases"]) + variants), f"{best:.2f}"])
        extra = float(rows[1][4]) - float(rows[0][4])
        per = extra / max(1, int(rows[1][3]) - int(rows[0][3]))
        _table("3. replayed run, perturbed vs plain (pytest subprocess, start to exit, best of 2)",
               ["suite", "exit", "items", "cases run", "seconds"], rows)
        print(f"overhead: {extra:+.2f} s for {int(rows[1][3]) - int(rows[0][3])} replayed variants "
              f"({per * 1000:.1f} ms per variant)")


def record() -> int:
    """Run the example robustness suite against the real local model in ``auto`` mode:
    what is recorded replays, every new variant is called once and recorded."""
    from pytest_promptkit.local_model import LlamaServer, missing

    why = missing()
    if why:
        print(f"cannot record: {why}")
        return 2
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    with LlamaServer() as server:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                               "templates/robustness.prompttest.yaml", "--promptkit-mode", "auto",
                               "--promptkit-api-base", server.base_url, "--promptkit-concurrency", "1",
                               "--promptkit-timeout", "300"], cwd=ROOT, env=env)
    return proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="every PromptSource template (default: every 10th)")
    ap.add_argument("--record", action="store_true", help="record the example robustness suite (SmolLM2)")
    ns = ap.parse_args()
    if ns.record:
        return record()
    corpus_rate(1 if ns.all else 10)
    cli_rate()
    replay_overhead()
    return 0


if __name__ == "__main__":
    sys.exit(main())
