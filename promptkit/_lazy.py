"""Lazy public names for a package's ``__init__`` (PEP 562).

Why: ``import promptkit`` runs on every command, pre-commit hook and pytest start, so the
packages' ``__init__`` modules import nothing heavy up front; a public name's module is
imported the first time the name is used, then cached in the package's namespace. One
implementation, so every package behaves the same (``dir()``, the error for a name that
does not exist)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str], namespace: MutableMapping[str, Any],
                 public: Sequence[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each lazy name to
    the module that defines it; ``namespace`` is the package's ``globals()``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(public) | {k for k in namespace if not k.startswith("_")})

    return __getattr__, __dir__
