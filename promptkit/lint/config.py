"""Lint configuration: ``[tool.promptkit]`` in ``pyproject.toml`` or ``promptkit.toml``.

One validated object (:class:`LintConfig`) holds every setting, so the engine, the rules
(through :meth:`LintContext.setting`) and the cache key all read the same thing -- the
way black's ``Mode`` does. Keys are kebab-case in TOML (``extend-select``) and
snake_case in Python (``extend_select``).

Rule selection follows ruff: selectors are a full code (``PK301``), a prefix (``PK3``,
``PK``), a rule name (``trailing-whitespace``) or ``ALL``; ``select`` replaces the
default set, ``extend-select`` adds to it, ``ignore`` removes. When a rule matches both
a select and an ignore selector, the more specific one wins (``select = ["PK301"]`` with
``ignore = ["PK3"]`` keeps PK301).

An invalid config is never a traceback: :class:`~promptkit.diagnostics.PromptkitError`
names the file, line and key, and the CLI exits with status 2.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from promptkit.diagnostics import Diagnostic, LineIndex, PromptkitError
from promptkit.lint import globs

if TYPE_CHECKING:
    from promptkit.lint.rule import Rule

CONFIG_FILES = ("promptkit.toml", "pyproject.toml")

#: Directory names never walked into (in addition to ``exclude``).
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".promptkit_cache", ".hypothesis", ".eggs",
    "*.egg-info", "site-packages", "build", "dist",
)

_SEVERITIES = ("error", "warning", "info")


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class LintConfig(BaseModel):
    """Every lint setting. Build one with :func:`load_config` (or ``LintConfig()`` for the
    defaults); call :meth:`resolve` before use, which loads rule packs and checks that
    every selector names a rule."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=_kebab, frozen=False)

    select: list[str] | None = None
    extend_select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = Field(default_factory=dict)
    include: list[str] | None = None
    extend_include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    extend_exclude: list[str] = Field(default_factory=list)
    #: Skip files git ignores when walking directories (files named explicitly are linted).
    respect_gitignore: bool = True
    preview: bool = False
    fixable: list[str] = Field(default_factory=lambda: ["ALL"])
    unfixable: list[str] = Field(default_factory=list)
    required_components: list[str] = Field(default_factory=list)
    require_system_message: bool = False
    token_budget: int | None = Field(default=None, gt=0)
    default_model: str | None = None
    rule_packs: list[str] = Field(default_factory=list)
    cache_dir: str | None = None
    #: ``[tool.promptkit.rules.PK401] max-tokens = 2000``; ``severity`` is understood for every rule.
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)
    #: ``[tool.promptkit.test]``: reserved for ``promptkit test``; the linter ignores it.
    test: dict[str, Any] = Field(default_factory=dict)

    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(default=None)
    _resolved: bool = PrivateAttr(default=False)
    _pack_codes: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("select", "extend_select", "ignore", "fixable", "unfixable")
    @classmethod
    def _selectors(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        return [s.strip() for s in v]

    @field_validator("rules")
    @classmethod
    def _rule_options(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for code, opts in v.items():
            sev = opts.get("severity")
            if sev is not None and sev not in _SEVERITIES:
                raise ValueError(f"rules.{code}.severity must be one of {', '.join(_SEVERITIES)}, not {sev!r}")
        return {code: {k.replace("_", "-"): val for k, val in opts.items()} for code, opts in v.items()}

    # -- where it came from ---------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The project root: the directory of the config file (or the cwd)."""
        return self._root

    @property
    def source(self) -> Path | None:
        """The file the settings were read from, or None for the defaults."""
        return self._source

    def relative(self, path: str | Path) -> str:
        """``path`` relative to the root, ``/``-separated (as globs expect); paths outside
        the root stay as given."""
        import os

        p = os.path.abspath(path)
        root = str(self._root)
        if p == root or p.startswith(root + os.sep):
            return p[len(root) + 1 :].replace(os.sep, "/")
        try:
            return Path(p).resolve().relative_to(self._root.resolve()).as_posix()
        except (ValueError, OSError):
            return Path(path).as_posix()

    # -- options rules read ---------------------------------------------------------------

    def rule_option(self, code: str, key: str, default: Any) -> Any:
        """A per-rule option, e.g. ``rule_option("PK401", "max-tokens", 4000)``."""
        opts = self.rules.get(code)
        if not opts:
            return default
        return opts.get(key.replace("_", "-"), default)

    def rule_severity(self, code: str) -> str | None:
        opts = self.rules.get(code)
        return opts.get("severity") if opts else None

    # -- rule selection -------------------------------------------------------------------

    def resolve(self) -> LintConfig:
        """Load built-in rules and rule packs, and check every selector. Idempotent."""
        if self._resolved:
            return self
        from promptkit.lint import packs

        packs.load_builtin_rules()
        base = self._root
        codes: set[str] = set()
        for p in self.rule_packs:
            pp = Path(p)
            if not pp.is_absolute():
                pp = base / pp
            codes.update(r.code for r in packs.load_pack_path(pp, config_source=self._source))
        self._pack_codes = frozenset(codes)
        self._check_selectors()
        self._resolved = True
        return self

    def _check_selectors(self) -> None:
        from promptkit.lint.rule import REGISTRY

        rules = list(REGISTRY)
        lists = {
            "select": self.select or [], "extend-select": self.extend_select, "ignore": self.ignore,
            "fixable": self.fixable, "unfixable": self.unfixable,
        }
        for pattern, sels in self.per_file_ignores.items():
            lists[f"per-file-ignores.{pattern}"] = sels
        for key, sels in lists.items():
            for s in sels:
                if not any(_score(s, r) is not None for r in rules):
                    raise self.error(
                        (*key.split(".", 1),) if key.startswith("per-file") else (key,),
                        f"unknown rule selector {s!r} in {key.split('.')[0]}",
                        "use a rule code (PK301), a code prefix (PK3), a rule name or ALL; "
                        "`promptkit rule --all` lists the rules",
                    )
        for code in self.rules:
            if code not in REGISTRY.rules:
                raise self.error(("rules", code), f"unknown rule code {code!r} in [rules.{code}]",
                                 "`promptkit rule --all` lists the rule codes")

    def _rule_visible(self, rule: type[Rule]) -> bool:
        """Pack rules count only for the packs this config loads (or the bundled ones)."""
        origin = getattr(rule, "pack_path", None)
        return origin is None or getattr(rule, "bundled", False) or rule.code in self._pack_codes

    def _selected(self, rule: type[Rule], extra_ignore: Sequence[str] = ()) -> bool:
        if self.select is None:
            base = 0 if rule.default_enabled else None
        else:
            base = _best(self.select, rule)
        ext = _best(self.extend_select, rule)
        sel = max((s for s in (base, ext) if s is not None), default=None)
        if sel is None:
            return False
        ign = _best([*self.ignore, *extra_ignore], rule)
        if ign is not None and ign >= sel:
            return False
        # preview rules need preview = true, or their exact code
        return not (rule.preview and not self.preview and sel < _EXACT)

    def is_enabled(self, rule_cls: type[Rule]) -> bool:
        """Is this rule on for the project (before per-file ignores)?"""
        return self._rule_visible(rule_cls) and self._selected(rule_cls)

    @cached_property
    def _enabled(self) -> tuple[type[Rule], ...]:
        from promptkit.lint.rule import REGISTRY

        self.resolve()
        return tuple(r for r in REGISTRY if self.is_enabled(r))

    def enabled_rules(self, path: str | None = None) -> tuple[type[Rule], ...]:
        """The rules to run on ``path`` (per-file ignores applied), in code order."""
        rules = self._enabled
        if path is None or not self.per_file_ignores:
            return rules
        ignores = self.file_ignores(path)
        if not ignores:
            return rules
        return tuple(r for r in rules if self._selected(r, ignores))

    def file_ignores(self, path: str) -> list[str]:
        rel = self.relative(path)
        out: list[str] = []
        for pattern, sels in self.per_file_ignores.items():
            if globs.match(pattern, rel) or globs.match_path_or_parent([pattern], rel):
                out.extend(sels)
        return out

    def is_fixable(self, code: str) -> bool:
        from promptkit.lint.rule import REGISTRY

        rule: Any = REGISTRY.rules.get(code)
        if rule is None:  # a rule run directly (tests, API users): match by code only
            from types import SimpleNamespace

            rule = SimpleNamespace(code=code, name="")
        fix = _best(self.fixable, rule)
        if fix is None:
            return False
        unfix = _best(self.unfixable, rule)
        return unfix is None or unfix < fix

    # -- discovery settings ---------------------------------------------------------------

    @property
    def include_patterns(self) -> list[str]:
        from promptkit.template import PROMPT_GLOBS

        base = list(self.include) if self.include is not None else [*PROMPT_GLOBS, "*.poml"]
        return base + list(self.extend_include)

    @property
    def exclude_patterns(self) -> list[str]:
        return [*DEFAULT_EXCLUDE, *self.exclude, *self.extend_exclude]

    # -- identity -------------------------------------------------------------------------

    def settings_hash(self) -> str:
        """Hash of everything that changes lint results (for the cache key)."""
        from promptkit._version import __version__
        from promptkit.lint.rule import REGISTRY

        self.resolve()
        data = self.model_dump(mode="json", by_alias=True, exclude={"include", "extend_include", "exclude",
                                                                    "extend_exclude", "cache_dir", "test",
                                                                    "respect_gitignore"})
        h = hashlib.sha256()
        h.update(__version__.encode())
        h.update(json.dumps(data, sort_keys=True, default=str).encode())
        h.update(str(self._root).encode())
        h.update(_code_fingerprint().encode())
        for r in REGISTRY:
            h.update(f"{r.code}:{r.name}:{getattr(r, 'content_hash', '')};".encode())
        return h.hexdigest()[:20]

    # -- errors ---------------------------------------------------------------------------

    def error(self, loc: Sequence[Any], message: str, hint: str = "") -> PromptkitError:
        return PromptkitError(_located(self._source, loc, message, hint))


_EXACT = 1000
_FINGERPRINT: str | None = None


def _code_fingerprint() -> str:
    """Size and mtime of the linter's and the loader's source files: the version alone
    does not change while rules are being edited (an editable install), and a stale
    cache would hide the edit."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import os

        pkg = Path(__file__).resolve().parents[1]
        parts = []
        for sub in ("lint", "lint/rules", "template"):
            try:
                entries = sorted(os.scandir(pkg / sub), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                if e.name.endswith(".py"):
                    st = e.stat()
                    parts.append(f"{sub}/{e.name}:{st.st_size}:{st.st_mtime_ns}")
        _FINGERPRINT = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return _FINGERPRINT


def _score(selector: str, rule: type[Rule]) -> int | None:
    """How specifically ``selector`` names ``rule``: None (not at all), 0 for ALL,
    the prefix length for a code prefix, :data:`_EXACT` for a code or name."""
    if selector == "ALL":
        return 0
    if selector == rule.code or selector == rule.name:
        return _EXACT
    if len(selector) >= 2 and rule.code.startswith(selector.upper()):
        return len(selector)
    return None


def _best(selectors: Iterable[str], rule: type[Rule]) -> int | None:
    best: int | None = None
    for s in selectors:
        sc = _score(s, rule)
        if sc is not None and (best is None or sc > best):
            best = sc
    return best


# --------------------------------------------------------------------------- finding and reading


def _toml_load(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def _read_table(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The promptkit table of a config file (None when a pyproject has none)."""
    from promptkit.template.source import read_text

    text = read_text(path, "config file", code="PK010", name="invalid-config")
    try:
        data = _toml_load(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError: "... (at line 3, column 7)"
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        span = None
        if m:
            idx = LineIndex(text)
            pos = idx.position_at(int(m.group(1)), int(m.group(2)))
            span = idx.span(pos.offset, pos.offset)
            msg = msg[: m.start()].strip()
        elif "(at end of document)" in msg:
            idx = LineIndex(text)
            span = idx.span(len(text), len(text))
            msg = msg.replace("(at end of document)", "at the end of the file").strip()
        raise PromptkitError(Diagnostic(str(path), f"invalid TOML: {msg}", code="PK010", name="invalid-config",
                                        span=span, hint="fix the TOML syntax")) from None
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("promptkit") if isinstance(tool, dict) else None
        return (table if isinstance(table, dict) else None), text
    table = data.get("tool", {}).get("promptkit") if isinstance(data.get("tool"), dict) else None
    return (table if isinstance(table, dict) else data), text


def find_config(start: Path) -> Path | None:
    """The nearest ``promptkit.toml``, or ``pyproject.toml`` with a ``[tool.promptkit]``
    table, in ``start`` or a parent directory."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    for d in (start, *start.parents):
        for name in CONFIG_FILES:
            f = d / name
            if f.is_file():
                if name == "pyproject.toml":
                    try:
                        if "[tool.promptkit" not in f.read_text(encoding="utf-8-sig", errors="replace"):
                            continue
                    except OSError:
                        continue
                return f
    return None


#: pydantic error type -> how to write the value in TOML (a user reading "Input should
#: be a valid list" still has to guess the syntax).
_TYPE_HINTS = {
    "list_type": 'write a list in brackets, e.g. select = ["PK1", "PK301"]',
    "bool_type": "write true or false (no quotes)",
    "bool_parsing": "write true or false (no quotes)",
    "int_type": "write a whole number (no quotes), e.g. token-budget = 4000",
    "int_parsing": "write a whole number (no quotes), e.g. token-budget = 4000",
    "greater_than": "use a number above zero",
    "string_type": 'write a quoted string, e.g. default-model = "openai/gpt-4o-mini"',
    "dict_type": 'write a table, e.g. [tool.promptkit.per-file-ignores] "prompts/legacy/*" = ["PK2"]',
}


def from_file(path: Path) -> LintConfig:
    """Read and validate one config file."""
    path = Path(path)
    table, text = _read_table(path)
    table = table or {}
    try:
        cfg = LintConfig.model_validate(table)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown setting '{'.'.join(str(x) for x in loc)}'"
            hint = "see docs/lint.md for the settings promptkit understands"
        elif err["type"] == "value_error":
            hint = ""
        else:
            msg = f"'{'.'.join(str(x) for x in loc)}': {msg}"
            hint = _TYPE_HINTS.get(err["type"], "")
        raise PromptkitError(_located(path, loc, msg, hint, text)) from None
    cfg._root = path.parent.resolve()
    cfg._source = path.resolve()
    return cfg


def load_config(paths: Sequence[str | Path] = (), config_file: str | Path | None = None,
                overrides: dict[str, Any] | None = None) -> LintConfig:
    """Find and read the config for linting ``paths`` (walking up from their common
    parent, then from the cwd), apply CLI ``overrides``, and resolve it."""
    if config_file is not None:
        cfg = from_file(Path(config_file))
    else:
        found = None
        existing = [Path(p).resolve() for p in paths if Path(p).exists()]
        if existing:
            import os

            common = Path(os.path.commonpath([str(p) for p in existing]))
            found = find_config(common)
        if found is None:
            found = find_config(Path.cwd())
        cfg = from_file(found) if found else LintConfig()
    if overrides:
        cfg = with_overrides(cfg, overrides)
    return cfg.resolve()


def with_overrides(cfg: LintConfig, overrides: dict[str, Any]) -> LintConfig:
    """A copy with some settings replaced (CLI flags win over the file)."""
    data = cfg.model_dump(by_alias=False)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        new = LintConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise PromptkitError(Diagnostic("<command line>", f"invalid option {'.'.join(map(str, err['loc']))}: {err['msg']}",
                                        code="PK010", name="invalid-config")) from None
    new._root, new._source = cfg._root, cfg._source
    # a bad selector given on the command line is reported as such, not at the config file
    from promptkit.lint.rule import REGISTRY

    cfg.resolve()  # the file's own rule packs define codes the flags may name
    rules = list(REGISTRY)
    for key in ("select", "extend_select", "ignore", "fixable", "unfixable"):
        given = overrides.get(key)
        own = getattr(cfg, key) or []
        for s in given or []:
            if s not in own and not any(_score(s.strip(), r) is not None for r in rules):
                raise PromptkitError(Diagnostic(
                    "<command line>", f"unknown rule selector {s!r} in --{_kebab(key)}", code="PK010",
                    name="invalid-config", hint="`promptkit rule --all` lists the rule codes and names"))
    return new


def _located(path: Path | None, loc: Sequence[Any], message: str, hint: str = "", text: str | None = None) -> Diagnostic:
    """A config diagnostic pointing at the line that sets ``loc``."""
    if path is None:
        return Diagnostic("promptkit config", message, code="PK010", name="invalid-config", hint=hint)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError:
            text = ""
    span = None
    idx = LineIndex(text)
    line = _find_key_line(text, path.name == "pyproject.toml", [str(x) for x in loc])
    if line:
        content = idx.line_text(line)
        col = len(content) - len(content.lstrip()) + 1
        pos = idx.position_at(line, col)
        span = idx.span(pos.offset, idx.line_end(line))
    return Diagnostic(str(path), message, code="PK010", name="invalid-config", span=span, hint=hint)


_HEADER = re.compile(r"^\s*\[+\s*([^\]]+?)\s*\]+\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\-" ]+?)\s*=""")


def _find_key_line(text: str, in_pyproject: bool, loc: list[str]) -> int | None:
    """1-based line of the TOML key at ``loc`` (best effort: headers and dotted keys)."""
    prefix = ["tool", "promptkit"] if in_pyproject else []
    table: list[str] = []
    best: int | None = None
    for i, raw in enumerate(text.splitlines(), start=1):
        h = _HEADER.match(raw)
        if h:
            table = [p.strip().strip("\"'") for p in h.group(1).split(".")]
            if not in_pyproject and table[:2] == ["tool", "promptkit"]:
                table = table[2:]
            full = table[len(prefix):] if table[: len(prefix)] == prefix else None
            if full is not None and full == loc:
                return i
            if full is not None and full and loc[: len(full)] == full and best is None:
                best = i
            continue
        if table[: len(prefix)] != prefix:
            continue
        k = _KEY.match(raw)
        if not k:
            continue
        keys = [p.strip().strip("\"'") for p in k.group(1).split(".")]
        full = table[len(prefix):] + keys
        if loc[: len(full)] == full or full[: len(loc)] == loc:
            return i
    return best
