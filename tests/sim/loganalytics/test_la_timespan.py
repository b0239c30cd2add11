"""The query body's timespan bounds TimeGenerated as Log Analytics does: rows outside it are not returned."""

from __future__ import annotations

from typing import Any

QUERY = "SigninLogs | project Id"
WORKSPACE = "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c01"
EA01 = "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01"


def _token(sim: Any) -> str:
    from drill.sim.state import token_service

    token: str = token_service(sim.state).issue(
        {
            "aud": "https://api.loganalytics.io",
            "appid": "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02",
            "roles": ["Data.Read"],
            "oid": "0b0b0b0b-0000-4000-8000-000000000001",
        }
    )
    return token


def _ids(sim: Any, http: Any, timespan: str) -> list[str]:
    response = http.post(
        f"{sim.base_url}/v1/workspaces/{WORKSPACE}/query",
        json={"query": QUERY, "timespan": timespan},
        headers={"Authorization": f"Bearer {_token(sim)}"},
    )
    assert response.status_code == 200, response.text
    return [row[0] for row in response.json()["tables"][0]["rows"]]


def test_timespan_excludes_rows_ingested_before_it(sim, http) -> None:
    from drill.sim.state import SignInEvent

    event = SignInEvent(
        created=sim.state.clock.now(),
        user_id=EA01,
        user_principal_name="ea01@contoso.onmicrosoft.com",
        user_display_name="EA01",
        app_id="2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01",
        app_display_name="Break-glass drill",
        result_type="0",
    )
    sim.state.emit_signin(event)
    sim.state.clock.advance(2 * 3600)  # ingested ~2 h ago
    assert event.id not in _ids(sim, http, "PT1H")
    assert event.id in _ids(sim, http, "PT3H")
