"""JavaScript regular expressions, run with Python's ``re``.

promptfoo's ``regex`` is ``new RegExp(value)``; a suite ported from it means JavaScript's
semantics, and the same text means something else to Python's ``re``:

============================  ==========================  ==================================
pattern                       JavaScript                  Python ``re``
============================  ==========================  ==================================
``$`` (no ``m`` flag)         end of the input only       also before a final ``\\n``
``\\d`` ``\\w`` ``\\b``          ASCII only                  Unicode (``٣`` is a digit, ``é``
                                                          a word character)
``\\s``                        Unicode spaces + ``\\ufeff``  Unicode spaces, no ``\\ufeff``
``.`` (no ``s`` flag)         not ``\\n \\r \\u2028 \\u2029``  not ``\\n`` only
``\\Z`` ``\\A`` ``\\z``           the letters Z, A, z         end / start of the input
``(?<name>...)`` ``\\k<name>``  named group, backreference  syntax errors (Python spells them
                                                          ``(?P<name>...)`` ``(?P=name)``)
``[^]`` / ``[]``              any character / nothing     syntax errors
``\\cJ``                       control character           syntax error
============================  ==========================  ==================================

:func:`translate` rewrites a JavaScript pattern into a Python pattern with JavaScript's
meaning for all of the above, so ``dialect: js`` gives promptfoo's verdicts. Left as
Python reads them (rare enough to document, not worth a full parser): ``\\D \\W \\S``
*inside* a character class stay Unicode, and the ``i`` flag folds case the Unicode way
(JavaScript without ``u`` upper-cases; they differ only for a few letters such as ``ſ``).
"""

from __future__ import annotations

import re

__all__ = ["JS_FLAGS", "translate", "translate_named_groups"]

#: JavaScript flags accepted by ``dialect: js``: ``g`` and ``u`` change nothing for a
#: single search (``\\d`` stays ASCII under ``u`` too), ``y`` (sticky) is refused.
JS_FLAGS = frozenset("gimsu")

_DIGIT = "0-9"
_WORD = "A-Za-z0-9_"
_SPACE = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_W = "[A-Za-z0-9_]"
_BOUNDARY = f"(?:(?<={_W})(?!{_W})|(?<!{_W})(?={_W}))"
_NOT_BOUNDARY = f"(?:(?<={_W})(?={_W})|(?<!{_W})(?!{_W}))"
_OUTSIDE = {
    "d": f"[{_DIGIT}]", "D": f"[^{_DIGIT}]", "w": f"[{_WORD}]", "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]", "S": f"[^{_SPACE}]", "b": _BOUNDARY, "B": _NOT_BOUNDARY,
}
_INSIDE = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
#: Escapes with the same meaning in both (kept as written).
_SAME = set("tnrfv0123456789DWSxu") | {"\\"}
_NAMED = re.compile(r"\(\?<([A-Za-z_]\w*)>")
_BACKREF = re.compile(r"\\k<([A-Za-z_]\w*)>")


def translate_named_groups(pattern: str) -> str:
    """``(?<name>...)`` and ``\\k<name>`` (JavaScript, .NET, PCRE) in Python spelling.
    They are syntax errors in Python's ``re``, so rewriting them changes no valid pattern."""
    return _BACKREF.sub(r"(?P=\1)", _NAMED.sub(r"(?P<\1>", pattern))


def translate(pattern: str, flags: str = "") -> str:
    """A Python pattern that matches what JavaScript's ``new RegExp(pattern, flags)``
    matches. Raises ``ValueError`` for what cannot be expressed (the ``y`` flag)."""
    bad = set(flags) - JS_FLAGS
    if bad:
        raise ValueError(f"JavaScript flag(s) {''.join(sorted(bad))!r} not supported; use g, i, m, s or u")
    multiline, dotall = "m" in flags, "s" in flags
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            i += 2
            if e == "k" and not in_class:
                m = re.match(r"<([A-Za-z_]\w*)>", pattern[i:])
                if m:
                    out.append(f"(?P={m.group(1)})")
                    i += m.end()
                    continue
            if e == "c" and i < n and pattern[i].isascii() and pattern[i].isalpha():
                out.append(re.escape(chr(ord(pattern[i]) % 32)))
                i += 1
                continue
            if in_class and e in _INSIDE:
                out.append(_INSIDE[e])
            elif in_class and e == "b":
                out.append("\\x08")  # backspace in a class, in both
            elif not in_class and e in _OUTSIDE:
                out.append(_OUTSIDE[e])
            elif e in _SAME or (in_class and e in "DWS"):
                out.append("\\" + e)
            elif e.isascii() and e.isalpha():
                out.append(re.escape(e))  # JavaScript: an unknown letter escape is the letter
            else:
                out.append(re.escape(e))
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "[":
                out.append("\\[")  # literal in a JavaScript class; Python warns about nested sets
                i += 1
                continue
            out.append(c)
            i += 1
            continue
        if c == "[":
            if pattern.startswith("[^]", i):
                out.append("[\\s\\S]")
                i += 3
                continue
            if pattern.startswith("[]", i):
                out.append("(?!)")
                i += 2
                continue
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            continue
        if c == "$":
            out.append("$" if multiline else "\\Z")
        elif c == "." and not dotall:
            out.append("[^\\n\\r\\u2028\\u2029]")
        elif c == "(" and pattern.startswith("(?<", i) and _NAMED.match(pattern, i):
            m = _NAMED.match(pattern, i)
            assert m is not None
            out.append(f"(?P<{m.group(1)}>")
            i = m.end()
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)
