"""Azure RBAC for the observer, as far as reading monitoring goes.

An application lists `armRoles: [{role, scope}]` in the tenant fixture. The built-in read roles below all
carry the action `*/read` (Reader, Monitoring Reader, ...), so any of them at a scope reads everything under
it; a role at a resource group does not reach the subscription. Entra's diagnostic settings live at the
tenant scope `/providers/microsoft.aadiam` (BELIEF on which role reads them: README.md).
"""

from __future__ import annotations

from typing import Any

READ_ROLES = frozenset(
    {"Reader", "Monitoring Reader", "Monitoring Contributor", "Contributor", "Owner",
     "Log Analytics Reader", "Log Analytics Contributor"}
)  # fmt: skip
# Azure's Security Reader has no `*/read`: only these action namespaces (VERIFIED, README.md), so neither
# the alert rules, the action groups nor microsoft.aadiam.
NARROW_ROLES = {
    "Security Reader": ("microsoft.authorization/", "microsoft.security/", "microsoft.operationalinsights/",
                        "microsoft.resources/", "microsoft.support/"),
}  # fmt: skip


def covers(scope: str, resource: str) -> bool:
    s, r = scope.lower().rstrip("/"), resource.lower().rstrip("/")
    return s == "" or r == s or r.startswith(s + "/")


def _grants(role: str, action: str) -> bool:
    if role in READ_ROLES:
        return True
    return bool(action) and action.lower().startswith(NARROW_ROLES.get(role, ()))


def can_read(app: dict[str, Any] | None, resource: str, action: str = "") -> bool:
    for grant in (app or {}).get("armRoles") or []:
        if _grants(str(grant.get("role")), action) and covers(str(grant.get("scope", "")), resource):
            return True
    return False
