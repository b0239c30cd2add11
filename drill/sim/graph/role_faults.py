"""Role faults: each edits the tenant's role lists the way an admin's mistake would, so Graph's answers and
the `wids` claim (Tenant.active_role_template_ids) change together and consistently.

Targets are the break-glass shape: users holding Global Administrator directly, actively and permanently.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from drill.sim.graph.http import Obj, iso
from drill.sim.state import Fault, SimState
from drill.sim.tenant import GLOBAL_ADMIN


def _direct_permanent_ga(state: SimState) -> list[Obj]:
    """The break-glass shape: users holding Global Administrator directly, actively and permanently."""
    t = state.tenant
    return [
        a
        for a in t.roleAssignments
        if a["roleDefinitionId"] == GLOBAL_ADMIN
        and t.user(str(a["principalId"])) is not None
        and a.get("memberType", "Direct") == "Direct"
        and a.get("assignmentType", "Assigned") == "Assigned"
        and not a.get("endDateTime")
    ]


def _remove(state: SimState, items: list[Obj]) -> None:
    ids = {id(a) for a in items}
    state.tenant.roleAssignments[:] = [a for a in state.tenant.roleAssignments if id(a) not in ids]


def _ga_removed(state: SimState) -> None:
    with state.lock:
        _remove(state, _direct_permanent_ga(state))


def _ga_eligible_only(state: SimState) -> None:
    with state.lock:
        targets = _direct_permanent_ga(state)
        _remove(state, targets)
        for a in targets:
            sched = f"{a['id']}-eligible"
            state.tenant.roleEligibilities.append(
                {
                    "id": f"{sched}-e",
                    "principalId": a["principalId"],
                    "roleDefinitionId": GLOBAL_ADMIN,
                    "directoryScopeId": a.get("directoryScopeId", "/"),
                    "appScopeId": None,
                    "startDateTime": a.get("startDateTime"),
                    "endDateTime": None,
                    "memberType": "Direct",
                    "roleEligibilityScheduleId": sched,
                }
            )


def _ga_time_bound(state: SimState) -> None:
    end = iso(state.clock.now() + timedelta(days=30))
    with state.lock:
        for a in _direct_permanent_ga(state):
            a["endDateTime"] = end


def _ga_group_only(state: SimState) -> None:
    with state.lock:
        t = state.tenant
        targets = _direct_permanent_ga(state)
        _remove(state, targets)
        users = [str(a["principalId"]) for a in targets]
        groups: dict[str, Obj] = {}
        for user_id in users:
            group = next((g for g in t.groups_of(user_id) if g.get("isAssignableToRole")), None)
            if group is None:
                group = next(
                    (g for g in t.groups if g.get("displayName") == "Global Administrators (group)"), None
                )
            if group is None:
                group = {
                    "id": str(uuid.uuid4()),
                    "displayName": "Global Administrators (group)",
                    "isAssignableToRole": True,
                    "securityEnabled": True,
                    "mailEnabled": False,
                    "groupTypes": [],
                    "members": [],
                }
                t.groups.append(group)
            if user_id not in group["members"]:
                group["members"].append(user_id)
            groups[group["id"]] = group
        for gid in groups:
            origin = f"group-ga-{gid}"
            t.roleAssignments.append(
                {
                    "id": f"{origin}-e",
                    "principalId": gid,
                    "roleDefinitionId": GLOBAL_ADMIN,
                    "directoryScopeId": "/",
                    "appScopeId": None,
                    "startDateTime": "2025-01-01T00:00:00Z",
                    "endDateTime": None,
                    "assignmentType": "Assigned",
                    "memberType": "Direct",
                    "roleAssignmentOriginId": origin,
                    "roleAssignmentScheduleId": origin,
                }
            )


def _pim_unlicensed(state: SimState) -> None:
    state.tenant.pim_licensed = False


FAULTS = [
    Fault(
        "pim-licence-missing",
        "role",
        "the tenant has no Entra ID P2: PIM schedule APIs answer 400 AadPremiumLicenseRequired",
        _pim_unlicensed,
    ),
    Fault(
        "ga-removed",
        "role",
        "Global Administrator assignment removed from the break-glass accounts",
        _ga_removed,
    ),
    Fault(
        "ga-eligible-only", "role", "Global Administrator only eligible (PIM), not active", _ga_eligible_only
    ),
    Fault(
        "ga-time-bound",
        "role",
        "Global Administrator active but time-bound (ends in 30 days)",
        _ga_time_bound,
    ),
    Fault(
        "ga-group-only",
        "role",
        "Global Administrator assigned to a role-assignable group, not the accounts",
        _ga_group_only,
    ),
]
