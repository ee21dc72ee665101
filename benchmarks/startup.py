"""Start-up and template-handling speed: prints a table, asserts nothing.

Why: pre-commit runs ``promptkit`` on every commit and editors call it on every save, so
its start-up time is felt all day. Targets live here (not in timed unit tests, which are
flaky on shared CI machines).

Rows (median of N runs; subprocess rows include the Python interpreter's own start-up,
shown on the first row for reference):

* ``python -c pass``: the floor every command pays.
* ``import promptkit``: in a fresh interpreter, measured inside it (PEP 562 lazy API).
* ``import promptkit.template``: what loading a template costs (pydantic, jinja2, yaml).
* ``promptkit --version``: wall time of the console script. Target: < 150 ms.
* ``promptkit render``: wall time of rendering one template from the command line.
* ``promptkit tokens templates/``: render and count every example, loading tiktoken's
  encodings from litellm's bundled files.
* load + render of all ``templates/*.prompty`` (in-process, warm imports, cold cache).
* token count of all rendered templates (in-process, encodings already loaded).
* ``promptkit lint`` on a copy of the whole ``../shared/corpora``, cold then warm (the
  command a user types, in a subprocess; goals 3 s cold, 0.3 s warm), with its CPU time.

Usage: ``python benchmarks/startup.py [-n RUNS]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_VERSION_MS = 150.0


def _wall(argv: list[str], runs: int) -> float:
    """Median wall time of a command, in ms (one warm-up run first)."""
    subprocess.run(argv, capture_output=True, check=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _import_ms(module: str, runs: int) -> float:
    """Median time to import ``module`` in a fresh interpreter, measured inside it."""
    code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
    values = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
              for _ in range(runs)]
    return statistics.median(values)


def _in_process(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: imports, encodings
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


CORPORA = REPO.parent / "shared" / "corpora"
GOAL_LINT_COLD_S = 3.0
GOAL_LINT_WARM_S = 0.3


def _lint_corpora_rows(script: str) -> list[tuple[str, float, str]]:
    """``promptkit lint`` on the whole corpora from the shell, cold (no cache) then warm,
    on a temporary copy (the corpora are read-only; the lint cache is written beside them).
    Wall time of the subprocess, start to exit, with its own CPU time in the note."""
    import os
    import resource
    import tempfile

    if not CORPORA.is_dir():
        return [("promptkit lint <corpora> (skipped: ../shared/corpora not found)", 0.0, "")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "corpora"
        shutil.copytree(CORPORA, copy, ignore=shutil.ignore_patterns(".promptkit_cache"))
        for root, dirs, _ in os.walk(copy):
            os.chmod(root, 0o755)
        (copy / "pyproject.toml").write_text("", encoding="utf-8")
        for label, goal in (("cold", GOAL_LINT_COLD_S), ("warm", GOAL_LINT_WARM_S), ("warm", GOAL_LINT_WARM_S)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([script, "lint", "."], cwd=copy, capture_output=True, check=False)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            rows.append((f"promptkit lint <corpora copy> {label} (wall, subprocess)", wall * 1000,
                         f"goal <= {goal:.1f} s: {'ok' if wall <= goal else 'MISSED'}; cpu {cpu:.2f} s"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=15)
    runs = parser.parse_args().runs
    from _bytecode import ensure_bytecode  # benchmarks/ is on sys.path when run as a script

    print(ensure_bytecode())

    from promptkit.template import load, render
    from promptkit.tokens import count_tokens

    templates = sorted((REPO / "templates").glob("*.prompty"))

    def load_render_all() -> list:
        out = []
        for p in templates:
            t = load(p)
            out.append((t, render(t, t.samples())))
        return out

    rendered = load_render_all()

    def count_all() -> int:
        return sum(count_tokens(msgs, t.front_matter.model.litellm_id if t.front_matter.model else None).total
                   for t, msgs in rendered)

    script = shutil.which("promptkit") or str(Path(sys.executable).with_name("promptkit"))
    example = str(REPO / "templates" / "summarize.prompty")
    rows: list[tuple[str, float, str]] = [
        ("python -c pass (interpreter floor)", _wall([sys.executable, "-c", "pass"], runs), ""),
        ("import promptkit (in a fresh interpreter)", _import_ms("promptkit", runs), ""),
        ("import promptkit.template", _import_ms("promptkit.template", runs), ""),
    ]
    version_ms = _wall([script, "--version"], runs)
    rows.append(("promptkit --version (wall)", version_ms,
                 f"< {TARGET_VERSION_MS:.0f} ms: {'ok' if version_ms < TARGET_VERSION_MS else 'MISSED'}"))
    rows.append(("promptkit render summarize.prompty (wall)", _wall([script, "render", example], runs), ""))
    rows.append(("promptkit tokens templates/ (wall)", _wall([script, "tokens", str(REPO / "templates"), "--format", "json"], runs),
                 "offline encodings"))
    all_ms = _in_process(load_render_all, runs)
    rows.append((f"load + render all {len(templates)} templates/ (in-process)", all_ms,
                 f"{all_ms / max(len(templates), 1):.2f} ms per template"))
    total_tokens = count_all()
    rows.append((f"count tokens of all {len(templates)} ({total_tokens:,} tokens)", _in_process(count_all, runs), ""))

    rows.extend(_lint_corpora_rows(script))

    width = max(len(r[0]) for r in rows)
    print(f"promptkit start-up benchmark  (median of {runs} runs, Python {sys.version.split()[0]}, {sys.platform})")
    print(f"{'what':<{width}}  {'ms':>9}  note")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 24}")
    for what, ms, note in rows:
        print(f"{what:<{width}}  {ms:>9.2f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
