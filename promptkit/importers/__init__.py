"""Importers: other tools' test configs as promptkit prompt files and suites.

Each importer reads its tool's config as data (never runs it), writes ordinary
``.prompty`` and ``*.prompttest.yaml`` files, and lists precisely what it could not
convert and why. ``promptkit import promptfoo promptfooconfig.yaml`` is the command.
"""

from __future__ import annotations

__all__ = ["IMPORTERS"]

#: ``promptkit import NAME``: the module that converts NAME's configs.
IMPORTERS = {"promptfoo": "promptkit.importers.promptfoo"}
