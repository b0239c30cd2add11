"""LogStore reuses a query's result only while nothing it could see has changed.

Alert rules re-run the same long SQL at every evaluation; the store keeps the last results and answers
from them when the SQL, its parameters and the visible rows are the same. These tests pin every way a kept
result could go stale: a new row, a row that arrives as the clock moves, a window that moves, a query that
reads the clock, and a caller that edits what it got.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from drill.sim.loganalytics.store import LogStore

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ALL = "SigninLogs | project Id | order by Id asc"


def _ids(
    store: LogStore, kql: str, now: datetime, window: tuple[datetime, datetime] | None = None
) -> list[str]:
    return [r[0] for r in store.query(kql, now, window)[1]]


def test_a_new_row_and_a_late_arrival_are_seen() -> None:
    store = LogStore()
    store.insert("SigninLogs", {"Id": "a", "TimeGenerated": T0})
    assert _ids(store, ALL, T0) == ["a"]
    assert _ids(store, ALL, T0) == ["a"]
    store.insert("SigninLogs", {"Id": "b", "TimeGenerated": T0}, arrival=T0 + timedelta(minutes=5))
    assert _ids(store, ALL, T0) == ["a"]  # not arrived yet
    assert _ids(store, ALL, T0 + timedelta(minutes=5)) == ["a", "b"]  # no write since: the clock alone
    store.insert("SigninLogs", {"Id": "c", "TimeGenerated": T0})
    assert _ids(store, ALL, T0 + timedelta(minutes=5)) == ["a", "b", "c"]


def test_a_moving_window_and_the_query_clock_are_honoured() -> None:
    store = LogStore()
    store.insert("SigninLogs", {"Id": "old", "TimeGenerated": T0})
    store.insert("SigninLogs", {"Id": "new", "TimeGenerated": T0 + timedelta(minutes=10)})
    now = T0 + timedelta(minutes=11)
    assert _ids(store, ALL, now, (T0, now)) == ["new", "old"]
    assert _ids(store, ALL, now, (T0 + timedelta(minutes=5), now)) == ["new"]
    recent = "SigninLogs | where TimeGenerated > ago(5m) | project Id"
    assert _ids(store, recent, now) == ["new"]
    assert _ids(store, recent, now + timedelta(minutes=30)) == []  # same rows, later clock


def test_a_caller_editing_its_result_changes_no_later_one() -> None:
    store = LogStore()
    store.insert("SigninLogs", {"Id": "a", "TimeGenerated": T0})
    columns, rows, _ = store.query(ALL, T0)
    rows[0][0] = "tampered"
    rows.append(["extra"])
    columns[0]["name"] = "X"
    columns2, rows2, _ = store.query(ALL, T0)
    assert rows2 == [["a"]]
    assert columns2[0]["name"] == "Id"
