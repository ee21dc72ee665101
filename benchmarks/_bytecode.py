"""Compile promptkit's own modules to bytecode before timing commands, and say so.

Why: a user's machine keeps ``__pycache__`` after the first run (pip writes it for a wheel
install; Python writes it on first import of an editable one). Machines that set
``PYTHONDONTWRITEBYTECODE=1`` (these do) never write it, so every timed command would also
recompile the modules edited since the last compile (~0.1 s per run): a cost no user pays
twice. Site-packages are compiled at install time already (``uv --compile-bytecode``).
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def ensure_bytecode() -> str:
    """Compile ``promptkit/`` and ``pytest_promptkit/`` (a no-op when up to date); return
    the line the benchmark prints about it."""
    ok = all(compileall.compile_dir(REPO / pkg, quiet=1) for pkg in ("promptkit", "pytest_promptkit"))
    setting = os.environ.get("PYTHONDONTWRITEBYTECODE")
    why = f" (PYTHONDONTWRITEBYTECODE={setting} here: Python would not write it)" if setting else ""
    return f"bytecode: promptkit's own modules compiled before timing, as any second run has them{why}" + (
        "" if ok else "; some did not compile")
