"""A local OpenAI-compatible chat server with scripted replies and fault injection.

Why: runner tests must never reach the internet, yet they have to exercise the real
client path (litellm -> HTTP -> JSON) including everything that goes wrong with real
providers: slow answers, 429 with ``Retry-After``, 500s, malformed JSON, dropped
connections and requests that hang past the client timeout. A scripted server gives
all of that deterministically.

Replies come from a rule table: the first rule whose regex matches the last user
message (and whose model and call budget match) answers. A rule either replies with
text (``\\1`` group references allowed, ``"{echo}"`` repeats the message) or injects a
fault. ``times=N`` limits a rule to its first N matches, so "fail twice, then answer"
is two rules.

Safety: binds 127.0.0.1 only, port 0 (the OS picks a free one), daemon threads, and a
watchdog that stops the server after ``idle_timeout_s`` without requests or
``max_lifetime_s`` in total, so a forgotten server never outlives its test run.
Authorization headers are never stored in the request log.

Run standalone (used by the benchmarks, so the server gets its own core)::

    python -m pytest_promptkit.server --latency 0.05 --reply echo
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

#: Faults a rule can inject.
FAULTS = ("rate_limit", "server_error", "malformed", "no_choices", "drop", "hang", "bad_request")

Reply = str | Callable[[dict[str, Any]], str]


@dataclass
class Rule:
    """One line of the reply script.

    ``pattern``: regex searched in the last user message (None matches everything).
    ``model``: only for this model name (as sent, e.g. ``smollm2``). ``reply``: text
    (``\\1`` refers to regex groups, ``{echo}`` is the last user message) or a callable
    taking the request body. ``fault``: one of :data:`FAULTS`. ``latency_s``: delay
    before answering. ``times``: how many matches this rule serves (None: unlimited).
    """

    pattern: str | None = None
    reply: Reply | None = None
    fault: str | None = None
    latency_s: float = 0.0
    times: int | None = None
    model: str | None = None
    retry_after: float | None = 1.0
    status: int | None = None
    #: Tool calls to return (``finish_reason: tool_calls``): ``[{"name": ..., "arguments":
    #: {...} or a JSON string}]``, or a callable taking the request body. With no
    #: ``reply`` the message content is null, as real providers send it.
    tool_calls: list[dict[str, Any]] | Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None
    #: A raw reply body sent verbatim with ``status`` (default 200) instead of a chat
    #: completion: a proxy's HTML error page, an error without a message, a reply that is
    #: JSON but not a chat completion (no ``content``)...
    body: str | None = None
    used: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; choose one of {', '.join(FAULTS)}")
        self._regex = re.compile(self.pattern, re.DOTALL | re.IGNORECASE) if self.pattern is not None else None

    def match(self, model: str, text: str) -> re.Match[str] | bool | None:
        if self.times is not None and self.used >= self.times:
            return None
        if self.model is not None and self.model != model:
            return None
        if self._regex is None:
            return True
        return self._regex.search(text)


def _words(text: str) -> int:
    return len(text.split())


def _last_user(messages: Iterable[Mapping[str, Any]]) -> str:
    text = ""
    for m in messages:
        if m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, list):  # content parts
                content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            text = str(content or "")
    return text


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses connections
    disable_nagle_algorithm = True  # else every keep-alive request stalls ~40 ms (delayed ACK)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read server.requests instead

    def _send_json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.owner._touch()
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        owner = self.server.owner
        owner._touch()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
            return
        owner._log(body, self.headers)
        model = str(body.get("model", ""))
        text = _last_user(body.get("messages") or [])
        rule, match = owner._pick(model, text)
        delay = owner.latency_s + (rule.latency_s if rule else 0.0)
        if delay > 0 and owner._stopping.wait(delay):
            return
        fault = rule.fault if rule else None
        status = rule.status if rule else None
        if rule is not None and rule.body is not None and fault is None:
            self._send_json(status or 200, rule.body.encode())
            return
        if fault == "hang":
            owner._stopping.wait(owner.hang_s)  # returns early when the server stops
            self.close_connection = True
            return
        if fault == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault == "rate_limit":
            headers = {"Retry-After": f"{rule.retry_after:g}"} if rule and rule.retry_after is not None else {}
            self._send_json(status or 429, {"error": {"message": "rate limited (scripted)", "type": "rate_limit_error"}}, headers)
            return
        if fault == "server_error":
            self._send_json(status or 500, {"error": {"message": "internal error (scripted)", "type": "server_error"}})
            return
        if fault == "bad_request":
            self._send_json(status or 400, {"error": {"message": "bad request (scripted)", "type": "invalid_request_error"}})
            return
        if fault == "malformed":
            self._send_json(200, b'{"id": "chatcmpl-broken", "choices": [{"message": ')
            return
        calls = _tool_calls(rule, body, owner.calls)
        reply = owner._reply_text(rule, match, body, text) if not calls or (rule and rule.reply is not None) else None
        message: dict[str, Any] = {"role": "assistant", "content": reply}
        if calls:
            message["tool_calls"] = calls
        reply = reply or ""
        prompt_tokens = sum(_words(str(m.get("content") or "")) for m in body.get("messages") or [])
        payload = {
            "id": f"chatcmpl-scripted-{owner.calls}",
            "object": "chat.completion",
            "created": 1700000000,
            "model": model,
            "choices": [] if fault == "no_choices" else [
                {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": _words(reply),
                "total_tokens": prompt_tokens + _words(reply),
            },
        }
        self._send_json(200, payload)


def _tool_calls(rule: Rule | None, body: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """A rule's tool calls in OpenAI's wire shape (arguments as a JSON string)."""
    if rule is None or rule.tool_calls is None:
        return []
    calls = rule.tool_calls(body) if callable(rule.tool_calls) else rule.tool_calls
    out = []
    for i, c in enumerate(calls):
        args = c.get("arguments", {})
        out.append({"id": c.get("id", f"call_{n}_{i}"), "type": "function",
                    "function": {"name": c["name"], "arguments": args if isinstance(args, str) else json.dumps(args)}})
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    owner: OpenAIServer


class OpenAIServer:
    """The scripted server. Use as a context manager or call :meth:`start`/:meth:`stop`.

    ``rules``: :class:`Rule` objects, or a mapping ``{regex: reply}``. ``default_reply``
    answers when no rule matches (``"{echo}"`` by default). ``latency_s`` delays every
    answer. ``hang_s`` is how long a ``hang`` fault holds the connection.
    """

    def __init__(
        self,
        rules: Iterable[Rule] | Mapping[str, Reply] | None = None,
        *,
        default_reply: Reply = "{echo}",
        latency_s: float = 0.0,
        hang_s: float = 30.0,
        idle_timeout_s: float = 120.0,
        max_lifetime_s: float = 900.0,
        keep_requests: bool = True,
        port: int = 0,
    ) -> None:
        if isinstance(rules, Mapping):
            rules = [Rule(pattern=p, reply=r) for p, r in rules.items()]
        self.rules: list[Rule] = list(rules or [])
        self.default_reply = default_reply
        self.latency_s = latency_s
        self.hang_s = hang_s
        self.idle_timeout_s = idle_timeout_s
        self.max_lifetime_s = max_lifetime_s
        self.keep_requests = keep_requests
        self.requested_port = port  # 0: the OS picks a free one
        #: Request bodies received (no headers: auth never kept). ``header_names`` per request.
        self.requests: list[dict[str, Any]] = []
        self.calls = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._last = time.monotonic()
        self._httpd: _Server | None = None
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Self:
        httpd = _Server(("127.0.0.1", self.requested_port), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._started = self._last = time.monotonic()
        serve = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="promptkit-test-server", daemon=True)
        watch = threading.Thread(target=self._watchdog, name="promptkit-test-server-watchdog", daemon=True)
        self._threads = [serve, watch]
        serve.start()
        watch.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None and not self._stopping.is_set()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass as ``api_base`` (litellm) / ``base_url`` (openai)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def _watchdog(self) -> None:
        while not self._stopping.wait(0.2):
            now = time.monotonic()
            if now - self._last > self.idle_timeout_s or now - self._started > self.max_lifetime_s:
                threading.Thread(target=self.stop, daemon=True).start()
                return

    # ------------------------------------------------------------------ scripting
    def add_rule(self, rule: Rule | None = None, **kwargs: Any) -> Rule:
        """Append a rule (a :class:`Rule` or its fields as keywords); returns it."""
        rule = rule or Rule(**kwargs)
        with self._lock:
            self.rules.append(rule)
        return rule

    def set_rules(self, rules: Iterable[Rule] | Mapping[str, Reply]) -> None:
        if isinstance(rules, Mapping):
            rules = [Rule(pattern=p, reply=r) for p, r in rules.items()]
        with self._lock:
            self.rules = list(rules)

    def _touch(self) -> None:
        self._last = time.monotonic()

    def _log(self, body: dict[str, Any], headers: Any) -> None:
        with self._lock:
            self.calls += 1
            if self.keep_requests:
                self.requests.append({"body": body, "header_names": sorted(h.lower() for h in headers)})

    def _pick(self, model: str, text: str) -> tuple[Rule | None, re.Match[str] | None]:
        with self._lock:
            for rule in self.rules:
                m = rule.match(model, text)
                if m:
                    rule.used += 1
                    return rule, m if isinstance(m, re.Match) else None
        return None, None

    def _reply_text(self, rule: Rule | None, match: re.Match[str] | None, body: dict[str, Any], text: str) -> str:
        reply = rule.reply if rule is not None and rule.reply is not None else self.default_reply
        if callable(reply):
            return str(reply(body))
        out = match.expand(reply) if match is not None and "\\" in reply else reply
        return out.replace("{echo}", text)


def main(argv: list[str] | None = None) -> int:
    """Serve until killed (or idle): prints ``PORT <n>`` on the first line of stdout."""
    p = argparse.ArgumentParser(prog="python -m pytest_promptkit.server", description=__doc__.split("\n\n")[0])
    p.add_argument("--latency", type=float, default=0.0, help="seconds to wait before every answer")
    p.add_argument("--reply", default="{echo}", help="default reply text ({echo} repeats the last user message)")
    p.add_argument("--rules", help="JSON file: a list of Rule fields ({pattern, reply, fault, times, ...})")
    p.add_argument("--idle-timeout", type=float, default=300.0)
    ns = p.parse_args(argv)
    rules = [Rule(**r) for r in json.loads(Path(ns.rules).read_text(encoding="utf-8"))] if ns.rules else None
    server = OpenAIServer(rules, default_reply=ns.reply, latency_s=ns.latency, idle_timeout_s=ns.idle_timeout,
                          max_lifetime_s=24 * 3600, keep_requests=False)
    server.start()
    print(f"PORT {server.port}", flush=True)
    try:
        while server.running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
