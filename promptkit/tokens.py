"""Token counts for prompts, per message and in total, fully offline.

Why this module exists: a prompt's size decides its cost and whether it fits the
model's context window, so the linter, the ``tokens`` command and the runner all need
the same numbers. They must work on a machine with no network at all (CI runners,
pre-commit hooks, air-gapped laptops).

Offline encodings. tiktoken downloads its BPE files on first use. litellm's wheel
already ships the same files (``litellm/litellm_core_utils/tokenizers/``, named by the
SHA-1 of the download URL, which is exactly tiktoken's cache layout), so we point
``TIKTOKEN_CACHE_DIR`` there -- located with :func:`importlib.util.find_spec`, so
litellm is never imported (importing it costs seconds and touches the network). A
value the user set is respected. tiktoken verifies each file's hash, so reusing them is
safe.

Which encoding. The model id is stripped of provider prefixes (``openai/gpt-4o`` ->
``gpt-4o``) and looked up in tiktoken's model table. A model tiktoken does not know
(Claude, Llama, a private deployment name...) is counted with :data:`FALLBACK_ENCODING`
(``o200k_base``, GPT-4o's encoding) and the result carries a ``notice`` saying the
count is approximate. If an encoding's file is unavailable offline, the next available
one is used, again with a notice; as a last resort a characters/4 estimate.

Chat overhead follows OpenAI's published recipe ("How to count tokens with tiktoken"):
every message costs 3 tokens plus the tokens of its role and content (a ``name`` field
costs 1 more), and every reply is primed with 3 tokens.

Context windows come from litellm's bundled price/context table
(``model_prices_and_context_window_backup.json``), read directly as JSON.
"""

from __future__ import annotations

import importlib.util
import json
import re
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_ENCODING",
    "FALLBACK_ENCODING",
    "MessageTokens",
    "TokenCount",
    "context_window",
    "count_tokens",
    "encoding_for",
    "model_info",
    "normalize_model",
]

#: Encoding used when no model is given (GPT-4o family, the most common target).
DEFAULT_ENCODING = "o200k_base"
#: Encoding used, with a notice, for models tiktoken does not know.
FALLBACK_ENCODING = "o200k_base"
#: Tried in order when an encoding's BPE file is not available offline.
_OFFLINE_CHAIN = ("o200k_base", "cl100k_base")

#: OpenAI's chat format: tokens added per message, per ``name`` field, and to prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3

_LITELLM_TOKENIZERS = ("litellm_core_utils", "tokenizers")
_LITELLM_MODEL_TABLE = "model_prices_and_context_window_backup.json"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MessageTokens:
    """Tokens of one chat message. ``tokens`` includes the chat-format overhead
    (role and per-message tokens); ``content_tokens`` is the content alone."""

    role: str
    tokens: int
    content_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "tokens": self.tokens, "content_tokens": self.content_tokens}


@dataclass(frozen=True)
class TokenCount:
    """The result of :func:`count_tokens`.

    ``total`` is what the model is billed for as input: the sum of the messages plus
    the reply priming (for chat input), or just the text's tokens (for a plain string).
    ``notice`` is set when the count is approximate (fallback encoding, estimate).
    """

    total: int
    encoding: str
    model: str | None = None
    messages: tuple[MessageTokens, ...] = ()
    notice: str | None = None
    chat: bool = True  # False for a plain string (no chat overhead)
    exact: bool = True  # False when ``notice`` says the count is approximate

    def __int__(self) -> int:
        return self.total

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "encoding": self.encoding,
            "total": self.total,
            "messages": [m.to_dict() for m in self.messages],
            "notice": self.notice,
            "exact": self.exact,
        }


# --------------------------------------------------------------------------- offline files


def _litellm_dir() -> Path | None:
    """litellm's package folder, found without importing litellm."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_tiktoken_cache() -> Path | None:
    """The folder of tiktoken BPE files shipped in litellm's wheel, if installed."""
    root = _litellm_dir()
    if root is None:
        return None
    folder = root.joinpath(*_LITELLM_TOKENIZERS)
    return folder if folder.is_dir() else None


def _ensure_offline_cache() -> None:
    """Point tiktoken at litellm's bundled files unless the user chose a cache."""
    if "TIKTOKEN_CACHE_DIR" in os.environ or "DATA_GYM_CACHE_DIR" in os.environ:
        return
    folder = bundled_tiktoken_cache()
    if folder is not None:
        os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)


# --------------------------------------------------------------------------- encodings


def normalize_model(model: str) -> str:
    """Strip provider prefixes and whitespace: ``openai/gpt-4o`` -> ``gpt-4o``,
    ``openrouter/openai/gpt-4o-mini`` -> ``gpt-4o-mini``."""
    return model.strip().rsplit("/", 1)[-1]


@lru_cache(maxsize=None)
def _get_encoding(name: str) -> Any:
    """A tiktoken ``Encoding`` by name; raises when its file cannot be had offline."""
    _ensure_offline_cache()
    import tiktoken

    return tiktoken.get_encoding(name)


def _encoding_name_for(model: str) -> str | None:
    import tiktoken.model

    for candidate in (model.strip(), normalize_model(model)):
        try:
            return tiktoken.model.encoding_name_for_model(candidate)
        except KeyError:
            continue
    return None


@lru_cache(maxsize=256)
def encoding_for(model: str | None = None) -> tuple[Any, str | None]:
    """The tiktoken encoding for ``model`` and a notice (None when exact).

    Returns ``(encoding, notice)``; ``encoding`` is None only when no encoding file is
    available at all (then :func:`count_tokens` estimates). Never touches the network
    when litellm's bundled files are present.
    """
    notice: str | None = None
    if model is None or not model.strip():
        wanted = DEFAULT_ENCODING
    else:
        found = _encoding_name_for(model)
        if found is None:
            wanted = FALLBACK_ENCODING
            notice = (
                f"model {model!r} has no known tiktoken encoding; "
                f"counted with {FALLBACK_ENCODING} (approximate)"
            )
        else:
            wanted = found
    chain = [wanted, *(n for n in _OFFLINE_CHAIN if n != wanted)]
    for name in chain:
        try:
            enc = _get_encoding(name)
        except Exception:  # noqa: BLE001 - missing file offline, network error, bad cache
            continue
        if name != wanted:
            notice = f"encoding {wanted} is not available offline; counted with {name} (approximate)"
        return enc, notice
    return None, "no tiktoken encoding is available offline; estimated as characters/4 (approximate)"


# --------------------------------------------------------------------------- counting


#: OpenAI's price of one image part: ``detail: low`` is a flat 85 tokens; otherwise the
#: count depends on the image's size (85 + 170 per 512-px tile), which a URL does not
#: tell, so a 1024x1024 image (4 tiles, 765 tokens) stands in and the count is approximate.
IMAGE_TOKENS_LOW = 85
IMAGE_TOKENS_ESTIMATE = 765


def _media_tokens(parts: list[Any]) -> tuple[int, list[str]]:
    """Tokens of the non-text content parts, and what made the count approximate."""
    total, why = 0, []
    for p in parts:
        if not isinstance(p, Mapping) or p.get("type") == "text":
            continue
        if p.get("type") == "image_url":
            detail = p.get("image_url", {}).get("detail") if isinstance(p.get("image_url"), Mapping) else None
            if detail == "low":
                total += IMAGE_TOKENS_LOW
            else:
                total += IMAGE_TOKENS_ESTIMATE
                why.append(f"images counted as {IMAGE_TOKENS_ESTIMATE} tokens each (a 1024x1024 image at high detail)")
        else:
            why.append(f"{p.get('type', 'unknown')} parts are not counted (their cost depends on the provider)")
    return total, why


def _as_messages(messages: Any, media: list[tuple[int, list[str]]] | None = None) -> list[tuple[str, str, str | None]] | None:
    """(role, content, name) triples, or None when ``messages`` is plain text. With
    ``media``, the tokens of each message's image/file/audio parts are appended to it."""
    if isinstance(messages, (str, bytes)):
        return None
    if not isinstance(messages, (list, tuple)) and isinstance(getattr(messages, "messages", None), tuple):
        messages = messages.messages  # a PromptTemplate: count its source messages as written
    if isinstance(messages, Mapping):
        messages = [messages]
    out: list[tuple[str, str, str | None]] = []
    for m in messages if isinstance(messages, Iterable) else [messages]:
        if isinstance(m, Mapping):
            role, content, name = m.get("role", "user"), m.get("content", ""), m.get("name")
        else:
            role, content, name = getattr(m, "role", "user"), getattr(m, "content", ""), getattr(m, "name", None)
        if media is not None:
            media.append(_media_tokens(content) if isinstance(content, list) else (0, []))
        if isinstance(content, list):  # OpenAI content parts: count the text parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type", "text") == "text")
        out.append((str(role), "" if content is None else str(content), None if name is None else str(name)))
    return out


def count_tokens(messages: Any, model: str | None = None) -> TokenCount:
    """Count tokens of a string or of chat messages for ``model``.

    ``messages`` may be a string, a list of :class:`~promptkit.template.RenderedMessage`
    (or template :class:`~promptkit.template.Message`), a list of ``{"role", "content"}``
    dicts, a single such dict, or a :class:`~promptkit.template.PromptTemplate` (its
    unrendered messages). Strings are counted as-is; messages with OpenAI's chat overhead.
    """
    enc, notice = encoding_for(model)
    if enc is None:
        def n(text: str) -> int:
            return (len(text) + 3) // 4

        enc_name = "estimate"
    else:
        def n(text: str) -> int:
            return len(enc.encode(text, disallowed_special=()))

        enc_name = enc.name
    exact = notice is None
    if isinstance(messages, bytes):
        messages = messages.decode("utf-8", errors="replace")
    media: list[tuple[int, list[str]]] = []
    triples = _as_messages(messages, media)
    if triples is None:
        return TokenCount(total=n(messages), encoding=enc_name, model=model, notice=notice, chat=False, exact=exact)
    why = sorted({w for _, ws in media for w in ws})
    if why:
        notice = "; ".join([*([notice] if notice else []), *why])
        exact = False
    per: list[MessageTokens] = []
    for (role, content, name), (extra, _) in zip(triples, media):
        content_tokens = n(content) + extra
        tokens = TOKENS_PER_MESSAGE + n(role) + content_tokens
        if name:
            tokens += n(name) + TOKENS_PER_NAME
        per.append(MessageTokens(role=role, tokens=tokens, content_tokens=content_tokens))
    total = sum(m.tokens for m in per) + (REPLY_PRIMING_TOKENS if per else 0)
    return TokenCount(total=total, encoding=enc_name, model=model, messages=tuple(per), notice=notice, exact=exact)


# --------------------------------------------------------------------------- context windows


@lru_cache(maxsize=1)
def _model_table() -> dict[str, Any]:
    root = _litellm_dir()
    if root is None:
        return {}
    try:
        with open(root / _LITELLM_MODEL_TABLE, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_info(model: str) -> dict[str, Any] | None:
    """litellm's table entry for ``model`` (context window, prices, capabilities), or
    None. Tries the id as given, then without provider prefixes."""
    table = _model_table()
    model = model.strip()
    candidates = [model]
    parts = model.split("/")
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    for key in candidates:
        entry = table.get(key)
        if isinstance(entry, dict) and key != "sample_spec":
            return entry
    return None


def context_window(model: str | None) -> int | None:
    """Maximum input tokens for ``model`` according to litellm's bundled table, or None
    when the model is unknown (or litellm is not installed)."""
    if not model:
        return None
    info = model_info(model)
    if info is None:
        return None
    for key in ("max_input_tokens", "max_tokens"):
        value = info.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


#: Snapshot and channel suffixes of a model id: ``-2024-08-06``, ``-20240620``, ``@20240307``,
#: ``-0613``, ``-latest``, ``-preview``, ``-exp``, ``-v1:0``.
_SNAPSHOT = re.compile(r"(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest|preview|exp|v\d+(?::\d+)?))$", re.I)


def model_family(model: str) -> str:
    """``claude-haiku-4-5-20991231`` -> ``claude-haiku-4-5``: the id without its
    snapshot, version and channel suffixes (provider prefix kept)."""
    family = model.strip()
    while True:
        shorter = _SNAPSHOT.sub("", family)
        if shorter == family or not shorter:
            return family
        family = shorter


@lru_cache(maxsize=1)
def _families() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """litellm's table entries grouped by family (the id's tail without snapshot suffixes),
    built once: a lint run asks for the families of many unknown ids, and a scan of the
    whole table per id cost ~20 ms each."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for k, v in _model_table().items():
        if isinstance(v, dict) and k != "sample_spec":
            out.setdefault(model_family(k.rsplit("/", 1)[-1]), []).append((k, v))
    return out


@lru_cache(maxsize=256)
def family_model_info(model: str) -> tuple[str, dict[str, Any]] | None:
    """For an id missing from litellm's table (a new dated snapshot of a known model,
    ``gpt-4o-mini-2031-05-05``): ``(key, entry)`` of the table entry of its family --
    the id without snapshot suffixes (``gpt-4o-mini``), else the entries of that family
    under any provider prefix or snapshot (their most common context window wins).
    None when the id is in the table itself or no family is known, so callers can say
    which entry they used instead of skipping the check."""
    if model_info(model) is not None:
        return None
    family = model_family(model)
    if family != model:
        info = model_info(family)
        if info is not None:
            return family, info
    tail = normalize_model(family)
    if len(tail) < 3:
        return None
    members = _families().get(tail, [])
    windows = [v.get("max_input_tokens") or v.get("max_tokens") for _, v in members]
    windows = [w for w in windows if isinstance(w, int) and w > 0]
    if not windows:
        return None
    common = max(set(windows), key=lambda w: (windows.count(w), w))
    key, entry = next((k, v) for k, v in members if (v.get("max_input_tokens") or v.get("max_tokens")) == common)
    return key, entry
