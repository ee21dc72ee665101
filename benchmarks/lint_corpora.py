"""Lint every prompt of ``../shared/corpora`` and print what was found and how fast.

    python benchmarks/lint_corpora.py [--corpora DIR] [--jobs N] [--json]
    python benchmarks/lint_corpora.py --rules      # CPU seconds per rule, then stop

Prints: files and prompts per corpus, diagnostics per code (per corpus too), internal
errors, cold wall time (no cache, worker processes), warm wall time (cache primed: the
second run of a pre-commit hook on an unchanged tree) and peak RSS. Targets on a 2-core
machine: cold < 5 s, warm < 0.5 s, 0 internal errors.

Directory corpora are linted file by file, whatever their names (``system.md``,
``skprompt.txt`` are prompts here); JSONL/CSV corpora are linted record by record as
virtual files (``promptsource.jsonl#<id>``).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"


def corpus_inputs(root: Path) -> dict[str, tuple[list[Path], list[tuple[str, str, Any]]]]:
    """corpus name -> (files, virtual records ``(path, text, kind)``)."""
    from promptkit.template import FileKind

    csv.field_size_limit(1 << 30)
    out: dict[str, tuple[list[Path], list[tuple[str, str, Any]]]] = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir() and p.name != "LICENSES"):
        files: list[Path] = []
        records: list[tuple[str, str, Any]] = []
        for f in sorted(d.iterdir()):
            if f.name == "MANIFEST.jsonl" or not f.is_file():
                continue
            if f.suffix == ".jsonl":  # dotprompt spec templates
                for i, line in enumerate(f.read_text(encoding="utf-8").splitlines()):
                    row = json.loads(line)
                    records.append((f"{f}#{row.get('id', i)}", row["template"], FileKind.DOTPROMPT))
                continue
            files.append(f)
        out[d.name] = (files, records)
    ps = root / "promptsource.jsonl"
    if ps.is_file():
        recs = []
        for line in ps.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            recs.append((f"{ps}#{row['id']}", row["jinja"], FileKind.JINJA))
        out["promptsource"] = ([], recs)
    ac = root / "awesome-chatgpt-prompts.csv"
    if ac.is_file():
        recs = []
        with ac.open(encoding="utf-8", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                text = row["prompt"]
                kind = FileKind.MARKDOWN if text.startswith("---") else FileKind.TEXT
                recs.append((f"{ac}#{i}", text, kind))
        out["awesome-chatgpt-prompts"] = ([], recs)
    return out


def lint_all(inputs: dict[str, Any], config: Any, *, use_cache: bool, jobs: int | None = None) -> tuple[list[Any], int, int]:
    """Lint every file and record; returns (diagnostics, linted, from cache)."""
    from promptkit.lint.engine import lint_items

    items = [(str(f), None, None) for fs, _ in inputs.values() for f in fs]
    items += [r for _, rs in inputs.values() for r in rs]
    report = lint_items(items, config, use_cache=use_cache, jobs=jobs)
    return report.diagnostics, report.linted, report.cached


def _cli_times(corpora: Path, tmp: Path) -> tuple[float, float, int]:
    """Wall time of ``promptkit lint <corpora>`` as a user runs it (a new process: start-up,
    imports, discovery with the default include globs), cold and then warm."""
    import subprocess

    cfg = tmp / "promptkit.toml"
    cfg.write_text(f'cache-dir = "{(tmp / "cli-cache").as_posix()}"\n')
    cmd = [sys.executable, "-m", "promptkit.cli", "lint", str(corpora), "--config", str(cfg), "-q",
           "--output-format", "concise", "--exit-zero"]
    times = []
    for _ in range(2):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t)
    files = subprocess.run([*cmd[:4], str(corpora), "--config", str(cfg), "--show-files"],
                           capture_output=True, text=True, check=False).stdout.count("\n")
    return times[0], times[1], files


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (the workers):
    unlike wall time, this does not depend on what else the machine is doing."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _load() -> float:
    try:
        import os

        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return float("nan")


def corpus_of(path: str, root: Path) -> str:
    rel = Path(path.split("#", 1)[0]).resolve().relative_to(root.resolve())
    first = rel.parts[0]
    return {"promptsource.jsonl": "promptsource", "awesome-chatgpt-prompts.csv": "awesome-chatgpt-prompts"}.get(first, first)


def rule_times(corpora: Path) -> tuple[dict[str, float], dict[str, int], int]:
    """CPU seconds (this thread's, so other processes' load counts less than in wall time)
    and findings per default-enabled rule over every prompt, rules run in code order as
    the engine runs them: a shared view (lines, analysis) is charged to the first rule
    that asks for it."""
    from rule_counts import corpus_templates  # benchmarks/ is on sys.path when run as a script

    from promptkit.lint.packs import load_builtin_rules
    from promptkit.lint.rule import REGISTRY, LintContext

    load_builtin_rules()
    rules = [r() for r in REGISTRY if r.default_enabled]
    times: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    n = 0
    clock = time.thread_time
    for _, t in corpus_templates(corpora):
        n += 1
        ctx = LintContext(t)
        for rule in rules:
            if t.kind in rule.kinds:
                s = clock()
                counts[rule.code] += sum(1 for _ in rule.check(ctx))
                times[rule.code] += clock() - s
    return dict(times), dict(counts), n


def _print_rule_times(corpora: Path) -> None:
    times, counts, n = rule_times(corpora)
    print(f"{'code':<7}{'CPU s':>8}{'findings':>10}   ({n} prompts, load average {_load():.1f})")
    for code, sec in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"{code:<7}{sec:>8.3f}{counts.get(code, 0):>10}")
    print(f"{'total':<7}{sum(times.values()):>8.3f}{sum(counts.values()):>10}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON")
    ap.add_argument("--rules", action="store_true", help="print CPU seconds and findings per rule, and stop")
    args = ap.parse_args(argv)
    if not args.corpora.is_dir():
        print(f"corpora not found at {args.corpora}", file=sys.stderr)
        return 2
    if args.rules:
        _print_rule_times(args.corpora)
        return 0

    t0 = time.perf_counter()
    from promptkit.lint.config import LintConfig

    with tempfile.TemporaryDirectory() as tmp:
        config = LintConfig(cache_dir=tmp).resolve()
        import_s = time.perf_counter() - t0
        inputs = corpus_inputs(args.corpora)
        t = time.perf_counter()
        cpu0 = _cpu()
        diags, _, _ = lint_all(inputs, config, use_cache=False, jobs=args.jobs)
        cold = time.perf_counter() - t
        cold_cpu = _cpu() - cpu0
        lint_all(inputs, config, use_cache=True, jobs=args.jobs)  # prime the cache
        t = time.perf_counter()
        warm_diags, _, cached = lint_all(inputs, config, use_cache=True, jobs=args.jobs)
        warm = time.perf_counter() - t
        cli_cold, cli_warm, cli_files = _cli_times(args.corpora, Path(tmp))

    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    by_corpus: dict[str, Counter[str]] = defaultdict(Counter)
    for d in diags:
        by_corpus[corpus_of(d.path, args.corpora)][d.code] += 1
    totals = Counter(d.code for d in diags)
    internal = [d for d in diags if d.code == "PK000"]
    n_files = sum(len(f) for f, _ in inputs.values())
    n_prompts = sum(len(f) + len(r) for f, r in inputs.values())
    result = {
        "files": n_files, "prompts": n_prompts, "diagnostics": len(diags), "internal_errors": len(internal),
        "cold_s": round(cold, 3), "cold_cpu_s": round(cold_cpu, 3), "load_avg_1m": round(_load(), 2), "warm_s": round(warm, 3), "warm_from_cache": cached,
        "warm_same_result": len(warm_diags) == len(diags),
        "cli_files": cli_files, "cli_cold_s": round(cli_cold, 3), "cli_warm_s": round(cli_warm, 3), "import_s": round(import_s, 3),
        "peak_rss_mb": round(rss_self, 1), "peak_rss_worker_mb": round(rss_children, 1),
        "per_code": dict(sorted(totals.items())),
        "per_corpus": {c: dict(sorted(v.items())) for c, v in sorted(by_corpus.items())},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    _print(result, inputs, internal)
    return 0


_SHORT = {
    "anthropic-skills": "anthropic", "awesome-copilot": "copilot", "awesome-cursorrules": "cursor",
    "fabric-patterns": "fabric", "promptflow-jinja": "promptflw", "semantic-kernel": "sem-kern",
    "promptsource": "promptsrc", "awesome-chatgpt-prompts": "chatgpt",
}


def _print(r: dict[str, Any], inputs: dict[str, Any], internal: list[Any]) -> None:
    from promptkit.lint.rule import REGISTRY

    print(f"{'corpus':<26}{'files':>7}{'prompts':>9}{'diags':>8}")
    for name, (files, recs) in inputs.items():
        n = sum(r["per_corpus"].get(name, {}).values())
        print(f"{name:<26}{len(files):>7}{len(files) + len(recs):>9}{n:>8}")
    print(f"{'total':<26}{r['files']:>7}{r['prompts']:>9}{r['diagnostics']:>8}\n")
    corpora = list(inputs)
    short = [_SHORT.get(c, c[:9]) for c in corpora]
    print(f"{'code':<7}{'name':<30}{'total':>7} " + " ".join(f"{s:>9}" for s in short))
    for code, n in r["per_code"].items():
        rule = REGISTRY.rules.get(code)
        name = rule.name if rule else ""
        cells = " ".join(f"{r['per_corpus'].get(c, {}).get(code, 0) or '':>9}" for c in corpora)
        print(f"{code:<7}{name[:29]:<30}{n:>7} {cells}")
    print()
    print(f"internal errors      {r['internal_errors']}")
    for d in internal[:10]:
        print("   ", d.format())
    print(f"cold (no cache)      {r['cold_s']:.3f} s   (target < 5 s; {r['cold_cpu_s']:.2f} CPU-s in all processes; "
          f"load average {r['load_avg_1m']})")
    print(f"warm (cached)        {r['warm_s']:.3f} s   (target < 0.5 s; {r['warm_from_cache']} from cache)")
    print(f"CLI, {r['cli_files']} files found by the default include globs: cold {r['cli_cold_s']:.3f} s, "
          f"warm {r['cli_warm_s']:.3f} s (new process each)")
    print(f"import               {r['import_s']:.3f} s")
    print(f"peak RSS             {r['peak_rss_mb']:.0f} MB (largest worker {r['peak_rss_worker_mb']:.0f} MB)")


if __name__ == "__main__":
    sys.exit(main())
