"""Per-code finding counts of the built-in rules on every corpus under ``../shared/corpora``.

Used to tune rules for precision: prose corpora (fabric-patterns, anthropic-skills,
awesome-copilot...) should produce few, meaningful warnings. Runs the rules directly with
the default config (the default-enabled rules; ``--all-rules`` adds the clarity family),
so it also proves no rule crashes.

    python benchmarks/rule_counts.py [--show CODE] [--corpus NAME] [--severity error] [--all-rules]

Prints one table: corpus x code -> count, then crashes and the time spent in rules.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from promptkit.lint import rules as _rules  # noqa: F401  (registers every rule)
from promptkit.lint.rule import REGISTRY, LintContext
from promptkit.template import loads
from promptkit.template.model import FileKind, PromptTemplate

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"


def corpus_templates(root: Path = CORPORA) -> Iterator[tuple[str, PromptTemplate]]:
    """Every prompt of every corpus as ``(corpus_name, template)``: files as files,
    JSONL/CSV records as in-memory templates named ``file#id``."""
    csv.field_size_limit(sys.maxsize)
    for path in sorted(root.iterdir()):
        if path.name in ("LICENSES", "README.md"):
            continue
        if path.is_dir():
            for f in sorted(path.iterdir()):
                if f.name == "MANIFEST.jsonl":
                    continue
                if f.suffix == ".jsonl":
                    for i, line in enumerate(f.read_text(encoding="utf-8").splitlines()):
                        rec = json.loads(line)
                        yield path.name, loads(rec.get("template") or "", path=f"{f}#{i}", kind=FileKind.DOTPROMPT)
                    continue
                from promptkit.template import load

                yield path.name, load(f)
        elif path.suffix == ".jsonl":
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
                rec = json.loads(line)
                yield path.stem, loads(rec.get("jinja") or "", path=f"{path}#{rec.get('id', i)}", kind=FileKind.JINJA)
        elif path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                for i, row in enumerate(csv.DictReader(fh)):
                    yield path.stem, loads(row.get("prompt") or "", path=f"{path}#{i}", kind=FileKind.TEXT)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--show", help="print every finding of this code")
    ap.add_argument("--corpus", help="only this corpus")
    ap.add_argument("--severity", help="only findings of this severity")
    ap.add_argument("--all-rules", action="store_true", help="include the rules that are off by default (PK6xx)")
    args = ap.parse_args(argv)
    if not CORPORA.is_dir():
        print(f"corpora not found at {CORPORA}", file=sys.stderr)
        return 2
    rules = [r() for r in REGISTRY if args.all_rules or r.default_enabled]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    crashes: list[str] = []
    per_rule_time: Counter[str] = Counter()
    t0 = time.perf_counter()
    load_time = 0.0
    n = 0
    items = []
    tl = time.perf_counter()
    for corpus, t in corpus_templates():
        if args.corpus and corpus != args.corpus:
            continue
        items.append((corpus, t))
    load_time = time.perf_counter() - tl
    t0 = time.perf_counter()
    for corpus, t in items:
        n += 1
        ctx = LintContext(t)
        for rule in rules:
            if t.kind not in rule.kinds:
                continue
            s = time.perf_counter()
            try:
                for f in rule.check(ctx):
                    sev = (f.severity or rule.severity).value
                    if args.severity and sev != args.severity:
                        continue
                    counts[corpus][rule.code] += 1
                    if args.show == rule.code:
                        print(f"{t.path}:{f.span.line if f.span else 1}:{f.span.column if f.span else 1}: {rule.code} {f.message}")
            except Exception:  # noqa: BLE001 - the point is to find them
                crashes.append(f"{t.path}: {rule.code}\n{traceback.format_exc()}")
            per_rule_time[rule.code] += time.perf_counter() - s
    elapsed = time.perf_counter() - t0
    codes = sorted({c for cnt in counts.values() for c in cnt})
    names = sorted(counts)
    short = [n.replace("awesome-", "a-").replace("-patterns", "").replace("-jinja", "")[:10] for n in names]
    print(f"{'code':<7}" + "".join(f"{s:>11}" for s in short))
    for c in codes:
        print(f"{c:<7}" + "".join(f"{counts[n].get(c, 0) or '.':>11}" for n in names))
    print(f"\n{n} prompts, load {load_time:.2f}s, rules {elapsed:.2f}s, crashes {len(crashes)}")
    print("slowest rules: " + ", ".join(f"{c} {t:.2f}s" for c, t in per_rule_time.most_common(6)))
    for c in crashes[:5]:
        print(c, file=sys.stderr)
    return 1 if crashes else 0


if __name__ == "__main__":
    raise SystemExit(main())
