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
import threading
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import duckdb_kql

from drill.sim.loganalytics import kql_ext
from drill.sim.loganalytics.schema import DUCK_TYPES, TABLES, iso

kql_ext.install()

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
            self._con.execute(f'INSERT INTO ingest."_{table}" VALUES ({marks})', values)  # noqa: S608 - our table
            if row.get("Id") and isinstance(when, datetime):
                key = str(row["Id"])
                self.visible_at[key] = min(when, self.visible_at.get(key, when))

    def load_sql(self, sql: str) -> None:
        """Bulk-load rows with one SQL statement over the `ingest` tables (benchmarks, very large seeds)."""
        with self._lock:
            self._con.execute(sql)

    def sql(self, sql: str) -> list[tuple[Any, ...]]:
        """Run plain DuckDB SQL over what is stored (a benchmark's hand-written baseline)."""
        with self._lock:
            return self._con.execute(sql).fetchall()

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
                    rel = duckdb_kql.query(cur, kql, query_now=now)
                except duckdb_kql.KqlSyntaxError as exc:
                    raise QueryError("SyntaxError", str(exc)) from exc
                except (duckdb_kql.KqlError, duckdb.Error) as exc:
                    raise QueryError("SemanticError", str(exc)) from exc
                kinds = [kusto_type(str(t)) for t in rel.types]
                columns = [{"name": n, "type": k} for n, k in zip(rel.columns, kinds, strict=True)]
                fetched = rel.limit(ROW_LIMIT + 1).fetchall()
            finally:
                cur.close()
        cut = len(fetched) > ROW_LIMIT
        rows = [[_cell(v, k) for v, k in zip(r, kinds, strict=True)] for r in fetched[:ROW_LIMIT]]
        return columns, rows, cut


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
