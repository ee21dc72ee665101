"""SQL output: is-sql (the whole output is SQL) and contains-sql (SQL in a code fence or
in prose), parsed by a real SQL parser, sqlglot, in the dialect of your database.

A parser is lenient in a way a SQL check must not be: ``hello world`` parses as the
column ``hello`` aliased ``world``. So a statement only counts when its root is a real
statement (a query, INSERT, UPDATE, DELETE, MERGE, CREATE, DROP, ALTER...), never a bare
expression. Optional limits: ``tables`` (only these tables may be read or written) and
``statements`` (only these kinds: ``select``, ``insert``...), so "the model wrote a
DROP TABLE" fails even though it is valid SQL.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import field_validator

from promptkit.runner.assertions.registry import Check, Options, assertion
from promptkit.runner.assertions.spec import AssertionContext
from promptkit.runner.results import ModelResponse, OutputSpan

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FENCE = re.compile(r"```(?:sql|mysql|postgres(?:ql)?|sqlite|tsql)?[ \t]*\r?\n(.*?)\r?\n?```", re.DOTALL | re.IGNORECASE)
_START = re.compile(r"\b(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|TRUNCATE)\b", re.IGNORECASE)


class SqlOptions(Options):
    #: sqlglot dialect: ``mysql`` (promptfoo's default), ``postgres``, ``sqlite``,
    #: ``bigquery``, ``snowflake``, ``tsql``...; ``""`` for sqlglot's generic SQL.
    dialect: str = "mysql"
    #: Only these tables may appear (case-insensitive); empty: any.
    tables: list[str] = []
    #: Only these statement kinds (``select``, ``insert``, ``update``, ``delete``,
    #: ``create``, ``drop``, ``alter``, ``merge``); empty: any.
    statements: list[str] = []

    @field_validator("dialect")
    @classmethod
    def _dialect(cls, v: str) -> str:
        if v:
            from sqlglot.dialects.dialect import Dialect

            try:
                Dialect.get_or_raise(v)
            except ValueError as exc:
                raise ValueError(str(exc).split("\n")[0]) from None
        return v

    @field_validator("statements")
    @classmethod
    def _kinds(cls, v: list[str]) -> list[str]:
        bad = [k for k in v if k.lower() not in _KINDS]
        if bad:
            raise ValueError(f"unknown statement kind(s) {', '.join(bad)}; use {', '.join(sorted(_KINDS))}")
        return [k.lower() for k in v]


_KINDS = {"select", "insert", "update", "delete", "create", "drop", "alter", "merge", "truncate"}


def _kind(node: Any) -> str | None:
    """The statement kind of a parsed root, or None for a bare expression."""
    from sqlglot import exp

    if isinstance(node, exp.Query):  # SELECT, UNION, WITH ... SELECT
        return "select"
    table = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete", exp.Create: "create",
             exp.Drop: "drop", exp.Alter: "alter", exp.Merge: "merge", exp.TruncateTable: "truncate"}
    for cls, name in table.items():
        if isinstance(node, cls):
            return name
    return None


def check_sql(sql: str, o: SqlOptions) -> tuple[bool, str]:
    """``(ok, reason)`` for one piece of SQL text."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    if not sql.strip():
        return False, "no SQL (empty)"
    try:
        roots = [r for r in sqlglot.parse(sql, read=o.dialect or None) if r is not None]
    except SqlglotError as exc:
        msg = _ANSI.sub("", str(exc)).split("\n")[0]
        return False, f"not valid {o.dialect or 'SQL'}: {msg}"
    if not roots:
        return False, "no SQL statement"
    tables: set[str] = set()
    for r in roots:
        kind = _kind(r)
        if kind is None:
            return False, f"{r.sql()[:60]!r} is an expression, not a SQL statement"
        if o.statements and kind not in o.statements:
            return False, f"a {kind.upper()} statement; only {', '.join(s.upper() for s in o.statements)} allowed"
        ctes = {c.alias_or_name.lower() for c in r.find_all(exp.CTE)}
        tables |= {t.name.lower() for t in r.find_all(exp.Table) if t.name and t.name.lower() not in ctes}
    if o.tables:
        allowed = {t.lower() for t in o.tables}
        extra = sorted(tables - allowed)
        if extra:
            return False, f"uses table(s) {', '.join(extra)} outside {', '.join(sorted(allowed))}"
    n = len(roots)
    return True, f"valid {o.dialect or 'SQL'} ({n} statement{'s' if n != 1 else ''}{', tables ' + ', '.join(sorted(tables)) if tables else ''})"


@assertion("is-sql", SqlOptions)
def is_sql(output: str, o: SqlOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The whole output is valid SQL for the dialect (within ``tables``/``statements`` when given)."""
    ok, why = check_sql(output, o)
    return Check.of(ok, f"output is {why}" if ok else f"output: {why}")


def find_sql(text: str) -> list[tuple[str, OutputSpan]]:
    """SQL candidates in ``text``: ```sql fences first, then from each statement keyword
    to the end of its paragraph."""
    out = [(m.group(1), OutputSpan(start=m.start(1), end=m.end(1))) for m in _FENCE.finditer(text)]
    for m in _START.finditer(text):
        end = text.find("\n\n", m.start())
        end = len(text) if end < 0 else end
        semi = text.find(";", m.start(), end)
        stop = semi + 1 if semi >= 0 else end
        out.append((text[m.start():stop], OutputSpan(start=m.start(), end=stop)))
    return out


@assertion("contains-sql", SqlOptions)
def contains_sql(output: str, o: SqlOptions, response: ModelResponse, ctx: AssertionContext) -> Check:
    """The output contains valid SQL (in a code fence or in prose)."""
    last = "output contains no SQL statement"
    for sql, span in find_sql(output)[:50]:
        ok, why = check_sql(sql, o)
        if ok:
            return Check.of(True, f"output contains {why}", span)
        last = f"SQL in the output: {why}"
    return Check.of(False, last)
