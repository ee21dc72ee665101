"""``--promptkit-shard K/N`` splits a run deterministically; ``promptkit results merge``
puts the jobs' results back together."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptkit.review.shard import parse_shard, shard_of, split

from .results_helpers import real_run

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SUITES = ("templates/classify_ticket.prompttest.yaml", "templates/extract_invoice.prompttest.yaml",
          "templates/summarize.prompttest.yaml")


@settings(max_examples=80, deadline=None)
@given(st.sets(st.text(min_size=1, max_size=12), max_size=60), st.integers(1, 7), st.randoms())
def test_shards_cover_every_id_once_and_balance(ids: set[str], n: int, rnd: random.Random) -> None:
    order = sorted(ids)
    rnd.shuffle(order)
    shards = [shard_of(order, parse_shard(f"{k}/{n}")) for k in range(1, n + 1)]
    assert set().union(*shards) == ids
    assert sum(len(s) for s in shards) == len(ids)  # disjoint
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    assert shards == [shard_of(sorted(ids), parse_shard(f"{k}/{n}")) for k in range(1, n + 1)]  # order-free
    kept, dropped = split(order, order, parse_shard(f"1/{n}"))
    assert kept == [i for i in order if i in shards[0]] and len(kept) + len(dropped) == len(order)


@pytest.mark.parametrize("bad", ["", "3", "0/2", "3/2", "1/0", "a/b", "-1/2"])
def test_bad_specs_say_how(bad: str) -> None:
    with pytest.raises(ValueError, match="promptkit-shard"):
        parse_shard(bad)


def _pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False, timeout=180)


def test_two_ci_jobs_then_merge_equal_one_run(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'shard-demo'\n", encoding="utf-8")
    parts = []
    counts = []
    for k in (1, 2):
        out = f"shard-{k}.json"
        proc = _pytest(tmp_path, *SUITES, "--promptkit-mode", "replay", "--promptkit-shard", f"{k}/2",
                       "--promptkit-results", out)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        assert "deselected" in proc.stdout
        parts.append(str(tmp_path / out))
        counts.append(len(json.loads((tmp_path / out).read_text(encoding="utf-8"))["cases"]))
    full = sorted(c.id for c in real_run().cases if c.suite in SUITES)  # the committed replay run of templates/
    assert sum(counts) == len(full) and abs(counts[0] - counts[1]) <= 1
    merged = subprocess.run([sys.executable, "-m", "promptkit.cli", "results", "merge", *parts, "-o", "all.json"],
                            cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60)
    assert merged.returncode == 0, merged.stderr
    assert [c["id"] for c in json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))["cases"]] == full
