"""How fast test files load and assertions evaluate (no model calls).

The runner's budget (1,000 cases in under 1.5 s in replay) leaves little room for the
checks themselves, so this measures our side alone:

* loading a 1,000-case suite file and a 5,000-row CSV dataset (validation included);
* each deterministic assertion type, per evaluation;
* judge overhead with an instant scripted judge (template render + parse, no network);
* semantic similarity: model load once, then per check (skipped when not installed);
* the first-use import cost of the libraries behind is-sql (sqlglot), rouge-n
  (rouge-score + nltk) and bleu (sacrebleu), each in a fresh interpreter;
* ``promptkit import promptfoo`` on the docs-example config: the command a user types,
  in a subprocess from start to exit, next to the in-process conversion.

Run: ``python benchmarks/assertions.py`` -- prints a table.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from promptkit.runner.assertions import AssertionContext, build_spec, evaluate  # noqa: E402
from promptkit.runner.results import ModelResponse, Usage  # noqa: E402
from promptkit.runner.suite_file import load_suite  # noqa: E402
from promptkit.template import load  # noqa: E402

PROMPT = REPO / "tests" / "fixtures" / "runner" / "prompts" / "greet.prompty"
OUTPUT = '{"greeting": "Hello Ada, nice to meet you! Welcome to the team.", "count": 1}'


def timed(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Median wall time of ``fn`` in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def suite_files(folder: Path) -> tuple[Path, Path]:
    cases = "\n".join(
        f"  - id: case-{i}\n    vars: {{name: Person{i}, times: {i % 3 + 1}}}\n"
        f"    assert:\n      - icontains: person{i}\n      - type: json-path\n        path: greeting\n"
        f"      - type: regex\n        value: '^\\{{'\n"
        for i in range(1000)
    )
    # the suites' files live in one project (files outside a project are never read)
    (folder / "promptkit.toml").write_text("", encoding="utf-8")
    (folder / PROMPT.name).write_text(PROMPT.read_text(encoding="utf-8"), encoding="utf-8")
    inline = folder / "big.prompttest.yaml"
    inline.write_text(f"prompts: [{PROMPT.name}]\ndefaults:\n  assert: [{{type: is-json}}]\ncases:\n{cases}", encoding="utf-8")
    rows = "\n".join(f"p{i},Person{i},{i % 3 + 1},icontains: person{i}" for i in range(5000))
    (folder / "rows.csv").write_text(f"__id,name,times,__expected\n{rows}\n", encoding="utf-8")
    dataset = folder / "rows.prompttest.yaml"
    dataset.write_text(f"prompts: [{PROMPT.name}]\ncases:\n  - id: rows\n    dataset: rows.csv\n", encoding="utf-8")
    return inline, dataset


SPECS: list[tuple[str, dict[str, Any]]] = [
    ("equals", {"type": "equals", "value": OUTPUT}),
    ("contains", {"contains": "Ada"}),
    ("icontains", {"icontains": "ada"}),
    ("contains-all (3)", {"type": "contains-all", "value": ["Ada", "team", "Hello"]}),
    ("regex", {"type": "regex", "value": r"Hello \w+"}),
    ("starts-with", {"starts-with": "{"}),
    ("length (words)", {"type": "length", "unit": "words", "max": 50}),
    ("is-json", {"type": "is-json"}),
    ("json-schema", {"type": "json-schema", "value": {"type": "object", "required": ["greeting"]}}),
    ("json-path", {"type": "json-path", "path": "greeting"}),
    ("pydantic", {"type": "pydantic", "value": "shapes.py:Usage"}),
    ("tokens", {"type": "tokens", "max": 100}),
    ("string-similar", {"type": "string-similar", "value": "Hello Ada, welcome to the team!"}),
    ("cost", {"type": "cost", "max_usd": 0.01}),
    ("with {{ var }}", {"contains": "{{ name }}"}),
    ("ends-with", {"ends-with": "}"}),
    ("regex, dialect js", {"type": "regex", "value": r"Hello \w+", "dialect": "js"}),
    ("levenshtein", {"type": "levenshtein", "value": OUTPUT[:-3], "threshold": 5}),
    ("contains-json", {"type": "contains-json", "value": {"type": "object", "required": ["greeting"]}}),
    ("is-xml", {"type": "is-xml", "transform": {"python": "shapes.py:as_xml"}}),
    ("contains-sql", {"contains-sql": None, "transform": {"python": "shapes.py:as_sql"}}),
    ("rouge-n", {"type": "rouge-n", "value": "Hello Ada, welcome to the team!"}),
    ("bleu", {"type": "bleu", "value": "Hello Ada, nice to meet you! Welcome to the team."}),
    ("is-refusal", {"type": "not-is-refusal"}),
    ("transform json_path + equals", {"type": "equals", "value": 1, "transform": {"json_path": "count"}}),
    ("assert-set (3)", {"type": "assert-set", "assert": [{"contains": "Ada"}, {"is-json": None}, {"ends-with": "}"}]}),
]


def per_eval(spec: dict[str, Any], ctx: AssertionContext, n: int) -> float:
    s = [build_spec(spec)]
    resp = ModelResponse(text=OUTPUT, model="openai/gpt-4o-mini", usage=Usage(cost_usd=0.001))

    async def go() -> None:
        for _ in range(n):
            await evaluate(s, resp, ctx)

    asyncio.run(go())  # warm caches (imports, compiled regex, encodings)
    return timed(lambda: asyncio.run(go()), repeat=3) / n


async def instant_judge(messages: list[dict[str, Any]], model: str | None, params: dict[str, Any]) -> ModelResponse:
    if "<response_a>" in messages[-1]["content"]:
        return ModelResponse(text='{"winner": "A", "reason": "r"}', model="judge")
    return ModelResponse(text='{"pass": true, "score": 0.9, "reason": "r"}', model="judge")


def main() -> None:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        inline, dataset = suite_files(Path(tmp))
        t = timed(lambda: load_suite(inline), repeat=3)
        rows.append(("load suite: 1,000 cases x 4 assertions", f"{t * 1000:.0f} ms ({t * 1e6 / 1000:.0f} us/case)"))
        t = timed(lambda: load_suite(dataset).expand(), repeat=3)
        rows.append(("load + expand: 5,000-row CSV dataset", f"{t * 1000:.0f} ms ({t * 1e6 / 5000:.0f} us/row)"))
        # a pydantic model defined in a project file (models are never imported by module name)
        (Path(tmp) / "shapes.py").write_text("from pydantic import BaseModel\nclass Usage(BaseModel):\n"
                                             "    prompt_tokens: int = 0\n"
                                             "def as_xml(output):\n    return '<a><b>' + output[:20] + '</b></a>'\n"
                                             "def as_sql(output):\n    return 'Here: SELECT name FROM users WHERE id = 1;'\n",
                                             encoding="utf-8")
        ctx = AssertionContext(vars={"name": "Ada"}, template=load(PROMPT), base_dir=tmp)
        for label, spec in SPECS:
            rows.append((f"evaluate {label}", f"{per_eval(spec, ctx, 2000) * 1e6:.1f} us"))
    jctx = AssertionContext(vars={}, judge=instant_judge, messages=[{"role": "user", "content": "My name is Ada."}])
    rows.append(("llm-rubric, instant judge (render+parse)", f"{per_eval({'type': 'llm-rubric', 'value': 'Greets.'}, jctx, 200) * 1e3:.2f} ms"))
    rows.append(("pairwise, instant judge (2 orders)", f"{per_eval({'type': 'pairwise', 'value': 'Hi'}, jctx, 200) * 1e3:.2f} ms"))
    from promptkit.runner.assertions.similarity import (
        cosine_similarities,
        embeddings_available,
    )

    if embeddings_available():
        t0 = time.perf_counter()
        cosine_similarities("warm up", ["load the model"])
        rows.append(("semantic-similar: import torch + load model", f"{time.perf_counter() - t0:.2f} s"))
        spec = {"type": "semantic-similar", "value": "Hello Ada, welcome aboard."}
        rows.append(("semantic-similar per check", f"{per_eval(spec, ctx, 50) * 1e3:.1f} ms"))
    else:
        rows.append(("semantic-similar", "skipped: pip install 'promptkit[embeddings]'"))
    rows += import_costs()
    rows += importer_figures()
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 24}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


def import_costs() -> list[tuple[str, str]]:
    """First-use import of each heavy library, in a fresh interpreter (what the first
    check of that type costs a run)."""
    import subprocess

    out = []
    for label, module in (("sqlglot (is-sql)", "sqlglot"), ("rouge-score + nltk (rouge-n)", "rouge_score.rouge_scorer"),
                          ("sacrebleu (bleu)", "sacrebleu.metrics"), ("defusedxml (is-xml)", "defusedxml.ElementTree"),
                          ("jsonschema + format checkers", "jsonschema")):
        code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        out.append((f"first import: {label}", f"{float(r.stdout or 'nan') * 1000:.0f} ms" if r.returncode == 0 else
                    "not installed"))
    return out


def importer_figures() -> list[tuple[str, str]]:
    """``promptkit import promptfoo`` end to end (subprocess) next to in-process."""
    import shutil
    import subprocess

    from promptkit.importers.promptfoo import convert

    src = REPO / "tests" / "fixtures" / "importers" / "promptfoo" / "full"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "full"
        shutil.copytree(src, work)
        cfg = work / "promptfooconfig.yaml"
        inproc = timed(lambda: convert(cfg), repeat=5)
        cmd = [sys.executable, "-m", "promptkit.cli", "import", "promptfoo", str(cfg), "--force"]

        def once() -> None:
            subprocess.run(cmd, capture_output=True, check=True)

        e2e = timed(once, repeat=3)
    return [("promptkit import promptfoo (subprocess, start to exit)", f"{e2e * 1000:.0f} ms"),
            ("  the conversion in-process", f"{inproc * 1000:.1f} ms")]


if __name__ == "__main__":
    main()
