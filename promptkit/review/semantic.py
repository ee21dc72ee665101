"""What changed in a prompt, by meaning: components, inputs, model, output schema, tokens.

A raw text diff of a prompt file hides what a reviewer needs: which section of which
message changed, which variables appeared or disappeared, whether the output contract
broke and what the prompt now costs. :func:`diff_templates` compares two loaded
:class:`~promptkit.template.PromptTemplate` objects (never rendered, never run: only their
parsed structure is read) and returns a :class:`PromptDiff` of typed changes.

Components are matched by their place: the message (``system``, ``user``, ``user#2`` for a
second user message) and the chain of enclosing component keys, so ``## Task`` under the
system message is the same component in both revisions wherever it sits. A component
whose key vanished while one with the same content appeared is *renamed*; one that kept
its key but changed place among its siblings (or moved to another message) is *moved*.
Text is compared with whitespace collapsed first, so re-wrapped lines and trailing spaces
are reported as *whitespace only* rather than as edits.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from promptkit.template.model import Component, Message, PromptTemplate

__all__ = [
    "ComponentChange",
    "FieldChange",
    "InputChange",
    "PromptDiff",
    "SchemaChange",
    "TokenDelta",
    "content_hash",
    "diff_interface",
    "diff_templates",
    "interface",
    "word_diff",
]

_WORD = re.compile(r"\S+|\s+")


# --------------------------------------------------------------------------- changes


@dataclass
class ComponentChange:
    """A component added, removed, moved, renamed, changed, or changed in whitespace only.

    ``where`` reads ``system › Task``; ``words`` is the word diff (``[op, text]`` pairs,
    op ``=``, ``-`` or ``+``) for ``changed``."""

    kind: str  # added | removed | moved | renamed | changed | whitespace
    where: str
    title: str
    message: str
    old_where: str | None = None
    words: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        if self.kind == "moved":
            return f"{self.where} moved (was {self.old_where})" if self.old_where != self.where else f"{self.where} moved"
        if self.kind == "renamed":
            return f"{self.old_where} renamed to {self.where}"
        if self.kind == "whitespace":
            return f"{self.where}: whitespace only"
        return f"{self.where} {self.kind}"


@dataclass
class InputChange:
    """An input added or removed, or changed in type, requiredness or default."""

    kind: str  # added | removed | type | required | optional | default | description
    name: str
    before: Any = None
    after: Any = None
    breaking: bool = False

    def summary(self) -> str:
        if self.kind == "added":
            return f"input `{self.name}` added ({self.after})"
        if self.kind == "removed":
            return f"input `{self.name}` removed"
        if self.kind == "type":
            return f"input `{self.name}` type {self.before} → {self.after}"
        if self.kind == "required":
            return f"input `{self.name}` is now required"
        if self.kind == "optional":
            return f"input `{self.name}` is now optional"
        return f"input `{self.name}` {self.kind} {_short(self.before)} → {_short(self.after)}"


@dataclass
class FieldChange:
    """A model or front-matter field that changed (``model``, ``temperature``...)."""

    field: str
    before: Any = None
    after: Any = None

    def summary(self) -> str:
        if self.before is None:
            return f"{self.field} set to {_short(self.after)}"
        if self.after is None:
            return f"{self.field} removed (was {_short(self.before)})"
        return f"{self.field} {_short(self.before)} → {_short(self.after)}"


@dataclass
class SchemaChange:
    """One change of the output contract, at a JSON path (``$.items[].name``)."""

    path: str
    what: str
    breaking: bool

    def summary(self) -> str:
        return f"{self.path}: {self.what}" + (" (breaking)" if self.breaking else "")


@dataclass
class TokenDelta:
    """Tokens of one source message in each revision (None: no such message)."""

    message: str
    before: int | None
    after: int | None

    @property
    def delta(self) -> int:
        return (self.after or 0) - (self.before or 0)


@dataclass
class PromptDiff:
    """Everything that changed in one prompt between two revisions."""

    path: str
    status: str  # added | removed | modified | renamed
    old_path: str | None = None
    name: str = ""
    version_before: str | None = None
    version_after: str | None = None
    whitespace_only: bool = False
    content_changed: bool = False
    components: list[ComponentChange] = field(default_factory=list)
    inputs: list[InputChange] = field(default_factory=list)
    model: list[FieldChange] = field(default_factory=list)
    metadata: list[FieldChange] = field(default_factory=list)
    schema: list[SchemaChange] = field(default_factory=list)
    tokens: list[TokenDelta] = field(default_factory=list)
    hash_before: str | None = None
    hash_after: str | None = None

    @property
    def breaking(self) -> list[str]:
        """Why this change breaks callers (empty: it does not)."""
        out = [c.summary() for c in self.inputs if c.breaking]
        out += [f"output {c.path}: {c.what}" for c in self.schema if c.breaking]
        return out

    @property
    def tokens_before(self) -> int | None:
        vals = [t.before for t in self.tokens if t.before is not None]
        return sum(vals) if vals else None

    @property
    def tokens_after(self) -> int | None:
        vals = [t.after for t in self.tokens if t.after is not None]
        return sum(vals) if vals else None

    @property
    def token_delta(self) -> int:
        return (self.tokens_after or 0) - (self.tokens_before or 0)

    def headline(self) -> str:
        """A few words on the kind of change, for summary tables."""
        if self.status in ("added", "removed"):
            return f"prompt {self.status}"
        if not self.content_changed:
            if self.whitespace_only:
                return "whitespace only"
            return "renamed, content unchanged" if self.status == "renamed" else (
                "version only" if self.version_before != self.version_after else "unchanged")
        parts: list[str] = []
        if self.status == "renamed":
            parts.append("renamed")
        counts: dict[str, int] = {}
        for c in self.components:
            counts[c.kind] = counts.get(c.kind, 0) + 1
        parts += [f"{n} component{'s' if n > 1 else ''} {k}" for k, n in counts.items()]
        kinds = {"added": "added", "removed": "removed", "type": "type changed", "required": "made required",
                 "optional": "made optional", "default": "default changed", "description": "described"}
        seen: list[str] = []
        for c in self.inputs:
            label = f"input {kinds.get(c.kind, c.kind)}"
            if label not in seen:
                seen.append(label)
        parts += seen
        if self.model:
            parts.append("model/parameters")
        if self.schema:
            parts.append("output schema" + (" (breaking)" if any(s.breaking for s in self.schema) else ""))
        if self.metadata:
            parts.append("metadata")
        return ", ".join(parts) or "changed"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["breaking"] = self.breaking
        data["headline"] = self.headline()
        data["token_delta"] = self.token_delta
        for t, src in zip(data["tokens"], self.tokens):
            t["delta"] = src.delta
        return data


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------- canonical content


def _squash(text: str) -> str:
    return " ".join(text.split())


def _front_matter_data(t: PromptTemplate, *, drop_version: bool = True) -> dict[str, Any]:
    data = dict(t.raw_front_matter)
    if drop_version:
        data.pop("version", None)
    return data


def content_hash(t: PromptTemplate) -> str:
    """``sha256:...`` of what the prompt *is*, version aside: its front matter as data
    (key order, quoting and comments do not count) and its body with whitespace collapsed.
    Equal hashes mean no bump is needed; ``prompts.lock`` stores this."""
    fm = json.dumps(_front_matter_data(t), sort_keys=True, ensure_ascii=False, default=str)
    h = hashlib.sha256()
    h.update(fm.encode("utf-8"))
    h.update(b"\0")
    h.update(_squash(t.body).encode("utf-8"))
    return "sha256:" + h.hexdigest()[:32]


# --------------------------------------------------------------------------- components


@dataclass
class _Entry:
    key: str  # message label + key chain + occurrence: identity across revisions
    local: str  # key chain within the message
    message: str
    title: str
    where: str
    text: str  # own text: the content minus child components
    parent: str  # identity of the parent (message label or component key)


def _message_labels(messages: tuple[Message, ...]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for m in messages:
        role = m.dynamic_role and f"{{{{{m.dynamic_role}}}}}" or m.role
        seen[role] = seen.get(role, 0) + 1
        out.append(role if seen[role] == 1 else f"{role}#{seen[role]}")
    return out


def _own_text(t: PromptTemplate, span_start: int, span_end: int, children: list[Component]) -> str:
    parts: list[str] = []
    pos = span_start
    for c in sorted(children, key=lambda c: c.span.start.offset):
        parts.append(t.text[pos:c.span.start.offset])
        pos = max(pos, c.span.end.offset)
    parts.append(t.text[pos:span_end])
    return "".join(parts)


def _entries(t: PromptTemplate) -> list[_Entry]:
    out: list[_Entry] = []
    for label, m in zip(_message_labels(t.messages), t.messages):
        comps = m.components
        children: dict[int | None, list[Component]] = {}
        for c in comps:
            children.setdefault(c.parent, []).append(c)
        # text outside every component (a message with no headings is all preamble)
        pre = _own_text(t, m.content_span.start.offset, m.content_span.end.offset, children.get(None, []))
        if pre.strip():
            out.append(_Entry(f"{label}/", "", label, "(text)", f"{label} › (text)", pre, label))
        keys: list[str] = []
        counts: dict[str, int] = {}
        for i, c in enumerate(comps):
            chain = c.key if c.parent is None else f"{keys[c.parent]}/{c.key}"
            counts[chain] = counts.get(chain, 0) + 1
            if counts[chain] > 1:
                chain = f"{chain}#{counts[chain]}"
            keys.append(chain)
            titles = [c.title]
            p = c.parent
            while p is not None:
                titles.insert(0, comps[p].title)
                p = comps[p].parent
            text = _own_text(t, c.content_span.start.offset, c.content_span.end.offset, children.get(i, []))
            parent = label if c.parent is None else f"{label}/{keys[c.parent]}"
            out.append(_Entry(f"{label}/{chain}", chain, label, c.title, " › ".join([label, *titles]), text, parent))
    return out


def _positions(entries: list[_Entry]) -> dict[str, int]:
    """Each entry's index among its parent's children."""
    seen: dict[str, int] = {}
    out: dict[str, int] = {}
    for e in entries:
        out[e.key] = seen.get(e.parent, 0)
        seen[e.parent] = out[e.key] + 1
    return out


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Words (and the whitespace between them) as ``=``, ``-`` and ``+`` runs."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    # compare words without whitespace so re-wrapping does not show as edits
    aw = [w for w in a if not w.isspace()]
    bw = [w for w in b if not w.isspace()]
    ops: list[tuple[str, str]] = []

    def add(op: str, words: list[str]) -> None:
        if not words:
            return
        text = " ".join(words)
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + " " + text)
        else:
            ops.append((op, text))

    sm = difflib.SequenceMatcher(None, aw, bw, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            add("=", aw[i1:i2])
        else:
            add("-", aw[i1:i2])
            add("+", bw[j1:j2])
    return ops


def _diff_components(a: PromptTemplate, b: PromptTemplate) -> list[ComponentChange]:
    ea, eb = _entries(a), _entries(b)
    ma, mb = {e.key: e for e in ea}, {e.key: e for e in eb}
    out: list[ComponentChange] = []
    removed = [e for e in ea if e.key not in mb]
    added = [e for e in eb if e.key not in ma]
    # same key in another message (moved across messages) or a renamed heading (same text)
    pairs: list[tuple[_Entry, _Entry, str]] = []
    for r in list(removed):
        match = next((x for x in added if x.local == r.local and x.local and _squash(x.text) == _squash(r.text)), None)
        kind = "moved"
        if match is None:
            match = next((x for x in added if x.message == r.message and _squash(x.text) == _squash(r.text)
                          and _squash(r.text)), None)
            kind = "renamed"
        if match is not None:
            removed.remove(r)
            added.remove(match)
            pairs.append((r, match, kind))
    # a heading retitled in place (same parent, same position among its siblings), its text
    # the same or mostly so: renamed (and changed), not one removed and one added
    pos_a = _positions(ea)
    pos_b = _positions(eb)
    for r in list(removed):
        match = next((x for x in added if x.parent == r.parent and pos_b[x.key] == pos_a[r.key]
                      and (_squash(x.text) == _squash(r.text)
                           or difflib.SequenceMatcher(None, r.text, x.text).quick_ratio() > 0.6)), None)
        if match is not None:
            removed.remove(r)
            added.remove(match)
            pairs.append((r, match, "renamed"))
    # order among siblings, for components present in both
    common_a = [e.key for e in ea if e.key in mb]
    common_b = [e.key for e in eb if e.key in ma]
    moved: set[str] = set()
    by_parent_a: dict[str, list[str]] = {}
    by_parent_b: dict[str, list[str]] = {}
    for k in common_a:
        by_parent_a.setdefault(ma[k].parent, []).append(k)
    for k in common_b:
        by_parent_b.setdefault(mb[k].parent, []).append(k)
    for parent, seq_a in by_parent_a.items():
        seq_b = by_parent_b.get(parent, [])
        sm = difflib.SequenceMatcher(None, seq_a, seq_b, autojunk=False)
        kept = {seq_a[i] for blk in sm.get_matching_blocks() for i in range(blk.a, blk.a + blk.size)}
        moved |= {k for k in seq_a if k not in kept}
    for e in eb:  # report in the head's order
        if e.key in ma:
            old = ma[e.key]
            if e.key in moved:
                out.append(ComponentChange("moved", e.where, e.title, e.message, old_where=old.where))
            if old.text != e.text:
                if _squash(old.text) == _squash(e.text):
                    out.append(ComponentChange("whitespace", e.where, e.title, e.message))
                else:
                    out.append(ComponentChange("changed", e.where, e.title, e.message,
                                               words=word_diff(old.text, e.text)))
        elif e in added:
            out.append(ComponentChange("added", e.where, e.title, e.message, words=[("+", _squash(e.text))]))
        else:
            r, _, kind = next(p for p in pairs if p[1] is e)
            words = word_diff(r.title, e.title) if kind == "renamed" else []
            out.append(ComponentChange(kind, e.where, e.title, e.message, old_where=r.where, words=words))
            if r.text != e.text:
                if _squash(r.text) == _squash(e.text):
                    out.append(ComponentChange("whitespace", e.where, e.title, e.message))
                else:
                    out.append(ComponentChange("changed", e.where, e.title, e.message, words=word_diff(r.text, e.text)))
    for r in removed:
        out.append(ComponentChange("removed", r.where, r.title, r.message, words=[("-", _squash(r.text))]))
    return out


# --------------------------------------------------------------------------- inputs


def _declared_inputs(t: PromptTemplate) -> dict[str, dict[str, Any]]:
    """name -> {type, required, default}: the front matter's inputs, else the variables the
    body reads (a prompt without declared inputs still has a contract with its callers)."""
    if t.inputs:
        return {n: {"type": s.type, "required": s.is_required, "default": s.default if s.has_default else None,
                    "description": s.description} for n, s in t.inputs.items()}
    try:
        from promptkit.template.analysis import analyze

        names = analyze(t).undeclared
    except Exception:  # noqa: BLE001 - analysis of a broken body: no inputs known
        names = []
    return {n: {"type": "any", "required": True, "default": None, "description": None} for n in names}


def _diff_inputs(ia: dict[str, dict[str, Any]], ib: dict[str, dict[str, Any]]) -> list[InputChange]:
    out: list[InputChange] = []
    for name, spec in ib.items():
        old = ia.get(name)
        if old is None:
            req = "required" if spec["required"] else "optional"
            out.append(InputChange("added", name, None, f"{spec['type']}, {req}", breaking=spec["required"]))
            continue
        if old["type"] != spec["type"] and "any" not in (old["type"], spec["type"]):
            out.append(InputChange("type", name, old["type"], spec["type"], breaking=True))
        if old["required"] != spec["required"]:
            out.append(InputChange("required" if spec["required"] else "optional", name, old["required"],
                                   spec["required"], breaking=bool(spec["required"])))
        elif old["default"] != spec["default"]:
            out.append(InputChange("default", name, old["default"], spec["default"]))
        if old["description"] != spec["description"]:
            out.append(InputChange("description", name, old["description"], spec["description"]))
    for name in ia:
        if name not in ib:
            out.append(InputChange("removed", name, ia[name]["type"], None, breaking=True))
    return out


# --------------------------------------------------------------------------- model


def _model_fields(t: PromptTemplate) -> dict[str, Any]:
    m = t.front_matter.model
    if m is None:
        return {}
    out: dict[str, Any] = {"model": m.litellm_id}
    for k, v in m.params.items():
        out[k] = v
    return out


def _diff_model(a: PromptTemplate, b: PromptTemplate) -> list[FieldChange]:
    fa, fb = _model_fields(a), _model_fields(b)
    keys = list(fb) + [k for k in fa if k not in fb]
    return [FieldChange(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]


_CONTRACT = {"version", "model", "inputs", "outputs", "output"}


def _diff_metadata(a: PromptTemplate, b: PromptTemplate) -> list[FieldChange]:
    da, db = a.raw_front_matter, b.raw_front_matter
    keys = [k for k in db if k not in _CONTRACT] + [k for k in da if k not in db and k not in _CONTRACT]
    return [FieldChange(str(k), da.get(k), db.get(k)) for k in keys if da.get(k) != db.get(k)]


# --------------------------------------------------------------------------- output schema


def _types(s: dict[str, Any]) -> set[str]:
    t = s.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {str(x) for x in t}
    return set()


def _diff_schema(a: Any, b: Any, path: str, out: list[SchemaChange]) -> None:
    """Breaking = a consumer of the old output can be surprised by the new one: a field
    gone or no longer guaranteed, a type widened or changed, new enum values, extra
    properties allowed. Tightening (a new required field, fewer enum values) is not."""
    if not isinstance(a, dict) or not isinstance(b, dict):
        if a != b:
            out.append(SchemaChange(path, "schema replaced", True))
        return
    ta, tb = _types(a), _types(b)
    if ta != tb and ta and tb:
        widened = not tb <= ta
        out.append(SchemaChange(path, f"type {'/'.join(sorted(ta))} → {'/'.join(sorted(tb))}", widened or not (ta & tb)))
    elif ta and not tb:
        out.append(SchemaChange(path, f"type constraint {'/'.join(sorted(ta))} removed", True))
    ea, eb = a.get("enum"), b.get("enum")
    if isinstance(ea, list) and isinstance(eb, list):
        new = [v for v in eb if v not in ea]
        gone = [v for v in ea if v not in eb]
        if new:
            out.append(SchemaChange(path, f"enum values added: {_short(new)}", True))
        if gone:
            out.append(SchemaChange(path, f"enum values removed: {_short(gone)}", False))
    elif isinstance(ea, list) and eb is None:
        out.append(SchemaChange(path, "enum removed", True))
    elif isinstance(eb, list) and ea is None:
        out.append(SchemaChange(path, "enum added", False))
    pa = a.get("properties") if isinstance(a.get("properties"), dict) else {}
    pb = b.get("properties") if isinstance(b.get("properties"), dict) else {}
    ra = set(a.get("required") or []) if isinstance(a.get("required"), list) else set()
    rb = set(b.get("required") or []) if isinstance(b.get("required"), list) else set()
    for name in pa:
        sub = f"{path}.{name}"
        if name not in pb:
            out.append(SchemaChange(sub, "property removed", True))
        else:
            _diff_schema(pa[name], pb[name], sub, out)
    for name in pb:
        if name not in pa:
            out.append(SchemaChange(f"{path}.{name}", "property added" + (" (required)" if name in rb else ""), False))
    for name in sorted(ra - rb):
        if name in pb:
            out.append(SchemaChange(f"{path}.{name}", "no longer required", True))
    for name in sorted(rb - ra):
        if name in pa:
            out.append(SchemaChange(f"{path}.{name}", "now required", False))
    if a.get("additionalProperties") is False and b.get("additionalProperties") is not False:
        out.append(SchemaChange(path, "additional properties now allowed", True))
    if "items" in a or "items" in b:
        _diff_schema(a.get("items", {}), b.get("items", {}), f"{path}[]", out)
    for key in ("maxLength", "maxItems", "maximum"):
        if key in a and (key not in b or (isinstance(b[key], (int, float)) and b[key] > a[key])):
            out.append(SchemaChange(path, f"{key} {a[key]} → {b.get(key, 'none')}", True))
        elif key in b and a.get(key) != b[key]:
            out.append(SchemaChange(path, f"{key} {a.get(key, 'none')} → {b[key]}", False))


def _output(t: PromptTemplate) -> tuple[str, Any]:
    fm = t.front_matter
    return ("json" if fm.wants_json else "text"), fm.output_schema


def _diff_output(oa: tuple[str, Any], ob: tuple[str, Any]) -> list[SchemaChange]:
    (fa, sa), (fb, sb) = oa, ob
    out: list[SchemaChange] = []
    if fa != fb:
        out.append(SchemaChange("$", f"output format {fa} → {fb}", True))
    if sa is None and sb is not None:
        out.append(SchemaChange("$", "output schema added", False))
    elif sa is not None and sb is None:
        out.append(SchemaChange("$", "output schema removed", True))
    elif sa is not None and sb is not None and sa != sb:
        _diff_schema(sa, sb, "$", out)
        if not out:
            out.append(SchemaChange("$", "schema annotations changed", False))
    return out


# --------------------------------------------------------------------------- tokens


def _tokens(t: PromptTemplate | None) -> dict[str, int]:
    if t is None or not t.messages:
        return {}
    from promptkit.tokens import count_tokens

    model = t.front_matter.model.litellm_id if t.front_matter.model else None
    count = count_tokens(t, model)
    return dict(zip(_message_labels(t.messages), (m.tokens for m in count.messages)))


def _diff_tokens(a: PromptTemplate | None, b: PromptTemplate | None) -> list[TokenDelta]:
    ta, tb = _tokens(a), _tokens(b)
    labels = list(tb) + [k for k in ta if k not in tb]
    return [TokenDelta(k, ta.get(k), tb.get(k)) for k in labels]


# --------------------------------------------------------------------------- entry point


def diff_templates(a: PromptTemplate | None, b: PromptTemplate | None, *, path: str, old_path: str | None = None,
                   tokens: bool = True) -> PromptDiff:
    """The semantic diff of one prompt: ``a`` at the base, ``b`` at the head (None when
    the prompt does not exist there). Reads the parsed templates only."""
    if a is None and b is None:
        raise ValueError("nothing to compare")
    status = "added" if a is None else "removed" if b is None else ("renamed" if old_path and old_path != path else "modified")
    ref = b or a
    assert ref is not None
    d = PromptDiff(path=path, status=status, old_path=old_path if status != "modified" else None, name=ref.name,
                   version_before=a.version if a else None, version_after=b.version if b else None,
                   hash_before=content_hash(a) if a else None, hash_after=content_hash(b) if b else None)
    if tokens:
        d.tokens = _diff_tokens(a, b)
    if a is None or b is None:
        d.content_changed = True
        if b is not None:  # a new prompt: what it asks of callers and which model it is for
            d.inputs = [InputChange("added", n, None, f"{spec['type']}, {'required' if spec['required'] else 'optional'}")
                        for n, spec in _declared_inputs(b).items()]
            d.model = [FieldChange(k, None, v) for k, v in _model_fields(b).items() if v is not None]
        return d
    d.content_changed = d.hash_before != d.hash_after
    d.whitespace_only = not d.content_changed and (a.body != b.body or a.front_matter_text != b.front_matter_text
                                                  and _front_matter_data(a, drop_version=False)
                                                  == _front_matter_data(b, drop_version=False))
    if a.body != b.body:
        d.components = _diff_components(a, b)
    d.inputs, d.schema = diff_interface(interface(a), interface(b))
    d.model = _diff_model(a, b)
    d.metadata = _diff_metadata(a, b)
    return d


def interface(t: PromptTemplate) -> dict[str, Any]:
    """What callers and consumers rely on: the inputs (type, requiredness, default) and the
    output (format and schema), as plain data (``prompts.lock`` keeps it)."""
    fmt, schema = _output(t)
    return {"inputs": _declared_inputs(t), "output": {"format": fmt, "schema": schema}}


def diff_interface(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[InputChange], list[SchemaChange]]:
    """Input and output-schema changes between two :func:`interface` values."""
    oa, ob = a.get("output") or {}, b.get("output") or {}
    return (_diff_inputs(a.get("inputs") or {}, b.get("inputs") or {}),
            _diff_output((oa.get("format", "text"), oa.get("schema")), (ob.get("format", "text"), ob.get("schema"))))
