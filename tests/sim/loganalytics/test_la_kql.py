"""KQL as break-glass alert rules use it, on DuckDB through duckdb-kql plus our extensions."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from loganalytics_support import ALICE, EA01, EA02

from drill.assets import DEMO_QUERIES, EXAMPLE_QUERIES
from drill.sim.loganalytics.schema import audit_row, signin_row
from drill.sim.loganalytics.store import LogStore, QueryError
from drill.sim.state import AuditEvent, SignInEvent

REPO = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)

QUERY = f"""
let BreakGlass = dynamic(["{EA01}", "{EA02}"]);
let SignIns = SigninLogs
    | where UserId in (BreakGlass)
    | project TimeGenerated, UserId, Source = "SigninLogs", Activity = AppDisplayName, ResultType;
let Changes = AuditLogs
    | mv-expand Target = TargetResources to typeof(dynamic)
    | extend TargetId = tostring(Target.id), InitiatorId = tostring(InitiatedBy.user.id)
    | where TargetId in (BreakGlass) or InitiatorId in (BreakGlass)
    | extend Role = case(TargetId in (BreakGlass) and InitiatorId in (BreakGlass), "both",
                         TargetId in (BreakGlass), "target", "initiator")
    | project TimeGenerated, UserId = iif(TargetId in (BreakGlass), TargetId, InitiatorId),
              Source = "AuditLogs", Activity = OperationName, ResultType = Role;
union isfuzzy=true SignIns, Changes
| summarize SignIns = countif(Source == "SigninLogs"),
            LastResult = anyif(ResultType, Source == "SigninLogs"),
            Roles = make_set_if(ResultType, Source == "AuditLogs"),
            Apps = make_set_if(Activity, Source == "SigninLogs"),
            Changes = make_set_if(Activity, Source == "AuditLogs")
    by UserId
| extend All = strcat_array(set_union(Apps, Changes), ", ")
| sort by UserId asc
"""


def _store() -> LogStore:
    store = LogStore()
    tid = "t"

    def s(user: str, minutes: int, result: str = "0", app: str = "Break-glass drill") -> None:
        e = SignInEvent(
            created=T0 + timedelta(minutes=minutes),
            user_id=user,
            user_principal_name="u@x",
            user_display_name="U",
            app_id="a",
            app_display_name=app,
            result_type=result,
        )
        store.insert("SigninLogs", signin_row(e, tid, e.created + timedelta(seconds=5)))

    def a(op: str, initiator: str, target: str, minutes: int) -> None:
        e = AuditEvent(
            created=T0 + timedelta(minutes=minutes),
            category="RoleManagement",
            operation_name=op,
            initiated_by={"user": {"id": initiator}},
            target_resources=[{"id": target, "type": "User"}],
            id=f"Directory_{op}_{minutes}",
        )
        store.insert("AuditLogs", audit_row(e, tid, e.created + timedelta(seconds=5)))

    s(EA01, 1)
    s(EA01, 2, result="50057", app="Azure Portal")
    s(ALICE, 3)  # unrelated sign-in
    a("Add member to role", ALICE, EA02, 4)  # target only
    a("Update user", EA01, ALICE, 5)  # initiator only
    a("Reset password", EA02, EA02, 6)  # both
    a("Add member to group", ALICE, "99999999-0000-0000-0000-000000000000", 7)  # unrelated
    return store


def test_break_glass_query_returns_exactly_the_expected_rows() -> None:
    columns, rows, cut = _store().query(QUERY, NOW)
    names = [c["name"] for c in columns]
    got = [dict(zip(names, r, strict=True)) for r in rows]
    assert not cut
    assert [g["UserId"] for g in got] == [EA01, EA02]
    ea01, ea02 = got
    assert ea01["SignIns"] == 2
    assert ea01["LastResult"] in {"0", "50057"}
    assert sorted(json.loads(ea01["Apps"])) == ["Azure Portal", "Break-glass drill"]
    assert json.loads(ea01["Roles"]) == ["initiator"]
    assert json.loads(ea01["Changes"]) == ["Update user"]
    assert set(ea01["All"].split(", ")) == {"Azure Portal", "Break-glass drill", "Update user"}
    assert ea02["SignIns"] == 0
    assert ea02["LastResult"] is None
    assert sorted(json.loads(ea02["Roles"])) == ["both", "target"]
    assert sorted(json.loads(ea02["Changes"])) == ["Add member to role", "Reset password"]
    assert json.loads(ea02["Apps"]) == []


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("set_union(dynamic([1, 2]), dynamic([2, 3]))", [1, 2, 3]),
        ("set_union(dynamic([]), dynamic(['a']))", ["a"]),
        ("strcat_array(dynamic(['a', 'b', 'c']), '-')", "a-b-c"),
        ("strcat_array(dynamic([1, 2]), ',')", "1,2"),
        ("strcat_array(dynamic([]), ',')", ""),
    ],
)
def test_scalar_extensions(expr: str, expected: object) -> None:
    _cols, rows, _ = LogStore().query(f"print r = {expr}", NOW)
    value = rows[0][0]
    if isinstance(expected, list):
        assert sorted(json.loads(value), key=str) == expected
    else:
        assert value == expected


def test_aggregate_extensions_skip_nulls_and_duplicates() -> None:
    q = (
        "datatable(k: string, v: string, p: bool) "
        "['a', 'x', true, 'a', 'x', true, 'a', 'y', false, 'a', '', true,"
        " 'b', 'z', false] | summarize s = make_set_if(v, p), any = anyif(v, p) by k | sort by k asc"
    )
    _cols, rows, _ = LogStore().query(q, NOW)
    a, b = rows
    assert sorted(json.loads(a[1])) == ["", "x"]
    assert a[2] in {"x", ""}
    assert json.loads(b[1]) == []
    assert b[2] is None


def test_ingestion_time_is_time_generated() -> None:
    _c, rows, _ = _store().query("SigninLogs | project d = ingestion_time() - TimeGenerated | take 1", NOW)
    assert rows[0][0] in {"0:00:00", 0, "00:00:00"}


def test_rows_not_yet_ingested_are_invisible() -> None:
    _c, rows, _ = _store().query("SigninLogs | count", T0 + timedelta(minutes=1, seconds=4))
    assert rows == [[0]]


def test_bad_kql_is_a_syntax_error() -> None:
    with pytest.raises(QueryError) as err:
        LogStore().query("SigninLogs | where", NOW)
    assert err.value.kind == "SyntaxError"


SHIPPED_QUERIES = sorted([*DEMO_QUERIES.glob("*.kql"), *EXAMPLE_QUERIES.glob("*.kql")])


@pytest.mark.parametrize("path", SHIPPED_QUERIES, ids=[p.name for p in SHIPPED_QUERIES])
def test_shipped_queries_run(path: Path) -> None:
    _store().query(path.read_text(), NOW)


def test_drill_sim_query_cli(tmp_path: Path) -> None:
    fixture = tmp_path / "tenant.yaml"
    fixture.write_text(
        "tenant: {id: 6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00}\n"
        "seedLogs:\n  SigninLogs:\n"
        "    - {TimeGenerated: '2026-11-01T12:00:05Z', CreatedDateTime: '2026-11-01T12:00:00Z',"
        f" UserId: {EA01},"
        " ResultType: '0', AppDisplayName: Break-glass drill}\n"
    )
    query = tmp_path / "q.kql"
    query.write_text("SigninLogs | project UserId, ResultType")
    ok = subprocess.run(
        [sys.executable, "-m", "drill", "sim", "query", str(query), "--tenant", str(fixture)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert EA01[:8] in ok.stdout
    assert "1 row(s)" in ok.stdout
    query.write_text("SigninLogs | wher")
    bad = subprocess.run(
        [sys.executable, "-m", "drill", "sim", "query", str(query), "--tenant", str(fixture)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "SyntaxError" in bad.stderr


def test_a_cached_translation_follows_each_querys_clock_and_keeps_a_pinned_one() -> None:
    """Each text is translated once: ago() must still move with the clock, and `set query_now` stays put."""
    store = _store()
    recent = "SigninLogs | where TimeGenerated > ago(30m) | count"
    moments = (T0 + timedelta(minutes=20), NOW + timedelta(days=1))
    counts = [store.query(recent, at)[1][0][0] for at in moments]
    assert counts[0] > 0
    assert counts[1] == 0  # a day later nothing is recent: the cached SQL was bound to the new clock
    pinned = "set query_now = datetime(2026-11-01T12:20:00Z);\n" + recent
    late = [store.query(pinned, at)[1][0][0] for at in (NOW, NOW + timedelta(days=1))]
    assert late == [counts[0], counts[0]]  # the query's own clock, whatever `now` the caller passes
