"""The corpus differential test: promptkit renders every real ``.prompty`` file the way
Microsoft's reference runtime does, except the differences ``docs/prompty-compat.md``
lists with their reasons.

The reference runtimes come from ``$PROMPTKIT_PROMPTY_V1`` / ``$PROMPTKIT_PROMPTY_V2``
(the python of a venv holding PyPI ``prompty`` 0.1.50 / 2.1.0), else from venvs this
test builds once under the user cache dir with pip (CI has the registry; a build takes
well under a minute). ``PROMPTKIT_PROMPTY_REFERENCE=off`` skips instead of building.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.prompty import differential

pytestmark = pytest.mark.corpora

COMPAT_DOC = Path(__file__).resolve().parents[2] / "docs" / "prompty-compat.md"


def documented_differences() -> dict[str, str]:
    """Corpus file -> the documented reason, from the table under "Known differences
    on the corpus" in docs/prompty-compat.md (first column: the file in backticks)."""
    text = COMPAT_DOC.read_text(encoding="utf-8")
    section = text.split("## Known differences on the corpus", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`([^`]+\.prompty)`\s*\|([^|]*)\|([^|]*)\|", line)
        if m:
            out[m.group(1)] = m.group(3).strip()
    return out


def _pythons() -> dict[str, str]:
    pythons = {}
    for version in ("v1", "v2"):
        py = differential.find_reference(version)
        if py is None and os.environ.get("PROMPTKIT_PROMPTY_REFERENCE", "").lower() not in ("off", "0", "no"):
            py, why = differential.build_reference(version)
            if py is None:
                pytest.skip(f"Prompty {version} reference runtime unavailable: {why}")
        if py is None:
            pytest.skip(f"Prompty {version} reference runtime not configured: set {differential.ENV_VARS[version]} "
                        f"to the python of a venv with {' '.join(differential.REFERENCE_PINS[version])}")
        pythons[version] = py
    return pythons


def test_corpus_renders_as_the_reference_does(tmp_path: Path) -> None:
    if not differential.CORPUS.is_dir():
        pytest.skip(f"corpus not found at {differential.CORPUS} (../shared/corpora/prompty)")
    report = differential.run(tmp_path.resolve(), _pythons())
    documented = documented_differences()
    for name, reason in documented.items():
        assert reason, f"docs/prompty-compat.md lists {name} without a reason"
    unexplained = [o for o in report.outcomes if o.status in ("differ", "pk_only") and o.name not in documented]
    stale = [o.name for o in report.outcomes if o.status not in ("differ", "pk_only") and o.name in documented]
    listing = "\n".join(f"{o.status} {o.name}\n  promptkit: {str(o.promptkit)[:300]}\n  reference: {str(o.reference)[:300]}"
                        for o in unexplained)
    assert not unexplained, f"promptkit renders these unlike the reference, undocumented:\n{listing}\n{report.table()}"
    assert not stale, f"docs/prompty-compat.md lists files that now render the same (remove them): {stale}"
    # the comparison really ran: most of the corpus renders in both runtimes
    assert report.counts["same"] >= 90, report.table()


def test_own_fixtures_render_as_the_reference_does(tmp_path: Path) -> None:
    """Threads (in the middle, unprinted, with a multimodal turn), image/file/audio parts,
    missing and defaulted inputs, a file without inputs, Mustache (v1 and v2), ``base:`` with
    ``{% extends %}``, v1 Markdown images (URL and a local file) and message boundaries:
    each renders exactly as the reference runtime renders it."""
    report = differential.run_fixtures(tmp_path.resolve(), _pythons())
    bad = [o for o in report.outcomes if o.status != "same"]
    assert not bad, "\n".join(f"{o.status} {o.name}\n  promptkit: {o.promptkit}\n  reference: {o.reference}" for o in bad)
    assert len(report.outcomes) >= 13
    # what the fixtures are for actually happened (not a vacuous "same")
    by = {o.name: o.promptkit for o in report.outcomes}
    assert [m["role"] for m in by["v2/thread.prompty"]] == ["system", "user", "assistant", "user", "user"]
    assert by["v2/image.prompty"][1]["content"][1] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    assert by["v1/markdown_image.prompty"][1]["content"][3]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "Faithfulness" in by["v1/faithful_child.prompty"][0]["content"]
