"""Microsoft.Authorization as the audit reads it: role assignments that apply to a scope, role definitions.

Assignments come from the tenant fixture's `azure.roleAssignments: [{principalId, role, scope,
principalType?, id?}]` (the managed identities of the alert rules, say). Built-in role definitions keep
their real, cloud-wide GUIDs and actions (README.md names the source of each). The `$filter` forms are the
documented ones (azure-mgmt-authorization 4.0.0 `list_for_scope` docstring): `atScope()` = at or above the
scope, `principalId eq '{id}'` = at, above or below it for that principal; `assignedTo('{id}')` (alone or
after `atScope() and`) = that principal's, groups not expanded here. Anything else answers 400.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from drill.sim.arm import ids
from drill.sim.arm.rbac import covers
from drill.sim.state import SimState

# roleName -> (GUID, actions, description)
BUILT_IN: dict[str, tuple[str, list[str], str]] = {
    "Reader": ("acdd72a7-3385-48ef-bd42-f606fba81ae7", ["*/read"], "View all resources, but does not allow "
               "you to make any changes."),
    "Log Analytics Reader": ("73c42c96-874c-492b-b04d-ab87d138a893", [
        "*/read", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
        "Microsoft.OperationalInsights/workspaces/search/action", "Microsoft.Support/*"],
        "Log Analytics Reader can view and search all monitoring data as well as and view monitoring "
        "settings, including viewing the configuration of Azure diagnostics on all Azure resources."),
    "Monitoring Reader": ("43d0d8ad-25c7-4714-9337-8ba259a9fe05", ["*/read", "Microsoft.OperationalInsights/"
                          "workspaces/search/action", "Microsoft.Support/*"],
                          "Can read all monitoring data."),
    # The write roles `drill setup` checks for (GUIDs: the built-in roles page, Privileged / Monitor sections)
    "Owner": ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", ["*"], "Grants full access to manage all resources, "
              "including the ability to assign roles in Azure RBAC."),
    "User Access Administrator": ("18d7d88d-d35e-4fb5-a5c3-7773c6a72d9d", ["*/read",
                                  "Microsoft.Authorization/*"],
                                  "Lets you manage user access to Azure resources."),
    "Monitoring Contributor": ("749f88d5-cbae-40b8-bcfc-e573ddc772fa", ["*/read", "Microsoft.Insights/*"],
                               "Can read all monitoring data and update monitoring settings."),
    "Contributor": ("b24988ac-6180-42a0-ab88-20f7382dd24c", ["*"], "Grants full access to manage all "
                    "resources, but does not allow you to assign roles in Azure RBAC."),
    "Log Analytics Contributor": ("92aaf0da-9dab-42b6-94a3-d43ce8d16293", ["*/read"], "Log Analytics "
                                  "Contributor can read all monitoring data and edit monitoring settings."),
    # BELIEF (actions from memory of the Security category page, learn.microsoft.com/azure/role-based-access-
    # control/built-in-roles/security; the GUID is VERIFIED in public templates naming it "Security Reader")
    "Security Reader": ("39bc4728-0917-49c7-9d2c-d95423bc2eb4", [
        "Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/read", "Microsoft.Security/*/read",
        "Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.Support/*"],
        "Security Reader Role"),
}  # fmt: skip
_PRINCIPAL_EQ = re.compile(r"^\s*principalId\s+eq\s+'(?P<id>[0-9a-fA-F-]{36})'\s*$")
_ASSIGNED_TO = re.compile(r"^\s*(?P<at>atScope\(\)\s+and\s+)?assignedTo\('(?P<id>[0-9a-fA-F-]{36})'\)\s*$")


class FilterError(ValueError):
    """A $filter the service does not accept."""


def definition_id(state: SimState, guid: str) -> str:
    return (
        f"/subscriptions/{ids.subscription(state)}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )


def definition_by_guid(guid: str) -> tuple[str, tuple[str, list[str], str]] | None:
    return next(((name, d) for name, d in BUILT_IN.items() if d[0] == guid.lower()), None)


def role_definition(state: SimState, guid: str) -> dict[str, Any] | None:
    """GET .../roleDefinitions/{guid} (2022-04-01 shape), or None for an unknown id."""
    found = definition_by_guid(guid)
    if found is None:
        return None
    name, (rid, actions, description) = found
    return {
        "id": definition_id(state, rid),
        "name": rid,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": name,
            "type": "BuiltInRole",
            "description": description,
            "assignableScopes": ["/"],
            "permissions": [{"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}],
            "createdOn": "2017-05-02T00:20:28.0000000Z",
            "updatedOn": "2021-11-11T20:13:37.0000000Z",
            "createdBy": None,
            "updatedBy": None,
        },
    }


def assignment_resource(state: SimState, grant: dict[str, Any]) -> dict[str, Any]:
    """One Microsoft.Authorization/roleAssignments item (2022-04-01 shape)."""
    role = str(grant["role"])
    if role not in BUILT_IN:
        raise ValueError(f"azure.roleAssignments: unknown role {role!r}; known: {sorted(BUILT_IN)}")
    scope = str(grant["scope"])
    name = str(grant.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}|{grant['principalId']}|{role}"))
    return {
        "properties": {
            "roleDefinitionId": definition_id(state, BUILT_IN[role][0]),
            "principalId": str(grant["principalId"]),
            "principalType": str(grant.get("principalType", "ServicePrincipal")),
            "scope": scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": "2026-01-05T09:00:00.0000000Z",
            "updatedOn": "2026-01-05T09:00:00.0000000Z",
            "createdBy": None,
            "updatedBy": None,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
    }


def list_for_scope(state: SimState, scope: str, filter_text: str | None) -> list[dict[str, Any]]:
    """The assignments `list_for_scope` returns for this scope and $filter (FilterError when refused)."""
    principal: str | None = None
    above_only = False
    if filter_text:
        if filter_text.strip() == "atScope()":
            above_only = True
        elif m := _PRINCIPAL_EQ.match(filter_text):
            principal = m["id"].lower()
        elif m := _ASSIGNED_TO.match(filter_text):
            principal, above_only = m["id"].lower(), bool(m["at"])
        else:
            raise FilterError(filter_text)
    out = []
    for grant in [*(state.tenant.azure.get("roleAssignments") or []), *app_grants(state)]:
        at = str(grant["scope"])
        if principal and str(grant["principalId"]).lower() != principal:
            continue
        if covers(at, scope) or (not above_only and covers(scope, at)):
            out.append(assignment_resource(state, grant))
    return out


def app_grants(state: SimState) -> list[dict[str, Any]]:
    """The applications' own Azure roles (`armRoles`, and `workspaceRoles` at the workspace) as role
    assignments of their service principals: what the observer's permission self-check lists."""
    out: list[dict[str, Any]] = []
    for app in state.tenant.applications:
        principal = str(app.get("servicePrincipalId") or uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{app['appId']}"))
        for grant in app.get("armRoles") or []:
            out.append({"principalId": principal, "role": grant["role"], "scope": grant["scope"]})
        for role in app.get("workspaceRoles") or []:
            out.append({"principalId": principal, "role": role, "scope": ids.workspace_id(state)})
    return out
