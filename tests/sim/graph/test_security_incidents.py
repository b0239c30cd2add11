"""Graph `/security/incidents` on the simulator (drill/sim/graph/security_incidents.py): the documented
shape, query options, paging and permission, and each form of the belief `defender-alert-link`, over HTTPS
(httpx) and through msgraph-sdk as the incident step sends the request.

The workspace's Sentinel incidents are seeded straight into the simulator's Sentinel engine (the drill-level
tests in tests/e2e/test_sentinel_faults.py make them through the analytics rule instead).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from graph_support import EA01, OBSERVER_ROLES, StaticCredential, bearer, close, graph_client

from drill.sim.beliefs import all_beliefs, apply_variant
from drill.sim.faults import apply_fault
from drill.sim.graph.security_incidents import HIDDEN, ID_OFFSET
from drill.sim.loganalytics.sentinel import Incident, engine
from drill.sim.server import SimServer

RULE = "8c3f1a2b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
READER = [*OBSERVER_ROLES, "SecurityIncident.Read.All"]
INCIDENT_KEYS = {"@odata.type", "id", "incidentWebUrl", "redirectIncidentId", "tenantId", "displayName",
                 "createdDateTime", "lastUpdateDateTime", "assignedTo", "classification", "determination",
                 "status", "severity", "customTags", "systemTags", "comments", "description"}  # fmt: skip


def _seed(sim: SimServer, count: int = 1, status: str = "New") -> list[str]:
    """`count` Sentinel incidents of one alert each naming ea01 (by object id, as a passkey row logs it)."""
    sentinel = engine(sim.state)
    now = sim.state.clock.now()
    ids = []
    for n in range(count):
        alert_id = f"00000000-0000-4000-8000-{n:012d}"
        at = now - timedelta(minutes=count - n)
        sentinel.alerts[alert_id] = {
            "TimeGenerated": at, "AlertName": "Break-glass account activity", "AlertSeverity": "High",
            "Description": "", "StartTime": at - timedelta(minutes=5), "EndTime": at, "_rule": RULE,
            "_entities": [{"$id": "2", "FullName": EA01, "Type": "account"}],
        }  # fmt: skip
        number = len(sentinel.incidents) + 1
        sentinel.incidents.append(
            Incident(
                name=f"inc-{n}",
                number=number,
                title="Break-glass account activity",
                severity="High",
                rule_ids=[RULE],
                created=at,
                first_activity=at,
                last_activity=at,
                entity_keys=frozenset(),
                status=status,
                alert_ids=[alert_id],
            )
        )
        ids.append(alert_id)
    return ids


def _get(api: httpx.Client, token: str, path: str, **params: str) -> httpx.Response:
    return api.get(path, params=params, headers=bearer(token))


def test_lists_the_workspace_incidents_in_graph_shape(
    sim: SimServer, api: httpx.Client, app_token: Any
) -> None:
    _seed(sim, 2, status="Closed")
    resp = _get(api, app_token(READER), "/security/incidents")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#security/incidents")
    first = body["value"][0]
    assert set(first) == INCIDENT_KEYS  # no alerts without $expand, nothing of the simulator's own
    assert first["status"] == "resolved"  # Sentinel's Closed
    assert first["id"] == str(2 + ID_OFFSET)  # most recent first, the portal's own id
    assert (
        first["incidentWebUrl"]
        == f"https://security.microsoft.com/incidents/{first['id']}?tid={sim.state.tenant.id}"
    )


@pytest.mark.parametrize("link", list(all_beliefs()["defender-alert-link"].forms))
def test_expanded_alerts_name_the_sentinel_alert_per_form(
    sim: SimServer, api: httpx.Client, app_token: Any, link: str
) -> None:
    (alert_id,) = _seed(sim)
    apply_variant(sim.state, "defender-alert-link", link)
    body = _get(api, app_token(READER), "/security/incidents", **{"$expand": "alerts"}).json()
    (alert,) = body["value"][0]["alerts"]
    assert alert["incidentId"] == body["value"][0]["id"]
    assert (alert["providerAlertId"] == alert_id) is (link == "provider-alert-id")
    assert (alert["detectorId"] == RULE) is (link != "title-only")
    assert alert["title"] == "Break-glass account activity"
    (evidence,) = alert["evidence"]
    assert evidence["@odata.type"] == "#microsoft.graph.security.userEvidence"
    assert evidence["userAccount"]["azureAdUserId"] == EA01


def test_pages_by_next_link_keeping_the_expand(sim: SimServer, api: httpx.Client, app_token: Any) -> None:
    _seed(sim, 60)
    token = app_token(READER)
    first = _get(api, token, "/security/incidents", **{"$expand": "alerts"}).json()
    assert len(first["value"]) == 50
    link = first["@odata.nextLink"]
    assert "$expand=alerts" in link
    rest = api.get(link, headers=bearer(token)).json()
    assert len(rest["value"]) == 10
    assert "@odata.nextLink" not in rest
    assert all(i["alerts"] for i in rest["value"])
    ids = [i["id"] for i in first["value"] + rest["value"]]
    assert len(set(ids)) == 60
    top = _get(api, token, "/security/incidents", **{"$top": "5", "$count": "true"}).json()
    assert len(top["value"]) == 5
    assert top["@odata.count"] == 60


def test_filters_as_documented_and_refuses_the_rest(
    sim: SimServer, api: httpx.Client, app_token: Any
) -> None:
    _seed(sim, 3)
    token = app_token(READER)
    cut = (sim.state.clock.now() - timedelta(minutes=2, seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    recent = _get(api, token, "/security/incidents", **{"$filter": f"createdDateTime ge {cut}"}).json()
    assert len(recent["value"]) == 2
    active = _get(api, token, "/security/incidents", **{"$filter": "status eq 'active'"}).json()
    assert len(active["value"]) == 3
    for params in ({"$filter": "displayName eq 'x'"}, {"$select": "id"}, {"$expand": "comments"}):
        resp = _get(api, token, "/security/incidents", **params)
        assert resp.status_code == 400, (params, resp.text)
        assert resp.json()["error"]["code"]


def test_needs_security_incident_read(sim: SimServer, api: httpx.Client, app_token: Any) -> None:
    _seed(sim)
    refused = _get(api, app_token(OBSERVER_ROLES), "/security/incidents")
    assert refused.status_code == 403
    assert set(refused.json()["error"]) == {"code", "message", "innerError"}
    wider = _get(api, app_token([*OBSERVER_ROLES, "SecurityIncident.ReadWrite.All"]), "/security/incidents")
    assert wider.status_code == 200


def test_one_incident_by_id_and_the_fault_that_hides_them(
    sim: SimServer, api: httpx.Client, app_token: Any
) -> None:
    _seed(sim)
    token = app_token(READER)
    one = _get(api, token, f"/security/incidents/{1 + ID_OFFSET}", **{"$expand": "alerts"})
    assert one.status_code == 200
    assert one.json()["alerts"]
    assert _get(api, token, "/security/incidents/1").status_code == 404  # Sentinel's number is not its id
    apply_fault(sim.state, HIDDEN)
    assert _get(api, token, "/security/incidents").json()["value"] == []


def test_msgraph_sdk_parses_the_incidents_and_their_user_evidence(sim: SimServer, app_token: Any) -> None:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.security.user_evidence import UserEvidence
    from msgraph.generated.security.incidents.incidents_request_builder import IncidentsRequestBuilder

    (alert_id,) = _seed(sim)

    async def go() -> Any:
        client = graph_client(
            sim, StaticCredential(app_token(READER)), ["https://graph.microsoft.com/.default"]
        )
        query = IncidentsRequestBuilder.IncidentsRequestBuilderGetQueryParameters(expand=["alerts"], top=50)
        try:
            return await client.security.incidents.get(
                request_configuration=RequestConfiguration(query_parameters=query)
            )
        finally:
            await close(client)

    resp = asyncio.run(go())
    (incident,) = resp.value
    assert incident.status.value == "active"
    (alert,) = incident.alerts
    assert alert.provider_alert_id == alert_id
    (evidence,) = alert.evidence
    assert isinstance(evidence, UserEvidence)
    assert evidence.user_account.azure_ad_user_id == EA01
