"""Declarative rule packs (placeholder: filled in below in a later commit)."""

from __future__ import annotations

from pathlib import Path

_BUILTINS_LOADED = False


def load_builtin_rules() -> None:
    """Register the built-in Python rules (and the bundled packs). Idempotent."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    import promptkit.lint.rules  # noqa: F401 - registers every rule module

    _BUILTINS_LOADED = True


def load_pack_path(path: Path, config_source: Path | None = None) -> list[Path]:
    return []
