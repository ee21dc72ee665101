"""Glob patterns for ``include``, ``exclude`` and ``per-file-ignores``.

The stdlib's ``fnmatch`` lets ``*`` cross ``/`` and knows no ``**``, and
``PurePath.full_match`` arrives only in Python 3.13; config globs need the
gitignore-like meaning users expect from ruff and pre-commit:

* a pattern without ``/`` matches a file or directory *name* anywhere
  (``*.prompty``, ``node_modules``);
* a pattern with ``/`` matches the path relative to the project root
  (``templates/**/*.prompty``; a leading ``/`` is allowed and ignored);
* ``*`` and ``?`` stay inside one path segment, ``**`` spans segments,
  ``[abc]`` / ``[!abc]`` are character classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> tuple[re.Pattern[str], bool]:
    """``(regex, anchored)``: anchored patterns match relative paths, others names."""
    pat = pattern.strip()
    anchored = "/" in pat.rstrip("/")
    pat = pat.lstrip("/").rstrip("/") if anchored else pat.rstrip("/")
    return re.compile(r"(?s:" + _translate(pat) + r")\Z"), anchored


def match(pattern: str, rel_path: str) -> bool:
    """Does ``pattern`` match the ``/``-separated relative path ``rel_path`` (or, for a
    pattern without ``/``, its last segment)?"""
    rx, anchored = compile_glob(pattern)
    if anchored:
        return rx.match(rel_path) is not None
    return rx.match(rel_path.rsplit("/", 1)[-1]) is not None


def match_any(patterns: Iterable[str], rel_path: str) -> bool:
    return any(match(p, rel_path) for p in patterns)


def match_path_or_parent(patterns: Iterable[str], rel_path: str) -> bool:
    """True when ``rel_path`` or any of its parent directories matches: excluding a
    directory excludes everything under it."""
    pats = list(patterns)
    if not pats:
        return False
    parts = rel_path.split("/")
    for k in range(1, len(parts) + 1):
        if match_any(pats, "/".join(parts[:k])):
            return True
    return False
