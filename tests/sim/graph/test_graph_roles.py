"""Role data on Graph, read as the drill's GA proof reads it: msgraph-sdk over TLS with a delegated token.

The four role faults must change Graph's answer and the token's `wids` together.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graph_support import (
    EA01,
    EA02,
    GA,
    StaticCredential,
    assert_same_shape,
    bearer,
    close,
    example,
    graph_client,
)

from drill.sim.faults import apply_fault
from drill.sim.server import SimServer

SCOPES = [
    "https://graph.microsoft.com/User.Read",
    "https://graph.microsoft.com/RoleManagement.Read.Directory",
]


def _ga_view(sim: SimServer, token: str, user_id: str) -> dict[str, Any]:
    """What the drill's GA proof step asks Graph, through the real SDK."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.role_management.directory.role_assignment_schedule_instances.role_assignment_schedule_instances_request_builder import (  # noqa: E501
        RoleAssignmentScheduleInstancesRequestBuilder as Instances,
    )
    from msgraph.generated.role_management.directory.role_eligibility_schedule_instances.role_eligibility_schedule_instances_request_builder import (  # noqa: E501
        RoleEligibilityScheduleInstancesRequestBuilder as Eligible,
    )
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

    cred = StaticCredential(token)
    client = graph_client(sim, cred, SCOPES)
    flt = f"principalId eq '{user_id}'"

    async def go() -> dict[str, Any]:
        user = await client.users.by_user_id(user_id).get(
            request_configuration=RequestConfiguration(
                query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
                    select=["id", "accountEnabled"]
                )
            )
        )
        active = await client.role_management.directory.role_assignment_schedule_instances.get(
            request_configuration=RequestConfiguration(
                query_parameters=Instances.RoleAssignmentScheduleInstancesRequestBuilderGetQueryParameters(
                    filter=flt
                )
            )
        )
        eligible = await client.role_management.directory.role_eligibility_schedule_instances.get(
            request_configuration=RequestConfiguration(
                query_parameters=Eligible.RoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters(
                    filter=flt
                )
            )
        )
        await close(client)
        return {"user": user, "active": active.value, "eligible": eligible.value, "scopes": cred.scopes_seen}

    return asyncio.run(go())


def test_healthy_ga_through_msgraph_sdk(sim: SimServer, delegated: Any) -> None:
    got = _ga_view(sim, delegated(EA01), EA01)
    assert got["user"].account_enabled is True
    assert got["scopes"]
    assert set(got["scopes"][0]) == set(SCOPES)
    [inst] = got["active"]
    assert (inst.principal_id, inst.role_definition_id, inst.directory_scope_id) == (EA01, GA, "/")
    assert (inst.assignment_type, inst.member_type, inst.end_date_time) == ("Assigned", "Direct", None)
    assert got["eligible"] == []


def _wids(sim: SimServer, user_id: str) -> list[str]:
    return sim.state.tenant.active_role_template_ids(user_id, sim.state.clock.now())


def test_ga_removed(sim: SimServer, delegated: Any) -> None:
    apply_fault(sim.state, "ga-removed")
    got = _ga_view(sim, delegated(EA01), EA01)
    assert got["active"] == []
    assert got["eligible"] == []
    assert GA not in _wids(sim, EA01)
    assert GA not in _wids(sim, EA02)


def test_ga_eligible_only(sim: SimServer, delegated: Any) -> None:
    apply_fault(sim.state, "ga-eligible-only")
    got = _ga_view(sim, delegated(EA01), EA01)
    assert got["active"] == []
    [elig] = got["eligible"]
    assert (elig.principal_id, elig.role_definition_id, elig.member_type) == (EA01, GA, "Direct")
    assert GA not in _wids(sim, EA01)


def test_ga_time_bound(sim: SimServer, delegated: Any) -> None:
    apply_fault(sim.state, "ga-time-bound")
    got = _ga_view(sim, delegated(EA01), EA01)
    [inst] = got["active"]
    assert inst.assignment_type == "Assigned"
    assert inst.member_type == "Direct"
    assert inst.end_date_time is not None
    assert inst.end_date_time > sim.state.clock.now()
    assert GA in _wids(sim, EA01)  # still active until it ends: only the schedule tells


def test_ga_group_only(sim: SimServer, delegated: Any, api: Any) -> None:
    apply_fault(sim.state, "ga-group-only")
    got = _ga_view(sim, delegated(EA01), EA01)
    [inst] = got["active"]
    assert (inst.principal_id, inst.member_type, inst.role_definition_id) == (EA01, "Group", GA)
    assert GA in _wids(sim, EA01)
    group = next(g for g in sim.state.tenant.groups_of(EA01) if g.get("isAssignableToRole"))
    # roleAssignments (not PIM) shows only the group as principal; the user has no direct assignment
    token = delegated(EA01)
    flt = {"$filter": f"principalId eq '{EA01}'"}
    direct = api.get("/roleManagement/directory/roleAssignments", params=flt,
                      headers=bearer(token)).json()  # fmt: skip
    assert direct["value"] == []
    via_group = api.get(
        "/roleManagement/directory/roleAssignments",
        params={"$filter": f"principalId eq '{group['id']}'"},
        headers=bearer(token),
    ).json()
    assert [a["roleDefinitionId"] for a in via_group["value"]] == [GA]
    members = api.get(f"/directoryRoles(roleTemplateId='{GA}')/members", headers=bearer(token)).json()
    assert [(m["@odata.type"], m["id"]) for m in members["value"]] == [
        ("#microsoft.graph.group", group["id"])
    ]


def test_schedule_instances_match_documented_shape(sim: SimServer, delegated: Any, api: Any) -> None:
    resp = api.get("/roleManagement/directory/roleAssignmentScheduleInstances", headers=bearer(delegated()))
    assert resp.status_code == 200
    body = resp.json()
    doc = example("roleAssignmentScheduleInstances_list_v1.0.json")
    assert body["@odata.context"].endswith(
        "/v1.0/$metadata#roleManagement/directory/roleAssignmentScheduleInstances"
    )
    assert_same_shape({k: v for k, v in body.items() if k != "@odata.context"},
                      {k: v for k, v in doc.items() if k != "@odata.context"})  # fmt: skip
    assert list(body["value"][0]) == list(doc["value"][0])  # same property order as Microsoft's
    assert {i["principalId"] for i in body["value"]} == {EA01, EA02}


def test_role_assignments_definitions_and_directory_roles(sim: SimServer, delegated: Any, api: Any) -> None:
    h = bearer(delegated())
    ra = api.get("/roleManagement/directory/roleAssignments", params={"$filter": f"principalId eq '{EA02}'"},
                  headers=h).json()  # fmt: skip
    [a] = ra["value"]
    assert set(a) == {"id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "condition",
                      "principalOrganizationId"}  # fmt: skip
    assert (a["roleDefinitionId"], a["directoryScopeId"]) == (GA, "/")
    defs = api.get("/roleManagement/directory/roleDefinitions", params={"$filter": f"templateId eq '{GA}'"},
                    headers=h).json()  # fmt: skip
    [ga] = defs["value"]
    assert (ga["displayName"], ga["isBuiltIn"], ga["templateId"]) == ("Global Administrator", True, GA)
    role = api.get(f"/directoryRoles(roleTemplateId='{GA}')", headers=h).json()
    assert role["roleTemplateId"] == GA
    assert role["@odata.context"].endswith("#directoryRoles/$entity")
    members = api.get(f"/directoryRoles/{role['id']}/members", headers=h).json()
    assert {m["id"] for m in members["value"]} == {EA01, EA02}
    missing = api.get("/directoryRoles(roleTemplateId='e8611ab8-c189-46e8-94e1-60213ab1f814')", headers=h)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_pim_refusal_is_worded_as_pim_does(sim: SimServer, delegated: Any, api: Any) -> None:
    resp = api.get("/roleManagement/directory/roleAssignmentScheduleInstances",
                    headers=bearer(delegated(scopes="User.Read")))  # fmt: skip
    assert resp.status_code == 403
    err = resp.json()["error"]
    assert err["code"] == "UnknownError"
    assert "PermissionScopeNotGranted" in err["message"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"$filter": "startDateTime ge 2025-01-01T00:00:00Z"}, "BadRequest"),
        ({"$filter": "principalId eq"}, "BadRequest"),
        ({"$expand": "principal"}, "BadRequest"),
        ({"$select": "nope"}, "BadRequest"),
        ({"$top": "0"}, "BadRequest"),
    ],
)
def test_unsupported_queries_are_refused(
    sim: SimServer, delegated: Any, api: Any, query: Any, code: str
) -> None:
    resp = api.get("/roleManagement/directory/roleAssignmentScheduleInstances", params=query,
                    headers=bearer(delegated()))  # fmt: skip
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == code


def test_without_the_pim_licence_schedule_apis_refuse_and_role_assignments_answer(
    sim: SimServer, delegated: Any, api: Any
) -> None:
    apply_fault(sim.state, "pim-licence-missing")
    h = bearer(delegated())
    for path in ("roleAssignmentScheduleInstances", "roleEligibilityScheduleInstances"):
        resp = api.get(f"/roleManagement/directory/{path}", headers=h)
        assert resp.status_code == 400
        assert resp.json()["error"]["code"] == "AadPremiumLicenseRequired"
    flt = {"$filter": f"principalId eq '{EA01}'"}
    resp = api.get("/roleManagement/directory/roleAssignments", params=flt, headers=h)
    assert resp.status_code == 200
    assert any(a["roleDefinitionId"] == GA and a["directoryScopeId"] == "/" for a in resp.json()["value"])
