"""The scripted server itself: loopback only, keep-alive without Nagle stalls, rules,
and stopping by itself."""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import time

import pytest

from pytest_promptkit.server import OpenAIServer, Rule


def _post(conn: http.client.HTTPConnection, text: str, model: str = "m") -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": text}]})
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json", "Authorization": "Bearer sk-x"})
    r = conn.getresponse()
    return r.status, dict(r.getheaders()), r.read()


def test_binds_loopback_and_reuses_connections() -> None:
    with OpenAIServer() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        times = []
        for i in range(60):
            t0 = time.perf_counter()
            status, _, raw = _post(conn, f"hello {i}")
            times.append(time.perf_counter() - t0)
            assert status == 200 and json.loads(raw)["choices"][0]["message"]["content"] == f"hello {i}"
        conn.close()
    # one connection for all 60 (keep-alive) and no ~40 ms delayed-ACK stall per request: the
    # median, not the total, so a CI machine busy with other tests does not fail it
    assert statistics.median(times) < 0.03, sorted(times)


def test_rules_models_times_and_faults() -> None:
    rules = [Rule(pattern="^limit", fault="rate_limit", retry_after=7, times=1), Rule(model="judge", reply="judged"),
             Rule(pattern=r"(\d+) \+ (\d+)", reply=r"\1 plus \2")]
    with OpenAIServer(rules, default_reply="default") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        status, headers, _ = _post(conn, "limit me")
        assert status == 429 and headers["Retry-After"] == "7"
        assert json.loads(_post(conn, "limit me")[2])["choices"][0]["message"]["content"] == "default"  # times=1 used up
        assert json.loads(_post(conn, "x", model="judge")[2])["choices"][0]["message"]["content"] == "judged"
        reply = json.loads(_post(conn, "2 + 3")[2])
        assert reply["choices"][0]["message"]["content"] == "2 plus 3"
        assert reply["usage"] == {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
        assert all("sk-x" not in json.dumps(r) for r in server.requests)
        conn.close()


def test_unknown_fault_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        Rule(fault="explode")


def test_stops_by_itself_when_idle() -> None:
    server = OpenAIServer(idle_timeout_s=0.3).start()
    deadline = time.monotonic() + 5
    while server.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.running


def test_hang_is_released_when_the_server_stops() -> None:
    server = OpenAIServer([Rule(fault="hang")], hang_s=60).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    time.sleep(0.2)
    t0 = time.perf_counter()
    server.stop()
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.getresponse().read()
    assert time.perf_counter() - t0 < 5


def test_standalone_server_prints_its_port() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "pytest_promptkit.server", "--reply", "hi", "--idle-timeout", "5"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        assert json.loads(_post(conn, "x")[2])["choices"][0]["message"]["content"] == "hi"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
