"""Step: prove, with the break-glass account's own token, that Global Administrator is really in force.

Direct (the principal is the user, not a group), tenant-wide (`/`), active and permanent (schedule
instance `Assigned` with no end). Eligible-only, time-bound, group-only or missing are each a FAIL that
says which, because each needs a different fix.

The proof rests on Graph's answers. A tenant without Entra ID P2 has no PIM schedule APIs (400
AadPremiumLicenseRequired): then the role-assignments API proves a direct, tenant-wide, active assignment
and a note says what it cannot (schedule, eligibility). Token claims are not meant to be read by clients:
`wids` only corroborates; when absent it is a note, and only a readable claim contradicting Graph fails.
"""

from __future__ import annotations

from typing import Any

from drill.evidence.model import StepResult
from drill.steps.base import StepBuilder
from drill.steps.context import GLOBAL_ADMIN, DrillContext
from drill.steps.waiting import CountedCalls, ServiceRefused

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


def instance_dict(i: Any) -> dict[str, Any]:
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


def assignment_dict(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "principalId": a.principal_id,
        "roleDefinitionId": a.role_definition_id,
        "directoryScopeId": a.directory_scope_id,
    }


def classify_assignments(assignments: list[dict[str, Any]], user_id: str) -> tuple[bool, str]:
    """The licence-less proof: a unifiedRoleAssignment of GA to the user itself, tenant-wide."""
    ga = [a for a in assignments if a.get("roleDefinitionId") == GLOBAL_ADMIN]
    if any(a.get("principalId") == user_id and a.get("directoryScopeId") == "/" for a in ga):
        return True, "direct, tenant-wide active assignment (role-assignments API)"
    if not ga:
        return False, "no Global Administrator assignment at all"
    reasons = []
    for a in ga:
        if a.get("principalId") != user_id:
            reasons.append("assigned to another principal (a group?), not directly")
        if a.get("directoryScopeId") != "/":
            reasons.append(f"scoped to {a.get('directoryScopeId')} (not tenant-wide)")
    return False, "; ".join(dict.fromkeys(reasons))


async def run(ctx: DrillContext) -> StepResult:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.role_management.directory.role_assignment_schedule_instances.role_assignment_schedule_instances_request_builder import (  # noqa: E501
        RoleAssignmentScheduleInstancesRequestBuilder as Instances,
    )
    from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (  # noqa: E501
        RoleAssignmentsRequestBuilder as Assignments,
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
    client = graph_client(ctx.tokens.credential(), ctx.cloud, graph_scopes(ctx.cloud, SCOPES))
    deadline = float(ctx.playbook.sla.ga_proof)
    read = CountedCalls(ctx.counters, "graph_requests", deadline)

    user_cfg = RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "userPrincipalName", "accountEnabled", "displayName"]
        )
    )
    try:
        user = await read(lambda: client.users.by_user_id(user_id).get(request_configuration=user_cfg))
    except ServiceRefused as exc:
        return sb.fail(f"Graph refused to read the account (HTTP {exc.status}): {exc.message}")
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
    elig_builder = client.role_management.directory.role_eligibility_schedule_instances
    try:
        inst_resp = await read(
            lambda: inst_builder.get(
                request_configuration=RequestConfiguration(
                    query_parameters=Instances.RoleAssignmentScheduleInstancesRequestBuilderGetQueryParameters(
                        filter=flt
                    )
                )
            )
        )
        instances = [instance_dict(i) for i in await _all_pages(inst_builder, inst_resp, ctx)]
        elig_resp = await read(
            lambda: elig_builder.get(
                request_configuration=RequestConfiguration(
                    query_parameters=Eligible.RoleEligibilityScheduleInstancesRequestBuilderGetQueryParameters(
                        filter=flt
                    )
                )
            )
        )
        eligible = [instance_dict(i) for i in await _all_pages(elig_builder, elig_resp, ctx)]
        ok, reason = classify(instances, eligible, user_id)
        graph_says_ga = any(i.get("roleDefinitionId") == GLOBAL_ADMIN for i in instances)
        sb.check(
            "ga_assignment",
            "Global Administrator: direct, permanent, active, tenant-wide",
            ok,
            reason,
            {"assignmentScheduleInstances": instances, "eligibilityScheduleInstances": eligible},
        )
    except ServiceRefused as exc:
        if "AadPremiumLicenseRequired" not in exc.message:
            return sb.fail(f"Graph refused the role schedule query (HTTP {exc.status}): {exc.message}")
        # No P2 licence, no PIM: fall back to the role-assignments API.
        assign_builder = client.role_management.directory.role_assignments
        try:
            resp = await read(
                lambda: assign_builder.get(
                    request_configuration=RequestConfiguration(
                        query_parameters=Assignments.RoleAssignmentsRequestBuilderGetQueryParameters(
                            filter=flt
                        )
                    )
                )
            )
        except ServiceRefused as inner:
            return sb.fail(f"Graph refused the role-assignments query (HTTP {inner.status}): {inner.message}")
        assignments = [assignment_dict(a) for a in await _all_pages(assign_builder, resp, ctx)]
        ok, reason = classify_assignments(assignments, user_id)
        graph_says_ga = any(a.get("roleDefinitionId") == GLOBAL_ADMIN for a in assignments)
        sb.check(
            "ga_assignment",
            "Global Administrator: direct, active, tenant-wide (role-assignments API)",
            ok,
            reason,
            {"roleAssignments": assignments, "pimRefusal": exc.message},
        )
        sb.check(
            "pim_licence",
            "PIM schedules readable",
            True,
            "the tenant has no Entra ID P2 (PIM answered AadPremiumLicenseRequired): the assignment was "
            "checked with the role-assignments API, which shows direct, tenant-wide and active but not "
            "permanence or eligibility (without the licence no PIM schedule can make it time-bound)",
            {"status": exc.status, "message": exc.message},
            required=False,
        )
    if read.transients:
        sb.evidence["transient_errors"] = read.transients[:50]
    _corroborate(ctx, sb, graph_says_ga)
    _token_time(ctx, sb)
    return sb.finish("Global Administrator proven active, direct, permanent and tenant-wide")


def _corroborate(ctx: DrillContext, sb: StepBuilder, graph_says_ga: bool) -> None:
    """Token claims corroborate Graph when readable: absent is a note; contradicting Graph is a FAIL."""
    claims = ctx.token_claims or {}
    if "wids" not in claims:
        sb.check(
            "token_wids",
            "The sign-in token's wids agree with Graph",
            True,
            "no wids claim to read (tokens are not meant for clients): the proof rests on Graph",
            required=False,
        )
        return
    wids = [str(w) for w in claims.get("wids") or []]
    in_token = GLOBAL_ADMIN in wids
    agree = in_token == graph_says_ga
    sb.check(
        "token_wids",
        "The sign-in token's wids agree with Graph",
        agree,
        (f"wids {'lists' if in_token else 'does not list'} Global Administrator, as Graph says")
        if agree
        else (
            f"the token's wids {'list' if in_token else 'do not list'} Global Administrator but Graph says "
            f"{'it is' if graph_says_ga else 'it is not'} assigned: the two contradict each other; check the "
            "assignment in Entra (a just-changed role, or a token from another tenant)"
        ),
        {"wids": wids},
    )


def _token_time(ctx: DrillContext, sb: StepBuilder) -> None:
    """The token's `iat` against our clock when it arrived: a second view of the skew, recorded only.

    The offset the drill applies was fixed from the Date headers in preflight; a token issued by another
    clock (or a cached one) must not move it, but an auditor may want to see both.
    """
    iat, received = ctx.token_claims.get("iat"), ctx.signin_completed_at
    if not isinstance(iat, int | float) or received is None:
        return
    token_skew = round(float(iat) - received.timestamp(), 3)
    sb.evidence["clock_skew"] = {
        "from_date_headers_s": ctx.skew.offset_s,
        "from_token_iat_s": token_skew,
        "note": "iat has one-second resolution and precedes receipt by the round trip; recorded, not applied",
    }
