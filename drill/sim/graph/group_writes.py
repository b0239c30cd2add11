"""Audited directory writes on Graph: `PATCH /groups/{id}` and the "Update group" audit entry it leaves.

Why it exists: a break-glass drill must prove the account can *act*, and the proof is only worth the audit
trail it leaves. So a successful update answers 204 No Content (Graph's documented answer to a group
update) and emits one directoryAudit shaped like Entra's: category GroupManagement, activity
"Update group", logged by Core Directory, initiated by the signed-in user, and the group as target with
modifiedProperties whose oldValue/newValue are JSON-encoded string arrays, plus the "Included Updated
Properties" entry Entra adds (see DIFFERENCES.md, "Audited directory writes").

A group that is a member of a restricted management administrative unit refuses any tenant-level
administrator, Global Administrator included, with Graph's 403 and the message Microsoft returns (a role
scoped to that AU would be needed). Faults: the break-glass group placed in the restricted AU; one
restore refused.
"""

from __future__ import annotations

import json
from typing import Any

from drill.sim.beliefs import Belief, form
from drill.sim.graph.builtins import PRIVILEGED_ROLE_ADMIN
from drill.sim.graph.http import GraphError, GraphRequest, GraphResponse, Obj, Perms, RouteSpec, route
from drill.sim.state import AuditEvent, Fault, SimState
from drill.sim.tenant import GLOBAL_ADMIN

GROUPS_ADMIN = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
WRITABLE = {"description": "Description", "displayName": "DisplayName"}
RESTRICTED_MESSAGE = (
    "Insufficient privileges to complete the operation. Target object is a member of a restricted "
    "management administrative unit and can only be modified by administrators scoped to that "
    "administrative unit. Check that you are assigned a role that has permission to perform the operation "
    "for this restricted management administrative unit. Learn more: "
    "https://go.microsoft.com/fwlink/?linkid=2197831"
)
WRITE_REFUSED, RESTORE_REFUSED = "admin-write-restricted-au", "admin-restore-refused"

UPDATE_GROUP = Perms(
    delegated=("Group.ReadWrite.All", "Directory.ReadWrite.All"),
    application=("Group.ReadWrite.All", "Directory.ReadWrite.All"),
    # A delegated caller also needs a directory role that may manage groups; role-assignable groups
    # only Global and Privileged Role Administrators (checked in the handler).
    roles_delegated=(GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN, GROUPS_ADMIN, USER_ADMIN),
)


def _restricted_aus(req: GraphRequest, object_id: str) -> list[Obj]:
    return [
        au
        for au in req.state.tenant.administrativeUnits
        if au.get("isMemberManagementRestricted") and object_id in au.get("members", [])
    ]


def _scoped_to(req: GraphRequest, au_id: str) -> bool:
    """Does the caller hold a role assignment scoped to this administrative unit?"""
    caller = str(req.claims.get("oid", ""))
    scope = f"/administrativeUnits/{au_id}"
    return any(
        a.get("principalId") == caller and a.get("directoryScopeId") == scope
        for a in req.state.tenant.roleAssignments
    )


def _actor(req: GraphRequest) -> dict[str, Any]:
    if req.delegated:
        who = req.state.tenant.user(str(req.claims.get("oid", ""))) or {}
        return {
            "user": {
                "id": req.claims.get("oid"),
                "displayName": who.get("displayName"),
                "userPrincipalName": who.get("userPrincipalName"),
                "ipAddress": "127.0.0.1",
            }
        }
    return {
        "app": {
            "appId": req.claims.get("appid") or req.claims.get("azp"),
            "displayName": None,
            "servicePrincipalId": req.claims.get("oid"),
            "servicePrincipalName": None,
        }
    }


def _modified(changes: dict[str, tuple[Any, Any]], shape: str = "json-array") -> list[dict[str, Any]]:
    """modifiedProperties as Entra writes them: values are JSON text of a one-item array (belief
    `audit-modified-values`; its `plain` form writes the value itself)."""

    def value(v: Any) -> str | None:
        if shape == "plain":
            return None if v is None else str(v)
        return json.dumps([v]) if v is not None else "[]"

    out: list[dict[str, Any]] = [
        {"displayName": WRITABLE[name], "oldValue": value(old), "newValue": value(new)}
        for name, (old, new) in changes.items()
    ]
    out.append(
        {
            "displayName": "Included Updated Properties",
            "oldValue": None,
            "newValue": json.dumps(", ".join(WRITABLE[n] for n in changes)),
        }
    )
    return out


def _refuse_restore(req: GraphRequest) -> bool:
    """The restore-refused fault: the second write to a group is refused, once (the step's own attempt)."""
    fault = req.state.fault(RESTORE_REFUSED)
    if fault is None:
        return False
    with req.state.lock:
        fault["writes"] = int(fault.get("writes", 0)) + 1
        if fault["writes"] >= 2 and int(fault.get("remaining", 1)) > 0:
            fault["remaining"] = int(fault.get("remaining", 1)) - 1
            return True
    return False


async def update_group(req: GraphRequest) -> GraphResponse:
    group = req.state.tenant.group(req.params["group"])
    if group is None:
        raise GraphError(
            404, "Request_ResourceNotFound",
            f"Resource '{req.params['group']}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )  # fmt: skip
    body = req.body if isinstance(req.body, dict) else None
    if not body:
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    unknown = sorted(k for k in body if k not in WRITABLE and not k.startswith("@odata"))
    if unknown:
        # Graph accepts many more group properties; the simulator refuses rather than ignore them.
        raise GraphError(400, "Request_BadRequest", f"The simulator does not update {', '.join(unknown)}.")
    wids = set(req.claims.get("wids") or []) if req.delegated else set()
    if req.delegated and group.get("isAssignableToRole") and not wids & {GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN}:
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    for au in _restricted_aus(req, group["id"]):
        if not _scoped_to(req, au["id"]):
            raise GraphError(403, "Authorization_RequestDenied", RESTRICTED_MESSAGE)
    if _refuse_restore(req):
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    changes: dict[str, tuple[Any, Any]] = {}
    with req.state.lock:
        for key in WRITABLE:
            if key in body and group.get(key) != body[key]:
                changes[key] = (group.get(key), body[key])
                group[key] = body[key]
    if changes:
        req.state.emit_audit(
            AuditEvent(
                created=req.now(),
                category="GroupManagement",
                operation_name="Update group",
                initiated_by=_actor(req),
                target_resources=[
                    {
                        "id": group["id"],
                        "displayName": group.get("displayName"),
                        "type": "Group",
                        "userPrincipalName": None,
                        "groupType": "unifiedGroups"
                        if "Unified" in group.get("groupTypes", [])
                        else "azureAD",
                        "modifiedProperties": _modified(changes, form(req.state, "audit-modified-values")),
                    }
                ],
            )
        )
    return GraphResponse(204, None)


def routes() -> list[RouteSpec]:
    return [route("PATCH", r"/groups/(?P<group>[^/]+)", update_group, UPDATE_GROUP)]


def _break_glass_group_in_restricted_au(state: SimState) -> None:
    """Place every group (the break-glass group, the drill's canary group) in a restricted management AU."""
    groups = [g["id"] for g in state.tenant.groups]
    aus = [a for a in state.tenant.administrativeUnits if a.get("isMemberManagementRestricted")]
    if not aus:
        aus = [{"id": "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6cff", "displayName": "Restricted (fault)",
                "isMemberManagementRestricted": True, "members": []}]  # fmt: skip
        state.tenant.administrativeUnits.extend(aus)
    for gid in groups:
        if gid not in aus[0].setdefault("members", []):
            aus[0]["members"].append(gid)


def _restore_refused(state: SimState) -> None:
    state.faults[RESTORE_REFUSED] = {"remaining": 1, "writes": 0}


BELIEFS = [
    Belief(
        "audit-modified-values",
        "how an 'Update group' audit entry writes a changed property's old and new value",
        {
            "json-array": 'JSON text of a one-item array ("[\\"old\\"]"), as field reports show',
            "plain": "the value itself as text",
        },
    ),
]
FAULTS = [
    Fault(WRITE_REFUSED, "graph",
          "the group the admin task writes (canary or break-glass group) is in a restricted management "
          "administrative unit: Global Administrator's writes to it are refused (403)",
          _break_glass_group_in_restricted_au),
    Fault(RESTORE_REFUSED, "graph",
          "the second write to a group (the drill's restore) is refused once with 403; a later retry works",
          _restore_refused),
]  # fmt: skip
