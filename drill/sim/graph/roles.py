"""Directory roles on Graph: unified role assignments, PIM schedule instances (active and eligible), role
definitions, activated directoryRoles and their members; the role faults
that edit these lists are in graph_role_faults.

The tenant fixture stores what PIM stores: schedule instances per principal (a user or a role-assignable
group). A group's assignment also shows up, for each member, as an instance with `memberType: Group` and the
member as principal, which is what `?$filter=principalId eq '{user}'` returns on Microsoft's service.
The faults edit those same lists, so `Tenant.active_role_template_ids` (the `wids` claim) always agrees with
what Graph answers.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from drill.sim.graph.builtins import BUILTIN_ROLES
from drill.sim.graph.directory import AUNITS, GROUPS, MEMBER_OF, OBJECTS, directory_object, find_user, view
from drill.sim.graph.http import (
    GraphError,
    GraphRequest,
    GraphResponse,
    Obj,
    Perms,
    RouteSpec,
    iso,
    not_found,
    ok,
    route,
)
from drill.sim.graph.odata import QuerySpec, collection, ops, parse_query, project, select_suffix
from drill.sim.tenant import GLOBAL_ADMIN, Tenant, _parse

_PIM_FILTER = {
    "principalId": ops("eq", "in"),
    "roleDefinitionId": ops("eq", "in"),
    "directoryScopeId": ops("eq"),
    "memberType": ops("eq"),
    "assignmentType": ops("eq"),
    "appScopeId": ops("eq"),
}
ASSIGNMENTS = QuerySpec(
    "unifiedRoleAssignment",
    "unifiedRoleAssignment",
    filterable={k: v for k, v in _PIM_FILTER.items() if k not in ("memberType", "assignmentType")},
    default_select=(
        "id",
        "principalId",
        "roleDefinitionId",
        "directoryScopeId",
        "appScopeId",
        "condition",
        "principalOrganizationId",
    ),
)
# Property order of Microsoft's documented responses (reference/graph/examples/).
_BASE = (
    "id",
    "principalId",
    "roleDefinitionId",
    "directoryScopeId",
    "appScopeId",
    "startDateTime",
    "endDateTime",
)
ASSIGNMENT_INSTANCES = QuerySpec(
    "unifiedRoleAssignmentScheduleInstance",
    "unifiedRoleAssignmentScheduleInstance",
    filterable=_PIM_FILTER,
    flavour="pim",
    default_select=(
        *_BASE,
        "assignmentType",
        "memberType",
        "roleAssignmentOriginId",
        "roleAssignmentScheduleId",
    ),
)
ELIGIBILITY_INSTANCES = QuerySpec(
    "unifiedRoleEligibilityScheduleInstance",
    "unifiedRoleEligibilityScheduleInstance",
    filterable={k: v for k, v in _PIM_FILTER.items() if k != "assignmentType"},
    flavour="pim",
    default_select=(*_BASE, "memberType", "roleEligibilityScheduleId"),
)
DEFINITIONS = QuerySpec(
    "unifiedRoleDefinition",
    "unifiedRoleDefinition",
    filterable={
        "displayName": ops("eq", "startswith"),
        "templateId": ops("eq"),
        "isBuiltIn": ops("eq"),
        "id": ops("eq"),
    },
    orderable=frozenset({"displayName"}),
)
ROLES = QuerySpec(
    "directoryRole", "DirectoryRole", filterable={"roleTemplateId": ops("eq"), "displayName": ops("eq")}
)

_RM = (
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "Directory.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.ReadWrite.All",
)
READ_ROLES = Perms(delegated=_RM, application=_RM)
READ_ASSIGNMENT_SCHEDULES = Perms(
    delegated=(
        "RoleAssignmentSchedule.Read.Directory",
        "RoleManagement.Read.Directory",
        "RoleManagement.Read.All",
        "RoleAssignmentSchedule.ReadWrite.Directory",
        "RoleManagement.ReadWrite.Directory",
    ),
    application=(
        "RoleAssignmentSchedule.Read.Directory",
        "RoleManagement.Read.Directory",
        "RoleManagement.Read.All",
        "RoleAssignmentSchedule.ReadWrite.Directory",
        "RoleManagement.ReadWrite.Directory",
    ),
    flavour="pim",
)
READ_ELIGIBILITY_SCHEDULES = Perms(
    delegated=(
        "RoleEligibilitySchedule.Read.Directory",
        "RoleManagement.Read.Directory",
        "RoleManagement.Read.All",
        "RoleEligibilitySchedule.ReadWrite.Directory",
        "RoleManagement.ReadWrite.Directory",
    ),
    application=(
        "RoleEligibilitySchedule.Read.Directory",
        "RoleManagement.Read.Directory",
        "RoleManagement.Read.All",
        "RoleEligibilitySchedule.ReadWrite.Directory",
        "RoleManagement.ReadWrite.Directory",
    ),
    flavour="pim",
)


def _in_force(item: Obj, now: datetime) -> bool:
    start, end = item.get("startDateTime"), item.get("endDateTime")
    return not ((start and _parse(start) > now) or (end and _parse(end) <= now))


def _stamp(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def schedule_instances(tenant: Tenant, source: list[Obj], now: datetime) -> list[Obj]:
    """Instances in force now, with each group's instance repeated for its members as memberType Group."""
    out: list[Obj] = []
    for item in source:
        if not _in_force(item, now):
            continue
        base = {k: _stamp(v) for k, v in item.items()}
        out.append(base)
        group = tenant.group(str(item["principalId"]))
        for member in (group or {}).get("members", []):
            out.append({**base, "id": f"{base['id']}-{member}", "principalId": member, "memberType": "Group"})
    return out


def role_definition(template: str, name: str, description: str) -> Obj:
    return {
        "id": template,
        "description": description,
        "displayName": name,
        "isBuiltIn": True,
        "isEnabled": True,
        "resourceScopes": ["/"],
        "templateId": template,
        "version": "1",
        "rolePermissions": [{"allowedResourceActions": [], "condition": None, "excludedResourceActions": []}],
    }


def definitions(tenant: Tenant) -> list[Obj]:
    builtin = [role_definition(t, n, d) for n, t, d in BUILTIN_ROLES]
    return builtin + [dict(d) for d in tenant.roleDefinitions]


def directory_role(req: GraphRequest, template: str) -> Obj:
    """The activated directoryRole object of a template; its id is tenant-specific, as on the service."""
    name, desc = next(((n, d) for n, t, d in BUILTIN_ROLES if t == template), (template, None))
    custom = next((d for d in req.state.tenant.roleDefinitions if d.get("templateId") == template), None)
    if custom:
        name, desc = custom.get("displayName", name), custom.get("description", desc)
    return {
        "id": str(uuid.uuid5(uuid.UUID(req.state.tenant.id), template)),
        "deletedDateTime": None,
        "description": desc,
        "displayName": name,
        "roleTemplateId": template,
    }


def _assigned_templates(req: GraphRequest) -> list[str]:
    now = req.now()
    used = {a["roleDefinitionId"] for a in req.state.tenant.roleAssignments if _in_force(a, now)}
    return sorted(used | {GLOBAL_ADMIN})  # Global Administrator is always activated in a tenant


def direct_role_ids(req: GraphRequest, principal_id: str) -> list[str]:
    now = req.now()
    return sorted(
        {
            a["roleDefinitionId"]
            for a in req.state.tenant.roleAssignments
            if a["principalId"] == principal_id
            and a.get("directoryScopeId", "/") == "/"
            and _in_force(a, now)
        }
    )


# -- handlers --
async def list_assignments(req: GraphRequest) -> GraphResponse:
    now, tid = req.now(), req.state.tenant.id
    items = [
        {
            "id": a.get("roleAssignmentOriginId") or a["id"],
            "principalId": a["principalId"],
            "roleDefinitionId": a["roleDefinitionId"],
            "directoryScopeId": a.get("directoryScopeId", "/"),
            "appScopeId": a.get("appScopeId"),
            "condition": None,
            "principalOrganizationId": tid,
        }
        for a in req.state.tenant.roleAssignments
        if _in_force(a, now)
    ]
    return ok(collection(req, ASSIGNMENTS, items, "roleManagement/directory/roleAssignments"))


def _require_pim_licence(req: GraphRequest) -> None:
    """PIM's schedule APIs need Entra ID P2 (or Governance); without it they refuse with a 400."""
    if not req.state.tenant.pim_licensed:
        raise GraphError(400, "AadPremiumLicenseRequired", "The tenant needs an AAD Premium 2 license.")


async def list_assignment_instances(req: GraphRequest) -> GraphResponse:
    _require_pim_licence(req)
    t = req.state.tenant
    items = schedule_instances(t, t.roleAssignments, req.now())
    return ok(
        collection(
            req, ASSIGNMENT_INSTANCES, items, "roleManagement/directory/roleAssignmentScheduleInstances"
        )
    )


async def list_eligibility_instances(req: GraphRequest) -> GraphResponse:
    _require_pim_licence(req)
    t = req.state.tenant
    items = schedule_instances(t, t.roleEligibilities, req.now())
    frag = "roleManagement/directory/roleEligibilityScheduleInstances"
    return ok(collection(req, ELIGIBILITY_INSTANCES, items, frag))


async def list_definitions(req: GraphRequest) -> GraphResponse:
    return ok(
        collection(
            req, DEFINITIONS, definitions(req.state.tenant), "roleManagement/directory/roleDefinitions"
        )
    )


async def get_definition(req: GraphRequest) -> GraphResponse:
    found = next((d for d in definitions(req.state.tenant) if d["id"] == req.params["id"]), None)
    if found is None:
        raise not_found(req.params["id"])
    q = parse_query(req, DEFINITIONS, collection=False)
    ctx = f"{req.base}/$metadata#roleManagement/directory/roleDefinitions{select_suffix(q)}/$entity"
    return ok({"@odata.context": ctx, **project(DEFINITIONS, found, q)})


def _role_template(req: GraphRequest) -> str:
    if "template" in req.params:
        template = req.params["template"]
        if template not in _assigned_templates(req):
            raise not_found(f"roleTemplateId={template}")
        return template
    for template in _assigned_templates(req):
        if directory_role(req, template)["id"] == req.params["role"]:
            return template
    raise not_found(req.params["role"])


async def list_roles(req: GraphRequest) -> GraphResponse:
    items = [directory_role(req, t) for t in _assigned_templates(req)]
    return ok(collection(req, ROLES, items, "directoryRoles"))


async def get_role(req: GraphRequest) -> GraphResponse:
    role = directory_role(req, _role_template(req))
    q = parse_query(req, ROLES, collection=False)
    return ok(
        {
            "@odata.context": f"{req.base}/$metadata#directoryRoles{select_suffix(q)}/$entity",
            **project(ROLES, role, q),
        }
    )


async def role_members(req: GraphRequest) -> GraphResponse:
    template, now = _role_template(req), req.now()
    principals = list(
        dict.fromkeys(
            a["principalId"]
            for a in req.state.tenant.roleAssignments
            if a["roleDefinitionId"] == template
            and a.get("directoryScopeId", "/") == "/"
            and _in_force(a, now)
        )
    )
    found = [o for o in (directory_object(req, p) for p in principals) if o is not None]
    return ok(collection(req, OBJECTS, found, "directoryObjects"))


async def member_of(req: GraphRequest) -> GraphResponse:
    """/users/{id}/memberOf: groups, administrative units and the directory roles held directly."""
    user = find_user(req, req.params["user"])
    t = req.state.tenant
    out: list[Obj] = []
    for g in t.groups_of(user["id"]):
        out.append({"@odata.type": "#microsoft.graph.group", **view(GROUPS, g)})
    for au in t.administrativeUnits:
        if user["id"] in au.get("members", []):
            out.append({"@odata.type": "#microsoft.graph.administrativeUnit", **view(AUNITS, au)})
    for template in direct_role_ids(req, user["id"]):
        out.append({"@odata.type": "#microsoft.graph.directoryRole", **directory_role(req, template)})
    return ok(collection(req, OBJECTS, out, "directoryObjects"))


def routes() -> list[RouteSpec]:
    rm = "/roleManagement/directory"
    by_template = r"/directoryRoles\(roleTemplateId='(?P<template>[^']+)'\)"
    by_id = r"/directoryRoles/(?P<role>[^/]+)"
    return [
        route("GET", rm + "/roleAssignments", list_assignments, READ_ROLES),
        route(
            "GET",
            rm + "/roleAssignmentScheduleInstances",
            list_assignment_instances,
            READ_ASSIGNMENT_SCHEDULES,
        ),
        route(
            "GET",
            rm + "/roleEligibilityScheduleInstances",
            list_eligibility_instances,
            READ_ELIGIBILITY_SCHEDULES,
        ),
        route("GET", rm + "/roleDefinitions", list_definitions, READ_ROLES),
        route("GET", rm + r"/roleDefinitions/(?P<id>[^/]+)", get_definition, READ_ROLES),
        route("GET", r"/users/(?P<user>[^/()]+)/memberOf", member_of, MEMBER_OF, user_param="user"),
        route("GET", "/directoryRoles", list_roles, READ_ROLES),
        route("GET", by_template, get_role, READ_ROLES),
        route("GET", by_template + "/members", role_members, READ_ROLES),
        route("GET", by_id, get_role, READ_ROLES),
        route("GET", by_id + "/members", role_members, READ_ROLES),
    ]
