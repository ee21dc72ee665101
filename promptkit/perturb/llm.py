"""The model behind ``paraphrase``: calls through the runner's recorder, so a paraphrase
is asked once, recorded next to the file it perturbs, and replayed after (CI never calls).

Recordings are keyed by the request (model, messages, parameters) like every other
recording (:mod:`promptkit.runner.recordings`), in
``__recordings__/<stem>.paraphrase/`` beside the template or suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from promptkit.perturb.operator import PerturbError

__all__ = ["recorded_llm"]

LLM = Callable[[list[dict[str, str]], str], str]


def recorded_llm(near: str | Path, model: str, *, config: Any = None, runner: Any = None) -> LLM:
    """A ``(messages, model) -> text`` function for :class:`~promptkit.perturb.operator.Context`
    that records and replays through ``runner`` (one is made from ``config`` when absent)."""
    from promptkit.runner.engine import RunConfig, Runner
    from promptkit.runner.recordings import RecordingStore
    from promptkit.runner.results import ProviderError

    run_with = runner if runner is not None else Runner(config or RunConfig())
    p = Path(near)
    store = RecordingStore(p.parent / "__recordings__" / f"{p.name.split('.')[0]}.paraphrase")
    loop = asyncio.new_event_loop()  # one loop for all calls: the client's pools and semaphore bind to it

    def call(messages: list[dict[str, str]], use: str = "") -> str:
        coro = run_with.recorder.samples(store, use or model, messages, {"temperature": 0}, 1, suite_path=str(p),
                                         case_id="paraphrase")
        out = loop.run_until_complete(coro)
        first = out[0]
        if isinstance(first, ProviderError):
            raise PerturbError(f"paraphrase: the model call failed: {first}" + (f" ({first.hint})" if first.hint else ""))
        return str(first.text)

    return call
