"""Microsoft Sentinel's scheduled analytics rules on the simulator clock: alerts, incidents, grouping,
automation, and each Sentinel fault's effect on the rows (issue 24). The drill's view is tested at the
step level in tests/e2e/test_sentinel_faults.py."""

from __future__ import annotations

import json

import pytest
from loganalytics_support import EA01, EA02, advance, signin

from drill.sim.faults import apply_fault
from drill.sim.loganalytics import sentinel_faults
from drill.sim.loganalytics.sentinel import engine
from drill.sim.loganalytics.workspace import run_query

ALERTS = (
    "SecurityAlert"
    " | project SystemAlertId, AlertName, Entities, StartTime, EndTime, ExtendedProperties, AlertType"
)
INCIDENTS = (
    "SecurityIncident | summarize arg_max(LastModifiedTime, *) by IncidentNumber"
    " | project IncidentNumber, Status, AlertIds, CreatedTime, Classification, ModifiedBy"
)


def _rows(sim, kql: str) -> list[dict]:
    columns, rows, _ = run_query(sim.state, kql)
    names = [c["name"] for c in columns]
    return [dict(zip(names, r, strict=True)) for r in rows]


@pytest.fixture
def onboarded(sim):
    sentinel_faults.onboard(sim.state.tenant.azure)
    sim.state.tick()  # the engine schedules the rule now, as a rule deployed before the drill would be
    return sim


def test_a_signin_raises_one_alert_per_event_and_an_incident(onboarded) -> None:
    sim = onboarded
    signin(sim.state)
    signin(sim.state, EA02)
    advance(sim, 330)  # the rule's first run at 5 minutes sees both rows
    alerts = _rows(sim, ALERTS)
    assert len(alerts) == 2  # AlertPerResult: one alert per sign-in
    entities = [json.loads(a["Entities"]) for a in alerts]
    names = {e["Name"] for ents in entities for e in ents if e["Type"] == "account"}
    assert names == {EA01, EA02}  # the passkey row logs the object id in UserPrincipalName
    assert all(any(e["Type"] == "ip" for e in ents) for ents in entities)
    props = json.loads(alerts[0]["ExtendedProperties"])
    assert json.loads(props["Analytic Rule Ids"]) == [sentinel_faults.RULE_ID]
    assert alerts[0]["AlertType"].endswith("_" + sentinel_faults.RULE_ID)
    incidents = _rows(sim, INCIDENTS)
    assert [i["Status"] for i in incidents] == ["New", "New"]
    assert sorted(i["IncidentNumber"] for i in incidents) == [1, 2]
    assert {json.loads(i["AlertIds"])[0] for i in incidents} == {a["SystemAlertId"] for a in alerts}


def test_event_time_variant_narrows_the_window_to_the_event(onboarded) -> None:
    from drill.sim.beliefs import apply_variant

    apply_variant(onboarded.state, "sentinel-alert-window", "event-time")
    apply_variant(onboarded.state, "sentinel-account-entity", "fullname")
    apply_variant(onboarded.state, "sentinel-alert-rule-ref", "alert-type-only")
    event = signin(onboarded.state)
    advance(onboarded, 330)
    (alert,) = _rows(onboarded, ALERTS)
    assert alert["StartTime"] == alert["EndTime"]
    assert alert["StartTime"].startswith(event.created.strftime("%Y-%m-%dT%H:%M:%S"))
    assert json.loads(alert["Entities"])[0] == {"$id": "2", "FullName": EA01, "Type": "account"}
    assert "Analytic Rule Ids" not in json.loads(alert["ExtendedProperties"])


@pytest.mark.parametrize(
    ("fault", "alerts", "incident_status"),
    [
        ("sentinel-rule-disabled", 0, None),
        ("sentinel-rule-auto-disabled", 0, None),
        ("sentinel-query-misses-account", 0, None),
        ("sentinel-incident-creation-off", 1, None),
        ("sentinel-automation-closes", 1, "Closed"),
    ],
)
def test_sentinel_faults_break_the_chain(
    onboarded, fault: str, alerts: int, incident_status: str | None
) -> None:
    sim = onboarded
    apply_fault(sim.state, fault)
    signin(sim.state)
    advance(sim, 330)
    assert len(_rows(sim, ALERTS)) == alerts
    incidents = _rows(sim, INCIDENTS)
    if incident_status is None:
        assert incidents == []
    else:
        assert [i["Status"] for i in incidents] == [incident_status]
        assert incidents[0]["ModifiedBy"].startswith("Automation rule - ")


def test_folded_events_raise_nothing_after_the_rehearsal(onboarded) -> None:
    sim = onboarded
    apply_fault(sim.state, "sentinel-events-folded")
    advance(sim, 60)
    before = _rows(sim, ALERTS)
    assert len(before) == 1  # the rehearsal's alert
    signin(sim.state)
    advance(sim, 660)
    assert len(_rows(sim, ALERTS)) == 1  # suppressed: the drill's sign-in raised nothing new


def test_grouping_into_a_closed_incident_keeps_it_closed(onboarded) -> None:
    sim = onboarded
    apply_fault(sim.state, "sentinel-grouped-into-closed")
    signin(sim.state)
    advance(sim, 330)
    (incident,) = _rows(sim, INCIDENTS)
    assert incident["Status"] == "Closed"
    assert len(json.loads(incident["AlertIds"])) == 2


def test_reopen_setting_reopens_the_closed_match(onboarded) -> None:
    sim = onboarded
    apply_fault(sim.state, "sentinel-grouped-into-closed")
    rule = sim.state.tenant.azure["sentinel"]["alertRules"][0]
    rule["joinClosedIncidents"] = False
    rule["grouping"]["reopenClosedIncident"] = True
    signin(sim.state)
    advance(sim, 330)
    (incident,) = _rows(sim, INCIDENTS)
    assert incident["Status"] == "Active"


def test_closed_match_without_reopen_opens_a_new_incident(onboarded) -> None:
    sim = onboarded
    apply_fault(sim.state, "sentinel-grouped-into-closed")
    sim.state.tenant.azure["sentinel"]["alertRules"][0]["joinClosedIncidents"] = False
    signin(sim.state)
    advance(sim, 330)
    statuses = sorted((i["IncidentNumber"], i["Status"]) for i in _rows(sim, INCIDENTS))
    assert statuses == [(1, "Closed"), (2, "New")]


def test_late_fault_delays_the_alert(onboarded) -> None:
    sim = onboarded
    apply_fault(sim.state, "sentinel-incident-late")
    signin(sim.state)
    advance(sim, 330)
    assert _rows(sim, ALERTS) == []
    advance(sim, 1200)
    assert len(_rows(sim, ALERTS)) == 1
    assert engine(sim.state).incidents[0].number == 1


def test_securityinsights_arm_serves_rule_incidents_and_automation_rules(
    onboarded, observer_secret, http
) -> None:
    from azure.identity import ClientSecretCredential

    from drill.sim.arm import ids
    from drill.sim.tokens import ARM_AUDIENCE

    sim = onboarded
    apply_fault(sim.state, "sentinel-automation-closes")
    signin(sim.state)
    advance(sim, 330)
    observer = "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02"
    cred = ClientSecretCredential(sim.state.tenant.id, observer, observer_secret,
                                  authority=sim.base_url, connection_verify=str(sim.ca_path),
                                  disable_instance_discovery=True)  # fmt: skip
    headers = {"Authorization": f"Bearer {cred.get_token(ARM_AUDIENCE + '/.default').token}"}
    base = f"{sim.base_url}{ids.workspace_id(sim.state)}/providers/Microsoft.SecurityInsights"
    api = {"api-version": "2024-03-01"}
    rule = http.get(f"{base}/alertRules/{sentinel_faults.RULE_ID}", params=api, headers=headers).json()
    assert rule["properties"]["incidentConfiguration"]["groupingConfiguration"]["enabled"] is False
    incidents = http.get(f"{base}/incidents", params=api, headers=headers).json()["value"]
    assert [i["properties"]["incidentNumber"] for i in incidents] == [1]
    props = incidents[0]["properties"]
    assert props["status"] == "Closed"
    assert props["classification"] == "BenignPositive"
    assert props["relatedAnalyticRuleIds"][0].endswith(sentinel_faults.RULE_ID)
    one = http.get(f"{base}/incidents/{incidents[0]['name']}", params=api, headers=headers).json()
    assert one["properties"]["incidentNumber"] == 1
    autos = http.get(f"{base}/automationRules", params=api, headers=headers).json()["value"]
    (auto,) = autos
    assert auto["properties"]["triggeringLogic"]["triggersWhen"] == "Created"
    assert auto["properties"]["actions"][0]["actionConfiguration"]["status"] == "Closed"
    refused = http.get(f"{base}/incidents", params={**api, "$filter": "x"}, headers=headers)
    assert refused.status_code == 400
