"""``promptkit perturb FILE --op typo --n 5 --seed 1 [--format diff|json]``.

Prints seeded variants of a template (and of its inputs, for the ``inputs`` operators) as
patches a reviewer reads or ``git apply`` takes, or as JSON for tools. Nothing is written
and no model is called (except ``paraphrase``, which needs ``--model``). The output is a
function of the file, the options and the seed only: byte-identical in every process and
on every machine.

Bad input is one located error and exit 2: an unknown operator (``<command line>``, with a
suggestion), a constraint that leaves an operator nothing it may change -- it would have to
touch a placeholder -- (at the component in the template), a payload list that does not
parse (at its line and column).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["PERTURB"]

CMDLINE = "<command line>"


def _cmdline_error(message: str, hint: str = "", code: str = "") -> Exception:
    from promptkit.codes import CODES, UNKNOWN_OPERATOR
    from promptkit.diagnostics import Diagnostic, PromptkitError

    c = CODES[code or UNKNOWN_OPERATOR.code]
    return PromptkitError(Diagnostic(CMDLINE, message, code=c.code, name=c.name, hint=hint))


def located(exc: Exception, template_path: str = CMDLINE) -> Exception:
    """A :class:`PerturbError` as a :class:`PromptkitError` (one located line, exit 2)."""
    from promptkit.codes import UNKNOWN_OPERATOR
    from promptkit.diagnostics import Diagnostic, PromptkitError

    diag = getattr(exc, "diagnostic", None)
    if diag is not None:
        return PromptkitError(diag)
    msg = str(exc)
    hint = ""
    if "(" in msg and msg.endswith(")"):
        msg, _, hint = msg.rpartition(" (")
        hint = hint[:-1]
    return PromptkitError(Diagnostic(template_path, msg, code=UNKNOWN_OPERATOR.code, name=UNKNOWN_OPERATOR.name,
                                     hint=hint))


def _param(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise _cmdline_error(f"--param {text!r} is not KEY=VALUE", "write --param keep=[0.5] (VALUE is JSON when it parses)")
    try:
        return key.strip(), json.loads(raw)
    except ValueError:
        return key.strip(), raw


class _Perturb:
    help = "Print seeded perturbations of a template (typos, formats, order, content, injections) as diffs"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", nargs="?", help="template file (.prompty, .j2, .prompt.md ...)")
        parser.add_argument("--op", action="append", default=[], metavar="NAME",
                            help="operator, alias (typo) or family (noise, format, order, content, inputs); repeatable")
        parser.add_argument("--n", type=int, default=5, help="variants per operator (default 5)")
        parser.add_argument("--seed", default="0", help="seed: the same seed gives the same variants, byte for byte")
        parser.add_argument("--edits", type=int, default=1, help="mutations combined in one variant (default 1)")
        parser.add_argument("--component", action="append", default=None, metavar="KEY",
                            help="only edit inside this component (key or kind, e.g. task); repeatable")
        parser.add_argument("--message", action="append", default=None, metavar="ROLE|INDEX",
                            help="only edit inside this message (role or 0-based index); repeatable")
        parser.add_argument("--protect", action="append", default=[], metavar="WORD",
                            help="a word no operator may change (label words of the output schema are protected already)")
        parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                            help="operator parameter (e.g. vars=[\"ticket\"], choices=options, answer=gold)")
        parser.add_argument("--payloads", metavar="FILE", help="injection payload list (YAML; default: the shipped list)")
        parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                            help="an input value (inputs operators perturb these; default: the template's samples)")
        parser.add_argument("--vars", action="append", default=[], metavar="FILE", help="JSON or YAML file of input values")
        parser.add_argument("--model", help="model for paraphrase (litellm id); its calls are recorded next to FILE")
        parser.add_argument("--mode", choices=("auto", "live", "record", "replay"), default=None,
                            help="how paraphrase calls the model (default: replay under CI, else auto)")
        parser.add_argument("--api-base", help="endpoint for paraphrase calls (e.g. a local OpenAI-compatible server)")
        parser.add_argument("--format", choices=("diff", "json"), default="diff", help="diff (default) or json")
        parser.add_argument("--list", action="store_true", help="list the operators with their family and guarantee")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.codes import IMPOSSIBLE_PERTURBATION, UNKNOWN_OPERATOR
        from promptkit.perturb.operator import PerturbError, names, resolve

        if args.list:
            return _list(args.format)
        if not args.file:
            raise _cmdline_error("give a template file: promptkit perturb FILE --op typo", code=UNKNOWN_OPERATOR.code)
        if not args.op:
            raise _cmdline_error("give at least one operator with --op", f"operators: {', '.join(names())}")
        if args.n < 1 or args.edits < 1:
            raise _cmdline_error("--n and --edits must be at least 1", code=IMPOSSIBLE_PERTURBATION.code)
        try:
            ops = resolve(args.op)
        except PerturbError as exc:
            raise located(exc) from None
        from promptkit.commands import template_vars
        from promptkit.paths import confine_argument, project_root

        confine_argument(args.file, project_root(), what="prompt file")
        from promptkit.template import load_strict

        template = load_strict(args.file)
        values = template_vars(template, args.var, args.vars)
        payloads = None
        if args.payloads:
            from promptkit.perturb.payloads import load_payloads

            confine_argument(args.payloads, project_root(), what="payload list")
            payloads = load_payloads(args.payloads).payloads
        params = dict(_param(p) for p in args.param)
        llm = None
        if any(op.needs_llm for op in ops) and args.model:
            from promptkit.perturb.llm import recorded_llm

            from promptkit.runner.engine import RunConfig

            config = RunConfig(api_base=args.api_base, **({"mode": args.mode} if args.mode else {}))
            llm = recorded_llm(args.file, args.model, config=config)
        from promptkit.perturb.operator import Context
        from promptkit.perturb.variant import generate, mutations_for

        explicit = {o.name for o in resolve([n for n in args.op if n not in ("noise", "format", "order", "content", "inputs")])}
        docs: list[dict[str, Any]] = []
        chunks: list[str] = []
        for op in ops:
            ctx = Context(template, dict(values), components=tuple(args.component) if args.component else None,
                          messages=tuple(int(m) if m.isdigit() else m for m in args.message) if args.message else None,
                          protect=frozenset(args.protect), params=params, payloads=payloads, llm=llm)
            try:
                muts = mutations_for(op, ctx, args.seed)
            except PerturbError as exc:
                if op.name in explicit or len(ops) == 1:
                    raise located(exc, template.path) from None
                print(f"promptkit perturb: {op.name}: skipped: {exc}", file=sys.stderr)
                continue
            variants = generate(template, op, n=args.n, seed=args.seed, edits=args.edits, ctx=ctx, mutations=muts)
            for v in variants:
                docs.append(v.to_dict())
                head = f"# {op.name} variant {v.index + 1}/{len(variants)} (seed {args.seed}): " + "; ".join(v.labels())
                chunks.append(head + "\n" + v.diff())
        if args.format == "json":
            doc = {"file": template.path, "seed": args.seed, "n": args.n, "edits": args.edits,
                   "operators": [o.name for o in ops], "variants": docs}
            sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        else:
            sys.stdout.write("\n".join(chunks))
        return 0


def _list(fmt: str) -> int:
    from promptkit.perturb.operator import FAMILIES, REGISTRY, names

    names()
    rows = [{"name": o.name, "family": o.family, "target": o.target, "params": dict(o.params),
             "description": o.description, "guarantee": o.guarantee} for o in REGISTRY.values()]
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True) + "\n")
        return 0
    for fam in FAMILIES:
        sys.stdout.write(f"{fam}:\n")
        for r in rows:
            if r["family"] == fam:
                sys.stdout.write(f"  {r['name']:<19} {r['description']}\n  {'':<19} keeps: {r['guarantee']}\n")
    return 0


PERTURB = _Perturb()
