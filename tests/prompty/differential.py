"""Differential rendering: promptkit against Microsoft's reference Prompty runtimes.

Every ``.prompty`` file of ``../shared/corpora/prompty`` is laid out at its upstream path
(with the sidecar files it references, ``../shared/prompty-sidecars``) in a temporary
project, then rendered with its own samples twice: by promptkit, in this process, and by
the matching reference runtime (PyPI ``prompty`` 2.x for files from microsoft/prompty's
main branch, 0.1.x for v1-era files), in a subprocess of the reference's own venv
(:mod:`tests.prompty.reference_driver`). Roles and contents are compared.

Run it as a script to print the counts::

    PROMPTKIT_PROMPTY_V1=/path/to/v1/bin/python PROMPTKIT_PROMPTY_V2=/path/to/v2/bin/python \\
        python -m tests.prompty.differential [--show differ,pk_only]

The suite's test (``test_differential.py``) does the same and checks every difference
against the list of deliberate ones in ``docs/prompty-compat.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "reference_driver.py"
SHARED = HERE.parents[2] / "shared"
CORPUS = SHARED / "corpora" / "prompty"
SIDECARS = SHARED / "prompty-sidecars"

#: The reference runtimes, pinned: the versions the compatibility claims are made against.
REFERENCE_PINS = {
    "v1": ["prompty==0.1.50", "typing_extensions", "chevron"],
    "v2": ["prompty[jinja2,mustache]==2.1.0"],
}
ENV_VARS = {"v1": "PROMPTKIT_PROMPTY_V1", "v2": "PROMPTKIT_PROMPTY_V2"}


def version_of(corpus_name: str) -> str:
    """Which runtime a corpus file belongs to: microsoft/prompty's main branch is
    Prompty v2; its ``v1`` branch, promptflow and Semantic Kernel are v1-era files."""
    return "v2" if corpus_name.startswith("prompty-main--") else "v1"


def upstream_path(corpus_name: str) -> Path:
    """``tag--a__b__c.prompty`` -> ``tag/a/b/c.prompty`` (the sidecars' README)."""
    tag, _, rest = corpus_name.partition("--")
    return Path(tag, *rest.split("__"))


def lay_out(dest: Path, corpus: Path = CORPUS, sidecars: Path = SIDECARS) -> dict[str, Path]:
    """Copy the corpus and its sidecars into ``dest`` at their upstream paths, as one
    promptkit project (``promptkit.toml`` at the top). Returns corpus name -> path."""
    if sidecars.is_dir():
        for tag_dir in sidecars.iterdir():
            if tag_dir.is_dir() and tag_dir.name != "LICENSES":
                shutil.copytree(tag_dir, dest / tag_dir.name, dirs_exist_ok=True)
    out = {}
    for f in sorted(corpus.glob("*.prompty")):
        target = dest / upstream_path(f.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)
        out[f.name] = target
    (dest / "promptkit.toml").write_text("# differential test project\n", encoding="utf-8")
    return out


# --------------------------------------------------------------------------- promptkit side


def promptkit_render(path: Path) -> tuple[bool, Any]:
    """Render ``path`` with its own samples, as ``promptkit render`` does. Returns
    ``(True, messages)`` or ``(False, "PKnnn message")``."""
    from promptkit.commands import template_vars
    from promptkit.diagnostics import PromptkitError
    from promptkit.template import load, render

    try:
        template = load(path)
        values = template_vars(template)
        messages = render(template, values)
    except PromptkitError as exc:
        d = exc.diagnostic
        return False, f"{d.code} {d.message}"
    return True, [m.to_dict() for m in messages]


def samples_for_reference(path: Path) -> dict[str, Any]:
    """The samples promptkit renders with, for the reference to render with too: the
    comparison is of rendering, not of which keys each runtime reads samples from.
    Empty when promptkit cannot compute them (the reference then uses its own)."""
    from promptkit.commands import template_vars
    from promptkit.diagnostics import PromptkitError
    from promptkit.template import load

    try:
        return template_vars(load(path))
    except PromptkitError:
        return {}


# --------------------------------------------------------------------------- reference side


def find_reference(version: str) -> str | None:
    """The python of a venv with the reference runtime: ``$PROMPTKIT_PROMPTY_V1`` /
    ``$PROMPTKIT_PROMPTY_V2``, else one built earlier by :func:`build_reference`."""
    given = os.environ.get(ENV_VARS[version])
    if given:
        return given if Path(given).exists() else None
    cached = _cache_dir() / version / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return str(cached) if cached.exists() and (cached.parent.parent / ".complete").exists() else None


def _cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("promptkit")) / "prompty-reference"


def build_reference(version: str, timeout: float = 240.0) -> tuple[str | None, str]:
    """Create the reference venv under the user cache dir (pip from the registry).
    Returns ``(python, "")`` or ``(None, why)``. Safe under ``pytest -n``: each worker
    builds in its own temporary folder and the first finished one is renamed in place."""
    found = find_reference(version)
    if found:
        return found, ""
    final = _cache_dir() / version
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=final.parent))
    try:
        subprocess.run([sys.executable, "-m", "venv", str(work)], check=True, capture_output=True, timeout=60)
        py = work / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        proc = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               *REFERENCE_PINS[version]], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            return None, f"pip install {' '.join(REFERENCE_PINS[version])} failed: {proc.stderr.strip()[-300:]}"
        (work / ".complete").write_text("ok\n")
        try:
            os.rename(work, final)
        except OSError:  # another worker got there first
            pass
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not build the {version} reference venv: {exc}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    found = find_reference(version)
    return (found, "") if found else (None, f"the {version} reference venv did not come up")


_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def reference_env(paths: list[Path]) -> dict[str, str]:
    """A clean environment for the reference: no proxies, no real keys, and a
    placeholder for every ``${env:NAME}`` (without default) the files name, so that a
    model endpoint left to the environment does not stop the reference from rendering
    a prompt that promptkit renders without reading the environment at all."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    env.update({"NO_PROXY": "*", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"})
    for p in paths:
        for name in _ENV_REF.findall(p.read_text(encoding="utf-8-sig", errors="replace")):
            env.setdefault(name, f"https://placeholder.invalid/{name.lower()}" if "ENDPOINT" in name else f"placeholder-{name.lower()}")
    return env


def reference_render(python: str, jobs: list[tuple[Path, dict[str, Any]]], cwd: Path, timeout: float = 300.0) -> list[dict[str, Any]]:
    """Run the reference driver over ``jobs`` in one subprocess of ``python``."""
    payload = json.dumps({"jobs": [{"path": str(p), "inputs": inputs} for p, inputs in jobs]}, default=str)
    proc = subprocess.run([python, str(DRIVER)], input=payload, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=reference_env([p for p, _ in jobs]))
    if proc.returncode != 0:
        raise RuntimeError(f"reference driver failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)["results"]


# --------------------------------------------------------------------------- comparing


def normalize(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Roles and contents only (Prompty v2 adds message metadata such as ``name``). A
    v1 file whose parser is not ``prompty`` chat renders to one string: no role."""
    if isinstance(messages, str):
        return [{"role": None, "content": messages}]
    return [{"role": m.get("role"), "content": m.get("content")} for m in messages]


@dataclass
class Outcome:
    name: str
    version: str
    status: str  # same / differ / pk_only / ref_only / both
    promptkit: Any = None
    reference: Any = None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    def table(self) -> str:
        rows = ["| runtime | same | differ | fail only in promptkit | fail only in reference | fail in both | total |",
                "|---|---|---|---|---|---|---|"]
        for v in ("v1", "v2", None):
            c = Counter(o.status for o in self.outcomes if v is None or o.version == v)
            label = v or "all"
            rows.append(f"| {label} | {c['same']} | {c['differ']} | {c['pk_only']} | {c['ref_only']} | {c['both']} | {sum(c.values())} |")
        return "\n".join(rows)


def run(dest: Path, pythons: dict[str, str], names: list[str] | None = None) -> Report:
    """Lay out the corpus in ``dest`` and compare every file (or ``names``)."""
    files = lay_out(dest)
    if names is not None:
        files = {n: files[n] for n in names}
    return compare({n: (p, version_of(n)) for n, p in files.items()}, pythons, dest)


FIXTURES = HERE / "fixtures"


def run_fixtures(dest: Path, pythons: dict[str, str]) -> Report:
    """Compare promptkit's own fixtures (``fixtures/v1``, ``fixtures/v2``: threads,
    parts, mustache, base:, missing inputs, boundaries), copied into ``dest``."""
    shutil.copytree(FIXTURES, dest / "fixtures")
    (dest / "promptkit.toml").write_text("# differential fixtures\n", encoding="utf-8")
    files = {f"{p.parent.name}/{p.name}": (p, p.parent.name) for p in sorted((dest / "fixtures").glob("v*/*.prompty"))}
    return compare(files, pythons, dest)


def compare(files: dict[str, tuple[Path, str]], pythons: dict[str, str], cwd: Path) -> Report:
    """Render ``files`` (name -> (path, "v1"/"v2")) with promptkit and the reference."""
    report = Report()
    old = Path.cwd()
    os.chdir(cwd)  # promptkit confines references to the project of the cwd, as its CLI does
    try:
        pk = {n: promptkit_render(p) for n, (p, _) in files.items()}
        versions = {n: v for n, (_, v) in files.items()}
        files = {n: p for n, (p, _) in files.items()}
        for version in ("v1", "v2"):
            mine = [n for n in files if versions[n] == version]
            if not mine:
                continue
            results = reference_render(pythons[version], [(files[n], samples_for_reference(files[n])) for n in mine], cwd)
            for n, ref in zip(mine, results):
                ok, got = pk[n]
                if ok and ref["ok"]:
                    status = "same" if normalize(got) == normalize(ref["messages"]) else "differ"
                else:
                    status = {(False, True): "pk_only", (True, False): "ref_only"}.get((ok, ref["ok"]), "both")
                report.outcomes.append(Outcome(n, version, status, got, ref.get("messages", ref.get("error"))))
    finally:
        os.chdir(old)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--show", default="", help="comma-separated statuses whose files to print (differ,pk_only,...)")
    ap.add_argument("--json", help="write every outcome to this JSON file")
    ap.add_argument("--fixtures", action="store_true", help="compare tests/prompty/fixtures instead of the corpus")
    args = ap.parse_args(argv)
    pythons = {}
    for v in ("v1", "v2"):
        py = find_reference(v)
        if py is None:
            print(f"no {v} reference: set {ENV_VARS[v]} to the python of a venv with {' '.join(REFERENCE_PINS[v])}",
                  file=sys.stderr)
            return 2
        pythons[v] = py
    with tempfile.TemporaryDirectory(prefix="pk-differential-") as tmp:
        report = (run_fixtures if args.fixtures else run)(Path(tmp).resolve(), pythons)
    print(report.table())
    show = {s for s in args.show.split(",") if s}
    for o in report.outcomes:
        if o.status in show:
            print(f"\n## {o.status} {o.version} {o.name}\n  promptkit: {json.dumps(o.promptkit)[:800]}\n"
                  f"  reference: {json.dumps(o.reference)[:800]}")
    if args.json:
        Path(args.json).write_text(json.dumps([o.__dict__ for o in report.outcomes], indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
