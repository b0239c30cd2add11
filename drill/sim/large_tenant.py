"""A large tenant around a fixture's break-glass design: the scale the posture audit must survive.

Real tenants that keep break-glass accounts are often big: the audit must not list every user or group,
must page Conditional Access, and must stay inside Graph's throttling limits. This generator grows any
fixture (normally the demo tenant) with ordinary users, groups (with members), role assignments of other
roles and Conditional Access policies, all well-formed Graph v1.0 shapes, deterministic for a seed.

Every generated CA policy excludes the fixture's break-glass group (the healthy design at scale), so the
grown demo tenant still audits clean; a fault applied afterwards breaks it as on the small tenant.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from drill.sim.tenant import Tenant

_NS = uuid.UUID("6b0d8f62-1c55-4d3e-9a3c-2f8d1e7b5a40")
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"  # User Administrator (built-in template id)
HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"  # Helpdesk Administrator
_GRANTS: tuple[dict[str, Any], ...] = (
    {"operator": "OR", "builtInControls": ["mfa"]},
    {"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"]},
    {"operator": "OR", "builtInControls": ["block"]},
    {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]},
)


def _id(kind: str, n: int) -> str:
    return str(uuid.uuid5(_NS, f"{kind}-{n}"))


def _break_glass_group(tenant: Tenant) -> str:
    for g in tenant.groups:
        if g.get("isAssignableToRole"):
            return str(g["id"])
    raise ValueError("the fixture has no role-assignable group to keep excluded")


def grow(
    tenant: Tenant,
    *,
    users: int = 100_000,
    groups: int = 5_000,
    policies: int = 300,
    members_per_group: int = 20,
    seed: int = 14,
) -> Tenant:
    """A copy of `tenant` with `users` users, `groups` groups and `policies` CA policies in total."""
    rng = random.Random(seed)  # noqa: S311 - reproducible fixture data, not secrets
    out = tenant.copy()
    domain = out.primary_domain
    new_users = [
        {
            "id": _id("user", n),
            "userPrincipalName": f"user{n:06d}@{domain}",
            "displayName": f"User {n:06d}",
            "accountEnabled": n % 50 != 0,
            "userType": "Member" if n % 20 else "Guest",
            "mail": f"user{n:06d}@{domain}",
            "onPremisesSyncEnabled": True if n % 3 == 0 else None,
        }
        for n in range(max(0, users - len(out.users)))
    ]
    out.users.extend(new_users)
    ids = [u["id"] for u in new_users]
    for n in range(max(0, groups - len(out.groups))):
        out.groups.append(
            {
                "id": _id("group", n),
                "displayName": f"Group {n:05d}",
                "description": None,
                "isAssignableToRole": False,
                "securityEnabled": True,
                "mailEnabled": False,
                "groupTypes": [],
                "members": rng.sample(ids, min(members_per_group, len(ids))) if ids else [],
            }
        )
    for n, user_id in enumerate(ids[:200]):
        role = USER_ADMIN if n % 2 else HELPDESK_ADMIN
        out.roleAssignments.append(
            {
                "id": _id("assignment", n),
                "principalId": user_id,
                "roleDefinitionId": role,
                "directoryScopeId": "/",
                "appScopeId": None,
                "startDateTime": "2025-01-01T00:00:00Z",
                "endDateTime": None,
                "assignmentType": "Assigned",
                "memberType": "Direct",
                "roleAssignmentOriginId": _id("assignment", n),
                "roleAssignmentScheduleId": _id("assignment", n),
            }
        )
    excluded = _break_glass_group(out)
    group_ids = [g["id"] for g in out.groups if g["id"] != excluded]
    for n in range(max(0, policies - len(out.conditionalAccessPolicies))):
        include_all = n % 3 == 0
        out.conditionalAccessPolicies.append(
            {
                "id": _id("policy", n),
                "displayName": f"CA{n + 100:03d} - Generated policy {n}",
                "state": "enabledForReportingButNotEnforced" if n % 10 == 0 else "enabled",
                "createdDateTime": "2025-01-01T00:00:00Z",
                "modifiedDateTime": None,
                "conditions": {
                    "clientAppTypes": ["all"],
                    "applications": {"includeApplications": ["All"], "excludeApplications": []},
                    "users": {
                        "includeUsers": ["All"] if include_all else [],
                        "excludeUsers": [],
                        "includeGroups": [] if include_all else rng.sample(group_ids, min(3, len(group_ids))),
                        "excludeGroups": [excluded],
                        "includeRoles": [],
                        "excludeRoles": [],
                    },
                },
                "grantControls": {
                    **_GRANTS[n % len(_GRANTS)],
                    "customAuthenticationFactors": [],
                    "termsOfUse": [],
                },
                "sessionControls": None,
            }
        )
    return out
