"""The Graph routes only the posture audit reads: each demands its documented permission, refuses what it does
not model, and answers in Graph's shapes."""

from __future__ import annotations

from typing import Any

import pytest
from graph_support import ALICE, EA01, GA, bearer

from drill.sim.server import SimServer

GROUP = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e01"
AU = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c01"
MANAGER_ROLE = "5e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a01"
PIM_FILTER = "scopeId eq '/' and scopeType eq 'DirectoryRole'"

# route -> (least privileged application permission that reads it, a permission that does not)
ROUTES = {
    "/domains": ("Domain.Read.All", "User.Read.All"),
    f"/users/{EA01}/authentication/methods": ("UserAuthenticationMethod.Read.All", "User.Read.All"),
    f"/users/{EA01}/transitiveMemberOf": ("Directory.Read.All", "Policy.Read.All"),
    f"/policies/roleManagementPolicyAssignments?$filter={PIM_FILTER}": (
        "RoleManagementPolicy.Read.Directory", "Directory.Read.All"),
    "/identity/conditionalAccess/authenticationContextClassReferences": (
        "AuthenticationContext.Read.All", "Policy.Read.All"),
}  # fmt: skip


@pytest.mark.parametrize("url", sorted(ROUTES))
def test_each_route_demands_its_permission(url: str, app_token: Any, api: Any) -> None:
    allowed, other = ROUTES[url]
    assert api.get(url, headers=bearer(app_token(roles=[allowed]))).status_code == 200
    refused = api.get(url, headers=bearer(app_token(roles=[other])))
    assert refused.status_code == 403
    assert refused.json()["error"]["innerError"]["request-id"]


def test_license_details_have_no_application_permission(app_token: Any, delegated: Any, api: Any) -> None:
    url = f"/users/{ALICE}/licenseDetails"
    everything = ["Directory.Read.All", "User.Read.All", "LicenseAssignment.Read.All"]
    assert api.get(url, headers=bearer(app_token(roles=everything))).status_code == 403
    mine = api.get(url, headers=bearer(delegated(ALICE, scopes="User.Read")))
    assert mine.status_code == 200
    [sku] = mine.json()["value"]
    assert set(sku) == {"id", "skuId", "skuPartNumber", "servicePlans"}
    assert sku["skuPartNumber"] == "SPE_E5"


def test_domains_shape_and_select(app_token: Any, api: Any) -> None:
    full = api.get("/domains", headers=bearer(app_token(roles=["Domain.Read.All"]))).json()
    initial = next(d for d in full["value"] if d["isInitial"])
    assert initial["id"] == "contoso.onmicrosoft.com"
    assert {"authenticationType", "isVerified", "supportedServices", "passwordValidityPeriodInDays"} <= set(
        initial
    )
    q = {"$select": "id,isDefault"}
    slim = api.get("/domains", params=q, headers=bearer(app_token(roles=["Domain.Read.All"]))).json()
    assert slim["@odata.context"].endswith("#domains(id,isDefault)")
    assert all(set(d) == {"id", "isDefault"} for d in slim["value"])
    bad = api.get(
        "/domains", params={"$select": "nope"}, headers=bearer(app_token(roles=["Domain.Read.All"]))
    )
    assert bad.status_code == 400


def test_methods_list_password_others_and_passkeys(sim: SimServer, app_token: Any, api: Any) -> None:
    h = bearer(app_token(roles=["UserAuthenticationMethod.Read.All"]))
    [password] = api.get(f"/users/{EA01}/authentication/methods", headers=h).json()["value"]
    assert password["@odata.type"] == "#microsoft.graph.passwordAuthenticationMethod"
    assert password["id"] == "28c10230-6103-485e-b985-444c60001490"
    assert password["password"] is None
    alice = api.get(f"/users/{ALICE}/authentication/methods", headers=h).json()["value"]
    assert [m["@odata.type"] for m in alice][
        1
    ] == "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"
    sim.state.tenant.passkeys.append(
        {"id": "k1", "userId": EA01, "aaGuid": "d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001", "model": "KeyGuard 2",
         "displayName": "key", "createdDateTime": "2025-01-01T00:00:00Z"})  # fmt: skip
    kinds = [
        m["@odata.type"] for m in api.get(f"/users/{EA01}/authentication/methods", headers=h).json()["value"]
    ]
    assert kinds == [
        "#microsoft.graph.passwordAuthenticationMethod",
        "#microsoft.graph.fido2AuthenticationMethod",
    ]
    bad = api.get(f"/users/{EA01}/authentication/methods", params={"$select": "id"}, headers=h)
    assert bad.status_code == 400


def test_transitive_member_of_nested_groups_and_units(sim: SimServer, app_token: Any, api: Any) -> None:
    parent = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c01"
    sim.state.tenant.groups.append({"id": parent, "displayName": "All admins", "members": [GROUP]})
    h = bearer(app_token(roles=["Directory.Read.All"]))
    items = api.get(f"/users/{EA01}/transitiveMemberOf", headers=h).json()["value"]
    kinds = {(m["@odata.type"], m["id"]) for m in items}
    assert ("#microsoft.graph.group", GROUP) in kinds
    assert ("#microsoft.graph.group", parent) in kinds  # through the break-glass group
    assert ("#microsoft.graph.administrativeUnit", AU) in kinds
    assert any(k == "#microsoft.graph.directoryRole" for k, _ in kinds)
    direct = {m["id"] for m in api.get(f"/users/{EA01}/memberOf", headers=h).json()["value"]}
    assert parent not in direct


def test_role_policy_assignments_filter_and_expand(app_token: Any, api: Any) -> None:
    h = bearer(app_token(roles=["RoleManagementPolicy.Read.Directory"]))
    url = "/policies/roleManagementPolicyAssignments"
    one = f"{PIM_FILTER} and roleDefinitionId eq '{MANAGER_ROLE}'"
    plain = api.get(url, params={"$filter": one}, headers=h).json()
    [item] = plain["value"]
    assert set(item) == {"id", "policyId", "scopeId", "scopeType", "roleDefinitionId"}
    assert item["id"] == f"{item['policyId']}_{MANAGER_ROLE}"
    expanded = api.get(url, params={"$filter": one, "$expand": "policy($expand=rules)"}, headers=h).json()
    rules = {r["id"]: r for r in expanded["value"][0]["policy"]["rules"]}
    assert rules["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT1H"
    assert rules["AuthenticationContext_EndUser_Assignment"] == {
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyAuthenticationContextRule",
        "id": "AuthenticationContext_EndUser_Assignment", "isEnabled": True, "claimValue": "c1",
        "target": rules["AuthenticationContext_EndUser_Assignment"]["target"]}  # fmt: skip
    policy_only = api.get(url, params={"$filter": one, "$expand": "policy"}, headers=h).json()
    assert "rules" not in policy_only["value"][0]["policy"]
    # Global Administrator has PIM's defaults; no filter, an unknown expand or filter property: 400.
    ga_filter = f"{PIM_FILTER} and roleDefinitionId eq '{GA}'"
    ga = api.get(url, params={"$filter": ga_filter, "$expand": "policy($expand=rules)"}, headers=h).json()
    ga_rules = {r["id"]: r for r in ga["value"][0]["policy"]["rules"]}
    assert ga_rules["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT8H"
    assert api.get(url, headers=h).status_code == 400
    assert api.get(url, params={"$filter": PIM_FILTER, "$expand": "rules"}, headers=h).status_code == 400
    assert api.get(url, params={"$filter": f"{PIM_FILTER} and policyId eq 'x'"}, headers=h).status_code == 400


def test_pim_policies_need_entra_id_p2(sim: SimServer, app_token: Any, api: Any) -> None:
    sim.state.tenant.pim_licensed = False
    h = bearer(app_token(roles=["RoleManagementPolicy.Read.Directory"]))
    answer = api.get("/policies/roleManagementPolicyAssignments", params={"$filter": PIM_FILTER}, headers=h)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "AadPremiumLicenseRequired"


def test_authentication_contexts(app_token: Any, api: Any) -> None:
    h = bearer(app_token(roles=["Policy.Read.ConditionalAccess"]))  # a higher-privileged alternative
    body = api.get("/identity/conditionalAccess/authenticationContextClassReferences", headers=h).json()
    [c1] = body["value"]
    assert c1["description"] == "Activating the role that manages the emergency access accounts."
    assert c1 == {"id": "c1", "displayName": "Break-glass account management",
                  "description": c1["description"], "isAvailable": True}  # fmt: skip


def test_unit_scoped_eligibility_by_directory_scope(app_token: Any, api: Any) -> None:
    h = bearer(app_token(roles=["RoleManagement.Read.Directory"]))
    scope = f"directoryScopeId eq '/administrativeUnits/{AU}'"
    url = "/roleManagement/directory/roleEligibilityScheduleInstances"
    [item] = api.get(url, params={"$filter": scope}, headers=h).json()["value"]
    assert (item["principalId"], item["roleDefinitionId"]) == (ALICE, MANAGER_ROLE)
    custom = api.get(f"/roleManagement/directory/roleDefinitions/{MANAGER_ROLE}", headers=h).json()
    assert (custom["displayName"], custom["isBuiltIn"]) == ("Emergency access account manager", False)


def test_member_collections_take_select_over_their_member_types(app_token: Any, api: Any) -> None:
    h = bearer(app_token(roles=["Directory.Read.All"]))
    q = {"$select": "id,accountEnabled,isAssignableToRole"}
    items = api.get(f"/directory/administrativeUnits/{AU}/members", params=q, headers=h).json()["value"]
    by_id = {m["id"]: m for m in items}
    assert by_id[EA01] == {"@odata.type": "#microsoft.graph.user", "id": EA01, "accountEnabled": True,
                           "isAssignableToRole": None}  # fmt: skip
    assert by_id[GROUP]["isAssignableToRole"] is True
    restricted = {"$select": "id,isMemberManagementRestricted"}
    units = api.get(f"/users/{EA01}/transitiveMemberOf", params=restricted, headers=h).json()["value"]
    assert {
        "@odata.type": "#microsoft.graph.administrativeUnit",
        "id": AU,
        "isMemberManagementRestricted": True,
    } in units
    bad = api.get(f"/groups/{GROUP}/members", params={"$select": "members"}, headers=h)
    assert bad.status_code == 400
    assert api.get(f"/groups/{GROUP}/members", params={"$filter": "id eq 'x'"}, headers=h).status_code == 400
