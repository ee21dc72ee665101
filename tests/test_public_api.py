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


# --------------------------------------------------------------------------- promptkit.runner


def test_runner_all_lists_exactly_the_lazy_exports() -> None:
    import promptkit.runner as runner

    assert set(runner.__all__) == set(runner._EXPORTS)


def test_every_runner_public_name_resolves_to_its_defining_module() -> None:
    import importlib

    import promptkit.runner as runner

    for name, module in runner._EXPORTS.items():
        assert getattr(runner, name) is getattr(importlib.import_module(module), name), name


def test_import_promptkit_runner_loads_nothing_heavy() -> None:
    """``import promptkit.runner`` (which every runner module import pays) stays free;
    litellm waits for the first live call even after the API is used."""
    code = ("import sys, promptkit.runner; print(sorted(m for m in ('pydantic', 'jinja2', 'litellm', 'httpx') "
            "if m in sys.modules)); from promptkit.runner import run_cases, load_suite, RunResults; "
            "print('litellm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "False"


def test_docs_api_md_documents_every_public_name() -> None:
    from pathlib import Path

    import promptkit.runner as runner

    docs = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [n for n in [*promptkit.__all__, *runner.__all__] if n != "__version__" and f"`{n}" not in docs]
    assert not missing, f"docs/api.md does not mention: {missing}"
