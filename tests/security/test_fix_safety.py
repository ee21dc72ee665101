"""``promptkit lint --fix`` on a stranger's PR: fixes never change what the prompt renders,
and never write through a symlink to outside the project.

The attack files are prompts whose *safe* fixes look harmless in the source but change
what the model is sent: an unused ``noqa`` comment that is part of the prompt (an HTML
comment in a Markdown prompt, one inside ``{% raw %}`` or a Jinja string literal), a
zero-width space before ``---`` (removing it turns body lines into front matter), a
no-break space after ``user:`` (removing it turns a body line into a role line). And
prompts that are symlinks: to a file outside the project, into ``.git``, and to a file
inside the project (which is fixed through the link, the link kept).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptkit.lint.config import LintConfig
from promptkit.lint.fixes import fix_template
from promptkit.template import loads
from promptkit.template.model import PromptTemplate

from .conftest import AttackProject, assert_no_traceback

HEAD = "---\nname: t\ninputs:\n  q: {type: string, sample: hi}\n---\n"

#: file -> (text, the rule whose fix must be refused, text that must stay in the file)
ATTACKS = {
    "md_noqa.prompt.md": ("# Task\nDo the thing. <!-- noqa: PK301 -->\n", "unused-noqa", "<!-- noqa: PK301 -->"),
    "raw_noqa.prompty": (HEAD + "system:\n{% raw %}Keep {# noqa: PK301 #} as written.{% endraw %}\n\nuser:\n{{ q }}\n",
                         "unused-noqa", "{# noqa: PK301 #}"),
    "string_noqa.prompty": (HEAD + "system:\nSay {{ '{# noqa: PK301 #}' }} to the user.\n\nuser:\n{{ q }}\n",
                            "unused-noqa", "{{ '{# noqa: PK301 #}' }}"),
    "zwsp_front_matter.prompty": ("\u200b---\nname: hidden\n---\nsystem:\nHello.\n", "invisible-character",
                                  "\u200b---\nname: hidden"),
}


def test_fixes_that_would_change_the_render_are_refused_by_lint_fix(attack: AttackProject) -> None:
    for name, (text, _, _) in ATTACKS.items():
        attack.write(name, text)
    attack.write("fine.prompty", HEAD + "system:   \nBe brief.  \n\n\n\n\nuser:\n{{ q }}")
    proc = attack.run("lint", "--fix", "--no-cache", "--output-format", "concise", ".")
    out = assert_no_traceback(proc)
    for name, (text, rule, kept) in ATTACKS.items():
        after = (attack.root / name).read_text(encoding="utf-8")
        assert kept in after, f"{name}: the fix that changes the prompt was written"
        line = next((ln for ln in out.splitlines() if ln.startswith(name) and "fix not applied" in ln), None)
        assert line is not None, f"{name}: no warning\n{out}"
        assert rule in line and "renders" in line
    # the harmless fixes are still made
    assert (attack.root / "fine.prompty").read_text(encoding="utf-8") == HEAD + "system:\nBe brief.\n\n\nuser:\n{{ q }}\n"


def test_a_refused_fix_leaves_the_other_fixes_of_the_file() -> None:
    text = HEAD + "system:  \nSay {{ '{# noqa: PK301 #}' }} now.\t\n\nuser:\n{{ q }}\n"
    result = fix_template(loads(text, path="x.prompty"), LintConfig().resolve())
    assert result.text == HEAD + "system:\nSay {{ '{# noqa: PK301 #}' }} now.\n\nuser:\n{{ q }}\n"
    assert [(d.name, d.severity.value) for d in result.refused] == [("unused-noqa", "warning")]
    assert not [d for d in result.diagnostics if d.fix is not None], "a refused fix is still on offer"


# --------------------------------------------------------------------------- the property

_INVISIBLE = re.compile("[\u200b\u2060\u00ad\ufeff\u00a0]")


def _sent(t: PromptTemplate) -> tuple[object, list[str], str]:
    """Front matter, roles and whitespace-free text of what ``t`` sends, rendered
    permissively (independently of the code under test)."""
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from promptkit.template import render

    roles = [m.role for m in t.messages]
    if t.engine.renders:
        env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined)
        try:
            text = env.from_string(t.body).render(q="hi")
        except Exception:  # noqa: BLE001 - not comparable
            text = t.body
        try:  # the roles of the messages sent (an empty leading message is not sent)
            roles = [m.role for m in render(t, {"q": "hi"})]
        except Exception:  # noqa: BLE001 - fall back to the source's roles
            pass
    else:
        text = t.body
    return t.raw_front_matter, roles, "".join(_INVISIBLE.sub(" ", text).split())


_LINES = st.sampled_from([
    "Answer briefly.", "<!-- noqa: PK301 -->", "Do it. <!-- noqa -->", "{# noqa: PK305 #}", "{% raw %}{# noqa #}{% endraw %}",
    "{{ '{# noqa: PK301 #}' }}", "user:\u00a0", "system:", "\u200b---", "---", "name: x", "", "   ", "{{ q }}  ",
    "\tindented", "trailing   ", "\u200bzero width",
])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, min_size=1, max_size=10), st.sampled_from(["x.prompty", "x.md"]), st.booleans())
def test_lint_fix_never_changes_what_is_sent(lines: list[str], name: str, head: bool) -> None:
    text = (HEAD if head else "") + "\n".join(lines) + "\n"
    t = loads(text, path=name)
    fixed = loads(fix_template(t, LintConfig(select=["ALL"]).resolve()).text, path=name)
    assert _sent(fixed) == _sent(t)


# --------------------------------------------------------------------------- symlinks


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_lint_fix_never_replaces_a_symlink(attack: AttackProject) -> None:
    messy = HEAD + "system:   \nBe brief.  \n"
    outside = attack.outside / "shared.prompty"
    outside.write_text(messy, encoding="utf-8")
    (attack.root / "out_link.prompty").symlink_to(outside)
    git_target = attack.root / ".git" / "description.prompty"
    git_target.write_text(messy, encoding="utf-8")
    (attack.root / "git_link.prompty").symlink_to(git_target)
    inside = attack.write("lib/real.prompty", messy)
    (attack.root / "in_link.prompty").symlink_to(Path("lib") / "real.prompty")
    locked = attack.write("lib/locked.prompty", messy)
    os.chmod(locked, stat.S_IRUSR)
    (attack.root / "locked_link.prompty").symlink_to(locked)

    proc = attack.run("lint", "--fix", "--no-cache", "--output-format", "concise",
                      "out_link.prompty", "git_link.prompty", "in_link.prompty", "locked_link.prompty")
    out = assert_no_traceback(proc)
    # outside the project, and into .git: untouched, the links kept, a warning each
    assert outside.read_text(encoding="utf-8") == messy and git_target.read_text(encoding="utf-8") == messy
    for link in ("out_link.prompty", "git_link.prompty"):
        assert (attack.root / link).is_symlink(), f"{link} was replaced by a regular file"
        assert any(ln.startswith(link) and "PK011" in ln for ln in out.splitlines()), out
    # inside the project: fixed through the link, which stays a link
    assert (attack.root / "in_link.prompty").is_symlink()
    assert inside.read_text(encoding="utf-8") == HEAD + "system:\nBe brief.\n"
    # read-only target: not written, the link kept
    assert (attack.root / "locked_link.prompty").is_symlink() and locked.read_text(encoding="utf-8") == messy
    assert any(ln.startswith("locked_link.prompty") and "not written" in ln for ln in out.splitlines()), out
    assert not [p for p in (attack.root / "lib").iterdir() if p.name.endswith(".tmp")]
