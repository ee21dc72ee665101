"""Content parts: the non-text pieces of rendered messages, and chat threads.

Prompty v2 declares inputs of ``kind: thread`` (earlier chat turns), ``image``, ``file``
and ``audio``. Their values are not text: pasting them into the template would send a
Python repr of a list, or a URL as prose. So, as Prompty's reference runtime does, each
such input renders as an unforgeable marker (carrying the render's nonce) at its
``{{ name }}``; after the output is split into messages, :func:`expand` replaces each
marker: a thread by its messages, at that position; an image/file/audio by a content part
of the user message it sits in (or of a new user message). Prompty v1 had no such kinds,
but turned Markdown images (``![alt](url)``) into image parts: :func:`markdown_images`.

Parts are in OpenAI's wire shape, which litellm accepts for every provider:
``{"type": "text", "text"}``, ``{"type": "image_url", "image_url": {"url"}}``,
``{"type": "file", "file": {"url"}}``, ``{"type": "input_audio", "input_audio": {"data", "format"}}``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptkit.template.model import ROLES, RenderedMessage

PART_MARK = "\x02pkpart-{nonce}:{name}\x03"


def marker(nonce: str, name: str) -> str:
    """The text a rich input renders as. Only this render knows ``nonce``."""
    return PART_MARK.format(nonce=nonce, name=name)


class PartError(ValueError):
    """A thread or part value that cannot become a message (caller makes a diagnostic)."""


def part_for(kind: str, value: Any) -> dict[str, Any]:
    """The wire content part for an ``image``/``file``/``audio`` input value: a URL or
    data URL string, or a mapping with ``url``/``source`` (and ``detail``, ``mediaType``)."""
    source: Any = value
    extra: Mapping[str, Any] = {}
    if isinstance(value, Mapping):
        extra = value
        source = value.get("url") or value.get("source") or value.get("data") or ""
    source = "" if source is None else str(source)
    if kind == "image":
        image: dict[str, Any] = {"url": source}
        if extra.get("detail"):
            image["detail"] = extra["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "audio":
        media = str(extra.get("mediaType") or extra.get("media_type") or extra.get("format") or "")
        fmt = "mp3" if ("mp3" in media or media == "audio/mpeg") else "wav"
        return {"type": "input_audio", "input_audio": {"data": source, "format": fmt}}
    return {"type": "file", "file": {"url": source}}


def _wire_part(item: Any) -> dict[str, Any]:
    """One content part of a thread turn, from Prompty's shape (``kind``/``value``/
    ``source``) or OpenAI's (``type``/``text``/``image_url``)."""
    if not isinstance(item, Mapping):
        return {"type": "text", "text": str(item)}
    kind = item.get("kind", item.get("type", "text"))
    if kind == "text":
        return {"type": "text", "text": str(item.get("value", item.get("text", "")))}
    if kind in ("image", "image_url"):
        url = item.get("source", "")
        if not url and "image_url" in item:
            iu = item["image_url"]
            url = iu.get("url", "") if isinstance(iu, Mapping) else str(iu)
        return part_for("image", {"url": url, "detail": item.get("detail")})
    if kind in ("file", "audio", "input_audio"):
        if kind == "input_audio" and isinstance(item.get("input_audio"), Mapping):
            return {"type": "input_audio", "input_audio": dict(item["input_audio"])}
        return part_for("audio" if kind != "file" else "file", item)
    return {"type": "text", "text": str(dict(item))}


def thread_message(turn: Any, name: str, index: int) -> RenderedMessage:
    """One turn of a thread input (``{"role": ..., "content": ...}``) as a message."""
    if isinstance(turn, RenderedMessage):
        return turn
    if not isinstance(turn, Mapping):
        raise PartError(f"turn {index} of thread '{name}' is a {type(turn).__name__}, not a {{role, content}} mapping")
    role = turn.get("role", "user")
    role = role.strip().lower() if isinstance(role, str) else role
    if role not in ROLES:
        raise PartError(f"turn {index} of thread '{name}' has role {role!r}, which is not a chat role")
    content = turn.get("content", "")
    if isinstance(content, list):
        parts = [_wire_part(p) for p in content]
        if all(p["type"] == "text" for p in parts):  # all text: one string, as Prompty sends it
            return RenderedMessage(role=role, content="".join(p["text"] for p in parts))
        return RenderedMessage(role=role, content=parts)
    return RenderedMessage(role=role, content="" if content is None else str(content))


def _with_part(message: RenderedMessage, part: dict[str, Any]) -> RenderedMessage:
    return RenderedMessage(role=message.role, content=[*message.parts, part])


def expand(messages: list[RenderedMessage], nonce: str, kinds: Mapping[str, str],
           values: Mapping[str, Any]) -> list[RenderedMessage]:
    """Replace the rich-input markers in ``messages`` by thread messages and parts.

    Text around a marker stays in messages of the same role (stripped, dropped when
    empty), as the reference runtime splits them. A thread input the template never
    prints is appended after the last message (the reference does the same)."""
    mark = re.compile(re.escape("\x02pkpart-" + nonce + ":") + r"([^\x03]*)\x03")
    out: list[RenderedMessage] = []
    seen = False
    for msg in messages:
        text = msg.content if isinstance(msg.content, str) else None
        if text is None or "\x02pkpart-" not in text:
            out.append(msg)
            continue
        pieces = mark.split(text)
        if len(pieces) == 1:
            out.append(msg)
            continue
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                if piece.strip():
                    out.append(RenderedMessage(role=msg.role, content=piece.strip()))
                continue
            seen = True
            _insert(out, piece, kinds.get(piece, "thread"), values.get(piece))
    if not seen:
        for name, kind in kinds.items():
            if kind == "thread" and name in values:
                _insert(out, name, kind, values[name])
    return out


def _insert(out: list[RenderedMessage], name: str, kind: str, value: Any) -> None:
    if kind == "thread":
        if isinstance(value, (list, tuple)):
            out.extend(thread_message(turn, name, i) for i, turn in enumerate(value))
        elif value is not None:
            raise PartError(f"thread input '{name}' must be a list of {{role, content}} turns, "
                            f"not a {type(value).__name__}")
        return
    if value is None or value == "":
        return  # an optional image/file/audio not given: no part (the reference would send an empty URL)
    part = part_for(kind, value)
    if out and out[-1].role == "user":
        out[-1] = _with_part(out[-1], part)
    else:
        out.append(RenderedMessage(role="user", content=[part]))


# --------------------------------------------------------------------------- Prompty v1 images

#: Prompty v1's own pattern for a Markdown image (``![alt](url "title")``).
_MD_IMAGE = re.compile(r"(?P<alt>!\[[^\]]*\])\((?P<filename>.*?)(?=\"|\))\)")
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def markdown_images(message: RenderedMessage, base_dir: Path, root: Path | None) -> RenderedMessage:
    """A Prompty v1 message with Markdown images as text and image parts, as v1 sends it.

    URLs and ``data:`` URLs pass through; a relative path is read (inside the project
    only: :func:`promptkit.paths.confine`) and sent as a base64 data URL."""
    if not isinstance(message.content, str) or "![" not in message.content:
        return message
    content = message.content
    matches = list(_MD_IMAGE.finditer(content))
    if not matches:
        return message
    parts: list[dict[str, Any]] = []
    pos = 0
    for m in matches:
        before = content[pos:m.start()].strip()
        if before:
            parts.append({"type": "text", "text": before})
        parts.append(part_for("image", _inline(m.group("filename").split(" ")[0].strip(), base_dir, root)))
        pos = m.end()
    after = content[pos:].strip()
    if after:
        parts.append({"type": "text", "text": after})
    return RenderedMessage(role=message.role, content=parts)


def _inline(ref: str, base_dir: Path, root: Path | None) -> str:
    if ref.startswith(("http", "data")):
        return ref
    from promptkit.paths import PathRefused, confine, root_for

    top = root if root is not None else root_for(base_dir)
    suffix = Path(ref).suffix.lower()
    if suffix not in _IMAGE_TYPES:
        raise PartError(f"image {ref!r}: only .png, .jpg and .jpeg files can be inlined (or give a URL)")
    try:
        real = confine(ref, top, what=f"image {ref!r}", base=base_dir)
    except PathRefused as exc:
        raise PartError(exc.diagnostic.message) from None
    try:
        data = real.read_bytes()
    except OSError as exc:
        raise PartError(f"cannot read image {ref!r}: {exc.strerror or exc}") from None
    return f"data:{_IMAGE_TYPES[suffix]};base64,{base64.b64encode(data).decode('ascii')}"
