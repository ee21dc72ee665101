"""The wheel carries rules/ and templates/, and resources.py finds them once installed.

The wheel is built from a copy of the repository's shipped files in a temporary folder, so
the test never writes ``build/`` or ``*.egg-info`` into the checkout (other tests may be
running beside it under ``pytest -n auto``).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ["promptkit", "pytest_promptkit", "rules", "templates", "pyproject.toml", "setup.py", "README.md", "LICENSE"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is not installed (pip install -e '.[test]')")
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in SHIPPED:
        p = REPO / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        elif p.is_file():
            shutil.copy2(p, src / name)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (whl,) = out.glob("promptkit-*.whl")
    return whl


def test_wheel_contains_rules_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for prompty in (REPO / "templates").glob("*.prompty"):
        assert f"promptkit/_bundled/templates/{prompty.name}" in names
    for pack in (REPO / "rules").glob("*.yaml"):
        assert f"promptkit/_bundled/rules/{pack.name}" in names
    for judge in (REPO / "templates" / "judges").glob("*.prompty"):
        assert f"promptkit/_bundled/templates/judges/{judge.name}" in names
    assert len([n for n in names if n.startswith("promptkit/_bundled/templates/") and n.endswith(".prompty")]) >= 6
    # every package in the source tree is in the wheel (setup.py computes the list)
    for init in REPO.glob("p*/**/__init__.py"):
        rel = init.relative_to(REPO).as_posix()
        if rel.startswith(("promptkit/", "pytest_promptkit/")):
            assert rel in names, f"{rel} is missing from the wheel"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "promptkit = promptkit.cli:main" in text and "pytest_promptkit.plugin" in text


def test_resources_find_bundled_files_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import promptkit, promptkit.resources as r;"
        "print(promptkit.__file__);"
        "print(r.bundled_templates_dir());"
        "print(len(r.bundled_templates()))"
    )
    # -S: no site-packages, so the editable checkout cannot shadow the extracted wheel
    proc = subprocess.run([sys.executable, "-S", "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    pkg, templates, count = proc.stdout.split("\n")[:3]
    assert pkg.startswith(str(site))
    assert templates == str(site / "promptkit" / "_bundled" / "templates")
    assert int(count) == len(list((REPO / "templates").glob("*.prompty")))


def test_resources_in_the_source_checkout() -> None:
    from promptkit.resources import bundled_dir, bundled_rules_dir, bundled_templates, bundled_templates_dir

    assert bundled_templates_dir() == REPO / "templates"
    assert {p.name for p in bundled_templates()} == {p.name for p in (REPO / "templates").glob("*.prompty")}
    if (REPO / "rules").is_dir():
        assert bundled_rules_dir() == REPO / "rules"
    with pytest.raises(FileNotFoundError, match="reinstall"):
        bundled_dir("no-such-folder")


def test_repo_pre_commit_config_runs_offline(tmp_path: Path) -> None:
    """The repo's own hooks are all local: they run with no hook repository to fetch."""
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    promptkit_exe = Path(sys.executable).with_name("promptkit")
    if not Path(pre_commit).exists() or not promptkit_exe.exists() or shutil.which("git") is None:
        pytest.skip("pre-commit, git or the promptkit console script is not installed")
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert all(r["repo"] == "local" for r in config["repos"])
    assert all(h["language"] in ("system", "pygrep") for r in config["repos"] for h in r["hooks"])
    work = tmp_path / "repo"
    (work / "templates").mkdir(parents=True)
    shutil.copy2(REPO / ".pre-commit-config.yaml", work)
    shutil.copy2(REPO / "templates" / "summarize.prompty", work / "templates")
    (work / "templates" / "broken.prompty").write_text("---\nname: b\n---\nsystem:\n{% if x %}\nunclosed  \n", encoding="utf-8")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path), "PRE_COMMIT_HOME": str(tmp_path / "pc"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)

    def hooks(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([pre_commit, "run", "--files", *files], cwd=work, env=env, capture_output=True, text=True, timeout=120)

    ok = hooks("templates/summarize.prompty", ".pre-commit-config.yaml")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = hooks("templates/broken.prompty")
    assert bad.returncode == 1
    assert "templates/broken.prompty:5:1: PK100" in bad.stdout, bad.stdout  # the unclosed {% if %}
    assert "no trailing whitespace....." in bad.stdout and "templates/broken.prompty:6:unclosed" in bad.stdout
