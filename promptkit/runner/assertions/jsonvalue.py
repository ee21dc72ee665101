"""JSON as the JSON spec (and promptfoo's ``JSON.parse``) defines it, in Python.

Python's ``json`` module is laxer than the spec in ways that change verdicts:

* it accepts ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON (an application
  parsing the reply with any other language's parser rejects them);
* ``True == 1`` and ``False == 0`` in Python, so ``{"a": true} == {"a": 1}`` -- two
  different JSON documents compare equal;
* ``json.loads`` rejects a reply that starts with a no-break space or a byte-order mark,
  which models and copy-paste put in front of otherwise valid JSON.

Every JSON check (is-json, json-schema, json-path, pydantic, equals with a mapping,
contains-json, judge replies) parses and compares through this module.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["NotJson", "json_equal", "loads", "strip_noise"]

#: Characters that are not JSON whitespace but that models and editors put around JSON:
#: no-break spaces, byte-order mark, zero-width characters, Unicode line separators.
_NOISE = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u200c\u200d" \
         "\u2028\u2029\u202f\u205f\u2060\u3000\ufeff\x0b\x0c\x85"


class NotJson(ValueError):
    """Not JSON; ``pos`` is the offset in the text given to :func:`loads`."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.msg = message
        self.pos = pos


def strip_noise(text: str) -> tuple[str, int]:
    """``text`` without whitespace of any kind at its ends (JSON's own and Unicode's);
    returns the stripped text and how many characters were removed at the start."""
    chars = " \t\r\n" + _NOISE
    head = text.lstrip(chars)
    return head.rstrip(chars), len(text) - len(head)


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def loads(text: str) -> Any:
    """Parse ``text`` as strict JSON (after :func:`strip_noise`). Raises :class:`NotJson`."""
    body, lead = strip_noise(text)
    try:
        return json.loads(body, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise NotJson(exc.msg, lead + exc.pos) from None
    except ValueError as exc:  # NaN / Infinity / -Infinity from parse_constant
        word = str(exc)
        at = body.find(word)
        raise NotJson(f"{word} is not JSON (JSON has no NaN or Infinity; use null or a string)",
                      lead + max(at, 0)) from None


def json_equal(a: Any, b: Any) -> bool:
    """Equality of two JSON values as JSON sees them: ``true`` is not ``1``, ``1`` is
    ``1.0`` (JSON has one number type), key order does not matter, list order does."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and math.isnan(a) or isinstance(b, float) and math.isnan(b):
            return False
        return a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return False
