"""Secrets out of everything promptkit writes or prints.

Provider SDKs put request details into their error messages, and a misconfigured endpoint
can echo headers back; a model may even repeat a key a prompt leaked. Results files,
baselines, JUnit XML and terminal output are uploaded as CI artifacts or posted on pull
requests, so every text bound for them passes :func:`redact` first: each value of a
secret-looking environment variable (``*_API_KEY``, ``*_TOKEN``, ``*SECRET*``,
``*PASSWORD*``, ``*CREDENTIAL*``, ``AUTH*``...) and each value registered with
:func:`register` (a key or header given on the command line or to the API) becomes
``***``. Values shorter than 8 characters are left alone: they are not keys, and
replacing ``true`` or ``1`` everywhere would garble the output.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "redact", "redact_data", "register", "secret_values"]

MASK = "***"
_MIN_LEN = 8
_SECRET_NAME = re.compile(r"(?i)(api[_-]?key|_key$|^key$|token|secret|passw(or)?d|credential|auth|private|session|cookie)")

_registered: set[str] = set()
_lock = threading.Lock()


def register(*values: object) -> None:
    """Add secret values (a ``--api-key``, header values...) to what is always masked."""
    with _lock:
        _registered.update(v for v in values if isinstance(v, str) and len(v) >= _MIN_LEN)


def secret_values(env: Mapping[str, str] | None = None, extra: Iterable[object] = ()) -> list[str]:
    """Every value to mask, longest first (so a key containing another is masked whole)."""
    env = os.environ if env is None else env
    found = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_LEN}
    found.update(v for v in extra if isinstance(v, str) and len(v) >= _MIN_LEN)
    with _lock:
        found |= _registered
    return sorted(found, key=len, reverse=True)


def redact(text: str, extra: Iterable[object] = ()) -> str:
    """``text`` with every secret value replaced by ``***``."""
    if not text:
        return text
    for value in secret_values(extra=extra):
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact_data(data: Any, extra: Iterable[object] = ()) -> Any:
    """:func:`redact` over every string in a JSON-like structure (keys included)."""
    values = secret_values(extra=extra)
    if not values:
        return data

    def walk(x: Any) -> Any:
        if isinstance(x, str):
            for value in values:
                if value in x:
                    x = x.replace(value, MASK)
            return x
        if isinstance(x, dict):
            return {walk(k): walk(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [walk(v) for v in x]
        return x

    return walk(data)
