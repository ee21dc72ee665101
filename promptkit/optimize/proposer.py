"""The model side of the search: one critique call, one proposer call returning k candidates.

The meta-prompts are promptkit templates themselves (``templates/optimizer/``), run through
the runner's public API like any suite -- so their calls are recorded and replayed with
the same keys, budgets and redaction as the target's. The proposer returns, per
candidate, a hypothesis and the new text of the *sections* it changes (a section is a
component of a message, or a whole message without components, named by an id such as
``system:constraints``); the diff is computed here, never asked of the model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptkit.optimize.candidate import Candidate
from promptkit.template.edit import Edit, EditError, apply_edits, replace_component

if TYPE_CHECKING:
    from promptkit.optimize.budget import Meter
    from promptkit.optimize.evidence import CaseEvidence
    from promptkit.runner import Runner
    from promptkit.runner.recordings import RecordingStore
    from promptkit.template import PromptTemplate


class ProposerFormatError(ValueError):
    """The proposer's reply is not the requested JSON (what is wrong, in a sentence)."""


@dataclass(frozen=True)
class Section:
    id: str
    start: int  # content span in template.text
    end: int
    component: Any = None  # the Component, or None for a whole message


def sections(template: PromptTemplate) -> list[Section]:
    """Every rewritable section: top-level components, and messages that have none."""
    out: list[Section] = []
    seen: dict[str, int] = {}
    for m in template.messages:
        tops = [c for c in m.components if c.parent is None]
        if not tops:
            ids = [m.role]
            items: list[tuple[int, int, Any]] = [(m.content_span.start.offset, m.content_span.end.offset, None)]
        else:
            ids = [f"{m.role}:{c.key}" for c in tops]
            items = [(c.content_span.start.offset, c.content_span.end.offset, c) for c in tops]
        for sid, (s, e, c) in zip(ids, items):
            n = seen.get(sid, 0)
            seen[sid] = n + 1
            out.append(Section(sid if n == 0 else f"{sid}#{n + 1}", s, e, c))
    return out


def annotated(template: PromptTemplate) -> str:
    """The body with each section's id in square brackets before its text."""
    parts = []
    for s in sections(template):
        head = ""
        if s.component is not None:
            c = s.component
            head = template.text[c.span.start.offset:c.content_span.start.offset].strip() + " "
        parts.append(f"[{s.id}] {head}\n{template.text[s.start:s.end].strip()}")
    return "\n\n".join(parts)


def meta_template(name: str) -> Path:
    from promptkit.resources import bundled_templates_dir

    return bundled_templates_dir() / "optimizer" / f"{name}.prompty"


class Proposer:
    """Calls the critique and propose meta-prompts on ``model`` through ``runner``."""

    def __init__(self, model: str, runner: Runner, store: RecordingStore, meter: Meter) -> None:
        self.model = model
        self.runner = runner
        self.store = store
        self.meter = meter
        self.replies: list[str] = []
        #: failing perturbation rows (RunResults.robustness), shown with the failing cases
        self.robustness: list[dict[str, Any]] = []

    def _call(self, name: str, variables: dict[str, Any]) -> str:
        from promptkit.runner import Outcome, Suite, run_cases

        suite = Suite.from_cases(meta_template(name), [{"id": name, "vars": variables}], models=[self.model])
        res = run_cases(suite, runner=self.runner, store=self.store)
        case = res.cases[0]
        sample = case.samples[0] if case.samples else None
        answered = 1 if sample is not None and sample.output is not None else 0
        self.meter.spent.add(calls=max(answered, 1), live=answered if sample and not sample.from_recording else 0,
                             tokens=case.usage.total_tokens, cost_usd=case.usage.cost_usd, meta=True)
        if case.outcome is Outcome.ERROR or sample is None or sample.output is None:
            why = (sample.error if sample is not None else None) or "no answer"
            raise ProposerFormatError(f"the {name} call failed: {why}")
        self.replies.append(sample.output)
        return sample.output

    def _failures(self, failing: list[CaseEvidence]) -> str:
        return json.dumps([e.as_prompt_data() for e in failing] + list(self.robustness), ensure_ascii=False, indent=1)

    def critique(self, template: PromptTemplate, failing: list[CaseEvidence], passing: list[CaseEvidence]) -> str:
        return self._call("critique", {
            "prompt": annotated(template),
            "failures": self._failures(failing),
            "passing": json.dumps([e.as_prompt_data() for e in passing], ensure_ascii=False, indent=1),
        })

    def propose(self, template: PromptTemplate, failing: list[CaseEvidence], passing: list[CaseEvidence],
                critique: str, k: int) -> str:
        return self._call("propose", {
            "prompt": annotated(template),
            "sections": json.dumps([s.id for s in sections(template)]),
            "failures": self._failures(failing),
            "passing": json.dumps([e.as_prompt_data() for e in passing], ensure_ascii=False, indent=1),
            "critique": critique,
            "k": k,
        })


_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)```", re.DOTALL)

#: The plain reply format the propose meta-prompt asks for: one block per candidate,
#: ``HYPOTHESIS:`` / ``SECTION:`` / ``TEXT:`` ... ``END``. Plain lines instead of JSON, because
#: section texts are multi-line and full of quotes and ``{{ }}``, which small models (and
#: some large ones) escape wrongly; the keys are matched leniently (case, ``**bold**``,
#: ``#`` or ``-`` in front, ``[id]`` brackets), a text ends at END or where the model starts
#: echoing its request (a ``<failures>`` line), and a block cut off by ``max_tokens`` keeps
#: what it has only when no complete block came back.
_KEY = re.compile(r"^[\s#>*_\-]*(hypothesis|section|new[ _]text|text|end)[\s*_]*(?::|$)[\s*_]*(.*)$", re.IGNORECASE)
#: A line that opens one of the propose request's own data blocks: a model that starts
#: echoing its request has ended its text (small models do this instead of writing END).
_ECHO = re.compile(r"^\s*<(prompt|sections|failures|passing|critique)>\s*$")
_ID = re.compile(r"[\[`'\"]*([\w\-]+(?::[\w\-]+)?(?:#\d+)?)")


def _blocks(reply: str) -> tuple[list[dict[str, Any]], bool]:
    """Candidates in the block format, and whether the last one was cut off (no END)."""
    out: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    text: list[str] | None = None  # lines of the TEXT being read
    section: str | None = None

    def close_text() -> None:
        nonlocal text, section
        if cur is not None and text is not None and section is not None:
            body = "\n".join(text).strip("\n")
            body = re.sub(r"\A```[\w-]*\n(.*?)\n?```\Z", r"\1", body, flags=re.DOTALL)  # a fenced text
            cur["changes"].append({"section": section, "text": body})
        text, section = None, None

    cut = False
    for line in reply.splitlines():
        m = _KEY.match(line)
        key = m.group(1).lower().replace(" ", "_") if m else None
        if text is not None and key not in ("end", "hypothesis", "section"):
            if _ECHO.match(line):
                key = "end"
            else:
                text.append(line)  # inside a text everything but the next key is text
                continue
        if key == "hypothesis":
            close_text()
            cur = {"hypothesis": m.group(2).strip(), "changes": []}  # type: ignore[union-attr]
            out.append(cur)
            cut = True
        elif key == "section" and cur is not None:
            close_text()  # a SECTION without a TEXT changes nothing
            idm = _ID.match(m.group(2).strip())  # type: ignore[union-attr]
            section = idm.group(1) if idm else m.group(2).strip()  # type: ignore[union-attr]
        elif key in ("text", "new_text") and cur is not None and section is not None:
            rest = m.group(2)  # type: ignore[union-attr]
            text = [rest] if rest.strip() else []
        elif key == "end" and cur is not None:
            close_text()
            cut = False
    close_text()
    return [c for c in out if c["changes"]], cut


def parse_reply(reply: str, section_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The candidates of a proposer reply: ``[{"hypothesis", "changes": [{"section", "text"}]}]``.

    Accepts the block format the meta-prompt asks for (``HYPOTHESIS:`` / ``SECTION:`` /
    ``TEXT:`` ... ``END``), or JSON (``{"candidates": [...]}``, alone or in a code fence,
    also with a flat ``{"hypothesis", "section", "text"}`` per candidate). With
    ``section_ids``, a section named by its key alone (``task`` for ``system:task``) is
    mapped to the one id it can mean. Anything else is a :class:`ProposerFormatError`
    saying what was wrong."""
    text = reply.strip()
    if not text.startswith(("{", "[", "```json", "```\n{")):
        found, cut = _blocks(text)
        if found:
            if cut and len(found) > 1:
                found = found[:-1]  # the last block was cut off: the complete ones are enough
            return _normalized(found, section_ids)
    data: Any = None
    first_error: json.JSONDecodeError | None = None
    for attempt in [text, *(_FENCE.findall(text))]:
        try:
            data = json.loads(attempt)
            break
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
            continue
    if data is None:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end:
            try:
                data = json.loads(text[start:end + 1])
            except ValueError:
                data = None
    if data is None:
        if text.startswith(("{", "[", "```")) and first_error is not None:
            cut = "; it looks cut off (more { than }): raise the proposer's max_tokens" \
                if text.count("{") > text.count("}") else ""
            raise ProposerFormatError(f"the reply is not valid JSON ({first_error.msg}, line {first_error.lineno} "
                                      f"column {first_error.colno}){cut}")
        raise ProposerFormatError("the reply has no candidate (neither HYPOTHESIS:/SECTION:/TEXT: blocks nor JSON; "
                                  f"it starts {text[:60]!r})")
    if isinstance(data, list):
        data = {"candidates": data}
    if isinstance(data, dict) and "candidates" not in data and "hypothesis" in data:
        data = {"candidates": [data]}
    if not isinstance(data, dict) or not isinstance(data.get("candidates"), list):
        raise ProposerFormatError('the reply is JSON but has no "candidates" list')
    out: list[dict[str, Any]] = []
    for i, c in enumerate(data["candidates"], 1):
        if isinstance(c, dict) and "changes" not in c and isinstance(c.get("section"), str):
            c = {"hypothesis": c.get("hypothesis"), "changes": [{"section": c["section"], "text": c.get("text")}]}
        if not isinstance(c, dict) or not isinstance(c.get("changes"), list) or not c["changes"]:
            raise ProposerFormatError(f'candidate {i} has no "changes" list')
        for ch in c["changes"]:
            if not isinstance(ch, dict) or not isinstance(ch.get("section"), str) or not isinstance(ch.get("text"), str):
                raise ProposerFormatError(f'a change of candidate {i} is not {{"section": "<id>", "text": "<new text>"}}')
        out.append({"hypothesis": c.get("hypothesis"), "changes": c["changes"]})
    if not out:
        raise ProposerFormatError("the reply proposes no candidate")
    return _normalized(out, section_ids)


def _normalized(found: list[dict[str, Any]], section_ids: list[str] | None) -> list[dict[str, Any]]:
    out = []
    for c in found:
        changes = []
        for ch in c["changes"]:
            sid = ch["section"].strip().strip("[]`'\"")
            if section_ids is not None and sid not in section_ids:
                matches = [x for x in section_ids if x.split(":")[-1] == sid or x == sid.lower()]
                sid = matches[0] if len(matches) == 1 else sid
            changes.append({"section": sid, "text": ch["text"]})
        out.append({"hypothesis": str(c.get("hypothesis") or "").strip() or "(no hypothesis given)", "changes": changes})
    return out


def build(template: PromptTemplate, proposal: dict[str, Any], round_no: int) -> Candidate:
    """A candidate from one parsed proposal: each named section's content replaced through
    the edit service (a section that is not in the prompt makes the candidate rejected)."""
    t = template
    rejected: str | None = None
    for change in proposal["changes"]:
        by_id = {s.id: s for s in sections(t)}
        s = by_id.get(change["section"])
        if s is None:
            rejected = f"names a section that is not in the prompt ({change['section']!r})"
            break
        new = change["text"].strip("\n")
        old = t.text[s.start:s.end]
        # keep the section's own surrounding blank lines: only its text changes
        lead = old[: len(old) - len(old.lstrip("\r\n"))]
        trail = old[len(old.rstrip("\r\n")):]
        try:
            if s.component is not None:
                t = replace_component(t, s.component, lead + new + trail).template
            else:
                t = apply_edits(t, [Edit((s.start, s.end), lead + new + trail)]).template
        except EditError as exc:
            rejected = f"cannot be applied ({exc})"
            break
    return Candidate(f"proposer (round {round_no})", proposal["hypothesis"], t, round=round_no, rejected=rejected)
