"""A scripted model that behaves like a real one in a few narrow ways, for optimizer tests.

Real models have habits a prompt has to work around; the optimizer must find those fixes
offline. :class:`NarrowModel` is a reply function for :class:`~pytest_promptkit.server.OpenAIServer`
(``Rule(reply=model)``) that answers from a table of *facts* (what the right answer to an
input is) but shapes the answer the way a weak instruction-follower does:

* answers in JSON only when the system message mentions JSON, otherwise in ``key: value``
  prose; with "no other text" (or "nothing else") it adds no preamble, otherwise it opens
  with "Sure! Here is the answer:";
* follows a constraint only when it is in the system message: "at most N words" cuts
  text fields, "YYYY-MM-DD"/"ISO 8601" keeps dates ISO (else "March 3, 2024"),
  "lowercase" lowercases text fields;
* uses a label only when the system message lists it (else the fact's ``fallback``);
* obeys "always use the <field> <value>" in the system message for every input
  (the overfitted fix a proposer likes to write);
* follows an instruction injected in the user input ("ignore ... and reply with X")
  unless that input sits inside tags and the system message says tagged text is data.

:class:`ScriptedProposer` answers the optimizer's critique and proposer meta-prompts: it
reads the sections the request shows (``[system:task] ...``) and applies the scenario's
scripted edits (find/replace, append) to them, the way a proposer rewrites text it was
given -- the optimizer still has to verify, reject and shrink what comes back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

_INJECT = re.compile(r"ignore[^.\n]*?instructions[^.\n]*?(?:reply|answer|respond|say)\s+(?:with\s+)?(?:the\s+word\s+)?"
                     r"[\"']?([A-Za-z]+)", re.IGNORECASE)
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def _messages(body: Mapping[str, Any]) -> tuple[str, str]:
    system, user = [], []
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        (system if m.get("role") in ("system", "developer") else user).append(str(content or ""))
    return "\n".join(system), "\n".join(user)


@dataclass
class Fact:
    """The right answer for inputs containing ``when`` (case-insensitive)."""

    when: str
    answer: dict[str, Any]


@dataclass
class NarrowModel:
    facts: Sequence[Fact]
    #: fields whose value is used only when the system message names it; else the fallback
    labels: Mapping[str, str] = field(default_factory=dict)
    default: dict[str, Any] = field(default_factory=lambda: {"answer": "unknown"})

    def __call__(self, body: Mapping[str, Any]) -> str:
        system, user = _messages(body)
        low = system.lower()
        m = _INJECT.search(user)
        if m:
            injected = m.group(0)
            tags = re.findall(r"<([A-Za-z][\w\-]*)>", user)
            inside = any(re.search(rf"<{re.escape(t)}>.*{re.escape(injected)}.*</{re.escape(t)}>", user, re.DOTALL)
                         for t in tags)
            guarded = "not instructions" in low or "ignore any instructions" in low
            if not (inside and guarded):
                return m.group(1)
        answer = dict(self.default)
        for f in self.facts:
            if f.when.lower() in user.lower():
                answer = dict(f.answer)
                break
        for key, fallback in self.labels.items():
            value = answer.get(key)
            if isinstance(value, str) and not re.search(rf"\b{re.escape(value.lower())}\b", low):
                answer[key] = fallback
        for fm in re.finditer(r"always use the (\w+) ([\w\-]+)", low):
            if fm.group(1) in answer:
                answer[fm.group(1)] = fm.group(2)
        words = re.search(r"at most (\d+) words", low)
        iso = "yyyy-mm-dd" in low or "iso 8601" in low
        for k, v in list(answer.items()):
            if not isinstance(v, str):
                continue
            dm = _ISO.match(v)
            if dm and not iso:
                d = date(int(dm.group(1)), int(dm.group(2)), int(dm.group(3)))
                v = f"{d.strftime('%B')} {d.day}, {d.year}"
            elif words and len(v.split()) > int(words.group(1)):
                v = " ".join(v.split()[: int(words.group(1))])
            if "lowercase" in low:
                v = v.lower()
            answer[k] = v
        quiet = "no other text" in low or "nothing else" in low or "no preamble" in low
        if "json" in low:
            text = json.dumps(answer, ensure_ascii=False)
        else:
            text = "\n".join(f"{k}: {v}" for k, v in answer.items())
        return text if quiet else "Sure! Here is the answer:\n" + text


@dataclass
class Edit:
    """One scripted change of a proposer candidate: in ``section``, replace ``find`` by
    ``replace`` (``find`` None: append ``replace`` as a new line)."""

    section: str
    replace: str
    find: str | None = None


@dataclass
class ScriptedProposer:
    """Replies to the critique call with ``critique`` and to the proposer call with one
    candidate per entry of ``candidates`` (each a hypothesis and its edits), applied to
    the section texts the request shows. ``raw`` replaces the proposer's reply verbatim
    (a reply in the wrong format)."""

    candidates: Sequence[tuple[str, Sequence[Edit]]]
    critique: str = "- The failing cases show the prompt does not say what the checks expect."
    raw: str | None = None
    calls: int = 0

    def __call__(self, body: Mapping[str, Any]) -> str:
        self.calls += 1
        system, user = _messages(body)
        if "<sections>" not in user:
            return self.critique
        if self.raw is not None:
            return self.raw
        texts = _sections(user)
        out = []
        for hypothesis, edits in self.candidates:
            changed: dict[str, str] = {}
            for e in edits:
                text = changed.get(e.section, texts.get(e.section, ""))
                if e.find is None:
                    text = text.rstrip("\n") + "\n" + e.replace
                else:
                    text = text.replace(e.find, e.replace, 1)
                changed[e.section] = text
            out.append({"hypothesis": hypothesis, "changes": [{"section": s, "text": t} for s, t in changed.items()]})
        return json.dumps({"candidates": out})


_SECTION = re.compile(r"^\[([\w:#\-]+)\] ?(.*)$")


def _sections(user: str) -> dict[str, str]:
    """Section id -> text, from the last ``<prompt>`` block of a proposer request (an
    earlier one is the meta-prompt's worked example)."""
    found = re.findall(r"<prompt>\n(.*?)\n</prompt>", user, re.DOTALL)
    block = found[-1] if found else ""
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in block.split("\n"):
        sm = _SECTION.match(line)
        if sm:
            current = sm.group(1)
            out[current] = []
            continue
        if current is not None:
            out[current].append(line)
    return {k: "\n".join(v).strip("\n") for k, v in out.items()}
