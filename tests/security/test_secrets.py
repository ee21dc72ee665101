"""Nothing secret is written.

Recordings are committed and results, baselines and JUnit files are uploaded as CI
artifacts, so a key must reach none of them: recordings keep a closed allow-list of call
parameters, and every error text is masked of each configured key and header value and of
every secret-looking environment variable before it is written or printed. The endpoint
here is hostile or misconfigured: its error messages echo the request's credentials.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.conftest import AttackProject, assert_no_traceback

API_KEY = "sk-live-victim-key-0123456789abcdef"
ENV_TOKEN = "envtok-victim-9876543210fedcba"


class _EchoingServer(http.server.BaseHTTPRequestHandler):
    """Answers every call with a 400 whose message repeats the credentials it was sent."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        leak = f"invalid auth {self.headers.get('Authorization')} (upstream token {ENV_TOKEN})"
        body = json.dumps({"error": {"message": leak, "type": "invalid_request_error"}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoingServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()


SUITE = """prompts: [answer.prompty]
cases:
  - id: france
    vars: {question: capital of France?}
    assert: [{icontains: paris}]
"""


def test_error_texts_are_masked_in_results_junit_and_terminal(attack: AttackProject, echoing: str) -> None:
    attack.write("ok.prompttest.yaml", SUITE)
    junit = attack.root / "junit.xml"
    proc = attack.run("test", "--mode", "record", "--api-base", echoing, "--retries", "0",
                      "--junitxml", str(junit), env={"MY_SERVICE_TOKEN": ENV_TOKEN}, ci=False)
    out = assert_no_traceback(proc)
    assert proc.returncode == 1, out
    results = (attack.root / ".promptkit" / "results.json").read_text(encoding="utf-8")
    case = json.loads(results)["cases"][0]
    assert case["outcome"] == "error" and "***" in case["samples"][0]["error"], case
    for text in (out, results, junit.read_text(encoding="utf-8")):
        assert ENV_TOKEN not in text


def test_an_api_key_given_to_the_api_is_masked(attack: AttackProject, echoing: str) -> None:
    from promptkit.runner.engine import RunConfig, run_suites

    suite = attack.write("ok.prompttest.yaml", SUITE)
    config = RunConfig(mode="record", api_base=echoing, api_key=API_KEY)
    config.retry.max_retries = 0
    results = run_suites([suite], config)
    text = results.to_json()
    assert API_KEY not in text and "***" in text


def test_recordings_keep_only_allow_listed_params() -> None:
    from promptkit.runner.recordings import clean_params

    sent = {"temperature": 0, "max_tokens": 5, "seed": 1, "aws_web_identity_token": "t" * 20,
            "azure_password": "p" * 20, "default_headers": {"Authorization": "Bearer x" * 3},
            "extra_body": {"token": "s" * 20}, "api_key": "k" * 20, "vertex_credentials": "{}",
            "my_custom_secret_thing": "z" * 20}
    assert clean_params(sent) == {"max_tokens": 5, "seed": 1, "temperature": 0}


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY",
                                  "AZURE_CLIENT_SECRET", "HF_AUTH", "GOOGLE_APPLICATION_CREDENTIALS_JSON"])
def test_secret_looking_environment_values_are_masked(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from promptkit.redact import redact, redact_data

    monkeypatch.setenv(name, "value-of-a-secret-123")
    monkeypatch.setenv("HOME_PAGE", "value-that-is-not-secret")
    text = "got value-of-a-secret-123 and value-that-is-not-secret"
    assert redact(text) == "got *** and value-that-is-not-secret"
    assert redact_data({"a": [text]}) == {"a": ["got *** and value-that-is-not-secret"]}


def test_short_values_are_not_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from promptkit.redact import redact

    monkeypatch.setenv("USE_AUTH", "true")
    assert redact("true is true") == "true is true"


def test_committed_example_recordings_hold_no_credential_fields() -> None:
    root = Path(__file__).resolve().parents[2] / "templates" / "__recordings__"
    from promptkit.runner.policy import CALL_PARAMS

    for path in root.rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert set(data.get("params", {})) <= CALL_PARAMS, path
