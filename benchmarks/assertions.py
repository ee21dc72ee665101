"""How fast test files load and assertions evaluate (no model calls).

The runner's budget (1,000 cases in under 1.5 s in replay) leaves little room for the
checks themselves, so this measures our side alone:

* loading a 1,000-case suite file and a 5,000-row CSV dataset (validation included);
* each deterministic assertion type, per evaluation;
* judge overhead with an instant scripted judge (template render + parse, no network);
* semantic similarity: model load once, then per check (skipped when not installed).

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
                                             "    prompt_tokens: int = 0\n", encoding="utf-8")
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
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  result")
    print(f"{'-' * width}  {'-' * 24}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
