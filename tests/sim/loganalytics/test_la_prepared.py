"""Statements that read no stored table run prepared, once per process, with the same answers.

The audit's synthetic proofs (a rule's query over `datatable` rows) read nothing stored, and bind for ~50 ms
at every run; drill/sim/loganalytics/prepared.py prepares each once and binds the clock once. These tests
pin what must not change: the answer under a moving clock, the store's own rows kept out of it, the tables a
statement reads sending it down the plain path, and a statement prepared only once across stores.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from drill.sim.loganalytics import prepared
from drill.sim.loganalytics.schema import TABLES
from drill.sim.loganalytics.store import LogStore

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# now() twice: duckdb-kql writes the clock at each reference.
SYNTHETIC = (
    "let SigninLogs = datatable(Id:string, TimeGenerated:datetime)"
    "['a', datetime(2026-12-01 11:58:00), 'b', datetime(2026-12-01 11:40:00)]; "
    "SigninLogs | where TimeGenerated > ago(5m) and TimeGenerated <= now() | project Id, Seen = now()"
)


def test_the_clock_written_twice_is_bound_once_and_a_stored_table_keeps_the_plain_path() -> None:
    clock = prepared.CLOCK_REF
    sql = f'WITH "x" AS (SELECT {clock} AS a) SELECT a, {clock} AS b FROM "x"'  # noqa: S608
    once = prepared.once_bound(sql, {"kqlnow": T0}, list(TABLES))
    assert once is not None
    assert once.count("$kqlnow") == 1
    assert once.startswith('WITH "__drill_clock" AS (')
    plain = f"SELECT {clock} AS a"
    assert prepared.once_bound(plain, {"kqlnow": T0}, list(TABLES)) == plain
    stored = f'SELECT {clock}, * FROM "SigninLogs"'  # noqa: S608
    assert prepared.once_bound(stored, {"kqlnow": T0}, list(TABLES)) is None
    assert prepared.once_bound("SELECT $kqlp0 AS a, $kqlp0 AS b", {"kqlp0": 1}, list(TABLES)) is None
    assert prepared.once_bound("SELECT $kqlnow + 1, $kqlnow", {"kqlnow": T0}, list(TABLES)) is None
    recursive = f"WITH RECURSIVE r(n) AS (SELECT 1) SELECT {clock}, {clock}, n FROM r"  # noqa: S608
    assert prepared.once_bound(recursive, {"kqlnow": T0}, list(TABLES)) is None


def test_a_synthetic_query_answers_as_the_clock_moves_and_never_sees_stored_rows() -> None:
    store = LogStore()
    store.insert("SigninLogs", {"Id": "stored", "TimeGenerated": T0})
    _cols, rows, cut = store.query(SYNTHETIC, T0)
    assert [r[0] for r in rows] == ["a"]
    assert rows[0][1].startswith("2026-12-01T12:00:00")  # now() is the query's clock, at each reference
    assert cut is False
    later = store.query(SYNTHETIC, T0 + timedelta(minutes=10))[1]
    assert later == []  # same statement, later clock: 'a' is now older than five minutes
    earlier = store.query(SYNTHETIC, T0 - timedelta(minutes=19))[1]
    assert [r[0] for r in earlier] == ["b"]
    assert earlier[0][1].startswith("2026-12-01T11:41:00")


def test_each_statement_is_prepared_once_for_every_store() -> None:
    shared = prepared.shared()
    text = SYNTHETIC.replace("project Id, Seen", "project Id, Again")  # a statement no other test prepared
    made = shared._made
    first = LogStore().query(text, T0)
    assert shared._made == made + 1  # prepared on the shared connection
    second = LogStore().query(text, T0)
    assert shared._made == made + 1  # the other store's statement, not a new one
    assert second == first


def test_a_failed_prepare_is_not_kept_and_an_unknown_table_goes_back_to_the_store() -> None:
    statements = prepared.PreparedStatements()
    with pytest.raises(duckdb.Error):
        statements.run("SELECT 1 +", {}, 10)
    assert statements._names == {}
    with pytest.raises(duckdb.Error):
        statements.run("SELECT CAST('x' AS INTEGER) AS n", {}, 10)  # fails when run, as the store's would
    assert statements.run('SELECT * FROM "NotStoredAnywhere"', {}, 10) is None  # the store runs it itself
    described, rows = statements.run("SELECT 1 AS one", {}, 10) or ([], [])
    assert [d[0] for d in described] == ["one"]
    assert rows == [(1,)]
