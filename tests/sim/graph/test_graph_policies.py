"""Policies on Graph compared with Microsoft's documented responses: CA policies, What If, authentication
strengths, the FIDO2 method configuration; and sign-in logs."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from graph_support import ALICE, DRILL_APP, EA01, GA, assert_same_shape, bearer, example

from drill.sim.graph.odata import graph_types
from drill.sim.graph.router import CA_INTERVAL_S
from drill.sim.server import SimServer
from drill.sim.state import SignInEvent

CUSTOM_STRENGTH = "4d1f2e3a-5b6c-4d7e-8f90-a1b2c3d4e501"
GRAPH_APP = "00000003-0000-0000-c000-000000000000"


def _as_microsoft(sim: SimServer, body: Any) -> Any:
    """The simulator names its own host in context URLs; Microsoft's examples name graph.microsoft.com."""
    import json

    text = json.dumps(body).replace(f"{sim.base_url}/v1.0", "https://graph.microsoft.com/v1.0")
    return json.loads(text)


def test_builtin_strengths_are_microsofts(sim: SimServer, app_token: Any, api: Any) -> None:
    body = api.get("/policies/authenticationStrengthPolicies", headers=bearer(app_token())).json()
    doc = example("authenticationStrengthPolicies_builtin_list_v1.0.json")
    ours = _as_microsoft(sim, body)
    assert ours["@odata.context"] == doc["@odata.context"]
    assert ours["value"][:3] == doc["value"]
    [custom] = ours["value"][3:]
    assert_same_shape(custom, doc["value"][0])
    assert custom["policyType"] == "custom"
    [combo] = custom["combinationConfigurations"]
    assert_same_shape(combo, example("fido2CombinationConfiguration_post_response_v1.0.json"))
    only = api.get(f"/policies/authenticationStrengthPolicies/{CUSTOM_STRENGTH}/combinationConfigurations",
                    headers=bearer(app_token())).json()  # fmt: skip
    assert only["value"] == [combo]


def test_ca_policies_shape(sim: SimServer, app_token: Any, api: Any) -> None:
    body = api.get("/identity/conditionalAccess/policies", headers=bearer(app_token())).json()
    doc = example("conditionalAccessPolicy_post_example3_response_v1.0.json")
    csdl = set(graph_types()["conditionalAccessPolicy"]["properties"])
    assert len(body["value"]) == len(sim.state.tenant.conditionalAccessPolicies)
    for policy in body["value"]:
        assert_same_shape(policy, {k: v for k, v in doc.items() if not k.startswith("@")}, exact_keys=False)
        assert set(policy) <= csdl
    ea01 = body["value"][0]
    strength = ea01["grantControls"]["authenticationStrength"]
    assert strength["id"] == CUSTOM_STRENGTH
    assert strength["allowedCombinations"] == ["fido2"]
    assert ea01["grantControls"]["authenticationStrength@odata.context"].endswith(
        "/authenticationStrength/$entity"
    )
    time.sleep(CA_INTERVAL_S)  # Conditional Access: one request per second per tenant
    enabled = api.get("/identity/conditionalAccess/policies", params={"$filter": "state eq 'enabled'"},
                       headers=bearer(app_token())).json()  # fmt: skip
    assert len(enabled["value"]) == 5
    too_soon = api.get(f"/identity/conditionalAccess/policies/{ea01['id']}", headers=bearer(app_token()))
    assert too_soon.status_code == 429
    assert "Retry-After" not in too_soon.headers  # documented: this service sends none
    time.sleep(CA_INTERVAL_S)
    one = api.get(f"/identity/conditionalAccess/policies/{ea01['id']}", headers=bearer(app_token())).json()
    assert one["@odata.context"].endswith("#identity/conditionalAccess/policies/$entity")


def test_ca_reads_need_a_role_when_delegated(sim: SimServer, delegated: Any, api: Any) -> None:
    url = "/identity/conditionalAccess/policies"
    assert api.get(url, headers=bearer(delegated(EA01, scopes="Policy.Read.All"))).status_code == 200
    alice = api.get(url, headers=bearer(delegated(ALICE, scopes="Policy.Read.All")))  # eligible only: no wids
    assert alice.status_code == 403
    no_scope = api.get(url, headers=bearer(delegated(EA01, scopes="User.Read")))
    assert no_scope.status_code == 403
    assert no_scope.json()["error"]["code"] == "AccessDenied"


def test_what_if(sim: SimServer, app_token: Any, api: Any) -> None:
    request = example("conditionalAccess_evaluate_v1.0_example1_request.json")
    request["signInIdentity"]["userId"] = EA01
    request["signInContext"]["includeApplications"] = [GRAPH_APP]
    request["signInConditions"] = {"clientAppType": "browser", "devicePlatform": "windows"}
    request["appliedPoliciesOnly"] = False
    resp = api.post("/identity/conditionalAccess/evaluate", json=request, headers=bearer(app_token()))
    assert resp.status_code == 200
    body = resp.json()
    doc = example("conditionalAccess_evaluate_v1.0_example2_response.json")
    assert _as_microsoft(sim, body)["@odata.context"] == doc["@odata.context"]
    for item in body["value"]:
        assert_same_shape(item, doc["value"][0])
    verdicts = {i["displayName"][:4]: (i["policyApplies"], i["analysisReasons"]) for i in body["value"]}
    assert verdicts == {
        "EA01": (True, "notSet"),
        "EA02": (True, "notSet"),
        "CA00": (False, "users"),
        "CA01": (False, "users"),
    }
    request["appliedPoliciesOnly"] = True
    applied = api.post(
        "/identity/conditionalAccess/evaluate", json=request, headers=bearer(app_token())
    ).json()
    assert [i["displayName"][:4] for i in applied["value"]] == ["EA01", "EA02"]
    request["signInConditions"]["signInRiskLevel"] = "high"
    refused = api.post("/identity/conditionalAccess/evaluate", json=request, headers=bearer(app_token()))
    assert refused.status_code == 501


def test_fido2_configuration(sim: SimServer, app_token: Any, api: Any) -> None:
    url = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"
    body = api.get(url, headers=bearer(app_token())).json()
    doc = example("fido2AuthenticationMethodConfiguration_get_beta.json")
    assert_same_shape(body, doc, exact_keys=False)
    assert body["@odata.type"] == "#microsoft.graph.fido2AuthenticationMethodConfiguration"
    assert body["keyRestrictions"]["enforcementType"] == "allow"
    assert len(body["keyRestrictions"]["aaGuids"]) == 2
    policy = api.get("/policies/authenticationMethodsPolicy", headers=bearer(app_token())).json()
    assert set(graph_types()["authenticationMethodsPolicy"]["properties"]) <= set(policy)
    assert [c["id"] for c in policy["authenticationMethodConfigurations"]] == [
        "Fido2", "MicrosoftAuthenticator", "Sms", "Voice", "Email", "SoftwareOath", "TemporaryAccessPass",
        "X509Certificate"]  # fmt: skip
    denied = api.get(url, headers=bearer(app_token(roles=["Mail.Read"])))
    assert denied.status_code == 403


def _signin(sim: SimServer, minutes_ago: float, user_id: str = EA01) -> SignInEvent:
    event = SignInEvent(
        created=sim.state.clock.now() - timedelta(minutes=minutes_ago), user_id=user_id,
        user_principal_name="ea01@contoso.onmicrosoft.com", user_display_name="Emergency Access 01",
        app_id=DRILL_APP,
        app_display_name="Break-glass drill", result_type="0", conditional_access_status="success",
        applied_policies=[{"id": "p1", "displayName": "EA01", "result": "success",
                           "enforcedGrantControls": ["RequireAuthenticationStrength"],
                           "enforcedSessionControls": [], "conditionsSatisfied": "users,application",
                           "conditionsNotSatisfied": "none"}],
    )  # fmt: skip
    sim.state.emit_signin(event)
    return event


def test_sign_in_logs(sim: SimServer, app_token: Any, delegated: Any, api: Any) -> None:
    _signin(sim, 30)
    recent = _signin(sim, 1)
    _signin(sim, 2, user_id=ALICE)
    since = (sim.state.clock.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    flt = f"userId eq '{EA01}' and appId eq '{DRILL_APP}' and createdDateTime ge {since}"
    body = api.get("/auditLogs/signIns", params={"$filter": flt}, headers=bearer(app_token())).json()
    [row] = body["value"]
    assert row["id"] == recent.id
    assert set(row) <= set(graph_types()["signIn"]["properties"])
    assert row["status"] == {"errorCode": 0, "failureReason": "Other.", "additionalDetails": None}
    [applied] = row["appliedConditionalAccessPolicies"]
    assert set(applied) == {"id", "displayName", "enforcedGrantControls", "enforcedSessionControls", "result"}
    newest_first = api.get("/auditLogs/signIns", headers=bearer(app_token())).json()["value"]
    stamps = [r["createdDateTime"] for r in newest_first]
    assert stamps == sorted(stamps, reverse=True)
    assert (
        api.get("/auditLogs/signIns", headers=bearer(app_token(roles=["AuditLog.Read.All"]))).status_code
        == 403
    )
    both = "AuditLog.Read.All Directory.Read.All"
    assert GA in sim.state.tenant.active_role_template_ids(EA01, sim.state.clock.now())
    assert api.get("/auditLogs/signIns", headers=bearer(delegated(EA01, scopes=both))).status_code == 200
    assert api.get("/auditLogs/signIns", headers=bearer(delegated(ALICE, scopes=both))).status_code == 403
    bad = api.get(
        "/auditLogs/signIns", params={"$filter": "riskState eq 'none'"}, headers=bearer(app_token())
    )
    assert bad.status_code == 400
