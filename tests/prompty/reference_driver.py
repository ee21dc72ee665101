"""Render .prompty files with Microsoft's reference runtime (PyPI ``prompty``).

This script runs *inside the reference's own virtual environment* (never promptkit's):
``python reference_driver.py < jobs.json > results.json``. It imports only the
standard library and ``prompty``, so the two runtimes never share a process or a
dependency. Input: ``{"jobs": [{"path": ..., "inputs": {...}}]}``; output: one entry per
job, ``{"ok": true, "messages": [{"role", "content"}]}`` with contents in OpenAI's wire
shape (a string, or a list of content parts), or ``{"ok": false, "error": "..."}``.

Which runtime it drives is read from the installed package: 2.x is Prompty v2
(``load`` + ``prepare``, messages converted by its own OpenAI wire mapping), 0.1.x is
Prompty v1 (``load`` + ``prepare``, which already returns wire-shaped dicts).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _v2(path: str, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    import prompty
    from prompty.core.discovery import register_renderer
    from prompty.providers.openai.executor import _message_to_wire
    from prompty.renderers.jinja2 import Jinja2Renderer

    # The Python runtime registers no `nunjucks` renderer (the TypeScript one renders those
    # files with nunjucks, Jinja's port): its Jinja2 renderer is the reference for them.
    register_renderer("nunjucks", Jinja2Renderer)

    agent = prompty.load(path)
    return [_message_to_wire(m) for m in prompty.prepare(agent, inputs)]


def _v1(path: str, inputs: dict[str, Any]) -> list[dict[str, Any]] | str:
    import prompty

    p = prompty.load(path)
    out = prompty.prepare(p, inputs)
    return out if isinstance(out, str) else list(out)


def main() -> None:
    import prompty

    version = getattr(prompty, "__version__", None)
    if version is None:
        from importlib.metadata import version as _version

        version = _version("prompty")
    run = _v2 if str(version).startswith("2") else _v1
    jobs = json.load(sys.stdin)["jobs"]
    out = []
    for job in jobs:
        try:
            messages = run(job["path"], job.get("inputs") or {})
            out.append({"ok": True, "messages": json.loads(json.dumps(messages, default=str))})
        except BaseException as exc:  # noqa: BLE001 - every failure is a result here
            if isinstance(exc, KeyboardInterrupt):
                raise
            out.append({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
    json.dump({"version": str(version), "results": out}, sys.stdout)


if __name__ == "__main__":
    main()
