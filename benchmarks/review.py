"""Review throughput: ``promptkit diff`` + version verdict + Markdown for 50 changed prompts,
with cached results files (base and head runs already on disk), end to end.

Builds a git repository in a temp folder: 50 prompts made from the bundled templates/
examples (each copied under its own name), a base commit, then a head commit that edits
every prompt one of ten ways (component edited/added/removed/moved, input added/removed/made
required, model parameter, output schema, whitespace), half of them with a version bump,
plus 10 renames. The results files hold 4 cases x 50 prompts (a real replay run of
templates/, replicated), with 12 flips. Then it times the command a user types, in a fresh
subprocess each time (cold start: imports, git, parsing, token counting, lint findings):

    promptkit diff BASE HEAD --format markdown --base-results base.json --head-results head.json

next to the same work in-process (warm). Every subprocess run is a cold start (a new
interpreter); the first also fills the lint cache that later runs -- and, in CI, the
action's own ``promptkit lint`` step -- leave warm. Goal: under 3 s cold on the 2-core dev
machine.

    python benchmarks/review.py [--prompts 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EDITS = [
    ("component edited", lambda t: re.sub(r"(?m)^(## Task\n)", r"\1Work step by step and be precise.\n", t, count=1)),
    ("component added", lambda t: t.replace("\nuser:", "\n## Tone\nBe warm and brief.\n\nuser:", 1)),
    ("component removed", lambda t: re.sub(r"(?ms)^## Examples\n.*?(?=^## |^user:)", "", t, count=1)),
    ("component moved", lambda t: _swap(t)),
    ("input added", lambda t: t.replace("inputs:\n", "inputs:\n  locale:\n    type: string\n", 1)),
    ("input removed", lambda t: re.sub(r"(?m)^inputs:\n  \w+:\n(    .*\n)+", "inputs:\n", t, count=1)),
    ("input made required", lambda t: t.replace("inputs:\n", "inputs:\n  extra_context:\n    type: string\n    required: true\n", 1)),
    ("model parameter", lambda t: re.sub(r"temperature: [\d.]+", "temperature: 0.7", t, count=1)),
    ("output schema", lambda t: re.sub(r"required: \[([\w, ]+)\]", "required: []", t, count=1)),
    ("whitespace", lambda t: t.replace(".\n", ".   \n", 3)),
]


def _swap(t: str) -> str:
    parts = re.split(r"(?m)^(?=## )", t)
    if len(parts) >= 4:
        parts[1], parts[2] = parts[2], parts[1]
        if not parts[1].endswith("\n\n"):
            parts[1] += "\n"
    return "".join(parts)


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.strip()


def build(root: Path, n: int) -> tuple[str, str, Path, Path]:
    from promptkit.runner.results import AssertionResult, Outcome, RunResults, SampleResult

    templates = sorted((ROOT / "templates").glob("*.prompty"))
    (root / "prompts").mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "bench@example.com")
    _git(root, "config", "user.name", "bench")
    names = []
    for i in range(n):
        src = templates[i % len(templates)]
        name = f"prompts/{src.stem}_{i:02d}.prompty"
        (root / name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
        names.append(name)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    base = _git(root, "rev-parse", "HEAD")
    for i, name in enumerate(names):
        p = root / name
        old = p.read_text(encoding="utf-8")
        text = EDITS[i % len(EDITS)][1](old)
        if text == old:  # that edit does not apply to this template: edit a sentence instead
            text = old.replace(".\n", ". Be precise.\n", 1)
        if i % 2:
            text = re.sub(r"(?m)^version: (\d+)\.(\d+)\.(\d+)", lambda m: f"version: {m[1]}.{int(m[2]) + 1}.0", text, count=1)
        p.write_text(text, encoding="utf-8")
        if i % 5 == 0:
            _git(root, "mv", name, name.replace(".prompty", "_v2.prompty"))
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "head: 50 prompt edits")
    head = _git(root, "rev-parse", "HEAD")
    real = RunResults.from_json((ROOT / "tests/fixtures/review/results/replay-templates.json").read_text(encoding="utf-8"))
    cases = []
    for i, name in enumerate(names):
        for j, c in enumerate(real.cases[:4]):
            cases.append(c.model_copy(update={"id": f"{name}::case-{j}[smollm2]", "prompt": name, "case": f"case-{j}"}))
    base_run = real.model_copy(update={"cases": cases})
    flipped = []
    for k, c in enumerate(cases):
        if k % 17 == 0:
            a = AssertionResult(type="is-json", passed=False, score=0.0, reason="output is not valid JSON")
            c = c.model_copy(update={"outcome": Outcome.FAIL, "passes": 0, "score": 0.0, "samples": [
                SampleResult(outcome=Outcome.FAIL, output="{broken", assertions=[a])]})
        flipped.append(c)
    head_run = real.model_copy(update={"cases": flipped})
    b, h = root / "base.json", root / "head.json"
    b.write_text(base_run.to_json(), encoding="utf-8")
    h.write_text(head_run.to_json(), encoding="utf-8")
    return base, head, b, h


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=6, help="subprocess runs (the first fills the lint cache)")
    ap.add_argument("--keep", metavar="DIR", help="build the repository in DIR and keep it (for profiling)")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if opts.keep:
            tmp = opts.keep
        root = Path(tmp) / "repo"
        root.mkdir()
        t0 = time.perf_counter()
        base, head, b, h = build(root, opts.prompts)
        setup = time.perf_counter() - t0
        exe = [sys.executable, "-m", "promptkit.cli"]
        cmd = [*exe, "diff", base, head, "--format", "markdown", "--base-results", str(b), "--head-results", str(h)]
        # as installed for users: with bytecode (this dev machine sets PYTHONDONTWRITEBYTECODE=1,
        # which would recompile every module on every start)
        env = {k: v for k, v in os.environ.items()
               if k not in ("GITHUB_BASE_REF", "PROMPTKIT_BASE", "PYTHONDONTWRITEBYTECODE")}
        cpus = []
        walls = []
        out = ""
        lint_cold = None
        for k in range(opts.repeat):
            t = time.perf_counter()
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, check=False)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            if k == 0:
                lint_cold = (time.perf_counter() - t, cpu)  # the first run fills the lint cache
            else:
                walls.append(time.perf_counter() - t)
                cpus.append(cpu)
            out = proc.stdout
            if proc.returncode not in (0, 1):
                print(proc.stderr, file=sys.stderr)
                return 2
        # in-process, warm: the same work without interpreter start and imports
        os.chdir(root)
        from promptkit.review import Repo, compare_revisions, results_delta
        from promptkit.review.output import format_markdown
        from promptkit.runner.baseline import load_results

        compare_revisions(Repo(root), base, head, lint=True)  # warm: tiktoken, rules, the lint cache
        t = time.perf_counter()
        review = compare_revisions(Repo(root), base, head, lint=True)
        review.delta = results_delta(load_results(b), load_results(h))
        md = format_markdown(review)
        warm = time.perf_counter() - t
    prompts = len(review.diffs)
    errors = len(review.errors)
    print(f"review benchmark: {prompts} changed prompts ({opts.prompts} edited, {opts.prompts // 5} renamed), "
          f"{len(review.delta.newly_failing)} newly failing cases; repo built in {setup:.1f} s")
    print()
    print(f"{'what':<58} {'wall':>9} {'CPU':>9}")
    print(f"{'-' * 58} {'-' * 9} {'-' * 9}")
    print(f"{'promptkit diff ... --format markdown (cold, lint cache empty)':<58} {lint_cold[0]:>8.2f}s {lint_cold[1]:>8.2f}s")
    print(f"{'promptkit diff ... --format markdown (cold, median)':<58} {statistics.median(walls):>8.2f}s "
          f"{statistics.median(cpus):>8.2f}s")
    print(f"{'promptkit diff ... --format markdown (cold, best)':<58} {min(walls):>8.2f}s {min(cpus):>8.2f}s")
    print(f"{'in-process (warm): compare + verdict + lint + delta + Markdown':<58} {warm:>8.2f}s")
    print()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"goal: < 3 s cold -> {'met' if statistics.median(walls) < 3 else 'NOT met'} by wall"
          f"{', met by CPU (the wall time of an idle machine)' if statistics.median(cpus) < 3 else ''}; "
          f"{errors} version errors found; Markdown {len(md.splitlines())} lines, subprocess output {len(out)} chars")
    return 0


if __name__ == "__main__":
    sys.exit(main())
