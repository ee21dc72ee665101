"""``promptkit import promptfoo promptfooconfig.yaml``: a promptfoo config as promptkit files.

Writes one ``.prompty`` file per prompt (``prompts/``) and one ``*.prompttest.yaml`` suite
beside the config (or under ``--out``): providers become litellm model ids, ``tests`` (inline
or CSV) become cases, ``defaultTest`` becomes ``defaults``, and every assertion is mapped to
the promptkit type with the same verdicts (see docs/from-promptfoo.md; regexes get
``dialect: js``). Whatever cannot be converted faithfully -- JavaScript assertions and
transforms, custom providers, inline Python, options promptkit does not have -- is left out
and listed, each with the place in the config (``file:line``) and the reason, in the
command's output and at the top of the suite. Nothing from the config is executed: the
config is read as data (``yaml.safe_load``), ``file://`` references are read only inside
the config's folder, and API keys in provider configs are never written.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Conversion", "ImportError_", "Skipped", "convert", "write"]


class ImportError_(ValueError):
    """The config cannot be read at all (not YAML, not a mapping, no prompts)."""


@dataclass(frozen=True)
class Skipped:
    """One thing not converted: where (``tests[2].assert[0]``, with its line), what, why."""

    where: str
    line: int | None
    what: str
    why: str

    def format(self, config: str) -> str:
        at = f"{config}:{self.line}" if self.line else config
        return f"{at}: {self.where}: {self.what}: {self.why}"


@dataclass
class Conversion:
    """The files to write (relative path -> text) and what was left out."""

    files: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    suite: str = ""


# --------------------------------------------------------------------------- providers

_PROVIDERS = {
    "openai": "openai", "anthropic": "anthropic", "azureopenai": "azure", "azure": "azure", "ollama": "ollama",
    "groq": "groq", "mistral": "mistral", "bedrock": "bedrock", "openrouter": "openrouter", "google": "gemini",
    "gemini": "gemini", "vertex": "vertex_ai", "togetherai": "together_ai", "deepseek": "deepseek",
    "perplexity": "perplexity", "fireworks": "fireworks_ai", "cohere": "cohere", "xai": "xai",
    "huggingface": "huggingface", "cloudflare-ai": "cloudflare", "litellm": "",
}
#: promptfoo's API-style segment (``openai:chat:gpt-4o``), dropped in litellm ids.
_API_SEGMENTS = {"chat", "completion", "messages", "responses", "embedding", "embeddings", "text"}
#: Provider config keys that are call parameters, in litellm's spelling.
_PARAMS = {"temperature": "temperature", "max_tokens": "max_tokens", "maxTokens": "max_tokens", "top_p": "top_p",
           "topP": "top_p", "seed": "seed", "stop": "stop", "presence_penalty": "presence_penalty",
           "frequency_penalty": "frequency_penalty", "response_format": "response_format", "tools": "tools",
           "tool_choice": "tool_choice", "max_completion_tokens": "max_completion_tokens", "n": "n",
           "reasoning_effort": "reasoning_effort"}
_SECRETS = re.compile(r"(?i)api.?key|token|secret|password|auth")


def model_id(provider: str) -> str | None:
    """``openai:chat:gpt-4o`` -> ``openai/gpt-4o``; None for providers litellm cannot call."""
    head, _, rest = provider.partition(":")
    if head not in _PROVIDERS or not rest:
        return None
    parts = rest.split(":")
    if len(parts) > 1 and parts[0] in _API_SEGMENTS:
        parts = parts[1:]
    name = ":".join(parts)
    prefix = _PROVIDERS[head]
    return f"{prefix}/{name}" if prefix else name


# --------------------------------------------------------------------------- positions


class _Lines:
    """Line numbers of config entries by key path, from the YAML node tree."""

    def __init__(self, text: str) -> None:
        try:
            self.root: Any = yaml.compose(text)
        except yaml.YAMLError:
            self.root = None

    def line(self, *path: Any) -> int | None:
        node = self.root
        for key in path:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                node = node.value[key]
            else:
                return None
            if node is None:
                return None
        return node.start_mark.line + 1 if node is not None else None


# --------------------------------------------------------------------------- converter


class _Converter:
    def __init__(self, config: Path, text: str, out: Path) -> None:
        self.config = config
        self.base = config.parent
        self.out = out
        self.lines = _Lines(text)
        self.result = Conversion()
        try:
            self.doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ImportError_(f"not valid YAML: {exc}") from None
        if not isinstance(self.doc, dict):
            raise ImportError_("a promptfoo config is a mapping with prompts, providers and tests")

    def skip(self, path: tuple[Any, ...], what: str, why: str) -> None:
        where = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(path))
        self.result.skipped.append(Skipped(where, self.lines.line(*path), what, why))

    def _read(self, ref: str, path: tuple[Any, ...]) -> str | None:
        """The text of a ``file://`` reference, read only inside the config's folder."""
        rel = ref.removeprefix("file://")
        target = (self.base / rel).resolve()
        if not target.is_relative_to(self.base.resolve()):
            self.skip(path, ref, "the file is outside the config's folder (not read)")
            return None
        if any(ch in rel for ch in "*?["):
            self.skip(path, ref, "glob patterns are not expanded; list the files")
            return None
        try:
            return target.read_text(encoding="utf-8")
        except OSError as exc:
            self.skip(path, ref, f"cannot read it ({exc.strerror or exc})")
            return None

    # ------------------------------------------------------------------ prompts

    def prompts(self) -> list[str]:
        raw = self.doc.get("prompts")
        if raw is None:
            raise ImportError_("the config has no 'prompts'")
        items = raw if isinstance(raw, list) else [raw]
        names: list[str] = []
        used: set[str] = set()
        for i, item in enumerate(items):
            path: tuple[Any, ...] = ("prompts", i) if isinstance(raw, list) else ("prompts",)
            label = None
            if isinstance(item, dict):
                label = item.get("label")
                item = item.get("raw") or item.get("id")
            if not isinstance(item, str):
                self.skip(path, repr(item)[:40], "a prompt is a string, a file:// reference or {raw|id, label}")
                continue
            text, stem = item, None
            if item.startswith("file://"):
                ref = item.removeprefix("file://")
                if ref.endswith((".py", ".js", ".ts", ".mjs", ".cjs")) or ":" in ref:
                    self.skip(path, item, "a prompt function runs code; write its output as a template by hand")
                    continue
                read = self._read(item, path)
                if read is None:
                    continue
                text, stem = read, Path(ref).stem
            name = _slug(label or stem or f"prompt-{i + 1}", used)
            body = self._body(text, item, path)
            if body is None:
                continue
            self.result.files[f"prompts/{name}.prompty"] = self._prompty(name, label, body)
            names.append(f"prompts/{name}.prompty")
        if not names:
            raise ImportError_("none of the config's prompts could be converted")
        return names

    def _body(self, text: str, item: str, path: tuple[Any, ...]) -> str | None:
        stripped = text.strip()
        if stripped.startswith("[") and (item.endswith(".json") or not item.startswith("file://")):
            try:
                messages = json.loads(stripped)
            except ValueError:
                messages = None
            if isinstance(messages, list) and all(isinstance(m, dict) and "role" in m for m in messages):
                parts = []
                for m in messages:
                    content = m.get("content")
                    if not isinstance(content, str):
                        self.skip(path, item, "a chat message with non-text content (images, parts) is not converted")
                        return None
                    parts.append(f"{m['role']}:\n{content.strip()}")
                return "\n\n".join(parts) + "\n"
        if "---" in text.splitlines()[:1]:
            self.skip(path, item, "a prompt file with its own front matter is not converted")
            return None
        return f"user:\n{text.strip()}\n"

    def _prompty(self, name: str, label: str | None, body: str) -> str:
        from promptkit.template import dump_parts

        used = sorted(_variables(body))
        fm: dict[str, Any] = {
            "name": name,
            "description": f"Imported from promptfoo ({label or name}).",
            "version": "1.0.0",
        }
        if used:
            fm["inputs"] = {v: {"type": "string", "description": f"The {v.replace('_', ' ')}."} for v in used}
        return dump_parts(fm, body)

    # ------------------------------------------------------------------ providers

    def providers(self) -> tuple[list[Any], str | None]:
        raw = self.doc.get("providers", self.doc.get("targets"))
        if raw is None:
            return [], None
        items = raw if isinstance(raw, list) else [raw]
        models: list[Any] = []
        for i, item in enumerate(items):
            path: tuple[Any, ...] = ("providers", i) if isinstance(raw, list) else ("providers",)
            entry = self._model(item, path)
            if entry is not None:
                models.append(entry)
        return models, None

    def _model(self, item: Any, path: tuple[Any, ...]) -> Any:
        config: dict[str, Any] = {}
        label = None
        if isinstance(item, dict) and "id" not in item and len(item) == 1:  # {openai:gpt-4o: {config: ...}}
            (pid, rest), = item.items()
            item = {"id": pid, **(rest if isinstance(rest, dict) else {})}
        if isinstance(item, dict):
            pid, config, label = item.get("id"), item.get("config") or {}, item.get("label")
        else:
            pid = item
        if not isinstance(pid, str):
            self.skip(path, repr(item)[:40], "a provider is an id string or {id, config, label}")
            return None
        mid = model_id(pid)
        if mid is None:
            why = ("a custom provider runs code or calls your own endpoint; point promptkit at it with "
                   "--api-base, or write a litellm custom provider") if pid.startswith(
                ("file://", "exec:", "python:", "http", "https:", "webhook", "js:", "ws:")) else \
                f"provider {pid.split(':')[0]!r} has no litellm equivalent promptkit knows"
            self.skip(path, pid, why)
            return None
        params: dict[str, Any] = {}
        for k, v in config.items():
            if k in _PARAMS:
                params[_PARAMS[k]] = v
            elif _SECRETS.search(k):
                self.skip((*path, "config", k), k, "credentials are never written to files; set the provider's "
                                                   "environment variable (e.g. OPENAI_API_KEY)")
            else:
                self.skip((*path, "config", k), k, "not a call parameter promptkit passes (endpoints are "
                                                   "set with --api-base; see docs/security.md)")
        if not params and not label:
            return mid
        out: dict[str, Any] = {"id": mid}
        if params:
            out["params"] = params
        if label:
            out["label"] = str(label)
        return out

    # ------------------------------------------------------------------ tests

    def tests(self) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        raw = self.doc.get("tests")
        if raw is None:
            return []
        items = raw if isinstance(raw, list) else [raw]
        out: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        for i, item in enumerate(items):
            path: tuple[Any, ...] = ("tests", i) if isinstance(raw, list) else ("tests",)
            if isinstance(item, str) and item.startswith("file://"):
                out.extend(self._file_tests(item, path))
            elif isinstance(item, dict):
                out.append((path, item))
            else:
                self.skip(path, repr(item)[:40], "a test is a mapping or a file:// reference")
        return out

    def _file_tests(self, ref: str, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        rel = ref.removeprefix("file://")
        text = self._read(ref, path)
        if text is None:
            return []
        if rel.endswith((".yaml", ".yml", ".json")):
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                self.skip(path, ref, f"not valid YAML: {exc}")
                return []
            rows = data if isinstance(data, list) else []
            return [((*path, f"{rel}#{n + 1}"), r) for n, r in enumerate(rows) if isinstance(r, dict)]
        if not rel.endswith((".csv", ".tsv")):
            self.skip(path, ref, "only CSV, TSV, YAML and JSON test files are read")
            return []
        reader = csv.DictReader(text.splitlines(), delimiter="\t" if rel.endswith(".tsv") else ",")
        out = []
        for n, row in enumerate(reader, start=2):
            test: dict[str, Any] = {"vars": {}, "assert": []}
            for col, value in row.items():
                if col is None or value is None:
                    continue
                if col.startswith("__expected"):
                    if value.strip():
                        test["assert"].append(_expected(value))
                elif col == "__description":
                    test["description"] = value
                elif col == "__threshold":
                    try:
                        test["threshold"] = float(value)
                    except ValueError:
                        self.skip((*path, f"{rel}:{n}"), "__threshold", f"{value!r} is not a number")
                elif col == "__metric":
                    for a in test["assert"]:
                        a.setdefault("metric", value)
                elif col.startswith("__"):
                    self.skip((*path, f"{rel}:{n}"), col, "this special column is not converted")
                else:
                    test["vars"][col] = value
            out.append(((*path, f"{rel}:{n}"), test))
        return out

    def case(self, path: tuple[Any, ...], test: dict[str, Any], n: int, ids: set[str]) -> dict[str, Any] | None:
        case: dict[str, Any] = {"id": _slug(str(test.get("description") or f"case-{n}"), ids)}
        if test.get("description"):
            case["description"] = str(test["description"])
        for key in test:
            if key not in ("description", "vars", "assert", "threshold", "options", "metadata", "provider",
                           "providerOutput"):
                self.skip((*path, key), key, "not a promptkit case field")
        if isinstance(test.get("vars"), dict):
            case["vars"] = self._vars(test["vars"], (*path, "vars"))
        asserts = self.assertions(test.get("assert") or [], (*path, "assert"))
        if asserts:
            case["assert"] = asserts
        if test.get("threshold") is not None:
            case["threshold"] = test["threshold"]
        opts = test.get("options") or {}
        if isinstance(opts, dict):
            for k, v in opts.items():
                if k in ("transform", "postprocess"):
                    t = _transform(v)
                    if t is None:
                        self.skip((*path, "options", k), str(v)[:60], "a JavaScript transform is never evaluated; "
                                  "write it as {python: file.py:function}")
                    else:
                        case["transform"] = t
                elif k == "provider":
                    pass  # the judge: handled for defaultTest; per case it has no promptkit equivalent
                else:
                    self.skip((*path, "options", k), k, "this test option is not converted")
        if "provider" in test:
            self.skip((*path, "provider"), "provider", "a per-test provider: give the case 'models:' by hand")
        return case

    def _vars(self, values: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
        out = {}
        for k, v in values.items():
            if isinstance(v, str) and v.startswith("file://"):
                rel = v.removeprefix("file://")
                if rel.endswith((".py", ".js")):
                    self.skip((*path, k), v, "a variable computed by code is not converted")
                    continue
                target = (self.base / rel).resolve()
                if not target.is_relative_to(self.base.resolve()):
                    self.skip((*path, k), v, "the file is outside the config's folder")
                    continue
                out[k] = "${file:" + _relative(target, self.out) + "}"
            elif isinstance(v, list) and len(v) > 1:
                self.skip((*path, k), k, "a list of values expands to one test per value in promptfoo; the list is "
                          "kept as one value (split the case by hand)")
                out[k] = v
            else:
                out[k] = v
        return out

    # ------------------------------------------------------------------ assertions

    def assertions(self, items: Any, path: tuple[Any, ...]) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            self.skip(path, "assert", "assert must be a list")
            return []
        out = []
        for i, a in enumerate(items):
            conv = self.assertion(a, (*path, i))
            if conv is not None:
                out.append(conv)
        return out

    def assertion(self, a: Any, path: tuple[Any, ...]) -> dict[str, Any] | None:
        if not isinstance(a, dict) or not isinstance(a.get("type"), str):
            self.skip(path, repr(a)[:40], "an assertion is a mapping with a type")
            return None
        kind = a["type"]
        negate = kind.startswith("not-")
        base = kind[4:] if negate else kind
        mapped = ASSERTIONS.get(base)
        if mapped is None:
            self.skip(path, kind, UNSUPPORTED.get(base, "no promptkit equivalent (see docs/from-promptfoo.md)"))
            return None
        out: dict[str, Any] = {"type": ("not-" if negate else "") + mapped}
        value = a.get("value")
        for key, v in a.items():
            if key in ("type", "value"):
                continue
            if key in ("weight", "metric"):
                out[key] = v
            elif key == "threshold":
                name = THRESHOLDS.get(base)
                if name is None:
                    self.skip((*path, key), f"{kind} threshold", "this assertion has no threshold in promptkit "
                              "(a case threshold works on scores)")
                else:
                    out[name] = v
            elif key == "transform":
                t = _transform(v)
                if t is None:
                    self.skip((*path, key), str(v)[:60], "a JavaScript transform is never evaluated; the assertion "
                              "is left out (write the transform as {python: file.py:function})")
                    return None
                out["transform"] = t
            elif key == "provider" and base in JUDGED:
                mid = model_id(v) if isinstance(v, str) else None
                if mid is None:
                    self.skip((*path, key), str(v)[:40], "judge provider not convertible; the suite's judge is used")
                else:
                    out["model"] = mid
            elif key == "assert" and base == "assert-set":
                out["assert"] = self.assertions(v, (*path, key))
            elif key == "config" and base == "is-refusal":
                continue
            else:
                self.skip((*path, key), f"{kind} {key}", "this assertion option has no promptkit equivalent")
        return self._value(base, value, out, path, kind)

    def _value(self, base: str, value: Any, out: dict[str, Any], path: tuple[Any, ...],
               kind: str) -> dict[str, Any] | None:
        if isinstance(value, str) and value.startswith("file://") and base not in ("python", "is-json", "json-schema",
                                                                                   "contains-json"):
            self.skip((*path, "value"), value, "values read from files (or computed by scripts) are not converted")
            return None
        if base == "regex":
            out["dialect"] = "js"  # promptfoo's regex is JavaScript's: keep its meaning
        if base in ("cost", "latency") and "threshold" in out:
            out["max_usd" if base == "cost" else "max_ms"] = out.pop("threshold")
        if base in ("cost", "latency") and not any(k in out for k in ("max_usd", "max_ms")):
            self.skip(path, kind, "needs a threshold")
            return None
        if base == "is-sql" and isinstance(value, dict):
            db = value.get("databaseType")
            if db:
                out["dialect"] = {"mysql": "mysql", "postgresql": "postgres", "sqlite": "sqlite",
                                  "bigquery": "bigquery", "transactsql": "tsql", "mariadb": "mysql",
                                  "snowflake": "snowflake", "redshift": "redshift"}.get(str(db).lower(), "")
            tables = value.get("allowedTables")
            if tables:
                out["tables"] = sorted({str(t).split("::")[-1] for t in tables})
            if value.get("allowedColumns"):
                self.skip((*path, "value", "allowedColumns"), "allowedColumns", "column limits are not checked")
            return out
        if base == "python":
            if isinstance(value, str) and value.startswith("file://") and ".py:" in value:
                out["value"] = value.removeprefix("file://")  # a function in a project file: same trust rules
                return out
            self.skip(path, kind, "inline Python is never evaluated from a test file; move it into a function in a "
                      ".py file and use type: python, value: file.py:function")
            return None
        if base in ("is-json", "json-schema", "contains-json") and isinstance(value, str):
            if value.startswith("file://"):
                out["value"] = value.removeprefix("file://")
                return out
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                self.skip((*path, "value"), kind, "the schema is not YAML or JSON")
                return None
        if base in ("latency", "cost", "finish-reason") and value is None:
            return out
        if base == "finish-reason" and isinstance(value, str):
            out["value"] = value
            return out
        if base == "is-refusal" or (value is None and base in NO_VALUE):
            return out
        if value is not None:
            out["value"] = value
        elif base not in NO_VALUE and base not in ("latency", "cost"):
            self.skip(path, kind, "has no value")
            return None
        return out

    # ------------------------------------------------------------------ suite

    def run(self) -> Conversion:
        prompts = self.prompts()
        models, _ = self.providers()
        suite: dict[str, Any] = {}
        if self.doc.get("description"):
            suite["description"] = str(self.doc["description"])
        suite["prompts"] = [_relative(self.out / p, self.out) for p in prompts]
        if models:
            suite["models"] = models
        defaults: dict[str, Any] = {}
        dt = self.doc.get("defaultTest")
        if isinstance(dt, str) and dt.startswith("file://"):
            text = self._read(dt, ("defaultTest",))
            dt = yaml.safe_load(text) if text else None
        if isinstance(dt, dict):
            if isinstance(dt.get("vars"), dict):
                defaults["vars"] = self._vars(dt["vars"], ("defaultTest", "vars"))
            asserts = self.assertions(dt.get("assert") or [], ("defaultTest", "assert"))
            if asserts:
                defaults["assert"] = asserts
            if dt.get("threshold") is not None:
                defaults["threshold"] = dt["threshold"]
            opts = dt.get("options") or {}
            if isinstance(opts, dict):
                for k, v in opts.items():
                    if k == "provider":
                        pid = v.get("id") if isinstance(v, dict) else v
                        mid = model_id(pid) if isinstance(pid, str) else None
                        if mid:
                            defaults["judge"] = mid
                        else:
                            self.skip(("defaultTest", "options", k), str(pid)[:40], "judge provider not convertible")
                    elif k in ("transform", "postprocess"):
                        t = _transform(v)
                        if t is None:
                            self.skip(("defaultTest", "options", k), str(v)[:60],
                                      "a JavaScript transform is never evaluated; write it as {python: file.py:function}")
                        else:
                            defaults["transform"] = t
                    else:
                        self.skip(("defaultTest", "options", k), k, "this test option is not converted")
            for k in dt:
                if k not in ("vars", "assert", "threshold", "options", "metadata"):
                    self.skip(("defaultTest", k), k, "not a promptkit defaults field")
        if defaults:
            suite["defaults"] = defaults
        cases = []
        ids: set[str] = set()
        for n, (path, test) in enumerate(self.tests(), start=1):
            c = self.case(path, test, n, ids)
            if c is not None:
                cases.append(c)
        if not cases:
            cases.append({"id": "smoke", "description": "promptfoo config had no tests: one run of each prompt"})
            self.skip(("tests",), "tests", "the config has no tests; a single case without assertions was written")
        suite["cases"] = cases
        for key in self.doc:
            if key not in ("description", "prompts", "providers", "targets", "tests", "defaultTest"):
                self.skip((key,), key, "not converted (promptkit has no such suite setting)")
        name = f"{_slug(self.config.stem.removesuffix('config') or 'promptfoo', set())}.prompttest.yaml"
        if name == ".prompttest.yaml":
            name = "promptfoo.prompttest.yaml"
        header = [f"# Converted from {self.config.name} by `promptkit import promptfoo`."]
        if self.result.skipped:
            header.append("# Not converted (see the command's output for the reasons):")
            header += [f"#   {s.format(self.config.name)}" for s in self.result.skipped]
        body = yaml.safe_dump(suite, sort_keys=False, allow_unicode=True, width=110)
        self.result.files[name] = "\n".join(header) + "\n" + body
        self.result.suite = name
        return self.result


# --------------------------------------------------------------------------- tables

#: promptfoo assertion type -> promptkit type (same verdicts; docs/from-promptfoo.md).
ASSERTIONS: dict[str, str] = {
    "equals": "equals", "contains": "contains", "icontains": "icontains", "contains-any": "contains-any",
    "contains-all": "contains-all", "icontains-any": "icontains-any", "icontains-all": "icontains-all",
    "starts-with": "starts-with", "ends-with": "ends-with", "regex": "regex", "is-json": "is-json",
    "contains-json": "contains-json", "is-xml": "is-xml", "contains-xml": "contains-xml", "is-sql": "is-sql",
    "contains-sql": "contains-sql", "levenshtein": "levenshtein", "rouge-n": "rouge-n", "bleu": "bleu",
    "similar": "similar", "similar:cosine": "similar", "llm-rubric": "llm-rubric", "factuality": "factuality",
    "g-eval": "g-eval", "context-faithfulness": "context-faithfulness", "context-relevance": "context-relevance",
    "answer-relevance": "answer-relevance", "is-refusal": "is-refusal", "tool-call-f1": "tool-call-f1",
    "is-valid-openai-tools-call": "tool-args-valid", "is-valid-function-call": "tool-args-valid",
    "finish-reason": "finish-reason", "cost": "cost", "latency": "latency", "assert-set": "assert-set",
    "python": "python", "json-schema": "json-schema",
}
#: Where promptfoo's ``threshold`` goes.
THRESHOLDS = {"similar": "threshold", "similar:cosine": "threshold", "levenshtein": "threshold",
              "rouge-n": "threshold", "bleu": "threshold", "llm-rubric": "threshold", "g-eval": "threshold",
              "context-faithfulness": "threshold", "context-relevance": "threshold",
              "answer-relevance": "threshold", "tool-call-f1": "threshold", "assert-set": "threshold",
              "cost": "threshold", "latency": "threshold"}
JUDGED = {"llm-rubric", "factuality", "g-eval", "context-faithfulness", "context-relevance", "answer-relevance"}
NO_VALUE = {"is-json", "contains-json", "is-xml", "contains-xml", "is-sql", "contains-sql", "is-refusal",
            "is-valid-openai-tools-call", "is-valid-function-call", "finish-reason", "assert-set",
            "context-faithfulness", "context-relevance", "answer-relevance"}
#: Why a promptfoo type is not converted.
UNSUPPORTED: dict[str, str] = {
    "javascript": "runs JavaScript; promptkit never evaluates code from a test file: port it to a function in a .py "
                  "file (type: python, value: checks.py:fn)",
    "webhook": "calls an HTTP endpoint from the test; a test must not reach the network",
    "moderation": "needs a provider's moderation API; no offline equivalent",
    "perplexity": "needs token log-probabilities, which promptkit does not record",
    "perplexity-score": "needs token log-probabilities, which promptkit does not record",
    "classifier": "needs a HuggingFace classifier model at run time; use type: python with your own classifier",
    "model-graded-closedqa": "use llm-rubric with the question's criterion",
    "model-graded-factuality": "use factuality (converted automatically when written as factuality)",
    "select-best": "compares outputs across prompts in one run; promptkit compares with a baseline (pairwise)",
    "max-score": "compares outputs across prompts in one run",
    "human": "a manual rating, not an automated check",
    "guardrails": "reads a provider's guardrail flags, which promptkit does not record",
    "trace-span-count": "needs OpenTelemetry traces",
    "trace-span-duration": "needs OpenTelemetry traces",
    "trace-error-spans": "needs OpenTelemetry traces",
    "meteor": "no METEOR metric in promptkit (use rouge-n or bleu)",
    "gleu": "no GLEU metric in promptkit (use bleu)",
    "bertscore": "no BERTScore in promptkit (use similar)",
    "context-recall": "needs ground-truth context; use factuality against the reference",
    "pi": "needs the Pi scoring API (network)",
    "ruby": "runs Ruby code",
    "is-html": "no HTML check in promptkit (use contains-xml for well-formed markup)",
    "contains-html": "no HTML check in promptkit (use contains-xml for well-formed markup)",
    "word-count": "use type: length, unit: words, min/max",
    "character-count": "use type: length (chars), min/max",
    "conversation-relevance": "multi-turn relevance is not implemented",
    "search-rubric": "needs a web search tool at grading time",
    "classifier-prompt": "use llm-rubric",
    "agent-rubric": "use llm-rubric",
    "redteam": "red-team plugins are not converted",
    "answer-correctness": "use factuality",
    "similar:dot": "only cosine similarity is implemented",
    "similar:euclidean": "only cosine similarity is implemented",
}

_TRANSFORMS = {"output.trim()": "trim", "output.toLowerCase()": "lowercase", "output.toLowerCase().trim()":
               ["lowercase", "trim"], "output.trim().toLowerCase()": ["trim", "lowercase"]}
_JSON_PARSE = re.compile(r"^JSON\.parse\(\s*output\s*\)((?:\.[A-Za-z_]\w*|\[\d+\]|\[(?:'[^']*'|\"[^\"]*\")\])*)\s*;?$")


def _transform(v: Any) -> Any:
    """The few JavaScript transforms with a promptkit equivalent, or None."""
    if not isinstance(v, str):
        return None
    s = v.strip()
    if s in _TRANSFORMS:
        return _TRANSFORMS[s]
    m = _JSON_PARSE.match(s)
    if m:
        path = m.group(1)
        return {"json_path": "$" + path.replace("'", '"')} if path else None
    return None


_EXPECTED = {"contains": "contains", "icontains": "icontains", "regex": "regex", "starts-with": "starts-with",
             "ends-with": "ends-with", "grade": "llm-rubric", "llm-rubric": "llm-rubric", "similar": "similar",
             "levenshtein": "levenshtein", "contains-any": "contains-any", "contains-all": "contains-all",
             "icontains-any": "icontains-any", "icontains-all": "icontains-all", "equals": "equals",
             "factuality": "factuality", "is-json": "is-json", "contains-json": "contains-json",
             "javascript": "javascript", "fn": "javascript", "eval": "javascript", "python": "python",
             "not-contains": "not-contains", "not-icontains": "not-icontains", "not-regex": "not-regex",
             "is-refusal": "is-refusal", "not-is-refusal": "not-is-refusal"}


def _expected(value: str) -> dict[str, Any]:
    """A CSV ``__expected`` cell as a promptfoo assertion (``contains: x``, ``grade: ...``;
    a plain value is ``equals``)."""
    head, sep, rest = value.partition(":")
    key = head.strip()
    if sep and key in _EXPECTED:
        kind = _EXPECTED[key]
        rest = rest.strip()
        if kind in ("is-json", "is-refusal", "not-is-refusal") and not rest:
            return {"type": kind}
        return {"type": kind, "value": rest}
    if value.strip() in ("is-json", "is-refusal", "not-is-refusal", "contains-json"):
        return {"type": value.strip()}
    return {"type": "equals", "value": value}


def _variables(body: str) -> set[str]:
    """Variables a Nunjucks/Jinja prompt body uses (parsed, never rendered)."""
    from jinja2 import Environment, TemplateSyntaxError, meta

    try:
        return set(meta.find_undeclared_variables(Environment().parse(body))) - {"_conversation"}
    except TemplateSyntaxError:
        return set(re.findall(r"{{\s*([A-Za-z_]\w*)", body))


def _slug(text: str, used: set[str]) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48].strip("-") or "case"
    out, n = s, 2
    while out in used:
        out, n = f"{s}-{n}", n + 1
    used.add(out)
    return out


def _relative(target: Path, base: Path) -> str:
    import os

    return Path(os.path.relpath(target, base)).as_posix()


# --------------------------------------------------------------------------- API


def convert(config: str | Path, out: str | Path | None = None) -> Conversion:
    """Convert a promptfoo config (nothing is written). ``out``: the folder the suite will
    be written to (default: the config's). Raises :class:`ImportError_`."""
    p = Path(config)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"cannot read it: {exc}") from None
    return _Converter(p, text, Path(out) if out is not None else p.parent).run()


def write(conv: Conversion, out: str | Path, *, force: bool = False) -> list[Path]:
    """Write the converted files under ``out``; refuses to overwrite unless ``force``."""
    from promptkit.atomic import write_atomic

    root = Path(out)
    targets = [root / rel for rel in conv.files]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise ImportError_(f"{existing[0]} exists; pass --force to overwrite")
    for t, text in zip(targets, conv.files.values(), strict=True):
        t.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(t, text)
    return targets
