"""Case variables from a spreadsheet or a JSONL file: one case per row.

Teams keep their golden examples in a CSV edited by non-programmers, or a JSONL exported
from production logs. A case with ``dataset: file.csv`` becomes one case per row:

* CSV/TSV: the header names the variables. Special columns (promptfoo's convention):
  ``__id``, ``__description``, ``__expected`` (and ``__expected2``... for more checks)
  holding ``contains: Paris``, ``not-icontains: sorry``, ``regex: ^\\d+$`` -- or plain text,
  meaning ``equals`` -- and ``assert`` / ``__assert`` holding a JSON list of assertion
  entries. Empty cells in special columns are ignored.
* JSONL: one object per line, either ``{"vars": {...}, "assert": [...], "id": ...}`` or a
  flat object whose non-special keys are the variables. A ``.json`` array or a ``.yaml``
  list of such objects works the same way.

CSV values are strings; the suite converts them to the template's declared input types
(``integer``, ``boolean``...). Every problem is a ``PT005`` diagnostic with the row's line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptkit.codes import INVALID_DATASET
from promptkit.diagnostics import Diagnostic, LineIndex, PromptkitError, Severity
from promptkit.runner.assertions.registry import SpecError, build_spec, get
from promptkit.runner.assertions.spec import AssertionSpec

__all__ = ["DatasetRow", "load_dataset", "parse_expected"]

_ID_KEYS = ("__id", "id")
_DESC_KEYS = ("__description", "description")
_ASSERT_KEYS = ("assert", "__assert")
_EXPECTED = re.compile(r"^__expected\d*$")
_TYPED = re.compile(r"^\s*((?:not-)?[a-z][a-z0-9-]*)\s*:\s?(.*)$", re.DOTALL)


@dataclass
class DatasetRow:
    """One row: its 1-based number among the data rows and its line in the file."""

    number: int
    line: int
    vars: dict[str, Any] = field(default_factory=dict)
    assertions: list[AssertionSpec] = field(default_factory=list)
    id: str | None = None
    description: str | None = None


def _error(path: Path, line: int, message: str, hint: str = "", column: int = 1) -> PromptkitError:
    from promptkit.diagnostics import Position, Span

    p = Position(line, column, 0)
    return PromptkitError(Diagnostic(str(path), message, Severity.ERROR, INVALID_DATASET.code, INVALID_DATASET.name, Span(p, p), hint))


def parse_expected(cell: str) -> dict[str, Any]:
    """A ``__expected`` cell as an assertion entry: ``"icontains: paris"`` ->
    ``{"icontains": "paris"}``; text without a known type prefix -> ``equals``.
    A JSON object after the colon gives options: ``length: {"max": 40}``."""
    m = _TYPED.match(cell)
    if m:
        name, rest = m.group(1), m.group(2).strip()
        base = name[4:] if name.startswith("not-") else name
        if get(base) is not None:
            value: Any = rest
            if rest.startswith(("{", "[")):
                try:
                    value = json.loads(rest)
                except ValueError:
                    value = rest
            return {name: value if rest else None}
    return {"type": "equals", "value": cell}


def load_dataset(path: str | Path) -> list[DatasetRow]:
    """Read a ``.csv``/``.tsv``/``.jsonl``/``.ndjson``/``.json``/``.yaml`` file into rows.

    Raises :class:`PromptkitError` (``PT005``, with the row's line) for unreadable
    files, ragged CSV rows, invalid JSON and invalid assertion entries.
    """
    from promptkit.template import source

    p = Path(path)
    src = source.read(p)
    if not src.ok:
        raise _error(p, 1, src.diagnostics[0].message, "check the dataset path")
    suffix = p.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _jsonl(p, src.text)
    if suffix in (".csv", ".tsv"):
        return _csv(p, src.text, "\t" if suffix == ".tsv" else ",")
    if suffix == ".json":
        return _json_array(p, src.text)
    if suffix in (".yaml", ".yml"):
        return _yaml_list(p, src.text)
    raise _error(p, 1, f"unsupported dataset format '{suffix}'", "use .csv, .tsv, .jsonl, .json or .yaml")


def _csv(path: Path, text: str, delimiter: str) -> list[DatasetRow]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise _error(path, 1, "dataset is empty", "the first line names the columns (the variables)") from None
    except csv.Error as exc:
        raise _error(path, 1, f"invalid CSV: {exc}") from None
    header = [h.strip() for h in header]
    for i, h in enumerate(header):
        if not h:
            raise _error(path, 1, f"column {i + 1} has no name", "name every column in the header line")
    dupes = {h for h in header if header.count(h) > 1}
    if dupes:
        raise _error(path, 1, f"duplicate column name(s): {', '.join(sorted(dupes))}")
    rows: list[DatasetRow] = []
    prev_end = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _error(path, prev_end + 1, f"invalid CSV: {exc}") from None
        line = prev_end + 1
        prev_end = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) > len(header):
            raise _error(path, line, f"row has {len(cells)} cells but the header names {len(header)} columns",
                         "quote cells that contain the delimiter")
        record = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        rows.append(_row(path, len(rows) + 1, line, record, from_csv=True))
    return rows


def _jsonl(path: Path, text: str) -> list[DatasetRow]:
    rows: list[DatasetRow] = []
    index = LineIndex(text)
    for n in range(1, index.line_count + 1):
        raw = index.line_text(n).strip()
        if not raw or raw.startswith("//"):
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _error(path, n, f"invalid JSON: {exc.msg}", "write one JSON object per line", exc.colno) from None
        if not isinstance(obj, dict):
            raise _error(path, n, f"each line must be a JSON object, not {type(obj).__name__}")
        rows.append(_row(path, len(rows) + 1, n, obj, from_csv=False))
    return rows


def _json_array(path: Path, text: str) -> list[DatasetRow]:
    """A JSON array of row objects; each row keeps the line it starts on."""
    index = LineIndex(text)
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise _error(path, index.position(pos).line, "a .json dataset must be an array of objects",
                     'write [{"vars": {...}, "assert": [...]}, ...] or use .jsonl')
    pos = _skip(text, pos + 1)
    rows: list[DatasetRow] = []
    while pos < len(text) and text[pos] != "]":
        where = index.position(pos)
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            at = index.position(exc.pos)
            raise _error(path, at.line, f"invalid JSON: {exc.msg}", "check commas and quotes", at.column) from None
        if not isinstance(obj, dict):
            raise _error(path, where.line, f"each row must be a JSON object, not {type(obj).__name__}", column=where.column)
        rows.append(_row(path, len(rows) + 1, where.line, obj, from_csv=False))
        pos = _skip(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
        elif pos < len(text) and text[pos] != "]":
            at = index.position(pos)
            raise _error(path, at.line, "invalid JSON: expected ',' or ']' after a row", column=at.column)
    if pos >= len(text):
        raise _error(path, index.line_count, "invalid JSON: the array is never closed with ']'")
    return rows


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _yaml_list(path: Path, text: str) -> list[DatasetRow]:
    """A YAML list of row mappings, with each row's line from the YAML parser."""
    from promptkit.template.frontmatter import parse_yaml

    index = LineIndex(text)
    parsed = parse_yaml(text, str(path), index, 0)
    for dup in parsed.duplicates:  # a row's repeated column would silently drop a value
        from promptkit.template.frontmatter import DUPLICATE_KEY_HINT

        raise _error(path, dup.span.start.line, dup.message(), DUPLICATE_KEY_HINT, dup.span.start.column)
    for d in parsed.diagnostics:
        problem = d.message.removeprefix("invalid YAML in front matter: ")
        raise _error(path, d.line, f"invalid YAML: {problem}", "fix the indentation or quote the value", d.column)
    data = parsed.data
    if not isinstance(data, list):
        raise _error(path, 1, "a YAML dataset must be a list of rows", "start each row with '- '")
    rows: list[DatasetRow] = []
    for i, obj in enumerate(data):
        span = parsed.spans.get((i,))
        line = span.start.line if span else 1
        if not isinstance(obj, dict):
            raise _error(path, line, f"each row must be a mapping, not {type(obj).__name__}")
        rows.append(_row(path, i + 1, line, {str(k): v for k, v in obj.items()}, from_csv=False))
    return rows


def _row(path: Path, number: int, line: int, record: dict[str, Any], *, from_csv: bool) -> DatasetRow:
    row = DatasetRow(number=number, line=line)
    entries: list[Any] = []
    variables: dict[str, Any] = {}
    nested = record.get("vars") if not from_csv else None
    if nested is not None and not isinstance(nested, dict):
        raise _error(path, line, "'vars' must be an object of variable names to values")
    # With a nested "vars" object, plain "id"/"description" keys are metadata; in a flat
    # row they could be variables, so only the "__" forms are.
    id_keys = _ID_KEYS if nested is not None else _ID_KEYS[:1]
    desc_keys = _DESC_KEYS if nested is not None else _DESC_KEYS[:1]
    for key, value in record.items():
        if key in id_keys:
            if value not in (None, ""):
                row.id = str(value)
            continue
        if key in desc_keys:
            if value not in (None, ""):
                row.description = str(value)
            continue
        if key in _ASSERT_KEYS:
            entries.extend(_assert_list(path, line, value, from_csv))
            continue
        if _EXPECTED.match(key):
            if isinstance(value, str) and value.strip():
                entries.append(parse_expected(value))
            elif value not in (None, ""):
                entries.append({"type": "equals", "value": value})
            continue
        if key == "vars" and nested is not None:
            continue
        variables[key] = value
    if nested is not None:
        variables = {**variables, **nested}
    row.vars = variables
    for j, entry in enumerate(entries):
        try:
            row.assertions.append(build_spec(entry, source=str(path)))
        except SpecError as exc:
            raise _error(path, line, f"assertion {j + 1} of this row: {exc}", exc.hint) from None
    return row


def _assert_list(path: Path, line: int, value: Any, from_csv: bool) -> list[Any]:
    if value in (None, ""):
        return []
    if from_csv and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise _error(path, line, f"the assert cell is not JSON: {exc}",
                         'write a JSON list, e.g. [{"type": "contains", "value": "Paris"}]') from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise _error(path, line, "'assert' must be a list of assertion entries")
    return value
