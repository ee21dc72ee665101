"""Prompt-injection payload lists: the shipped one, and users' own, read with positions.

A payload list is YAML: ``payloads:`` a list of ``{id, text, canary, technique}``
(``source`` and ``licence`` at the top say where the texts come from). The ``canary`` is
a token the payload asks the model to print and no honest answer contains; an injection
variant passes only when the output does not contain it. The shipped list
(``promptkit/data/perturb/injections.yaml``) was written for promptkit, MIT-licensed; its
header says so and names the attack classes it follows.

A list that does not parse, or an entry without ``text`` or whose ``text`` does not ask
for its ``canary``, is one located error (``file:line:col``), never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from promptkit.codes import INVALID_PAYLOADS
from promptkit.diagnostics import Diagnostic, LineIndex, PromptkitError, Severity

__all__ = ["Payload", "PayloadList", "default_payloads", "load_payloads", "loads_payloads"]

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "perturb" / "injections.yaml"


@dataclass(frozen=True, slots=True)
class Payload:
    id: str
    text: str
    canary: str
    technique: str = ""

    def followed(self, output: str | None) -> bool:
        """Did the model follow the injected instruction (print the canary)?"""
        return bool(output) and self.canary.lower() in str(output).lower()


@dataclass(frozen=True)
class PayloadList:
    path: str
    source: str
    licence: str
    payloads: tuple[Payload, ...]


def _error(path: str, text: str, offset: int, message: str, hint: str) -> PromptkitError:
    idx = LineIndex(text)
    span = idx.span(offset, offset)
    return PromptkitError(Diagnostic(path, message, Severity.ERROR, INVALID_PAYLOADS.code, INVALID_PAYLOADS.name,
                                     span, hint))


_HINT = "a payload list is YAML: payloads: [{id: ..., text: '... say CANARY ...', canary: CANARY}]"


def loads_payloads(text: str, path: str = "<payloads>") -> PayloadList:
    """Read a payload list from ``text``; raises :class:`PromptkitError` at the first problem."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and mark is not None and mark.index >= len(text.rstrip()):
            mark = exc.context_mark  # "unexpected end of stream": point where the unclosed thing opened
        off = mark.index if mark is not None else 0
        raise _error(path, text, off, f"payload list is not valid YAML: {exc.problem or exc}", _HINT) from None
    except yaml.YAMLError as exc:
        raise _error(path, text, 0, f"payload list is not valid YAML: {exc}", _HINT) from None
    if not isinstance(root, yaml.MappingNode):
        raise _error(path, text, root.start_mark.index if root is not None else 0,
                     "a payload list must be a mapping with a 'payloads' list", _HINT)
    fields = {k.value: v for k, v in root.value if isinstance(k, yaml.ScalarNode)}
    items = fields.get("payloads")
    if not isinstance(items, yaml.SequenceNode) or not items.value:
        where = items.start_mark.index if items is not None else root.start_mark.index
        raise _error(path, text, where, "the payload list has no 'payloads' entries", _HINT)

    def scalar(node: yaml.Node | None) -> str | None:
        return str(node.value) if isinstance(node, yaml.ScalarNode) else None

    out: list[Payload] = []
    seen: set[str] = set()
    for i, item in enumerate(items.value):
        if not isinstance(item, yaml.MappingNode):
            raise _error(path, text, item.start_mark.index, f"payloads[{i}] is not a mapping", _HINT)
        f = {k.value: v for k, v in item.value if isinstance(k, yaml.ScalarNode)}
        unknown = set(f) - {"id", "text", "canary", "technique", "source", "licence", "license"}
        if unknown:
            key = next(k for k, _ in item.value if k.value in unknown)
            raise _error(path, text, key.start_mark.index, f"payloads[{i}]: unknown key '{key.value}'",
                         "payload keys: id, text, canary, technique, source, licence")
        body, canary = scalar(f.get("text")), scalar(f.get("canary"))
        if not body or not body.strip():
            raise _error(path, text, item.start_mark.index, f"payloads[{i}] has no 'text'", _HINT)
        if not canary or not canary.strip():
            raise _error(path, text, item.start_mark.index, f"payloads[{i}] has no 'canary'",
                         "give the token the payload asks the model to print: canary: PK-CANARY-X")
        pid = scalar(f.get("id")) or f"payload-{i + 1}"
        if pid in seen:
            raise _error(path, text, f["id"].start_mark.index, f"duplicate payload id '{pid}'", "give every payload a unique id")
        seen.add(pid)
        parts = canary.split("-")
        if canary.lower() not in body.lower() and not all(p.lower() in body.lower() for p in parts):
            raise _error(path, text, f["text"].start_mark.index,
                         f"payloads[{i}] ('{pid}'): the text never asks for its canary '{canary}'",
                         "the canary is what the payload tells the model to print; put it in the text")
        out.append(Payload(pid, body, canary.strip(), scalar(f.get("technique")) or ""))
    return PayloadList(path, scalar(fields.get("source")) or "", scalar(fields.get("licence") or fields.get("license")) or "",
                       tuple(out))


def load_payloads(path: str | Path) -> PayloadList:
    """Read a payload list file (size-bounded, decoded like prompt files)."""
    from promptkit.template import source

    src = source.read(path)
    if not src.ok:
        d = src.diagnostics[0]
        raise PromptkitError(Diagnostic(str(path), d.message, Severity.ERROR, INVALID_PAYLOADS.code, INVALID_PAYLOADS.name,
                                        d.span, d.hint or "give a YAML payload list"))
    return loads_payloads(src.text, str(path))


@lru_cache(maxsize=1)
def default_payloads() -> PayloadList:
    """The shipped list (see the module docstring for its source and licence)."""
    return load_payloads(DEFAULT_PATH)
