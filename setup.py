"""Packaging glue that pyproject.toml cannot express on its own.

The repository keeps the default lint rule packs (``rules/``) and the example prompts
(``templates/``) at the top level, where users and reviewers find them. The wheel must
carry them too, inside the package, so ``promptkit.resources`` can find them after a
plain ``pip install``. pyproject's ``packages.find`` cannot add directories mapped from
elsewhere, so the package list is computed here: every real package, plus the two data
folders (and their sub-folders) mapped to ``promptkit/_bundled/rules`` and
``promptkit/_bundled/templates``. Everything else stays in pyproject.toml.
"""

from __future__ import annotations

import os

from setuptools import find_packages, setup

BUNDLED = {"promptkit._bundled.rules": "rules", "promptkit._bundled.templates": "templates"}
SKIP_DIRS = {"__pycache__", "__recordings__"}


def _data_packages() -> tuple[list[str], dict[str, str]]:
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for package, folder in BUNDLED.items():
        if not os.path.isdir(folder):
            continue
        for root, dirs, _files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            rel = os.path.relpath(root, folder)
            name = package if rel == "." else package + "." + rel.replace(os.sep, ".")
            packages.append(name)
            package_dir[name] = root.replace(os.sep, "/")
    return packages, package_dir


data_packages, data_dirs = _data_packages()
setup(
    packages=find_packages(include=["promptkit", "promptkit.*", "pytest_promptkit", "pytest_promptkit.*"]) + data_packages,
    package_dir=data_dirs,
)
