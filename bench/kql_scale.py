"""The break-glass alert query at scale: 1M SigninLogs + 1M AuditLogs rows, KQL vs hand-written DuckDB SQL.

Runs playbooks/queries/demo-breakglass-alert.kql (let + dynamic ids, union isfuzzy of sign-ins and audit
events, mv-expand TargetResources, summarize with anyif/make_set_if, set_union/strcat_array) through the
simulator's LogStore (duckdb-kql + our extensions), and an equivalent hand-written SQL query on the same
tables, and prints the median latency of each, their ratio, and the machine.

    python bench/kql_scale.py              # 1,000,000 rows per table
    python bench/kql_scale.py --rows 20000 # quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

from drill.assets import DEMO_QUERIES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

EA = ("0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01", "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02")

# One row in 1,000 belongs to a break-glass account; the rest is ordinary tenant traffic.
SIGNINS = """
INSERT INTO ingest."_SigninLogs" (TimeGenerated, CreatedDateTime, Id, CorrelationId, UserId, UserPrincipalName,
    AppDisplayName, AppId, IPAddress, ResultType, AuthenticationDetails, OperationName, Category)
SELECT TIMESTAMPTZ '{t0}' + to_seconds(i % 3000) + INTERVAL 5 SECOND,
       TIMESTAMPTZ '{t0}' + to_seconds(i % 3000),
       'id-' || i, 'corr-' || i,
       CASE WHEN i % 1000 = 0 THEN '{ea1}' WHEN i % 1000 = 1 THEN '{ea2}' ELSE 'user-' || (i % 50000) END,
       'user' || (i % 50000) || '@contoso.test',
       CASE WHEN i % 3 = 0 THEN 'Azure Portal' ELSE 'Microsoft Teams' END, 'app-' || (i % 7),
       '10.0.' || (i % 250) || '.' || (i % 200), CASE WHEN i % 17 = 0 THEN '50126' ELSE '0' END,
       '[{{"authenticationMethod": "Password", "succeeded": true}}]', 'Sign-in activity', 'SignInLogs'
FROM range({rows}) t(i)
"""
AUDITS = """
INSERT INTO ingest."_AuditLogs" (TimeGenerated, Id, CorrelationId, OperationName, Category, Result, InitiatedBy,
    TargetResources)
SELECT TIMESTAMPTZ '{t0}' + to_seconds(i % 3000) + INTERVAL 5 SECOND, 'Directory_' || i, 'acorr-' || i,
       CASE WHEN i % 2 = 0 THEN 'Update user' ELSE 'Add member to group' END, 'UserManagement', 'success',
       json_object('user', json_object('id', CASE WHEN i % 1000 = 2 THEN '{ea1}' ELSE 'user-' || (i % 50000) END)),
       json_array(json_object('id', CASE WHEN i % 1000 = 3 THEN '{ea2}' ELSE 'user-' || ((i + 7) % 50000) END,
                              'userPrincipalName', 'x@contoso.test'))
FROM range({rows}) t(i)
"""
BASELINE = """
WITH ids(id) AS (VALUES ('{ea1}'), ('{ea2}')),
s AS (SELECT UserId, TimeGenerated, ResultType, AppDisplayName, IPAddress, CorrelationId FROM "SigninLogs"
      WHERE UserId IN (SELECT id FROM ids)),
a AS (SELECT t.value->>'id' AS TargetId, InitiatedBy->'user'->>'id' AS InitiatorId, OperationName,
             TimeGenerated, CorrelationId
      FROM "AuditLogs", json_each(TargetResources) t),
a2 AS (SELECT CASE WHEN TargetId IN (SELECT id FROM ids) THEN TargetId ELSE InitiatorId END AS UserId,
              TimeGenerated, OperationName, CorrelationId
       FROM a WHERE TargetId IN (SELECT id FROM ids) OR InitiatorId IN (SELECT id FROM ids)),
u AS (SELECT UserId, TimeGenerated, ResultType, AppDisplayName, IPAddress, NULL AS OperationName, CorrelationId,
             'S' AS src FROM s
      UNION ALL SELECT UserId, TimeGenerated, NULL, NULL, NULL, OperationName, CorrelationId, 'A' FROM a2)
SELECT UserId, min(TimeGenerated), max(TimeGenerated), count(*) FILTER (WHERE src = 'S'),
       count(*) FILTER (WHERE src = 'S' AND ResultType <> '0'),
       any_value(ResultType) FILTER (WHERE src = 'S'),
       list(DISTINCT AppDisplayName) FILTER (WHERE src = 'S'), list(DISTINCT IPAddress) FILTER (WHERE src = 'S'),
       list(DISTINCT OperationName) FILTER (WHERE src = 'A'), list(DISTINCT CorrelationId)
FROM u GROUP BY UserId ORDER BY 3 DESC
"""


def timed(fn: object, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> int:
    parser = argparse.ArgumentParser(description="KQL alert query at scale vs hand-written DuckDB SQL")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per table (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query (median reported)")
    args = parser.parse_args()

    from drill.sim.loganalytics.store import LogStore

    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    now = t0 + timedelta(hours=2)
    store = LogStore()
    start = time.perf_counter()
    fill = {"t0": t0.isoformat(), "rows": args.rows, "ea1": EA[0], "ea2": EA[1]}
    store.load_sql(SIGNINS.format(**fill))
    store.load_sql(AUDITS.format(**fill))
    load_s = time.perf_counter() - start
    kql = (DEMO_QUERIES / "demo-breakglass-alert.kql").read_text()

    kql_s, (_cols, kql_rows, _cut) = timed(lambda: store.query(kql, now), args.repeat)  # type: ignore[misc]
    # The baseline runs over the same visible-at-now views the KQL query just used.
    sql_s, sql_rows = timed(lambda: store.sql(BASELINE.format(**fill)), args.repeat)
    assert len(kql_rows) == len(sql_rows) == 2, (len(kql_rows), len(sql_rows))  # type: ignore[arg-type]

    print(f"machine: {describe()}")
    print(f"duckdb {metadata.version('duckdb')}, duckdb-kql {metadata.version('duckdb-kql')}")
    print(f"rows: {args.rows:,} SigninLogs + {args.rows:,} AuditLogs (loaded in {load_s:.1f}s)")
    print(f"KQL alert query (duckdb-kql + extensions): median {kql_s * 1000:.0f} ms over {args.repeat} runs")
    print(f"hand-written DuckDB SQL:                   median {sql_s * 1000:.0f} ms over {args.repeat} runs")
    print(f"ratio KQL / SQL: {kql_s / sql_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
