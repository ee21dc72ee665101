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

The file is read and validated by :mod:`promptkit.config`, the one reader of the whole
table (lint keys at the top, a table per part); this module adds what the linter does with
its keys. An invalid config is never a traceback: :class:`~promptkit.diagnostics.PromptkitError`
names the file, line and key, and the CLI exits with status 2.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import PrivateAttr, ValidationError

from promptkit.codes import INVALID_CONFIG
from promptkit.config import CONFIG_FILES, LintTable, find_config, read_part
from promptkit.config import located as _located
from promptkit.diagnostics import Diagnostic, PromptkitError
from promptkit.lint import globs

if TYPE_CHECKING:
    from promptkit.lint.rule import Rule
    from promptkit.lint.ruleset import RuleSet

__all__ = ["CONFIG_FILES", "DEFAULT_EXCLUDE", "LintConfig", "find_config", "from_file", "load_config", "with_overrides"]

#: Directory names never walked into (in addition to ``exclude``).
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".promptkit_cache", ".hypothesis", ".eggs",
    "*.egg-info", "site-packages", "build", "dist",
)


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class LintConfig(LintTable):
    """Every lint setting (the fields are :class:`promptkit.config.LintTable`'s; this class
    adds what the linter does with them). Build one with :func:`load_config` (or
    ``LintConfig()`` for the defaults); call :meth:`resolve` before use, which loads rule
    packs and checks that every selector names a rule."""

    _root: Path = PrivateAttr(default_factory=Path.cwd)
    _source: Path | None = PrivateAttr(default=None)
    _resolved: bool = PrivateAttr(default=False)
    _ruleset: RuleSet | None = PrivateAttr(default=None)

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
        """Build this config's :class:`~promptkit.lint.ruleset.RuleSet` (the built-in rules
        and this project's rule packs) and check every selector against it. Idempotent."""
        if self._resolved:
            return self
        from promptkit.lint.ruleset import RuleSet

        base = self._root
        pack_paths: list[Path] = []
        for p in self.rule_packs:
            pp = self.confined(p, ("rule-packs",), "rule pack")
            if not pp.is_absolute():
                pp = base / pp
            pack_paths.append(pp)
        self._ruleset = RuleSet.build(pack_paths, config_source=self._source) if pack_paths else RuleSet.builtin()
        self._check_selectors()
        self._resolved = True
        return self

    @property
    def ruleset(self) -> RuleSet:
        """The rules this configuration can select from: built-in rules plus its packs."""
        if self._ruleset is None:
            self.resolve()
        assert self._ruleset is not None
        return self._ruleset

    def _check_selectors(self) -> None:
        rules = list(self.ruleset)
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
            if code not in self.ruleset:
                raise self.error(("rules", code), f"unknown rule code {code!r} in [rules.{code}]",
                                 "`promptkit rule --all` lists the rule codes")

    def _rule_visible(self, rule: type[Rule]) -> bool:
        """Pack rules count only for the packs this config loads (or the bundled ones);
        a Python rule run directly (tests, API users) counts by its own selection."""
        origin = getattr(rule, "pack_path", None)
        return origin is None or self.ruleset.get(rule.code) is rule

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
        return tuple(r for r in self.ruleset if self.is_enabled(r))

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
        rule: Any = self.ruleset.get(code)
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

        self.resolve()
        data = self.model_dump(mode="json", by_alias=True, exclude={"include", "extend_include", "exclude",
                                                                    "extend_exclude", "cache_dir",
                                                                    "respect_gitignore"})
        h = hashlib.sha256()
        h.update(__version__.encode())
        h.update(json.dumps(data, sort_keys=True, default=str).encode())
        h.update(str(self._root).encode())
        h.update(_code_fingerprint().encode())
        h.update(self.ruleset.fingerprint().encode())
        return h.hexdigest()[:20]

    # -- errors ---------------------------------------------------------------------------

    def error(self, loc: Sequence[Any], message: str, hint: str = "") -> PromptkitError:
        return PromptkitError(_located(self._source, loc, message, hint))

    def confined(self, value: str, loc: Sequence[Any], what: str) -> Path:
        """A path from the config file, resolved inside the project (``PK011`` at the
        setting's line otherwise): the config may come in a pull request. Settings built
        in code (no config file) are the caller's own choice and are returned as given."""
        if self._source is None:
            return Path(value)
        from promptkit.paths import PathRefused, confine, project_root

        try:
            return confine(value, project_root(config_source=self._source), what=what, base=self._root)
        except PathRefused as exc:
            d = _located(self._source, loc, exc.diagnostic.message, exc.diagnostic.hint)
            d.code, d.name = exc.diagnostic.code, exc.diagnostic.name
            raise PathRefused(d) from None


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


# --------------------------------------------------------------------------- reading


def from_file(path: Path) -> LintConfig:
    """Read and validate one config file: every top-level key (so a misspelled
    ``[tool.promptkit.reveiw]`` is an error here too), then the lint keys' values."""
    path = Path(path)
    cfg, _ = read_part(path, None, LintConfig)
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
                                        code=INVALID_CONFIG.code, name=INVALID_CONFIG.name)) from None
    new._root, new._source = cfg._root, cfg._source
    # a bad selector given on the command line is reported as such, not at the config file
    rules = list(cfg.ruleset)  # the file's own rule packs define codes the flags may name
    for key in ("select", "extend_select", "ignore", "fixable", "unfixable"):
        given = overrides.get(key)
        own = getattr(cfg, key) or []
        for s in given or []:
            if s not in own and not any(_score(s.strip(), r) is not None for r in rules):
                raise PromptkitError(Diagnostic(
                    "<command line>", f"unknown rule selector {s!r} in --{_kebab(key)}", code=INVALID_CONFIG.code,
                    name=INVALID_CONFIG.name, hint="`promptkit rule --all` lists the rule codes and names"))
    return new
