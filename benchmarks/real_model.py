"""The example suites against a real model: live (recording), then replayed offline.

Starts SmolLM2-135M-Instruct under llama-cpp-python's OpenAI-compatible server on
127.0.0.1 (see ``pytest_promptkit/local_model.py``), runs every ``templates/*.prompttest.yaml``
live through litellm while recording, stops the server, replays the recordings and checks
that every case ends the same way. Prints a table per suite.

    python benchmarks/real_model.py            # in a temporary copy of templates/
    python benchmarks/real_model.py --update   # re-record templates/__recordings__ in place

Both runs use ``temperature: 0`` and ``seed: 42`` (set in the suites): llama.cpp is only
repeatable with a fixed seed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--update", action="store_true", help="record into templates/__recordings__ (replacing them)")
    ap.add_argument("--concurrency", type=int, default=1, help="calls in flight (the server runs one at a time)")
    ap.add_argument("--timeout", type=float, default=300.0, help="per-call timeout, seconds")
    ap.add_argument("suites", nargs="*", help="suite files (default: templates/*.prompttest.yaml)")
    ns = ap.parse_args()

    from promptkit.runner.engine import RunConfig, run_suites
    from promptkit.runner.recordings import Mode
    from promptkit.runner.results import Outcome
    from pytest_promptkit.local_model import LlamaServer, missing

    why = missing()
    if why:
        print(f"real-model benchmark skipped: {why}")
        return 0
    src = [Path(s) for s in ns.suites] or sorted((ROOT / "templates").glob("*.prompttest.yaml"))
    with tempfile.TemporaryDirectory() as tmp:
        if ns.update:
            suites = src
            for s in suites:  # record from scratch: stale files would linger otherwise
                shutil.rmtree(s.parent / "__recordings__" / s.name.split(".")[0], ignore_errors=True)
        else:
            for f in (ROOT / "templates").glob("*.prompt*"):
                shutil.copy(f, Path(tmp) / f.name)
            suites = [Path(tmp) / s.name for s in src]
        t0 = time.perf_counter()
        with LlamaServer(log=Path(tmp) / "llama_server.log") as server:
            start_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            live = run_suites(suites, RunConfig(mode=Mode.RECORD, api_base=server.base_url,
                                                concurrency=ns.concurrency, timeout_s=ns.timeout))
            live_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        replay = run_suites(suites, RunConfig(mode=Mode.REPLAY, api_base=server.base_url))
        replay_s = time.perf_counter() - t0

    print(f"real model: SmolLM2-135M-Instruct Q4_1 via llama-cpp-python (server start {start_s:.1f} s)")
    print(f"{'suite':<34} {'cases':>5} {'live p/f/e':>11} {'replay p/f/e':>13} {'tokens':>7} {'same':>5}")
    rep = replay.by_id()
    mismatches = 0
    by_suite: dict[str, list] = {}
    for c in live.cases:
        by_suite.setdefault(Path(c.suite).name, []).append(c)
    for name, cases in by_suite.items():
        def pfe(cs: list) -> str:
            return "/".join(str(sum(c.outcome is o for c in cs)) for o in (Outcome.PASS, Outcome.FAIL, Outcome.ERROR))

        again = [rep[c.id] for c in cases]
        same = all(a.outcome is c.outcome and [s.output for s in a.samples] == [s.output for s in c.samples]
                   for a, c in zip(again, cases))
        mismatches += not same
        tokens = sum(c.usage.total_tokens for c in cases)
        print(f"{name:<34} {len(cases):>5} {pfe(cases):>11} {pfe(again):>13} {tokens:>7} {'yes' if same else 'NO':>5}")
    n = len(live.cases)
    print(f"live: {live_s:.1f} s for {n} cases ({live_s / max(n, 1):.2f} s per case); replay: {replay_s:.2f} s, offline")
    for c in live.cases:
        if c.outcome is not Outcome.PASS:
            reasons = [s.error or "; ".join(a.reason for a in s.assertions if not a.passed) for s in c.samples]
            print(f"  {c.outcome.value.upper()} {c.id}: {reasons}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
