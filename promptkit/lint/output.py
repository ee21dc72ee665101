"""Printing diagnostics: one emitter per output format, as in ruff.

* ``text`` (default): ``path:line:col: PK101 [*] message``, then the source line with a
  caret under the span, the severity, and the hint. Colour only on a terminal (rich;
  ``NO_COLOR`` is honoured); plain text in pipes and CI logs.
* ``concise``: the first line of ``text`` only, one diagnostic per line.
* ``json``: a list of objects (``Diagnostic.to_dict()`` plus the fix).
* ``sarif``: SARIF 2.1.0 for code-scanning dashboards.
* ``github``: ``::error file=...`` workflow commands, shown as PR annotations.
* ``gitlab``: a GitLab Code Quality report (merge-request widget).
* ``junit``: JUnit XML, one test suite per file, for CI test reports.

``[*]`` marks a diagnostic that ``--fix`` can repair (``[-]`` only with
``--unsafe-fixes``).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any

from promptkit.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from promptkit.lint.ruleset import RuleSet

FORMATS = ("text", "concise", "json", "sarif", "github", "gitlab", "junit")
_EXCERPT_WIDTH = 100
_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}

Segments = list[tuple[str, str]]  # (text, rich style or "")


def _fix_mark(d: Diagnostic) -> str:
    if d.fix is None:
        return ""
    return "[*] " if d.fix.safe else "[-] "


def _source_lines(path: str, cache: dict[str, list[str] | None]) -> list[str] | None:
    if path not in cache:
        from promptkit.template.source import read

        try:
            src = read(path)
            cache[path] = src.text.split("\n") if src.ok else None
        except Exception:  # noqa: BLE001 - an excerpt is a nicety, never a failure
            cache[path] = None
    return cache[path]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _safe(s: str) -> str:
    """Control characters (an ANSI escape in a prompt file, say) written as ``\\x1b``:
    printing them raw would let a file drive the user's terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def _excerpt(line: str, col: int, end_col: int) -> tuple[str, int, int]:
    """The line (tabs expanded, control characters shown as U+FFFD, long lines windowed)
    and the caret's start and width."""
    line = _CONTROL.sub("\ufffd", line.rstrip("\r"))
    start = col - 1
    width = max(1, end_col - col)
    prefix = line[:start]
    shown = prefix.replace("\t", "    ") + line[start:].replace("\t", "    ")
    cstart = len(prefix.replace("\t", "    "))
    if len(shown) > _EXCERPT_WIDTH:
        left = max(0, cstart - _EXCERPT_WIDTH // 3)
        right = left + _EXCERPT_WIDTH
        piece = shown[left:right]
        shown = ("…" if left else "") + piece + ("…" if right < len(shown) else "")
        cstart = cstart - left + (1 if left else 0)
    width = max(1, min(width, len(shown) - cstart))
    # the caret is drawn in terminal cells: CJK and emoji take two, combining marks none
    return shown, _cells(shown[:cstart]), max(1, _cells(shown[cstart : cstart + width]))


def _cells(s: str) -> int:
    import unicodedata

    if s.isascii():
        return len(s)
    n = 0
    for ch in s:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def text_segments(d: Diagnostic, lines: list[str] | None, *, show_source: bool = True) -> list[Segments]:
    """Rows of styled segments for one diagnostic."""
    rows: list[Segments] = [[
        (f"{d.path}:{d.line}:{d.column}:", "bold"),
        (" ", ""),
        (d.code or d.severity.value, _STYLE[d.severity]),
        (" ", ""),
        (_fix_mark(d), "cyan"),
        (_safe(" ".join(d.message.split("\n"))), ""),  # one diagnostic, one line: grep and editors rely on it
    ]]
    if not show_source:
        return rows
    if d.extra.get("sensitive"):
        # The line holds a secret: never copy it into a terminal log or CI report.
        rows.append([("  = ", "blue"), ("source line not shown: it contains a secret", "")])
        if d.hint:
            rows.append([("  = ", "blue"), ("hint: ", "bold"), (_safe(d.hint), "")])
    elif lines is not None and d.span is not None and 1 <= d.line <= len(lines):
        end_col = d.span.end.column if d.span.end.line == d.line else len(lines[d.line - 1].rstrip("\r")) + 1
        shown, cstart, width = _excerpt(lines[d.line - 1], d.column, end_col)
        gutter = len(str(d.line))
        pad = " " * gutter
        rows.append([(f"{pad} |", "blue")])
        rows.append([(f"{d.line} | ", "blue"), (shown, "")])
        rows.append([(f"{pad} | ", "blue"), (" " * cstart + "^" * width + " ", _STYLE[d.severity]),
                     (d.severity.value, _STYLE[d.severity])])
        if d.hint:
            rows.append([(f"{pad} |", "blue")])
            rows.append([(f"{pad} = ", "blue"), ("hint: ", "bold"), (_safe(d.hint), "")])
    elif d.hint:
        rows.append([("  = ", "blue"), ("hint: ", "bold"), (_safe(d.hint), "")])
    rows.append([])
    return rows


def summary(diags: Sequence[Diagnostic], files: int, *, fixed: int = 0, unsafe_hidden: int = 0) -> list[str]:
    """The closing lines: counts, and what ``--fix`` could do."""
    out: list[str] = []
    if fixed:
        out.append(f"Fixed {fixed} problem{'s' if fixed != 1 else ''}.")
    if not diags:
        out.append(f"All checks passed! ({files} file{'s' if files != 1 else ''} checked)")
        return out
    sev = Counter(d.severity for d in diags)
    parts = [f"{sev[s]} {s.value}{'s' if sev[s] != 1 and s is not Severity.INFO else ''}"
             for s in (Severity.ERROR, Severity.WARNING, Severity.INFO) if sev[s]]
    n = len(diags)
    with_problems = len({d.path for d in diags})
    files = max(files, with_problems)  # a named path that could not be read is a file too ("2 of 1" reads as a bug)
    out.append(f"Found {n} problem{'s' if n != 1 else ''} ({', '.join(parts)}) in "
               f"{with_problems} of {files} file{'s' if files != 1 else ''}.")
    safe = sum(1 for d in diags if d.fix is not None and d.fix.safe)
    unsafe = sum(1 for d in diags if d.fix is not None and not d.fix.safe)
    if safe:
        out.append(f"[*] {safe} fixable with the `--fix` option.")
    if unsafe:
        out.append(f"[-] {unsafe} more fixable with `--fix --unsafe-fixes`.")
    return out


def statistics(diags: Sequence[Diagnostic]) -> list[tuple[int, str, str, bool]]:
    """``(count, code, name, fixable)`` per code, most frequent first."""
    counts = Counter(d.code for d in diags)
    names = {d.code: d.name for d in diags}
    fixable = {d.code for d in diags if d.fix is not None}
    return sorted(((n, c, names[c], c in fixable) for c, n in counts.items()), key=lambda r: (-r[0], r[1]))


# --------------------------------------------------------------------------- emitters


class Printer:
    """Writes segment rows plainly, or through rich when ``color`` is on."""

    def __init__(self, stream: IO[str], color: bool | None = None) -> None:
        self.stream = stream
        if color is None:
            color = bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ
        self.color = color
        self._console: Any = None
        self._buf: list[str] = []  # plain rows, written at once by flush(): thousands of rows, one write
        if color:
            from rich.console import Console

            self._console = Console(file=stream, highlight=False, soft_wrap=True, force_terminal=True)

    def row(self, segments: Segments) -> None:
        if self._console is None:
            self._buf.append("".join(t for t, _ in segments))
            return
        from rich.text import Text

        text = Text()
        for t, style in segments:
            text.append(t, style=style or None)
        self._console.print(text)

    def line(self, s: str, style: str = "") -> None:
        self.row([(s, style)])

    def flush(self) -> None:
        if self._buf:
            self._buf.append("")
            self.stream.write("\n".join(self._buf))
            self._buf = []
            self.stream.flush()  # a closed pipe raises here, inside the command (exit 141), not at shutdown


def emit_text(diags: Sequence[Diagnostic], stream: IO[str], *, files: int, concise: bool = False,
              fixed: int = 0, show_summary: bool = True, color: bool | None = None,
              texts: dict[str, str] | None = None) -> None:
    """``texts`` gives the source of paths that are not (or not yet) files on disk."""
    p = Printer(stream, color)
    sources: dict[str, list[str] | None] = {k: v.split("\n") for k, v in (texts or {}).items()}
    for d in diags:
        lines = None if concise else _source_lines(d.path, sources)
        for r in text_segments(d, lines, show_source=not concise):
            p.row(r)
    if show_summary:
        for s in summary(diags, files, fixed=fixed):
            p.line(s, "bold")
    p.flush()


def emit_statistics(diags: Sequence[Diagnostic], stream: IO[str], color: bool | None = None) -> None:
    p = Printer(stream, color)
    rows = statistics(diags)
    width = max((len(str(n)) for n, *_ in rows), default=1)
    for n, code, name, fixable in rows:
        p.row([(f"{n:>{width}}", "bold"), ("\t", ""), (code, "red"), ("\t", ""),
               ("[*] " if fixable else "    ", "cyan"), (name, "")])
    p.flush()


def to_json(diags: Sequence[Diagnostic]) -> list[dict[str, Any]]:
    out = []
    for d in diags:
        row = d.to_dict()
        row["fix"] = None if d.fix is None else {
            "applicability": "safe" if d.fix.safe else "unsafe",
            "message": d.fix.description,
            "edits": [{"start": e.start, "end": e.end, "content": e.content} for e in d.fix.edits],
        }
        out.append(row)
    return out


def emit_json(diags: Sequence[Diagnostic], stream: IO[str], **_: Any) -> None:
    json.dump(to_json(diags), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(path: str) -> str:
    """A SARIF artifact URI: the path as shown, relative to the working directory."""
    from promptkit.paths import shown

    return shown(path)


def to_sarif(diags: Sequence[Diagnostic], rules: RuleSet | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log. ``rules`` (the run's rule set, default the built-in rules) gives
    each code its name and docs, project pack rules included."""
    from promptkit._version import __version__
    from promptkit.lint.ruleset import RuleSet

    known = rules if rules is not None else RuleSet.builtin()

    codes = sorted({d.code for d in diags if d.code})
    entries = []
    for code in codes:
        r = known.get(code)
        entry: dict[str, Any] = {"id": code}
        if r is not None:
            entry.update({
                "name": r.name,
                "shortDescription": {"text": r.summary()},
                "fullDescription": {"text": r.doc()},
                "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
                "properties": {"fixable": r.fixable, "preview": r.preview},
            })
        entries.append(entry)
    results = []
    for d in diags:
        region: dict[str, int] = {"startLine": d.line, "startColumn": d.column}
        if d.span is not None:
            region.update({"endLine": d.span.end.line, "endColumn": d.span.end.column})
        results.append({
            "ruleId": d.code,
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(d.path)}, "region": region}}],
        })
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "promptkit", "version": __version__, "rules": entries}},
            "results": results,
        }],
    }


def emit_sarif(diags: Sequence[Diagnostic], stream: IO[str], *, rules: RuleSet | None = None, **_: Any) -> None:
    json.dump(to_sarif(diags, rules), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _gh_escape(s: str, prop: bool = False) -> str:
    s = s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        s = s.replace(":", "%3A").replace(",", "%2C")
    return s


_GH_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def emit_github(diags: Sequence[Diagnostic], stream: IO[str], **_: Any) -> None:
    for d in diags:
        props = [f"title={_gh_escape(f'promptkit ({d.code})', True)}", f"file={_gh_escape(d.path, True)}",
                 f"line={d.line}", f"col={d.column}"]
        if d.span is not None:
            props += [f"endLine={d.span.end.line}", f"endColumn={d.span.end.column}"]
        msg = f"{d.code} {d.message}" + (f" (hint: {d.hint})" if d.hint else "")
        stream.write(f"::{_GH_LEVEL[d.severity]} {','.join(props)}::{_gh_escape(msg)}\n")


def emit_junit(diags: Sequence[Diagnostic], stream: IO[str], *, paths: Iterable[str] = (), **_: Any) -> None:
    import xml.etree.ElementTree as ET

    by_file: dict[str, list[Diagnostic]] = {p: [] for p in paths}
    for d in diags:
        by_file.setdefault(d.path, []).append(d)
    total = sum(max(1, len(items)) for items in by_file.values())
    root = ET.Element("testsuites", name="promptkit", tests=str(total), failures=str(len(diags)))
    for path, items in by_file.items():
        suite = ET.SubElement(root, "testsuite", name=path, tests=str(max(1, len(items))), failures=str(len(items)))
        if not items:
            ET.SubElement(suite, "testcase", name="promptkit lint", classname=path)
            continue
        for d in items:
            case = ET.SubElement(suite, "testcase", name=f"{d.code} {d.name}".strip(),
                                 classname=f"{path}:{d.line}:{d.column}")
            fail = ET.SubElement(case, "failure", message=d.message, type=d.code or d.severity.value)
            fail.text = f"{path}:{d.line}:{d.column}: {d.code} {d.message}" + (f"\nhint: {d.hint}" if d.hint else "")
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")


_GITLAB_SEVERITY = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def to_gitlab(diags: Sequence[Diagnostic]) -> list[dict[str, Any]]:
    """GitLab Code Quality report entries (a Code Climate subset). The fingerprint is
    stable across runs and line shifts: path, code, message and the n-th repetition."""
    import hashlib

    seen: Counter[tuple[str, str, str]] = Counter()
    out = []
    for d in diags:
        key = (_uri(d.path), d.code, d.message)
        seen[key] += 1
        fp = hashlib.sha256("\0".join((*key, str(seen[key]))).encode()).hexdigest()[:32]
        out.append({
            "description": f"{d.code} {d.message}",
            "check_name": d.code,
            "fingerprint": fp,
            "severity": _GITLAB_SEVERITY[d.severity],
            "location": {"path": key[0], "lines": {"begin": d.line, "end": d.span.end.line if d.span else d.line}},
        })
    return out


def emit_gitlab(diags: Sequence[Diagnostic], stream: IO[str], **_: Any) -> None:
    json.dump(to_gitlab(diags), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


EMITTERS: dict[str, Callable[..., None]] = {
    "json": emit_json, "sarif": emit_sarif, "github": emit_github, "gitlab": emit_gitlab, "junit": emit_junit,
}


def emit(diags: Sequence[Diagnostic], fmt: str, stream: IO[str], *, files: int = 0, paths: Iterable[str] = (),
         fixed: int = 0, show_summary: bool = True, color: bool | None = None,
         texts: dict[str, str] | None = None, rules: RuleSet | None = None) -> None:
    """Write ``diags`` in ``fmt`` to ``stream`` (``rules``: the run's rule set, for the
    formats that describe each rule)."""
    if fmt in ("text", "concise"):
        emit_text(diags, stream, files=files, concise=fmt == "concise", fixed=fixed,
                  show_summary=show_summary, color=color, texts=texts)
        return
    EMITTERS[fmt](diags, stream, paths=paths, rules=rules)
