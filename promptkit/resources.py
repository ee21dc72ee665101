"""Where promptkit's bundled files are: the default lint rule packs and example prompts.

The repository keeps them at the top level (``rules/``, ``templates/``) so people find
them; the wheel carries them inside the package as ``promptkit/_bundled/rules`` and
``promptkit/_bundled/templates`` (mapped in ``setup.py``). These functions return the
right folder in both situations, so callers never guess paths:

1. an installed wheel: ``<site-packages>/promptkit/_bundled/<name>``;
2. a source checkout or editable install: ``<repo>/<name>``, recognized by the
   ``pyproject.toml`` next to the ``promptkit`` package (so a stray top-level
   ``templates`` folder in site-packages is never mistaken for ours).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_dir", "bundled_rules_dir", "bundled_templates_dir", "bundled_templates"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_dir(name: str) -> Path:
    """The bundled data folder ``name`` (``"rules"`` or ``"templates"``).

    Raises :class:`FileNotFoundError` when neither location exists (a broken install).
    """
    installed = _PACKAGE_DIR / "_bundled" / name
    if installed.is_dir():
        return installed
    root = _PACKAGE_DIR.parent
    checkout = root / name
    if checkout.is_dir() and (root / "pyproject.toml").is_file():
        return checkout
    raise FileNotFoundError(
        f"promptkit's bundled '{name}' folder is missing (looked in {installed} and {checkout}); reinstall promptkit"
    )


def bundled_rules_dir() -> Path:
    """Folder of the default declarative rule packs (``*.yaml``)."""
    return bundled_dir("rules")


def bundled_templates_dir() -> Path:
    """Folder of the example prompt templates (``*.prompty``)."""
    return bundled_dir("templates")


def bundled_templates() -> list[Path]:
    """The example templates, sorted by name (judge prompts in ``judges/`` excluded)."""
    return sorted(bundled_templates_dir().glob("*.prompty"))
