"""A clean install is quiet: the built wheel, installed (not editable) in a fresh virtual
environment without pytest-xdist, runs ``promptkit test`` and ``pytest`` on a recorded
suite without a ``PytestAssertRewriteWarning`` or an unknown-mark warning.

The fresh environment gets its dependencies without the network: a ``.pth`` file points
it at a folder of links to this interpreter's installed packages, minus pytest-xdist and
minus promptkit itself (the wheel brings promptkit). pip installs the wheel with
``--no-deps --no-index``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.test_packaging import wheel  # noqa: F401 - the fixture that builds the wheel

REPO = Path(__file__).resolve().parents[1]
_LEFT_OUT = ("xdist", "pytest_xdist", "promptkit", "pytest_promptkit", "__editable__", "_main_site", "_distutils_hack",
             "distutils-precedence", "easy-install", "__pycache__")


def _site_dirs() -> list[Path]:
    return [Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]


def _fresh_env(root: Path, whl: Path) -> Path:
    env = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    py = env / "bin" / "python"
    purelib = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    links = root / "deps"
    links.mkdir()
    for site in _site_dirs():
        for entry in site.iterdir():
            name = entry.name
            if name.startswith(_LEFT_OUT) or name.endswith(".pth") or (links / name).exists():
                continue
            (links / name).symlink_to(entry)
    (purelib / "shared_deps.pth").write_text(str(links) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-index",
                           "--disable-pip-version-check", str(whl)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 and "no such option: --python" in proc.stderr:
        pytest.skip("this pip cannot install into another environment (--python needs pip >= 22.3)")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return env


def _project(root: Path) -> Path:
    project = root / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("", encoding="utf-8")
    for f in ("classify_ticket.prompty", "classify_ticket.prompttest.yaml"):
        shutil.copy(REPO / "templates" / f, project / f)
    shutil.copytree(REPO / "templates" / "__recordings__" / "classify_ticket", project / "__recordings__" / "classify_ticket")
    return project


def test_wheel_in_a_fresh_venv_without_xdist_is_quiet(wheel: Path, tmp_path: Path) -> None:  # noqa: F811
    env = _fresh_env(tmp_path, wheel)
    project = _project(tmp_path)
    py = env / "bin" / "python"
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "PROMPTKIT_MODE", "PYTEST_ADDOPTS", "PYTHONPATH",
                                                               "VIRTUAL_ENV")}
    environ["PATH"] = f"{env / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    where = subprocess.run([str(py), "-c", "import promptkit, importlib.util as u; print(promptkit.__file__); "
                            "print(u.find_spec('xdist'))"], capture_output=True, text=True, cwd=project, env=environ)
    assert str(env) in where.stdout.splitlines()[0] and where.stdout.splitlines()[1] == "None", where.stdout + where.stderr
    for argv in ([str(env / "bin" / "promptkit"), "test", "classify_ticket.prompttest.yaml", "--mode", "replay"],
                 [str(py), "-m", "pytest", "-p", "no:cacheprovider", "classify_ticket.prompttest.yaml",
                  "--promptkit-mode", "replay"]):
        proc = subprocess.run(argv, cwd=project, env=environ, capture_output=True, text=True, timeout=300, check=False)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out
        assert "passed" in out
        for noise in ("PytestAssertRewriteWarning", "PytestUnknownMarkWarning", "warnings summary", "Traceback"):
            assert noise not in out, out
    assert sysconfig.get_paths()["purelib"] != str(env)  # the test's own interpreter was left alone
