"""Graph-level faults (throttling, 5xx bursts) at the protocol level, and JSON batching."""

from __future__ import annotations

import asyncio
from typing import Any

from graph_support import EA01, EA02, GA, MAILBOX, StaticCredential, bearer, close, graph_client

from drill.sim.faults import all_faults, apply_fault
from drill.sim.server import SimServer


def test_graph_faults_are_listed() -> None:
    names = set(all_faults())
    assert {"ga-removed", "ga-eligible-only", "ga-time-bound", "ga-group-only", "graph-throttled",
            "graph-5xx-burst"} <= names  # fmt: skip


def test_throttled_answers_429_with_retry_after_then_recovers(
    sim: SimServer, delegated: Any, api: Any
) -> None:
    apply_fault(sim.state, "graph-throttled")
    h = bearer(delegated())
    budget = sim.state.faults["graph-throttled"]["remaining"]
    for _ in range(budget):
        resp = api.get("/me", headers=h)
        assert resp.status_code == 429
        assert resp.headers["Retry-After"] == "1"
        assert resp.json()["error"]["code"] == "TooManyRequests"
    assert api.get("/me", headers=h).status_code == 200


def test_sdk_retries_through_a_short_throttle(sim: SimServer, delegated: Any) -> None:
    apply_fault(sim.state, "graph-throttled")
    sim.state.faults["graph-throttled"]["remaining"] = 2  # within msgraph-sdk's 3 retries
    client = graph_client(sim, StaticCredential(delegated()), ["https://graph.microsoft.com/User.Read"])

    async def go() -> Any:
        try:
            return await client.users.by_user_id(EA01).get()
        finally:
            await close(client)

    assert asyncio.run(go()).id == EA01
    assert sim.state.faults["graph-throttled"]["served"] == 2


def test_5xx_burst_then_normal(sim: SimServer, app_token: Any, api: Any) -> None:
    apply_fault(sim.state, "graph-5xx-burst")
    h = bearer(app_token())
    statuses = [api.get(f"/users/{MAILBOX}/messages", headers=h).status_code for _ in range(5)]
    assert statuses == [503, 504, 503, 504, 200]


def test_batch(sim: SimServer, delegated: Any, api: Any) -> None:
    flt = f"principalId eq '{EA01}'"
    requests = [
        {"id": "1", "method": "GET", "url": "/me?$select=id"},
        {
            "id": "2",
            "method": "GET",
            "url": f"roleManagement/directory/roleAssignmentScheduleInstances?$filter={flt}",
        },
        {"id": "3", "method": "GET", "url": "/users/nobody@contoso.test"},
        {"id": "4", "method": "GET", "url": f"/users/{EA02}", "dependsOn": ["3"]},
        {"id": "5", "method": "GET", "url": f"/users/{EA02}?$select=accountEnabled", "dependsOn": ["1"]},
    ]
    resp = api.post("/$batch", json={"requests": requests}, headers=bearer(delegated()))
    assert resp.status_code == 200
    by_id = {r["id"]: r for r in resp.json()["responses"]}
    assert by_id["1"]["status"] == 200
    assert by_id["1"]["body"]["id"] == EA01
    [inst] = by_id["2"]["body"]["value"]
    assert inst["roleDefinitionId"] == GA
    assert by_id["3"]["status"] == 404
    assert by_id["3"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert by_id["4"]["status"] == 424
    assert by_id["5"]["body"]["accountEnabled"] is True
    # under throttling each inner request counts, the envelope does not
    apply_fault(sim.state, "graph-throttled")
    sim.state.faults["graph-throttled"]["remaining"] = 1
    throttled = api.post("/$batch", json={"requests": requests[:2]}, headers=bearer(delegated()))
    assert throttled.status_code == 200
    assert [r["status"] for r in throttled.json()["responses"]] == [429, 200]
    assert throttled.json()["responses"][0]["headers"]["Retry-After"] == "1"
    # each inner request is authorised on its own
    scoped = api.post(
        "/$batch", json={"requests": requests[:2]}, headers=bearer(delegated(scopes="User.Read"))
    )
    assert [r["status"] for r in scoped.json()["responses"]] == [200, 403]


def test_batch_limits(sim: SimServer, delegated: Any, api: Any) -> None:
    h = bearer(delegated())
    many = [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]
    assert api.post("/$batch", json={"requests": many}, headers=h).status_code == 400
    dup = [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}]
    assert api.post("/$batch", json={"requests": dup}, headers=h).status_code == 400
    nested = [{"id": "1", "method": "POST", "url": "/$batch", "body": {"requests": []}}]
    assert api.post("/$batch", json={"requests": nested}, headers=h).status_code == 400
    assert (
        api.post(
            "/$batch", content=b"{not json", headers={**h, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert api.post("/$batch", json={"requests": many[:1]}).status_code == 401


def test_control_route_tunes_graph_faults(sim: SimServer, delegated: Any, api: Any) -> None:
    control = f"{sim.base_url}/_sim/graph/faults"
    set_ = api.post(control, json={"name": "graph-5xx-burst", "remaining": 1, "retryAfter": 2})
    assert set_.json()["faults"] == {"graph-5xx-burst": {"remaining": 1, "retryAfter": 2}}
    first = api.get("/me", headers=bearer(delegated()))
    assert (first.status_code, first.headers["Retry-After"]) == (503, "2")
    assert api.get("/me", headers=bearer(delegated())).status_code == 200
    state = api.get(control).json()
    assert state["requests"] >= 2
    assert state["faults"]["graph-5xx-burst"]["remaining"] == 0
    assert api.post(control, json={"name": "ga-removed"}).status_code == 400
