"""``promptkit import promptfoo``: configs written from promptfoo's public doc examples
(``tests/fixtures/importers/promptfoo/``) convert into prompt files and suites that load,
lint clean and run (live against the local scripted server), with everything left out
listed at its line with the reason."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from promptkit.importers.promptfoo import ASSERTIONS, UNSUPPORTED, ImportError_, convert, model_id, write
from promptkit.runner.engine import RunConfig, run_suites
from promptkit.runner.recordings import Mode
from promptkit.runner.results import Outcome
from promptkit.runner.suite_file import load_suite
from pytest_promptkit.server import OpenAIServer, Rule

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "importers" / "promptfoo"


def _convert(name: str, tmp_path: Path) -> tuple[Path, list[str]]:
    src = tmp_path / name
    shutil.copytree(FIXTURES / name, src)
    conv = convert(src / "promptfooconfig.yaml")
    write(conv, src)
    return src / conv.suite, [f"{s.line}: {s.where}: {s.what}" for s in conv.skipped]


def _run(suite: Path, rules: list[Rule]) -> dict[str, object]:
    with OpenAIServer(rules, default_reply="(no scripted reply)") as server:
        run = run_suites([suite], RunConfig(mode=Mode.LIVE, api_base=server.base_url, model="openai/scripted",
                                            timeout_s=10))
    return {c.case: c for c in run.cases}


JUDGE_PASS = Rule(pattern=r"<rubric>", reply='{"pass": true, "score": 1, "reason": "meets the rubric"}')


def test_getting_started_converts_and_runs(tmp_path: Path) -> None:
    suite, skipped = _convert("getting-started", tmp_path)
    assert skipped == ["21: tests[0].assert[1]: javascript"]
    loaded = load_suite(suite)
    assert [m.id for m in loaded.models] == ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-20241022"]
    assert loaded.models[1].params == {"temperature": 0, "max_tokens": 256} and loaded.models[1].label == "haiku"
    assert [p.name for p in loaded.prompts] == ["prompt-1.prompty", "formal.prompty"]
    prompt = (suite.parent / "prompts" / "formal.prompty").read_text(encoding="utf-8")
    assert "inputs:" in prompt and "language:" in prompt and "{{language}}" in prompt
    cases = _run(suite, [JUDGE_PASS, Rule(pattern=r"Hello world", reply="Bonjour le monde"),
                         Rule(pattern=r"How's it going", reply="Wie geht es dir?")])
    # two prompts x one model override; the not-similar persona check needs the embedding model
    first = cases["case-1"]
    assert first.outcome is Outcome.PASS, first
    second = cases["german-not-an-ai-persona"]
    reasons = [a.reason for s in second.samples for a in s.assertions]
    assert second.outcome is Outcome.PASS or any("embedding" in r for r in reasons), reasons


def test_csv_tests_convert_and_run(tmp_path: Path) -> None:
    suite, skipped = _convert("csv-tests", tmp_path)
    assert skipped == []
    doc = yaml.safe_load(suite.read_text(encoding="utf-8"))
    by_id = {c["id"]: c for c in doc["cases"]}
    assert by_id["arithmetic"]["assert"] == [{"type": "contains", "value": "4"}, {"type": "not-contains", "value": "five"}]
    assert by_id["greeting"]["assert"] == [{"type": "llm-rubric", "value": "is friendly and brief"}]
    assert by_id["plain-value-is-equals"]["assert"] == [{"type": "equals", "value": "Paris"}]
    prompt = (suite.parent / "prompts" / "prompt.prompty").read_text(encoding="utf-8")
    assert "system:\nYou answer in one short sentence." in prompt and "user:\n{{question}}" in prompt
    replies = [JUDGE_PASS, Rule(pattern=r"2\+2", reply="It is 4."), Rule(pattern=r"France", reply="Paris."),
               Rule(pattern=r"Greet", reply="Hi there!"), Rule(pattern=r"JSON", reply='{"ok": true}'),
               Rule(pattern=r"colour", reply="yellow, for one."), Rule(pattern=r"exactly Paris", reply="Paris")]
    cases = _run(suite, replies)
    assert {k: c.outcome for k, c in cases.items()} == dict.fromkeys(by_id, Outcome.PASS)  # type: ignore[union-attr]
    # the CSV cell's own quoting is kept: promptkit reads the value as one CSV row, as promptfoo does
    assert 'value: red, blue, "yellow"' in suite.read_text(encoding="utf-8")


def test_full_config_lists_what_it_left_out_and_runs(tmp_path: Path) -> None:
    suite, skipped = _convert("full", tmp_path)
    assert skipped == [
        "12: providers[0].config.apiKey: apiKey",
        "13: providers[0].config.apiBaseUrl: apiBaseUrl",
        "14: providers[1]: exec:python my_provider.py",
        "46: tests[0].assert[4]: webhook",
        "64: tests[2].assert[1]: python",
        "72: tests[2].assert[4].transform: output.replace(/\\s+/g, ' ')",
        "74: evaluateOptions: evaluateOptions",
        "75: outputPath: outputPath",
    ]
    text = suite.read_text(encoding="utf-8")
    assert "sk-not-a-real-key" not in text and "proxy.example.com" not in text  # never written
    assert "# Not converted" in text and "promptfooconfig.yaml:46: tests[0].assert[4]: webhook" in text
    loaded = load_suite(suite)
    assert loaded.defaults.judge is not None and loaded.defaults.judge.id == "openai/gpt-4o"
    cases = _run(suite, [
        Rule(pattern=r"refund", reply="  Our policy: you can get a refund within 30 days  \n"),
        Rule(pattern=r"order 42", reply='{"status": "shipped", "eta": "Friday"}'),
        Rule(pattern=r"last three orders", reply="SELECT * FROM orders ORDER BY created_at DESC LIMIT 3"),
    ])
    assert cases["refund-policy"].outcome is Outcome.PASS, cases["refund-policy"]
    assert cases["order-status-as-json"].outcome is Outcome.PASS, cases["order-status-as-json"]
    sql = cases["tools-and-sql"]  # the scripted model has no price: the cost bound is an ERROR, never a $0 pass
    assert sql.outcome is Outcome.ERROR
    assert any("price" in (s.error or "") for s in sql.samples)  # type: ignore[attr-defined]


def test_the_command_writes_files_and_refuses_to_overwrite(tmp_path: Path) -> None:
    src = tmp_path / "gs"
    shutil.copytree(FIXTURES / "getting-started", src)
    cmd = [sys.executable, "-m", "promptkit.cli", "import", "promptfoo", str(src / "promptfooconfig.yaml")]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "not converted (1):" in first.stdout and "promptfooconfig.yaml:21: tests[0].assert[1]: javascript" in first.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "exists; pass --force" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.parametrize("text, error", [("prompts: [", "not valid YAML"), ("- a\n- b\n", "a mapping"),
                                         ("providers: [openai:gpt-4o]\n", "no 'prompts'")])
def test_unreadable_configs_are_clear_errors(tmp_path: Path, text: str, error: str) -> None:
    p = tmp_path / "promptfooconfig.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ImportError_, match=error):
        convert(p)


@pytest.mark.parametrize("provider, expected", [
    ("openai:gpt-4o-mini", "openai/gpt-4o-mini"), ("openai:chat:gpt-4o", "openai/gpt-4o"),
    ("anthropic:messages:claude-3-5-sonnet-20241022", "anthropic/claude-3-5-sonnet-20241022"),
    ("ollama:chat:llama3.1:8b", "ollama/llama3.1:8b"), ("azureopenai:chat:my-deployment", "azure/my-deployment"),
    ("vertex:gemini-1.5-pro", "vertex_ai/gemini-1.5-pro"), ("bedrock:anthropic.claude-v2", "bedrock/anthropic.claude-v2"),
    ("exec:python x.py", None), ("file://provider.py", None), ("https://example.com/api", None), ("echo", None),
])
def test_provider_ids(provider: str, expected: str | None) -> None:
    assert model_id(provider) == expected


def test_the_mapping_doc_covers_every_promptfoo_type() -> None:
    doc = (ROOT / "docs" / "from-promptfoo.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z0-9:-]+)` \|", doc, re.MULTILINE))
    assert set(ASSERTIONS) | set(UNSUPPORTED) <= listed, (set(ASSERTIONS) | set(UNSUPPORTED)) - listed
    assert listed <= set(ASSERTIONS) | set(UNSUPPORTED), listed - set(ASSERTIONS) - set(UNSUPPORTED)
