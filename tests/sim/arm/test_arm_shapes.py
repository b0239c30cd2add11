"""The simulator's ARM responses have the keys and JSON types of Microsoft's documented examples.

Examples: tests/sim/arm/examples/ (README.md there names each origin). Keys the simulator adds beyond an
example are listed with the documentation that has them.
"""

from __future__ import annotations

from urllib.parse import quote

import requests
from arm_support import RG_ID, SUB, arm_token, example, shape_mismatches

from drill.sim.server import SimServer

OBSERVER = "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02"
RULE = "Break-glass account sign-in"
# In the scheduledQueryRules schema but not in the GET example: `kind` (LogAlert) and `displayName`
# (bicep-types-az generated/monitor/microsoft.insights/2020-05-01-preview/types.md and later), and
# `actions.actionProperties` (azure-mgmt-monitor 7.0.0 model Actions.action_properties; Email.Subject is
# the documented key for a custom subject, alerts-customize-email-subject-how-to.md), and the rule's
# managed `identity` (azure-mgmt-monitor 7.0.0, generated from the 2023-12-01 spec:
# ScheduledQueryRuleResource.identity, Identity {principalId, tenantId, type, userAssignedIdentities}).
RULE_EXTRA = frozenset({"kind", "properties.displayName", "properties.actions.actionProperties", "identity"})


def _get(http: requests.Session, sim: SimServer, secret: str, path: str) -> requests.Response:
    token = arm_token(http, sim.base_url, sim.state.tenant.id, OBSERVER, secret)
    return http.get(f"{sim.base_url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_scheduled_query_rule_matches_documented_get(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    for version in ("2021-08-01", "2023-12-01"):
        path = f"{RG_ID}/providers/Microsoft.Insights/scheduledQueryRules/{quote(RULE)}?api-version={version}"
        resp = _get(http, sim, observer_secret, path)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert shape_mismatches(example("getScheduledQueryRule_2021-08-01.json"), body, RULE_EXTRA) == []
        props = body["properties"]
        assert props["criteria"]["allOf"][0]["query"].strip()
        assert props["actions"]["actionGroups"][0].endswith("/actionGroups/ag-soc-breakglass")


def test_action_group_matches_documented_get(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    path = f"{RG_ID}/providers/microsoft.insights/actionGroups/ag-soc-breakglass?api-version=2023-01-01"
    resp = _get(http, sim, observer_secret, path)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert shape_mismatches(example("getActionGroup_2023-01-01.json"), body) == []
    assert body["properties"]["emailReceivers"][0]["status"] == "Enabled"


def test_entra_diagnostic_settings_match_documented_list(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    resp = _get(
        http, sim, observer_secret, "/providers/microsoft.aadiam/diagnosticSettings?api-version=2017-04-01"
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert shape_mismatches(example("listDiagnosticSettings_aadiam_2017-04-01.json"), body) == []
    assert body["value"][0]["properties"]["workspaceId"].endswith("/workspaces/law-security-contoso")


def test_fired_alerts_match_documented_list(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    from drill.sim.faults import apply_fault

    apply_fault(sim.state, "alert-already-fired")  # a rehearsal sign-in fired every rule
    path = (
        f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts?api-version=2019-05-05-preview"
        "&targetResourceGroup=rg-breakglass-monitoring&monitorCondition=Fired"
    )
    resp = _get(http, sim, observer_secret, path)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["value"], "the rehearsal's alerts are listed"
    assert shape_mismatches(example("listAlerts_2019-05-05-preview.json"), body) == []
    essentials = body["value"][0]["properties"]["essentials"]
    assert essentials["alertRule"].lower().startswith(f"/subscriptions/{SUB}/resourcegroups/")
    assert essentials["monitorCondition"] == "Fired"


def test_errors_use_the_arm_envelope(sim: SimServer, http: requests.Session, observer_secret: str) -> None:
    from drill.sim.faults import apply_fault

    no_version = _get(
        http, sim, observer_secret, f"{RG_ID}/providers/Microsoft.Insights/scheduledQueryRules/x"
    )
    assert no_version.status_code == 400
    assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    missing = _get(
        http,
        sim,
        observer_secret,
        f"{RG_ID}/providers/Microsoft.Insights/scheduledQueryRules/nope?api-version=2023-12-01",
    )
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message"}
    apply_fault(sim.state, "arm-observer-no-read")
    denied = _get(
        http,
        sim,
        observer_secret,
        f"{RG_ID}/providers/Microsoft.Insights/scheduledQueryRules/nope?api-version=2023-12-01",
    )
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "with object id '" in error["message"]
    assert "Microsoft.Insights/scheduledQueryRules/read" in error["message"]
    assert (
        "or the scope is invalid. If access was recently granted, please refresh your credentials."
        in error["message"]
    )


def test_throttling_answers_429_with_retry_after(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    from drill.sim.faults import apply_fault

    apply_fault(sim.state, "arm-throttled")
    resp = _get(
        http, sim, observer_secret, "/providers/microsoft.aadiam/diagnosticSettings?api-version=2017-04-01"
    )
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "1"
    assert resp.json()["error"]["code"] == "TooManyRequests"


def test_a_token_for_another_audience_is_refused(sim: SimServer, http: requests.Session) -> None:
    from drill.sim.state import token_service

    token = token_service(sim.state).issue({"aud": "https://graph.microsoft.com", "appid": OBSERVER})
    resp = http.get(
        f"{sim.base_url}/providers/microsoft.aadiam/diagnosticSettings?api-version=2017-04-01",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationToken"
