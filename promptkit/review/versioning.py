"""Version discipline: does each changed prompt's version bump match its change?

A prompt's version is a promise to its callers (application code, suites, other teams):

* content changed (anything but the version and whitespace) -> at least a patch bump
  (``PR001 version-not-bumped``);
* a breaking change -- an input removed, added as required or made required, an input's
  type changed, or an output-schema change an old consumer can trip on -- needs a major
  bump (``PR002 breaking-change-without-major``); before 1.0.0 a minor bump is enough
  (semver: ``0.y.z`` may break at any minor);
* the version must not go down (``PR003``), nor disappear or stop being semver (``PR004``).

A prompt with no version at either revision cannot be checked; it gets a warning
(``PR006``) unless ``require_version`` turns it into an error. The same rules run from a
pre-commit hook (working tree against HEAD), in CI (merge base against HEAD) and, without
git history, against ``prompts.lock`` (:mod:`promptkit.review.lock`).
"""

from __future__ import annotations

from dataclasses import dataclass

from promptkit.codes import (
    BREAKING_WITHOUT_MAJOR,
    UNVERSIONED_PROMPT,
    VERSION_DOWNGRADED,
    VERSION_MISSING,
    VERSION_NOT_BUMPED,
)
from promptkit.diagnostics import Diagnostic, Severity
from promptkit.review.semantic import PromptDiff
from promptkit.template.model import SEMVER_RE

__all__ = ["Bump", "Verdict", "bump_kind", "check_diff", "parse_semver", "required_bump"]

Bump = str  # "none" | "prerelease" | "patch" | "minor" | "major" | "down" | "invalid"


def parse_semver(v: str | None) -> tuple[int, int, int, str] | None:
    """``(major, minor, patch, prerelease)`` of a semver string, or None."""
    if not isinstance(v, str):
        return None
    m = SEMVER_RE.match(v)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) or ""


def _pre_key(pre: str) -> tuple[int, tuple[object, ...]]:
    if not pre:
        return (1, ())  # a release sorts after its pre-releases
    return (0, tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")))


def bump_kind(before: str | None, after: str | None) -> Bump:
    """How ``after`` moved from ``before``."""
    if before is not None and before == after:
        return "none"  # unchanged, whatever its format: a non-semver "2.0" that stayed is not a bump
    a, b = parse_semver(before), parse_semver(after)
    if a is None or b is None:
        return "invalid"
    if b[:3] == a[:3]:
        if b[3] == a[3]:
            return "none"
        return "prerelease" if _pre_key(b[3]) > _pre_key(a[3]) else "down"
    if b[:3] < a[:3]:
        return "down"
    if b[0] > a[0]:
        return "major"
    if b[1] > a[1]:
        return "minor"
    return "patch"


def required_bump(diff: PromptDiff) -> Bump:
    """The smallest bump the change needs: ``major`` when it breaks callers, ``patch``
    when the content changed, else ``none``."""
    if diff.status in ("added", "removed"):
        return "none"
    if diff.breaking:
        return "major"
    return "patch" if diff.content_changed else "none"


_ORDER = {"none": 0, "prerelease": 1, "patch": 2, "minor": 3, "major": 4}


@dataclass
class Verdict:
    """The version check of one prompt: the bump made, the bump needed, and findings."""

    path: str
    made: Bump
    needed: Bump
    findings: list[Diagnostic]

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.findings)

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "made": self.made, "needed": self.needed, "ok": self.ok,
                "findings": [d.to_dict() for d in self.findings]}


def _finding(code, path: str, message: str, hint: str, severity: Severity = Severity.ERROR,  # type: ignore[no-untyped-def]
             line: int | None = None) -> Diagnostic:
    span = None
    if line:
        from promptkit.diagnostics import Position, Span

        span = Span(Position(line, 1, 0), Position(line, 1, 0))
    return Diagnostic(path, message, severity=severity, code=code.code, name=code.name, span=span, hint=hint)


def check_diff(diff: PromptDiff, *, require_version: bool = False, raw_before: object = None,
               raw_after: object = None, version_line: int | None = None) -> Verdict:
    """The version verdict for one prompt's diff. ``raw_before``/``raw_after`` are the
    front matter's ``version`` values as written (to tell "no version" from "not semver")."""
    path = diff.path
    needed = required_bump(diff)
    vb, va = diff.version_before, diff.version_after
    findings: list[Diagnostic] = []
    if diff.status == "removed":
        return Verdict(path, "none", "none", findings)
    if diff.status == "added":
        if va is None:
            sev = Severity.ERROR if require_version or raw_after is not None else Severity.WARNING
            what = f"version {raw_after!r} is not semver" if raw_after is not None else "new prompt has no version"
            findings.append(_finding(VERSION_MISSING if raw_after is not None else UNVERSIONED_PROMPT, path, what,
                                     "add `version: 1.0.0` (or 0.1.0) to the front matter", sev, version_line))
        return Verdict(path, "none", "none", findings)
    if vb is None and va is None:
        if raw_after is not None:
            findings.append(_finding(VERSION_MISSING, path, f"version {raw_after!r} is not semantic versioning",
                                     "write MAJOR.MINOR.PATCH, e.g. version: 1.2.0", line=version_line))
        elif needed != "none":
            sev = Severity.ERROR if require_version else Severity.WARNING
            findings.append(_finding(UNVERSIONED_PROMPT, path, "content changed but the prompt has no version to check",
                                     "add `version: 1.0.0` to the front matter so callers can pin it", sev))
        return Verdict(path, "invalid", needed, findings)
    if va is None:
        what = "the version was removed" if raw_after is None else f"version {raw_after!r} is not semantic versioning"
        findings.append(_finding(VERSION_MISSING, path, f"{what} (was {vb})",
                                 f"keep a semver version, bumped from {vb}", line=version_line))
        return Verdict(path, "invalid", needed, findings)
    if vb is None:  # a version appeared: a fine first version, nothing to compare
        return Verdict(path, "none", needed, findings)
    made = bump_kind(vb, va)
    if made == "invalid":  # non-semver versions load (a lint warning, #16) but a change cannot be checked
        bad = va if parse_semver(va) is None else vb
        findings.append(_finding(VERSION_MISSING, path, f"version {bad!r} is not semantic versioning ({vb} → {va})",
                                 "write MAJOR.MINOR.PATCH, e.g. version: 1.2.0", line=version_line))
        return Verdict(path, made, needed, findings)
    if made == "down":
        findings.append(_finding(VERSION_DOWNGRADED, path, f"version went down: {vb} → {va}",
                                 f"versions only go up; bump {vb} instead", line=version_line))
        return Verdict(path, made, needed, findings)
    major_before = parse_semver(vb)
    pre1 = major_before is not None and major_before[0] == 0
    if needed == "major":
        enough = made == "major" or (pre1 and made == "minor")
        if not enough:
            why = "; ".join(diff.breaking)
            target = _next(vb, "minor" if pre1 else "major")
            findings.append(_finding(BREAKING_WITHOUT_MAJOR, path,
                                     f"breaking change ({why}) needs a {'minor (0.x)' if pre1 else 'major'} bump; "
                                     + (f"version stayed {vb}" if made == "none" else f"version is {vb} → {va}"),
                                     f"set version: {target}",
                                     line=version_line))
    elif needed == "patch" and made == "none":
        findings.append(_finding(VERSION_NOT_BUMPED, path, f"content changed ({diff.headline()}) but version "
                                 f"stayed {vb}", f"bump it, e.g. version: {_next(vb, 'patch')}", line=version_line))
    return Verdict(path, made, needed, findings)


def _next(v: str, part: str) -> str:
    p = parse_semver(v)
    if p is None:
        return "1.0.0"
    major, minor, patch, _ = p
    if part == "major":
        return f"{major + 1}.0.0"
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"
