"""The simulator's Microsoft.Authorization and Microsoft.SecurityInsights reads: filters, RBAC, errors.

Raw HTTPS with an observer token, so the exact query strings and error bodies are what is tested.
"""

from __future__ import annotations

import json

import requests
from arm_support import OBSERVER, SUB, arm_token

from drill.sim.arm import posture_faults
from drill.sim.faults import apply_fault
from drill.sim.server import SimServer

RG = f"/subscriptions/{SUB}/resourceGroups/rg-breakglass-monitoring"
WS = f"{RG}/providers/Microsoft.OperationalInsights/workspaces/law-security-contoso"
SIGNIN_IDENTITY = "7e6d5c4b-3a29-4181-9f0e-1d2c3b4a5f01"
LA_READER = "73c42c96-874c-492b-b04d-ab87d138a893"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
MONITORING_READER = "43d0d8ad-25c7-4714-9337-8ba259a9fe05"


def _get(http: requests.Session, sim: SimServer, secret: str, path: str, **params: str) -> requests.Response:
    token = arm_token(http, sim.base_url, sim.state.tenant.id, OBSERVER, secret)
    return http.get(
        f"{sim.base_url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def _assignments(
    http: requests.Session, sim: SimServer, secret: str, scope: str, flt: str | None
) -> list[str]:
    params = {"api-version": "2022-04-01"} | ({"$filter": flt} if flt else {})
    resp = _get(http, sim, secret, f"{scope}/providers/Microsoft.Authorization/roleAssignments", **params)
    assert resp.status_code == 200, resp.text
    return sorted(
        f"{a['properties']['principalId'][-2:]}:{a['properties']['roleDefinitionId'].rsplit('/', 1)[-1]}"
        for a in resp.json()["value"]
    )


def test_role_assignment_filters(sim: SimServer, http: requests.Session, observer_secret: str) -> None:
    mine = _assignments(http, sim, observer_secret, WS, f"principalId eq '{SIGNIN_IDENTITY}'")
    assert mine == sorted([f"01:{LA_READER}", f"01:{READER}"])
    # at or above the workspace: the identities' four and the observer's two (Log Analytics Reader on the
    # workspace, Monitoring Reader on the group); the group sees the ones below it only without atScope()
    assert len(_assignments(http, sim, observer_secret, WS, "atScope()")) == 6
    at_group = _assignments(http, sim, observer_secret, RG, "atScope()")
    assert [a.split(":")[1] for a in at_group] == [MONITORING_READER]
    assert len(_assignments(http, sim, observer_secret, RG, None)) == 6
    assert _assignments(http, sim, observer_secret, WS, f"assignedTo('{SIGNIN_IDENTITY}')") == mine


def test_role_assignment_body_shape(sim: SimServer, http: requests.Session, observer_secret: str) -> None:
    flt = f"principalId eq '{SIGNIN_IDENTITY}'"
    resp = _get(http, sim, observer_secret, f"{WS}/providers/Microsoft.Authorization/roleAssignments",
                **{"api-version": "2022-04-01", "$filter": flt})  # fmt: skip
    item = resp.json()["value"][0]
    assert item["type"] == "Microsoft.Authorization/roleAssignments"
    assert item["id"] == f"{WS}/providers/Microsoft.Authorization/roleAssignments/{item['name']}"
    assert item["properties"]["principalType"] == "ServicePrincipal"
    assert item["properties"]["roleDefinitionId"].startswith(f"/subscriptions/{SUB}/providers/")


def test_unsupported_filter_is_refused_not_ignored(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    resp = _get(http, sim, observer_secret, f"{WS}/providers/Microsoft.Authorization/roleAssignments",
                **{"api-version": "2022-04-01", "$filter": "roleDefinitionName eq 'Reader'"})  # fmt: skip
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "UnsupportedQuery"


def test_role_definition_by_id(sim: SimServer, http: requests.Session, observer_secret: str) -> None:
    path = f"{WS}/providers/Microsoft.Authorization/roleDefinitions/{LA_READER}"
    body = _get(http, sim, observer_secret, path, **{"api-version": "2022-04-01"}).json()
    assert body["properties"]["roleName"] == "Log Analytics Reader"
    assert (
        "Microsoft.OperationalInsights/workspaces/analytics/query/action"
        in (body["properties"]["permissions"][0]["actions"])
    )
    unknown = path.replace(LA_READER, "00000000-0000-0000-0000-00000000dead")
    missing = _get(http, sim, observer_secret, unknown, **{"api-version": "2022-04-01"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "RoleDefinitionDoesNotExist"


def test_rbac_reads_need_a_role_over_the_scope(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    apply_fault(sim.state, "arm-observer-no-read")
    resp = _get(http, sim, observer_secret, f"{WS}/providers/Microsoft.Authorization/roleAssignments",
                **{"api-version": "2022-04-01"})  # fmt: skip
    assert resp.status_code == 403
    assert "Microsoft.Authorization/roleAssignments/read" in resp.json()["error"]["message"]


def test_workspace_without_sentinel_answers_not_onboarded(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    path = f"{WS}/providers/Microsoft.SecurityInsights/alertRules"
    resp = _get(http, sim, observer_secret, path, **{"api-version": "2024-03-01"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "BadRequest"
    inner = json.loads(error["message"])["error"]
    assert "is not onboarded to Microsoft Sentinel" in inner["message"]


def test_sentinel_rules_list_get_and_errors(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    posture_faults.onboard_sentinel(sim.state)
    path = f"{WS}/providers/Microsoft.SecurityInsights/alertRules"
    listed = _get(http, sim, observer_secret, path, **{"api-version": "2024-03-01"}).json()["value"]
    assert [r["properties"]["displayName"] for r in listed] == [posture_faults.SENTINEL_RULE]
    one = _get(
        http,
        sim,
        observer_secret,
        f"{path}/{posture_faults.SENTINEL_RULE_ID}",
        **{"api-version": "2023-02-01"},
    )
    assert one.json()["properties"]["query"].strip()
    assert (
        _get(http, sim, observer_secret, f"{path}/nope", **{"api-version": "2024-03-01"}).status_code == 404
    )
    other = path.replace("law-security-contoso", "law-other")
    gone = _get(http, sim, observer_secret, other, **{"api-version": "2024-03-01"})
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "ResourceNotFound"
    old = _get(http, sim, observer_secret, path, **{"api-version": "2019-01-01-preview"})
    assert old.status_code == 400
    assert old.json()["error"]["code"] == "NoRegisteredProviderFound"


def test_rule_identity_is_absent_from_the_2021_api(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    path = f"{RG}/providers/Microsoft.Insights/scheduledQueryRules/Break-glass account sign-in"
    new = _get(http, sim, observer_secret, path, **{"api-version": "2023-12-01"}).json()
    old = _get(http, sim, observer_secret, path, **{"api-version": "2021-08-01"}).json()
    assert new["identity"] == {
        "type": "SystemAssigned",
        "principalId": SIGNIN_IDENTITY,
        "tenantId": sim.state.tenant.id,
    }
    assert "identity" not in old
