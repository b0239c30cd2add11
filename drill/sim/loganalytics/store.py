"""The workspace's tables in DuckDB, with ingestion delay and KQL through duckdb-kql (+ our extensions).

Rows are stored when the event happens. TimeGenerated is the event's own time (as Azure Monitor stamps it
at the source); the row's arrival in the workspace, `_TimeReceived` (what `ingestion_time()` returns), is
event + ingestion delay, and a query sees the row only once the simulator clock passes its arrival. A
query's timespan bounds TimeGenerated, not arrival, so a late row can be outside a window evaluated after
it arrived and invisible to one evaluated before: exactly the trap a log search alert can fall into.
"""

from __future__ import annotations

import json
import random
import re
import threading
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import duckdb_kql
from duckdb_kql.engine import schema as table_schema
from duckdb_kql.params import as_datetime
from duckdb_kql.translate import CLOCK_SLOT  # where the query clock is bound (pinned version: pyproject)

from drill.sim.loganalytics import kql_ext
from drill.sim.loganalytics.prepared import once_bound, shared
from drill.sim.loganalytics.schema import DUCK_TYPES, TABLES, iso

kql_ext.install()

TRANSLATIONS_KEPT = 1024  # distinct query texts whose translation is kept (alert rules, the drill's queries)
# KQL -> (SQL, parameters, pinned clock, the SQL's prepared form or None: prepared.once_bound). Shared by
# every store in the process: each has the same tables (schema.TABLES), so a translation made for one holds
# for all, and a test run that starts many simulated tenants translates each alert query once instead of once
# per tenant.
_TRANSLATIONS: dict[str, tuple[str, dict[str, Any], bool, str | None]] = {}
_TRANSLATIONS_LOCK = threading.Lock()

# Results kept per store: an alert rule re-runs the same query every evaluation, and DuckDB spends ~30-70 ms
# of CPU binding duckdb-kql's long SQL each time, while the rows it can see rarely change between two runs.
# A result is reused only for the same SQL and parameters over exactly the same visible rows (same row ids,
# no write since: every write empties the cache), and never for SQL that reads a clock or a random source.
RESULTS_KEPT = 64
RESULTS_MAX_ROWS = 2_000  # visible rows above which the row-id check costs more than it can save
_VOLATILE = re.compile(
    r"\b(random|setseed|uuid|gen_random_uuid|uuidv4|uuidv7|now|today|current_timestamp|current_date|"
    r"current_time|current_localtimestamp|get_current_time|get_current_timestamp|transaction_timestamp|"
    r"getvariable|nextval|currval)\b",
    re.IGNORECASE,
)

# The hidden arrival column: Log Analytics' standard `_TimeReceived`, read by `ingestion_time()`.
ARRIVAL = "_TimeReceived"
# The Log Analytics API caps results (500,000 rows); past it, PartialError with the truncated rows.
ROW_LIMIT = 500_000
_KUSTO_OF_DUCK = {
    "VARCHAR": "string",
    "TIMESTAMP WITH TIME ZONE": "datetime",
    "TIMESTAMP": "datetime",
    "BIGINT": "long",
    "INTEGER": "int",
    "DOUBLE": "real",
    "FLOAT": "real",
    "BOOLEAN": "bool",
    "JSON": "dynamic",
    "HUGEINT": "long",
    "DECIMAL": "decimal",
    "UUID": "guid",
    "INTERVAL": "timespan",
    "DATE": "datetime",
}


class QueryError(Exception):
    """The query cannot run: `kind` is syntax or semantic, as Log Analytics' 400 inner error says."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def kusto_type(duck_type: str) -> str:
    text = str(duck_type).upper()
    if text.endswith("[]") or text.startswith(("STRUCT", "MAP")):
        return "dynamic"
    return _KUSTO_OF_DUCK.get(text.split("(")[0], "string")


def _cell(value: Any, kind: str) -> Any:
    """A value as the query API writes it: datetimes ISO, dynamic values as JSON text."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, datetime | date):
        return iso(value) if isinstance(value, datetime) else value.isoformat()
    if kind == "dynamic":
        return value if isinstance(value, str) else json.dumps(value, default=str)
    if isinstance(value, timedelta):
        return str(value)
    return value


class LogStore:
    def __init__(self) -> None:
        self._con = duckdb.connect()
        self._lock = threading.Lock()
        # row Id -> when a query can first see it (its first arrival; a duplicate arrives later)
        self.visible_at: dict[str, datetime] = {}
        self._results: dict[tuple[Any, ...], tuple[list[dict[str, str]], list[list[Any]], bool]] = {}
        self._writes = 0  # every write bumps it and empties _results
        # Rows live in schema `ingest`; queries see views of what has been ingested by their `now`.
        self._con.execute("CREATE SCHEMA ingest")
        for table, columns in TABLES.items():
            cols = ", ".join(f'"{name}" {DUCK_TYPES[kind]}' for name, kind in columns.items())
            cols += f', "{ARRIVAL}" TIMESTAMPTZ'
            self._con.execute(f'CREATE TABLE ingest."_{table}" ({cols})')

    def insert(self, table: str, row: dict[str, Any], arrival: datetime | None = None) -> None:
        """Store a row that becomes queryable at `arrival` (default: its TimeGenerated, for seed rows)."""
        columns = TABLES[table]
        values = []
        for name, kind in columns.items():
            value = row.get(name)
            if kind == "dynamic" and value is not None and not isinstance(value, str):
                value = json.dumps(value)
            values.append(value)
        when = arrival or row.get("TimeGenerated")
        values.append(when)
        marks = ", ".join("?" for _ in range(len(columns) + 1))
        with self._lock:
            self._forget()
            self._con.execute(f'INSERT INTO ingest."_{table}" VALUES ({marks})', values)  # noqa: S608 - our table
            if row.get("Id") and isinstance(when, datetime):
                key = str(row["Id"])
                self.visible_at[key] = min(when, self.visible_at.get(key, when))

    def load_sql(self, sql: str) -> None:
        """Bulk-load rows with one SQL statement over the `ingest` tables (benchmarks, very large seeds)."""
        with self._lock:
            self._forget()
            self._con.execute(sql)

    def sql(self, sql: str) -> list[tuple[Any, ...]]:
        """Run plain DuckDB SQL over what is stored (a benchmark's hand-written baseline)."""
        with self._lock:
            self._forget()  # plain SQL may write
            return self._con.execute(sql).fetchall()

    def _translated(self, cur: Any, kql: str, now: datetime) -> tuple[str, dict[str, Any], str | None]:
        """The SQL of `kql`, its parameters with the clock at `now`, and its prepared form when it reads no
        stored table (prepared.once_bound), translating each text only once.

        Alert rules run the same few queries at every evaluation, and translating one (parse and lower)
        costs far more than running it on a drill's rows. The translation does not depend on the clock:
        duckdb-kql binds `now()` as the parameter CLOCK_SLOT, so a cached one is re-bound to `now`, unless
        the query pinned its own clock (`set query_now`), which is kept as the query wrote it.
        """
        with _TRANSLATIONS_LOCK:
            cached = _TRANSLATIONS.get(kql)
        if cached is None:
            result = duckdb_kql.to_sql(kql, schema=table_schema(cur), query_now=now)
            if result.unbound:
                raise duckdb_kql.KqlSchemaError(
                    ", ".join(result.unbound), hint="declared query parameter with no value and no default"
                )
            # The library binds the clock as naive UTC: compare like with like to see whether it is ours.
            clock = as_datetime(now, "query_now")
            pinned = result.parameters.get(CLOCK_SLOT, clock) != clock
            sql = str(result)
            cached = (sql, dict(result.parameters), pinned, once_bound(sql, result.parameters, list(TABLES)))
            with _TRANSLATIONS_LOCK:
                _TRANSLATIONS[kql] = cached
                while len(_TRANSLATIONS) > TRANSLATIONS_KEPT:
                    _TRANSLATIONS.pop(next(iter(_TRANSLATIONS)))
        sql, params, pinned, once = cached
        if CLOCK_SLOT in params and not pinned:
            params = {**params, CLOCK_SLOT: as_datetime(now, "query_now")}
        return sql, params, once

    def query(
        self, kql: str, now: datetime, window: tuple[datetime, datetime] | None = None
    ) -> tuple[list[dict[str, str]], list[list[Any]], bool]:
        """Columns, rows, and whether the result was cut at ROW_LIMIT (a PartialError)."""
        with self._lock:
            cur = self._con.cursor()
            try:
                # A row bulk-loaded without an arrival (benchmarks) arrives at its TimeGenerated.
                arrived = f'coalesce("{ARRIVAL}", "TimeGenerated")'
                bound = f"{arrived} <= {_ts(now)}"
                if window is not None:
                    bound += f' AND "TimeGenerated" BETWEEN {_ts(window[0])} AND {_ts(window[1])}'
                for table in TABLES:
                    # Table names are our schema's constants and the bounds are datetimes we format.
                    view = (
                        f'CREATE OR REPLACE VIEW "{table}" AS SELECT * EXCLUDE ("{ARRIVAL}"), '  # noqa: S608
                        f'{arrived} AS "{ARRIVAL}" FROM ingest."_{table}" WHERE {bound}'
                    )
                    cur.execute(view)
                try:
                    sql, params, once = self._translated(cur, kql, now)
                    ran = shared().run(once, params, ROW_LIMIT + 1) if once is not None else None
                    if ran is not None:  # reads no stored table: prepared once (prepared.py says why)
                        key, (described, fetched) = None, ran
                    else:
                        key = self._result_key(cur, sql, params, bound)
                        if key is not None and key in self._results:
                            return _copied(self._results[key])
                        cur.execute("SET TimeZone='UTC'")  # KQL datetimes are UTC (duckdb_kql.to_sql's note)
                        # One prepare and one run (a relation plus .limit() would bind the query twice).
                        cur.execute(sql, params) if params else cur.execute(sql)
                        fetched = cur.fetchmany(ROW_LIMIT + 1)
                        described = cur.description or []
                except duckdb_kql.KqlSyntaxError as exc:
                    raise QueryError("SyntaxError", str(exc)) from exc
                except (duckdb_kql.KqlError, duckdb.Error) as exc:
                    raise QueryError("SemanticError", str(exc)) from exc
                kinds = [kusto_type(str(d[1])) for d in described]
                columns = [{"name": d[0], "type": k} for d, k in zip(described, kinds, strict=True)]
            finally:
                cur.close()
        cut = len(fetched) > ROW_LIMIT
        rows = [[_cell(v, k) for v, k in zip(r, kinds, strict=True)] for r in fetched[:ROW_LIMIT]]
        if key is not None:
            with self._lock:
                if key[0] != self._writes:  # a write landed since: what we saw may already be stale
                    return columns, rows, cut
                if len(self._results) >= RESULTS_KEPT:
                    self._results.pop(next(iter(self._results)))
                self._results[key] = _copied((columns, rows, cut))
        return columns, rows, cut

    def _forget(self) -> None:
        """Called under the lock before any write."""
        self._writes += 1
        self._results.clear()

    def _result_key(self, cur: Any, sql: str, params: dict[str, Any], bound: str) -> tuple[Any, ...] | None:
        """What decides this query's result: the store's writes, its SQL and parameters, and the ids of the
        rows it can see. None when it must run (it reads a clock or randomness, or sees too many rows)."""
        if _VOLATILE.search(sql):
            return None
        # Table names are our schema's constants and the bound is datetimes we format.
        ids = " UNION ALL ".join(
            f'SELECT {i} AS t, rowid AS r FROM ingest."_{t}" WHERE {bound}'  # noqa: S608
            for i, t in enumerate(TABLES)
        )
        visible = tuple(cur.execute(f"{ids} ORDER BY t, r LIMIT {RESULTS_MAX_ROWS + 1}").fetchall())
        if len(visible) > RESULTS_MAX_ROWS:
            return None
        return self._writes, sql, repr(sorted(params.items())), visible


def _copied(
    result: tuple[list[dict[str, str]], list[list[Any]], bool],
) -> tuple[list[dict[str, str]], list[list[Any]], bool]:
    """A copy a caller may change without changing what the cache holds (cells are immutable)."""
    columns, rows, cut = result
    return [dict(c) for c in columns], [list(r) for r in rows], cut


def _ts(value: datetime) -> str:
    return f"TIMESTAMPTZ '{value.isoformat()}'"


def ingestion_delay(spec: dict[str, Any] | None, rng: random.Random) -> float:
    """Seconds from event to TimeGenerated: {fixed: N} or {lognormal: {median, p95}} (seeded rng)."""
    spec = spec or {"fixed": 5}
    if "fixed" in spec:
        return float(spec["fixed"])
    if "lognormal" in spec:
        import math

        median, p95 = float(spec["lognormal"]["median"]), float(spec["lognormal"]["p95"])
        sigma = math.log(p95 / median) / 1.645
        return float(rng.lognormvariate(math.log(median), sigma))
    raise ValueError(
        f"ingestionDelaySeconds: expected {{fixed: N}} or {{lognormal: {{median, p95}}}}, got {spec}"
    )
