"""One fault per grant the tenant fixture gives (that grant withheld), and the unconsented drill app.

A grant is what an administrator grants once: a delegated scope admin-consented for the drill app
(`delegatedScopes`), a Graph application permission of the observer (`appRoles`), its Log Analytics access
(`workspaceRoles`) or an Azure role at a scope (`armRoles`). Withholding one removes it everywhere the
simulator reads it: tokens (scp, roles), the Graph grant lists (graph/grants.py), ARM's RBAC and the
workspace's access check. Names are `grant-missing-<identity>-<permission>`, the identity being
`drill-app` (the public client) or `observer` (the confidential one), the permission lowercased with dots
and spaces as dashes: the product's permissions registry names each grant the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from drill.assets import DEMO_TENANT as FIXTURE
from drill.sim.state import Fault, SimState
from drill.sim.tenant import load_tenant

UNCONSENTED = "drill-app-unconsented"
_FIELDS = ("delegatedScopes", "appRoles", "workspaceRoles", "armRoles")


def identity_of(app: dict[str, Any]) -> str:
    return "drill-app" if app.get("kind") == "public" else "observer"


def slug(permission: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", permission.lower()).strip("-")


def fault_name(app: dict[str, Any], permission: str) -> str:
    return f"grant-missing-{identity_of(app)}-{slug(permission)}"


def _granted(app: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for fld in _FIELDS:
        for item in app.get(fld) or []:
            yield fld, str(item["role"] if isinstance(item, dict) else item)


def _withhold(identity: str, field: str, permission: str) -> Callable[[SimState], None]:
    def apply(state: SimState) -> None:
        with state.lock:
            for app in state.tenant.applications:
                if identity_of(app) != identity:
                    continue
                kept = [
                    i for i in app.get(field) or []
                    if str(i["role"] if isinstance(i, dict) else i) != permission
                ]  # fmt: skip
                app[field] = kept

    return apply


def _unconsented(state: SimState) -> None:
    """No admin consent at all: the drill app has no oauth2PermissionGrant, its tokens carry no scope, and
    the sign-in meets Entra's consent page ("Permissions requested") instead of returning a code."""
    with state.lock:
        for app in state.tenant.applications:
            if identity_of(app) == "drill-app":
                app["delegatedScopes"] = []
                app["consented"] = False


def _fixture_apps() -> list[dict[str, Any]]:
    if not FIXTURE.is_file():
        return []
    return list(load_tenant(FIXTURE).applications)


def grant_faults() -> list[Fault]:
    out = [
        Fault(UNCONSENTED, "consent",
              "the drill app has no admin consent: the sign-in shows the consent page", _unconsented),
    ]  # fmt: skip
    seen: set[str] = set()
    for app in _fixture_apps():
        for field, permission in _granted(app):
            name = fault_name(app, permission)
            if name in seen:
                continue
            seen.add(name)
            who = identity_of(app)
            out.append(Fault(name, "permission", f"the {who} lacks {permission} ({field})",
                             _withhold(who, field, permission)))  # fmt: skip
    return out


FAULTS = grant_faults()
