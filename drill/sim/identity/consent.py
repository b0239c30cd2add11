"""What Entra checks about the app itself once the user is known: assignment, then delegated consent.

Both come after the credential (the user must be known to decide either), so the key is used and a row is
logged before the sign-in ends (facts and marks in PAGES.md, "Setup failures"):

- `appRoleAssignmentRequired` on the app and the user not assigned (directly or through a group it is a
  direct member of; nested groups do not count): the error page with AADSTS50105.
- Requested delegated scopes beyond the app's consented ones (`delegatedScopes`, the simulator's record of
  the tenant's oauth2PermissionGrants): a user holding an active role that can grant tenant-wide consent
  sees the consent prompt ("Permissions requested", with "Consent on behalf of your organization"); any
  other user gets "Need admin approval" (AADSTS90094) on the error page.

The consent page only shows what is asked; the simulator has no route that grants consent from it, so a
driver that clicked Accept would get nowhere (the drill must never grant permissions mid-drill anyway).
"""

from __future__ import annotations

from typing import Any

from drill.sim.identity.oidc import OIDC_SCOPES, delegated_grant, split_scopes
from drill.sim.identity.store import Flow
from drill.sim.state import SimState

# Directory roles that can grant tenant-wide consent to delegated permissions (BELIEF, PAGES.md): Global
# Administrator, Privileged Role Administrator, Cloud Application Administrator, Application Administrator.
CONSENT_ROLES = {
    "62e90394-69f5-4237-9190-012177145e10",
    "e8611ab8-c189-46e8-94e1-60213ab1f814",
    "158c047a-c907-4556-b7ef-446551a6b5f7",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
}


def assigned(state: SimState, app: dict[str, Any], user_id: str) -> bool:
    """The user may use the app: no assignment required, or the user or one of its direct groups assigned."""
    if not app.get("appRoleAssignmentRequired"):
        return True
    principals = set(app.get("assignedPrincipals") or [])
    groups = {g["id"] for g in state.tenant.groups_of(user_id)}
    return user_id in principals or bool(groups & principals)


def unconsented(flow: Flow) -> list[str]:
    """The requested scopes no grant covers (OIDC scopes need none)."""
    resource, names = split_scopes(flow.scopes)
    granted = set(delegated_grant(flow.app, resource, names, flow.user_id))
    return [n for n in names if n not in OIDC_SCOPES and n != ".default" and n not in granted]


def can_consent_for_tenant(state: SimState, user_id: str) -> bool:
    return bool(CONSENT_ROLES & set(state.tenant.active_role_template_ids(user_id, state.clock.now())))
