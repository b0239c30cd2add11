"""The Log Analytics query API as azure-monitor-query and raw HTTP meet it, over TLS to the simulator."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from azure.monitor.query import LogsQueryStatus
from loganalytics_support import EA01, WORKSPACE, logs_client, observer_token, signin

from drill.sim.loganalytics.schema import AUDIT_COLUMNS, SIGNIN_COLUMNS

REF = Path(__file__).parent / "reference"
DRILL_APP = "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"  # the demo tenant's drill app (public client)


def _schema(name: str) -> dict[str, str]:
    rows = {}
    for line in (REF / name).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] not in {"Column", ""} and not cells[0].startswith("-"):
            rows[cells[0]] = cells[1]
    return rows


def test_signin_and_audit_columns_match_the_reference_schemas() -> None:
    assert _schema("SigninLogs_columns_azure-reference-other.md") == SIGNIN_COLUMNS
    assert _schema("AuditLogs_columns_azure-reference-other.md") == AUDIT_COLUMNS


def test_row_visible_only_after_ingestion_delay_through_logs_query_client(sim, observer_secret) -> None:
    client = logs_client(sim, observer_secret)
    event = signin(sim.state)
    query = (
        f"SigninLogs | where UserId == '{EA01}' "
        "| project Id, UserId, ResultType, TimeGenerated, CreatedDateTime, Ingested = ingestion_time()"
    )
    before = client.query_workspace(WORKSPACE, query, timespan=timedelta(hours=1))
    assert before.status == LogsQueryStatus.SUCCESS
    assert before.tables[0].rows == []
    sim.state.clock.advance(6)  # the demo workspace ingests after 5 s
    after = client.query_workspace(WORKSPACE, query, timespan=timedelta(hours=1))
    table = after.tables[0]
    assert table.name == "PrimaryResult"
    assert [r[0] for r in table.rows] == [event.id]
    row = dict(zip(table.columns, table.rows[0], strict=True))
    assert row["ResultType"] == "0"
    assert isinstance(row["ResultType"], str)
    # TimeGenerated is the event's time; the arrival (ingestion_time()) carries the ingestion delay.
    assert row["TimeGenerated"] == row["CreatedDateTime"]
    assert (row["Ingested"] - row["CreatedDateTime"]).total_seconds() == pytest.approx(5, abs=0.01)


def test_response_shape_matches_the_documented_sample(sim, observer_secret, http) -> None:
    signin(sim.state)
    sim.state.clock.advance(6)
    token = observer_token(sim)
    resp = http.post(
        f"{sim.base_url}/v1/workspaces/{WORKSPACE}/query",
        json={"query": "SigninLogs | summarize count() by Category", "timespan": "PT1H"},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = resp.json()
    sample = json.loads((REF / "loganalytics_query_response_docs.json").read_text())
    assert resp.status_code == 200
    assert set(body) == set(sample)
    assert set(body["tables"][0]) == set(sample["tables"][0])
    assert body["tables"][0]["columns"] == [
        {"name": "Category", "type": "string"},
        {"name": "count_", "type": "long"},
    ]
    assert body["tables"][0]["rows"] == [["SignInLogs", 1]]


def test_dynamic_and_string_json_columns_as_log_analytics_types_them(sim, observer_secret) -> None:
    signin(sim.state)
    sim.state.clock.advance(6)
    client = logs_client(sim, observer_secret)
    res = client.query_workspace(
        WORKSPACE,
        "SigninLogs "
        "| project ConditionalAccessPolicies, AuthenticationDetails, Status, UserPrincipalName, UserId",
        timespan=timedelta(hours=1),
    )
    table = res.tables[0]
    types = dict(zip(table.columns, table.columns_types, strict=True))
    assert types["ConditionalAccessPolicies"] == "dynamic"
    assert types["Status"] == "dynamic"
    assert types["AuthenticationDetails"] == "string"
    row = dict(zip(table.columns, table.rows[0], strict=True))
    ca = row["ConditionalAccessPolicies"]
    ca = json.loads(ca) if isinstance(ca, str) else ca
    assert ca[0]["conditionsSatisfied"] == 3  # users (2) + application (1): integers in rows
    assert json.loads(row["AuthenticationDetails"])[0]["authenticationMethod"] == "Passkey (device-bound)"
    assert row["UserPrincipalName"] == row["UserId"]  # passwordless rows can carry the id (FIDELITY.md)


def test_errors_have_log_analytics_shapes(sim, http) -> None:
    url = f"{sim.base_url}/v1/workspaces/{WORKSPACE}/query"
    good = {"Authorization": f"Bearer {observer_token(sim)}"}
    syntax = http.post(url, json={"query": "SigninLogs | wher x"}, headers=good)
    assert syntax.status_code == 400
    err = syntax.json()["error"]
    assert err["code"] == "BadArgumentError"
    assert err["innererror"]["code"] == "SyntaxError"
    assert (
        http.post(
            f"{sim.base_url}/v1/workspaces/00000000-0000-0000-0000-000000000000/query",
            json={"query": "SigninLogs"},
            headers=good,
        ).status_code
        == 404
    )
    assert http.post(url, json={"query": "SigninLogs"}).status_code == 401
    stranger = observer_token(sim, app_id="2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01", roles=())
    denied = http.post(url, json={"query": "SigninLogs"}, headers={"Authorization": f"Bearer {stranger}"})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "InsufficientAccessError"


def test_partial_error_when_the_row_limit_is_exceeded(sim, http, monkeypatch) -> None:
    from drill.sim.loganalytics import store as logstore

    monkeypatch.setattr(logstore, "ROW_LIMIT", 2)
    for _ in range(3):
        signin(sim.state)
    sim.state.clock.advance(6)
    resp = http.post(
        f"{sim.base_url}/v1/workspaces/{WORKSPACE}/query",
        json={"query": "SigninLogs | project Id"},
        headers={"Authorization": f"Bearer {observer_token(sim)}"},
    )
    body = resp.json()
    assert resp.status_code == 200
    assert len(body["tables"][0]["rows"]) == 2
    assert body["error"]["code"] == "PartialError"


def test_per_identity_rate_limit_gives_429_with_retry_after(sim, http, monkeypatch) -> None:
    from drill.sim.loganalytics import workspace as loganalytics

    monkeypatch.setattr(loganalytics, "RATE_LIMIT", 3)
    headers = {"Authorization": f"Bearer {observer_token(sim)}"}
    url = f"{sim.base_url}/v1/workspaces/{WORKSPACE}/query"
    codes = [http.post(url, json={"query": "SigninLogs | take 1"}, headers=headers) for _ in range(4)]
    assert [c.status_code for c in codes] == [200, 200, 200, 429]
    assert re.fullmatch(r"\d+", codes[-1].headers["Retry-After"])


def test_noninteractive_columns_match_the_reference_schema() -> None:
    from drill.sim.loganalytics.noninteractive import COLUMNS

    assert _schema("AADNonInteractiveUserSignInLogs_columns_azure-reference-other.md") == COLUMNS


def test_a_refresh_token_redemption_is_a_noninteractive_row_with_the_clients_request_id(
    sim, observer_secret, http
) -> None:
    """The token endpoint logs the redemption as a non-interactive sign-in of the token's user; its
    CorrelationId is the client's `client-request-id`; Status and DeviceDetail are strings in this table."""
    import uuid as _uuid

    from drill.sim.identity.oidc import user_tokens

    app, user = sim.state.tenant.application(DRILL_APP), sim.state.tenant.user(EA01)
    refresh = user_tokens(sim.state, app=app, user=user, requested=["User.Read", "offline_access"],
                          auth={"amr": ["fido"]}, nonce=None, session_id="s")["refresh_token"]  # fmt: skip
    chosen = str(_uuid.uuid4())
    reply = http.post(
        f"{sim.base_url}/{sim.state.tenant.id}/oauth2/v2.0/token",
        data={"client_id": DRILL_APP, "grant_type": "refresh_token", "refresh_token": refresh},
        headers={"client-request-id": chosen},
    )
    assert reply.status_code == 200, reply.text
    sim.state.clock.advance(6)
    client = logs_client(sim, observer_secret)
    table = client.query_workspace(
        WORKSPACE,
        "AADNonInteractiveUserSignInLogs | project CorrelationId, UserId, IsInteractive, ResultType, Status, "
        "DeviceDetail, Category, Type",
        timespan=timedelta(hours=1),
    ).tables[0]
    rows = [dict(zip(table.columns, r, strict=True)) for r in table.rows]
    assert [(r["CorrelationId"], r["UserId"], r["IsInteractive"], r["ResultType"]) for r in rows] == [
        (chosen, EA01, False, "0")
    ]
    assert isinstance(rows[0]["Status"], str)
    assert json.loads(rows[0]["Status"])["errorCode"] == 0
    assert (rows[0]["Category"], rows[0]["Type"]) == (
        "NonInteractiveUserSignInLogs",
        "AADNonInteractiveUserSignInLogs",
    )
    interactive = client.query_workspace(WORKSPACE, "SigninLogs | count", timespan=timedelta(hours=1))
    assert interactive.tables[0].rows[0][0] == 0
