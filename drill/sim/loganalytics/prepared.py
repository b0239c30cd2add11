"""Statements that read no stored table, prepared once per process and run again without binding.

The posture audit proves each alert rule on synthetic rows: the rule's query with every table it reads
replaced by a `datatable` (drill/audit/synthetic.py), 18 of them per audit. duckdb-kql turns one into ~38 KB
of SQL, and DuckDB spends ~50 ms of CPU binding it at every run (measured, duckdb 2.0.1) against ~2 ms
executing it. A prepared statement skips the bind, but DuckDB re-binds one whose named parameter appears
more than once at every EXECUTE (measured: a statement using `$p` twice binds each time, once does not), and
duckdb-kql writes the query clock at each reference to `now()`. So the clock is bound once, in a leading
CTE, and read from it at each reference: the same value everywhere, as before.

Such a statement's answer depends on nothing stored, so one connection per process runs them for every
simulated tenant (a test run starts hundreds, each auditing the same demo design): each is bound once per
process. Statements that read the stored tables keep their store's plain path: DuckDB re-binds a prepared
statement that reads any table at every EXECUTE (measured), so preparing them would buy nothing.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb
from duckdb_kql.translate import CLOCK_SLOT

KEPT = 256  # prepared statements kept (an audit runs 18 distinct synthetic proofs)
CLOCK_REF = f"CAST(${CLOCK_SLOT} AS TIMESTAMP)"  # how duckdb-kql renders a pinned `now()`
_CLOCK_CTE = '"__drill_clock"'
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def _table_ref(tables: list[str]) -> re.Pattern[str]:
    """A stored table as duckdb-kql names it: quoted (a `let` shadowing one is renamed `_l0_<name>`). Were
    one ever named otherwise, the shared connection has no such table and the store falls back."""
    return re.compile('"(?:' + "|".join(re.escape(t) for t in tables) + ')"')


def once_bound(sql: str, params: Mapping[str, Any], tables: list[str]) -> str | None:
    """`sql` rewritten to mention each parameter once, or None when it cannot take the prepared path: it
    reads a stored table, has a parameter other than the clock, or writes the clock in another form."""
    if _table_ref(tables).search(sql):
        return None
    used = _PARAM.findall(sql)
    if set(used) - {CLOCK_SLOT} or set(params) - {CLOCK_SLOT}:
        return None
    if used.count(CLOCK_SLOT) <= 1:
        return sql
    if sql.count(CLOCK_REF) != used.count(CLOCK_SLOT) or not sql.startswith(("WITH ", "SELECT ")):
        return None
    if sql.startswith("WITH RECURSIVE"):  # the clock would land between WITH and RECURSIVE
        return None
    body = sql.replace(CLOCK_REF, f'(SELECT "now" FROM {_CLOCK_CTE})')  # noqa: S608 - our constants
    clock = f'{_CLOCK_CTE} AS (SELECT {CLOCK_REF} AS "now")'
    return f"WITH {clock}, {body[5:]}" if body.startswith("WITH ") else f"WITH {clock} {body}"


def _literal(value: Any) -> str:
    """The clock as an EXECUTE argument (DuckDB takes literals there, not placeholders): naive UTC, as
    duckdb-kql binds it."""
    if not isinstance(value, datetime):
        raise TypeError(f"the query clock must be a datetime, not {type(value).__name__}")
    return f"TIMESTAMP '{value.replace(tzinfo=None).isoformat(sep=' ')}'"


class PreparedStatements:
    """One connection's prepared statements, oldest dropped first; safe to share between threads."""

    def __init__(self) -> None:
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone='UTC'")  # KQL datetimes are UTC (duckdb_kql.to_sql's note)
        self._names: OrderedDict[str, str] = OrderedDict()
        self._made = 0
        self._lock = threading.Lock()

    def run(self, sql: str, params: dict[str, Any], limit: int) -> tuple[list[Any], list[Any]] | None:
        """(description, up to `limit` rows) of `sql` (from `once_bound`) with `params`; None when it names
        a table after all (the caller runs it on its own store)."""
        args = ", ".join(f"{key} := {_literal(value)}" for key, value in params.items())
        with self._lock:
            name = self._names.get(sql)
            if name is None:
                name = f"drill_q{self._made}"
                try:
                    self._con.execute(f"PREPARE {name} AS {sql}")
                except duckdb.CatalogException:
                    return None
                self._made += 1
                self._names[sql] = name
                while len(self._names) > KEPT:
                    _, old = self._names.popitem(last=False)
                    self._con.execute(f"DEALLOCATE {old}")
            else:
                self._names.move_to_end(sql)
            ran = self._con.execute(f"EXECUTE {name}({args})" if args else f"EXECUTE {name}")
            return list(ran.description or []), ran.fetchmany(limit)


_SHARED: PreparedStatements | None = None
_SHARED_LOCK = threading.Lock()


def shared() -> PreparedStatements:
    """The process's statements (made on first use)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = PreparedStatements()
        return _SHARED
