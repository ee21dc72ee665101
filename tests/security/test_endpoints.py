"""Keys go only where the user sent them.

An attacker's PR sets an endpoint (``api_base``, ``base_url``...) or a header in a prompt's
front matter or a suite, hoping CI's provider keys follow the call to their server. Each
attack runs in record mode (the mode that calls models) with keys for several providers in
the environment and an attacker's listener on 127.0.0.1: the case must be an ERROR that
names the parameter and its file, and the listener must receive nothing. The same
endpoint listed in ``allow-endpoints`` (or on the command line) does receive the call.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_promptkit.server import OpenAIServer
from tests.security.conftest import AttackProject, assert_no_traceback

KEYS = {
    "OPENAI_API_KEY": "sk-openai-victim-0123456789abcdef",
    "ANTHROPIC_API_KEY": "sk-ant-victim-0123456789abcdef",
    "AZURE_API_KEY": "azure-victim-0123456789abcdef",
    "GROQ_API_KEY": "gsk-victim-0123456789abcdef",
}

SUITE = """prompts: [{prompt}]
{models}cases:
  - id: france
    vars: {{question: capital of France?}}
    assert: [{{icontains: paris}}]
"""


def _prompt(params: str, section: str = "parameters") -> str:
    return f"""---
name: leak
version: 1.0.0
model:
  id: openai/gpt-4o-mini
  {section}: {params}
inputs:
  question: {{type: string, sample: hi}}
---
system:
Answer in one word.

user:
<question>
{{{{ question }}}}
</question>
"""


@pytest.fixture
def listener():
    with OpenAIServer(default_reply="Paris") as server:
        yield server


def _results(project: AttackProject) -> dict:
    return json.loads((project.root / ".promptkit" / "results.json").read_text(encoding="utf-8"))


def _record(project: AttackProject, *extra: str):
    return project.run("test", "--mode", "record", "--retries", "0", "--timeout", "5", *extra,
                       env=KEYS, ci=False)


ATTACKS = [  # (front-matter section, its value, the parameter refused)
    ("parameters", "{{api_base: '{url}'}}", "api_base"),
    ("parameters", "{{base_url: '{url}'}}", "base_url"),
    ("options", "{{api_base: '{url}', temperature: 0}}", "api_base"),  # Prompty v2
    ("options", "{{maxOutputTokens: 50, additionalProperties: {{api_base: '{url}'}}}}", "api_base"),  # v2 extras
    ("parameters", "{{api_base: 'http://user:pw@{host}/v1'}}", "api_base"),
    ("parameters", "{{extra_headers: {{X-Exfil: '${{env:OPENAI_API_KEY}}'}}}}", "extra_headers"),
    ("parameters", "{{custom_llm_provider: openai, api_base: '{url}'}}", "custom_llm_provider"),
    ("parameters", "{{aws_web_identity_token: stolen}}", "aws_web_identity_token"),
]


def test_endpoint_or_credential_params_in_front_matter_are_refused(attack: AttackProject,
                                                                    listener: OpenAIServer) -> None:
    """One suite over one prompt per attack (one subprocess): every case an ERROR naming
    the parameter at its front-matter key, the listener never called, no key printed."""
    host = f"127.0.0.1:{listener.port}"
    names = []
    for i, (section, params, _param) in enumerate(ATTACKS):
        names.append(f"leak{i}.prompty")
        attack.write(names[-1], _prompt(params.format(url=listener.base_url, host=host), section))
    attack.write("leak.prompttest.yaml", SUITE.format(prompt=", ".join(names), models=""))
    proc = _record(attack)
    out = assert_no_traceback(proc)
    assert proc.returncode == 1, out
    assert listener.calls == 0, listener.requests
    cases = {Path(c["prompt"]).name: c for c in _results(attack)["cases"]}
    assert len(cases) == len(ATTACKS)
    for i, (_section, _params, param) in enumerate(ATTACKS):
        case = cases[f"leak{i}.prompty"]
        error = case["samples"][0]["error"]
        assert case["outcome"] == "error" and param in error and "PT010" in error, error
        assert f"leak{i}.prompty:" in error, error  # located at the front-matter key
    for value in KEYS.values():
        assert value not in out + json.dumps(_results(attack))


def test_endpoint_in_a_suite_target_is_refused(attack: AttackProject, listener: OpenAIServer) -> None:
    models = f"models:\n  - {{id: openai/gpt-4o-mini, params: {{api_base: '{listener.base_url}'}}}}\n"
    attack.write("t.prompttest.yaml", SUITE.format(prompt="answer.prompty", models=models))
    proc = _record(attack)
    assert_no_traceback(proc)
    assert proc.returncode == 1
    assert listener.calls == 0
    error = _results(attack)["cases"][0]["samples"][0]["error"]
    line = SUITE.format(prompt="answer.prompty", models=models).splitlines().index(models.splitlines()[1]) + 1
    assert "api_base" in error and f"t.prompttest.yaml:{line}:" in error, error  # at the entry's key, not 1:1


def test_endpoint_in_judge_params_is_refused(attack: AttackProject, listener: OpenAIServer) -> None:
    with OpenAIServer(default_reply="Paris") as own:
        attack.write("j.prompttest.yaml", f"""prompts: [answer.prompty]
defaults:
  judge: {{id: openai/gpt-4o-mini, params: {{api_base: '{listener.base_url}'}}}}
cases:
  - id: judged
    vars: {{question: capital of France?}}
    assert: [{{type: llm-rubric, value: names a city}}]
""")
        proc = _record(attack, "--api-base", own.base_url)
    assert_no_traceback(proc)
    assert listener.calls == 0
    assert _results(attack)["cases"][0]["outcome"] == "error"


def test_allow_endpoints_in_project_config_lets_the_call_through(attack: AttackProject, listener: OpenAIServer) -> None:
    attack.write("pyproject.toml", f'[tool.promptkit.test]\nallow-endpoints = ["127.0.0.1:{listener.port}"]\n')
    attack.write("ok.prompty", _prompt(f"{{api_base: '{listener.base_url}', temperature: 0}}"))
    attack.write("ok.prompttest.yaml", SUITE.format(prompt="ok.prompty", models=""))
    proc = _record(attack)
    assert proc.returncode == 0, assert_no_traceback(proc)
    assert listener.calls == 1
    # the endpoint is not recorded (nor keyed): only the allow-listed call parameters are
    rec = next((attack.root / "__recordings__").rglob("*.json"))
    assert json.loads(rec.read_text(encoding="utf-8"))["params"] == {"temperature": 0}


def test_allow_endpoint_on_the_command_line(attack: AttackProject, listener: OpenAIServer) -> None:
    attack.write("ok.prompty", _prompt(f"{{base_url: '{listener.base_url}'}}"))
    attack.write("ok.prompttest.yaml", SUITE.format(prompt="ok.prompty", models=""))
    other = "127.0.0.1:1"  # another port on the same host does not match
    assert _record(attack, "--allow-endpoint", other).returncode == 1
    assert listener.calls == 0
    assert _record(attack, "--allow-endpoint", f"http://127.0.0.1:{listener.port}/v1").returncode == 0
    assert listener.calls == 1


def test_api_base_on_the_command_line_overrides_a_files_endpoint(attack: AttackProject, listener: OpenAIServer) -> None:
    with OpenAIServer(default_reply="Paris") as own:
        attack.write("ok.prompty", _prompt(f"{{api_base: '{listener.base_url}'}}"))
        attack.write("ok.prompttest.yaml", SUITE.format(prompt="ok.prompty", models=""))
        proc = _record(attack, "--api-base", own.base_url)
        assert proc.returncode == 0, assert_no_traceback(proc)
        assert own.calls == 1
    assert listener.calls == 0


@pytest.mark.parametrize(("url", "allowed", "ok"), [
    ("http://127.0.0.1:8080/v1", ["127.0.0.1:8080"], True),
    ("http://127.0.0.1:8081/v1", ["127.0.0.1:8080"], False),
    ("https://LLM.internal.example/v1", ["llm.internal.example"], True),
    ("https://llm.internal.example.evil.io/v1", ["llm.internal.example"], False),
    ("https://evil.io/llm.internal.example", ["llm.internal.example"], False),
    ("https://llm.internal.example/v1/chat", ["https://llm.internal.example/v1"], True),
    ("http://llm.internal.example/v1", ["https://llm.internal.example/v1"], False),
    ("https://llm.internal.example/v2", ["https://llm.internal.example/v1"], False),
    ("https://a:b@llm.internal.example/v1", ["llm.internal.example"], False),
    ("not a url", ["llm.internal.example"], False),
])
def test_endpoint_matching(url: str, allowed: list[str], ok: bool) -> None:
    from promptkit.runner.policy import endpoint_allowed

    assert endpoint_allowed(url, allowed) is ok


def test_params_outside_the_allow_list_are_refused_by_name() -> None:
    from promptkit.runner.policy import CALL_PARAMS, ParamRefused, check_call_params

    assert check_call_params({"temperature": 0, "timeout": 3}) == {"temperature": 0, "timeout": 3}
    for bad in ("api_key", "headers", "azure_password", "vertex_credentials", "extra_body", "input_cost_per_token"):
        assert bad not in CALL_PARAMS
        with pytest.raises(ParamRefused) as info:
            check_call_params({bad: "x"})
        assert info.value.param == bad


def test_example_prompts_use_only_allowed_params() -> None:
    """The shipped templates and judges stay inside the allow-list (else CI replay breaks)."""
    from promptkit.runner.policy import check_call_params
    from promptkit.template import load

    root = Path(__file__).resolve().parents[2] / "templates"
    for path in root.rglob("*.prompty"):
        model = load(path).front_matter.model
        if model is not None:
            check_call_params(model.params)
