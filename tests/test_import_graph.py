"""The import graph: data flows template -> lint/runner, and the parts meet only through
public names.

Parsed with :mod:`ast` from the source (not by importing), so an import inside a
function or under ``TYPE_CHECKING`` counts too: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "promptkit"


@dataclass(frozen=True)
class Import:
    """``importer`` (a module) imports ``name`` from ``module`` (``name`` is "" for
    ``import module``), at ``line``."""

    importer: str
    module: str
    name: str
    line: int

    def __str__(self) -> str:
        what = f"from {self.module} import {self.name}" if self.name else f"import {self.module}"
        return f"{self.importer.replace('.', '/')}.py:{self.line}: {what}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[Import]:
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.extend(Import(me, a.name, "", node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            out.extend(Import(me, base, a.name, node.lineno) for a in node.names)
    return out


ALL = [imp for f in sorted(PKG.rglob("*.py")) for imp in _imports(f)]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _targets(imp: Import) -> list[str]:
    """The modules an import may bind: ``from a import b`` is module ``a`` or ``a.b``."""
    return [imp.module, f"{imp.module}.{imp.name}"] if imp.name else [imp.module]


def _private(imp: Import, package: str) -> bool:
    """Does ``imp`` reach a private name of ``package``: a module or name with a leading
    underscore below it (``promptkit.lint.config._located``, ``promptkit.lint.rules._util``)?"""
    if not _within(imp.module, package):
        return False
    below = imp.module[len(package):].lstrip(".").split(".") if imp.module != package else []
    return any(p.startswith("_") for p in below if p) or imp.name.startswith("_")


def test_the_parser_sees_imports() -> None:
    """The checks below are not vacuous: lazy and relative imports are found."""
    by = {(i.importer, i.module, i.name) for i in ALL}
    assert ("promptkit.runner.config", "promptkit.config", "TestTable") in by
    assert ("promptkit.lint.engine", "promptkit.lint.noqa", "apply_noqa") in by  # inside a function
    assert any(i.importer.startswith("promptkit.template") for i in ALL)


def test_template_imports_nothing_from_lint_or_runner() -> None:
    bad = [str(i) for i in ALL if _within(i.importer, "promptkit.template")
           and any(_within(t, p) for t in _targets(i) for p in ("promptkit.lint", "promptkit.runner"))]
    assert not bad, "template/ is below lint and runner:\n" + "\n".join(bad)


def test_config_imports_neither_lint_nor_runner() -> None:
    bad = [str(i) for i in ALL if i.importer == "promptkit.config"
           and any(_within(t, p) for t in _targets(i) for p in ("promptkit.lint", "promptkit.runner"))]
    assert not bad, "promptkit.config is read by lint and runner, it must not import them:\n" + "\n".join(bad)


@pytest.mark.parametrize(("importer", "other"), [("promptkit.lint", "promptkit.runner"),
                                                 ("promptkit.runner", "promptkit.lint")])
def test_lint_and_runner_import_no_private_name_of_each_other(importer: str, other: str) -> None:
    bad = [str(i) for i in ALL if _within(i.importer, importer) and _private(i, other)]
    assert not bad, f"{importer} reaches into private names of {other}:\n" + "\n".join(bad)
