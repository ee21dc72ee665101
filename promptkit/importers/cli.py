"""``promptkit import promptfoo CONFIG [--out DIR] [--force] [--dry-run]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class _Import:
    help = "Convert another tool's config (promptfoo) into prompt files and test suites"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("tool", choices=["promptfoo"], help="the tool the config is for")
        parser.add_argument("config", help="the config file (promptfooconfig.yaml)")
        parser.add_argument("--out", help="folder to write into (default: the config's folder)")
        parser.add_argument("--force", action="store_true", help="overwrite existing files")
        parser.add_argument("--dry-run", action="store_true", help="print what would be written, write nothing")

    def run(self, args: argparse.Namespace) -> int:
        from promptkit.importers.promptfoo import ImportError_, convert, write

        config = Path(args.config)
        out = Path(args.out) if args.out else config.parent
        try:
            conv = convert(config, out)
            written = [] if args.dry_run else write(conv, out, force=args.force)
        except ImportError_ as exc:
            print(f"{config}:1:1: error: {exc}", file=sys.stderr)
            return 2
        for rel in conv.files:
            print(f"{'would write' if args.dry_run else 'wrote'} {out / rel}")
        if conv.skipped:
            print(f"\nnot converted ({len(conv.skipped)}):")
            for s in conv.skipped:
                print(f"  {s.format(str(config))}")
        suite = out / conv.suite
        if written:
            print(f"\nrun it: promptkit test {suite}")
        return 0


IMPORT = _Import()
