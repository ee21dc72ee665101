"""The public API in promptkit/__init__.py: every name resolves, lazily, and importing the
package stays cheap (the CLI and the pre-commit hook start from it)."""

from __future__ import annotations

import subprocess
import sys

import promptkit


def test_all_lists_exactly_the_lazy_exports() -> None:
    assert set(promptkit.__all__) == {"__version__", *promptkit._EXPORTS}


def test_every_public_name_resolves() -> None:
    for name in promptkit.__all__:
        assert getattr(promptkit, name) is not None, name


def test_import_promptkit_loads_no_heavy_module() -> None:
    code = "import sys, promptkit; print(sorted(m for m in ('pydantic', 'jinja2', 'litellm', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
