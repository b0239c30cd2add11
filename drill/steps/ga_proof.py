"""Step: prove, with the break-glass account's own token, that Global Administrator is really in force.

Direct (the principal is the user, not a group), tenant-wide (`/`), active and permanent (schedule
instance `Assigned` with no end). Eligible-only, time-bound, group-only or missing are each a FAIL that
says which, because each needs a different fix.
"""

from __future__ import annotations

from typing import Any

from drill.evidence.model import StepResult
from drill.steps.base import StepBuilder
from drill.steps.context import GLOBAL_ADMIN, DrillContext

NAME, TITLE = "ga_proof", "Global Administrator is active, direct, permanent and tenant-wide"
SCOPES = ("User.Read", "RoleManagement.Read.Directory")


async def _all_pages(builder: Any, response: Any, ctx: DrillContext) -> list[Any]:
    items = list(response.value or [])
    while getattr(response, "odata_next_link", None):
        ctx.counters["graph_requests"] += 1
        response = await builder.with_url(response.odata_next_link).get()
        items.extend(response.value or [])
    return items


def classify(
    instances: list[dict[str, Any]], eligible: list[dict[str, Any]], user_id: str
) -> tuple[bool, str]:
    """Pure decision over Graph's schedule instances (dicts with Graph's property names)."""
    ga = [i for i in instances if i.get("roleDefinitionId") == GLOBAL_ADMIN]
    good = [
        i
        for i in ga
        if i.get("principalId") == user_id
        and i.get("memberType") == "Direct"
        and i.get("directoryScopeId") == "/"
        and i.get("assignmentType") == "Assigned"
        and not i.get("endDateTime")
    ]
    if good:
        return True, "direct, permanent, tenant-wide active assignment"
    if not ga:
        if any(e.get("roleDefinitionId") == GLOBAL_ADMIN for e in eligible):
            return (
                False,
                "eligible only: Global Administrator must be activated through PIM; "
                "a break-glass account needs it active and permanent",
            )
        return False, "no Global Administrator assignment at all"
    reasons = []
    for i in ga:
        if i.get("memberType") != "Direct" or i.get("principalId") != user_id:
            reasons.append(f"through {i.get('memberType', 'a group')} membership only (not direct)")
        if i.get("directoryScopeId") != "/":
            reasons.append(f"scoped to {i.get('directoryScopeId')} (not tenant-wide)")
        if i.get("assignmentType") == "Activated":
            reasons.append("a PIM activation (not permanent)")
        if i.get("endDateTime"):
            reasons.append(f"time-bound, ends {i.get('endDateTime')}")
    return False, "; ".join(dict.fromkeys(reasons)) or "assignment not direct, permanent and tenant-wide"


def _instance_dict(i: Any) -> dict[str, Any]:
    end = getattr(i, "end_date_time", None)
    return {
        "id": i.id,
        "principalId": i.principal_id,
        "roleDefinitionId": i.role_definition_id,
        "directoryScopeId": i.directory_scope_id,
        "assignmentType": getattr(i, "assignment_type", None),
        "memberType": i.member_type,
        "startDateTime": i.start_date_time.isoformat() if getattr(i, "start_date_time", None) else None,
        "endDateTime": end.isoformat() if end else None,
    }


async def run(ctx: DrillContext) -> StepResult:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.role_management.directory.role_assignment_schedule_instances.role_assignment_schedule_instances_request_builder import (  # noqa: E501
        RoleAssignmentScheduleInstancesRequestBuilder as Instances,
    )
    from msgraph.generated.role_management.directory.role_eligibility_schedule_instances.role_eligibility_schedule_instances_request_builder import (  # noqa: E501
        RoleEligibilityScheduleInstancesRequestBuilder as Eligible,
    )
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

    from drill.clients import graph_client, graph_scopes

    sb = StepBuilder(NAME, TITLE)
    if ctx.tokens is None:
        return sb.fail("no token from the sign-in step")
    user_id = str(ctx.account.object_id)
    wids = list(ctx.token_claims.get("wids") or [])
    sb.check(
        "token_wids",
        "The sign-in token lists Global Administrator in wids",
        GLOBAL_ADMIN in wids,
        "wids contains the Global Administrator template id" if GLOBAL_ADMIN in wids else f"wids is {wids}",
        {"wids": wids},
    )
    client = graph_client(ctx.tokens.credential(), ctx.cloud, graph_scopes(ctx.cloud, SCOPES))

    user_cfg = RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName", "accountEnabled", "displayName"]
        )
    )
    ctx.counters["graph_requests"] += 1
    user = await client.users.by_user_id(user_id).get(request_configuration=user_cfg)
    sb.check(
        "account_enabled",
        "Graph shows the account enabled",
        bool(user and user.account_enabled),
        "accountEnabled is true" if user and user.account_enabled else "accountEnabled is not true",
        {
            "id": getattr(user, "id", None),
            "userPrincipalName": getattr(user, "user_principal_name", None),
            "accountEnabled": getattr(user, "account_enabled", None),
        },
    )

    flt = f"principalId eq '{user_id}'"
    inst_builder = client.role_management.directory.role_assignment_schedule_instances
    ctx.counters["graph_requests"] += 1
    inst_resp = await inst_builder.get(
        request_configuration=RequestConfiguration(
            query_parameters=Instances.RoleAssignmentScheduleInstancesRequestBuilderGetQueryParameters(
                filter=flt
            )
        )
    )
    instances = [_instance_dict(i) for i in await _all_pages(inst_builder, inst_resp, ctx)]
    elig_builder = client.role_management.directory.role_eligibility_schedule_instances
    ctx.counters["graph_requests"] += 1
    elig_resp = await elig_builder.get(
        request_configuration=RequestConfiguration(
            query_parameters=Eligible.RoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters(
                filter=flt
            )
        )
    )
    eligible = [_instance_dict(i) for i in await _all_pages(elig_builder, elig_resp, ctx)]
    ok, reason = classify(instances, eligible, user_id)
    sb.check(
        "ga_assignment",
        "Global Administrator: direct, permanent, active, tenant-wide",
        ok,
        reason,
        {"assignmentScheduleInstances": instances, "eligibilityScheduleInstances": eligible},
    )
    return sb.finish("Global Administrator proven active, direct, permanent and tenant-wide")
