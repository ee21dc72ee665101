"""``promptkit suggest SUITE``: propose the smallest safe prompt patch for a suite's failures.

Exit status: 0 a patch was found (printed, or written with ``--apply``) or nothing fails;
1 no safe patch within the budget; 2 bad input (one ``path: error: PTnnn ...`` line), or cases
that ended in ERROR and none that failed (PT044: no key, no recording, a refused file).
Nothing is written unless ``--apply`` is given and a safe patch exists.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


class _Suggest:
    help = "Propose the smallest prompt patch that fixes a suite's failing cases and breaks nothing"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("suite", metavar="SUITE", help="a *.prompttest.yaml suite file")
        parser.add_argument("--results", metavar="FILE",
                            help="the results file of a run of SUITE (default: run the suite first)")
        parser.add_argument("--prompt", metavar="FILE", help="the prompt to patch (default: the one with most failures)")
        parser.add_argument("--apply", action="store_true", help="write the patch to the prompt file")
        parser.add_argument("--format", choices=["text", "json", "github"], default="text",
                            help="text (default), json for tools, github for suggestion review comments")
        # defaults: [tool.promptkit.optimize], else the built-in ones (promptkit.config.OptimizeTable)
        parser.add_argument("--max-calls", type=int, help="model-call budget, target and proposer together (default 60)")
        parser.add_argument("--max-tokens", type=int, help="token budget (default: no limit)")
        parser.add_argument("--max-cost", type=float, help="cost budget in USD (default: no limit)")
        parser.add_argument("--rounds", type=int, help="critique/propose rounds (default 3)")
        parser.add_argument("--candidates", type=int, help="proposals per round (default 3)")
        parser.add_argument("--beam", type=int, help="improving candidates kept between rounds (default 2)")
        parser.add_argument("--proposer", metavar="MODEL", help="litellm model for the critique and proposer calls "
                            "(default: [tool.promptkit.optimize] proposer, else the suite's first model)")
        parser.add_argument("--model", help="run every target case on this litellm model id")
        parser.add_argument("--mode", choices=["live", "record", "replay", "auto"],
                            help="recordings of candidate runs (default auto; replay under CI)")
        parser.add_argument("--api-base", help="send calls to this OpenAI-compatible base URL (e.g. a local server)")
        parser.add_argument("--recordings", metavar="DIR",
                            help="where candidate and proposer calls are recorded (default <suite dir>/__recordings__/<suite>.optimize)")
        parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")

    def run(self, ns: argparse.Namespace) -> int:
        from promptkit.optimize import apply, suggest
        from promptkit.optimize.report import to_github, to_json, to_text
        from promptkit.runner import RunConfig
        from promptkit.optimize.settings import budget_from, load_optimize_settings
        from promptkit.runner.recordings import default_mode

        table = load_optimize_settings(ns.suite)
        budget = budget_from(table, calls=ns.max_calls, tokens=ns.max_tokens, cost_usd=ns.max_cost, rounds=ns.rounds,
                             candidates=ns.candidates, beam=ns.beam)
        kw: dict[str, Any] = {}
        api_base = ns.api_base or os.environ.get("PROMPTKIT_API_BASE")  # as promptkit test reads it
        if api_base:
            kw["api_base"] = api_base
            kw["api_key"] = "sk-local"
        mode = ns.mode or ("auto" if default_mode().value != "replay" else "replay")
        config = RunConfig(mode=mode, model=ns.model, progress=False, **kw)

        def progress(msg: str) -> None:
            if not ns.quiet:
                print(msg, file=sys.stderr, flush=True)

        if not ns.quiet:
            print(f"promptkit suggest: budget {budget.describe()}", file=sys.stderr)
        s = suggest(ns.suite, results=ns.results, config=config, budget=budget, proposer_model=ns.proposer or table.proposer,
                    recordings=ns.recordings, prompt=ns.prompt, progress=progress)
        if s.status == "errors":
            from promptkit.codes import SUGGEST_CASES_ERRORED

            if ns.format == "json":
                print(to_json(s))
            else:
                print(f"{ns.suite}: error: {SUGGEST_CASES_ERRORED.code} {s.message}; nothing written "
                      "(hint: run 'promptkit test' on the suite, fix the errors it shows, then suggest again)",
                      file=sys.stderr)
            return 2
        if s.status == "nothing-failing":
            from promptkit.codes import SUGGEST_NOTHING_FAILING

            if ns.format == "json":
                print(to_json(s))
            else:
                print(f"{ns.suite}: {SUGGEST_NOTHING_FAILING.code} {s.message}; nothing written")
            return 0
        text = {"json": to_json, "github": to_github}.get(ns.format, to_text)(s)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        if s.patch is None:
            if ns.format == "text":
                print("nothing written")
            return 1
        if ns.apply:
            path = apply(s)
            print(f"wrote {path} (version {s.patch.new_version})", file=sys.stderr)
        if not ns.quiet:
            print(f"spent: {s.spent.describe()}", file=sys.stderr)
        return 0


SUGGEST = _Suggest()
