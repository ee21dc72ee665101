"""The rules one configuration lints with: the built-in rules plus that project's packs.

Built-in rules (the Python rules and the bundled packs) are registered once, at import, in
:data:`~promptkit.lint.rule.REGISTRY`. A project's rule packs are not: each configuration
builds its own :class:`RuleSet` from the registry and the packs it names (as sqlfluff builds
a rule pack per config), so two revisions of one pack -- same codes, different patterns --
can lint side by side in one process, which comparing a pull request's rules with the base
branch's needs. A code or name used twice within one rule set is a located error in the pack
that reuses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from promptkit.lint.rule import REGISTRY, Rule

__all__ = ["RuleSet"]


class RuleSet:
    """Rules by code: what a configuration can select from. Immutable once built."""

    def __init__(self, rules: Iterable[type[Rule]] = ()) -> None:
        self._rules: dict[str, type[Rule]] = {}
        self._names: dict[str, type[Rule]] = {}
        #: the rules that came from the project's own packs (not built in)
        self.pack_rules: tuple[type[Rule], ...] = ()
        for r in rules:
            self._rules[r.code] = r
            self._names[r.name] = r
        self._sorted = tuple(sorted(self._rules.values(), key=lambda r: r.code))

    @classmethod
    def builtin(cls) -> RuleSet:
        """The built-in rules alone (what ``LintConfig()`` without packs uses)."""
        from promptkit.lint.packs import load_builtin_rules

        load_builtin_rules()
        return cls(REGISTRY.rules.values())

    @classmethod
    def build(cls, pack_paths: Sequence[Path], config_source: Path | None = None) -> RuleSet:
        """The built-in rules plus the rules of ``pack_paths`` (files or folders of packs).

        A pack rule whose code or name another rule in the set has is an error at that
        rule in its pack -- unless it is the very same rule (a copy of the pack listed
        twice), which is taken once."""
        from promptkit.lint.packs import PackRule, conflict, load_pack_path

        base = cls.builtin()
        rules = dict(base._rules)
        names = dict(base._names)
        added: list[type[Rule]] = []
        for path in pack_paths:
            for rule in load_pack_path(path, config_source=config_source):
                old = rules.get(rule.code)
                if old is not None:
                    if isinstance(old, type) and issubclass(old, PackRule) and old.spec == rule.spec:
                        continue  # the same rule from a copy of the pack: share it
                    raise conflict(rule, old)
                if rule.name in names:
                    raise conflict(rule, names[rule.name], "name")
                rules[rule.code] = names[rule.name] = rule
                added.append(rule)
        out = cls(rules.values())
        out.pack_rules = tuple(added)
        return out

    def get(self, code: str) -> type[Rule] | None:
        return self._rules.get(code)

    def by_name(self, name: str) -> type[Rule] | None:
        return self._names.get(name)

    def lookup(self, code_or_name: str) -> type[Rule] | None:
        """A rule by code (any case) or name."""
        return self._rules.get(code_or_name.upper()) or self._names.get(code_or_name)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._rules)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._names)

    def __contains__(self, code: object) -> bool:
        return code in self._rules

    def __iter__(self) -> Iterator[type[Rule]]:
        """The rules in code order."""
        return iter(self._sorted)

    def __len__(self) -> int:
        return len(self._rules)

    def fingerprint(self) -> str:
        """What identifies these rules for the lint cache: codes, names and pack contents."""
        h = hashlib.sha256()
        for r in self._sorted:
            h.update(f"{r.code}:{r.name}:{getattr(r, 'content_hash', '')};".encode())
        return h.hexdigest()[:16]
