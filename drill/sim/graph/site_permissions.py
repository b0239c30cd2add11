"""A site's application permissions: `POST /sites/{id}/permissions` (the Sites.Selected grant) and the list.

VERIFIED (learn.microsoft.com/graph/api/site-post-permissions): only application permissions can be created;
delegated callers need Sites.FullControl.All and an administrator role "such as SharePoint Administrator or
higher"; the body is `{roles: ["write"], grantedToIdentities: [{application: {id, displayName}}]}` and the
answer 201 with the permission. The grant lands in the site's `grants` (appId -> role) that sites.py checks.
"""

from __future__ import annotations

import uuid

from drill.sim.graph.http import GraphError, GraphRequest, GraphResponse, Obj, Perms, RouteSpec, route
from drill.sim.graph.sites import store
from drill.sim.tenant import GLOBAL_ADMIN

SHAREPOINT_ADMIN = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c"
_PERMS = Perms(delegated=("Sites.FullControl.All",), application=("Sites.FullControl.All",))
ROLES = ("read", "write", "owner", "fullcontrol")


def _site(req: GraphRequest) -> Obj:
    site = store(req.state)["sites"].get(req.params["site"])
    if site is None:
        raise GraphError(404, "itemNotFound", "Requested site could not be found")
    return site  # type: ignore[no-any-return]


def _permission(site: Obj, app_id: str, role: str) -> Obj:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"site-perm:{site['id']}:{app_id}")),
        "roles": [role],
        "grantedToIdentitiesV2": [{"application": {"id": app_id, "displayName": None}}],
        "grantedToIdentities": [{"application": {"id": app_id, "displayName": None}}],
    }


async def list_permissions(req: GraphRequest) -> GraphResponse:
    site = _site(req)
    items = [_permission(site, app, role) for app, role in site.get("grants", {}).items()]
    return GraphResponse(
        200, {"@odata.context": f"{req.base}/$metadata#sites('{site['id']}')/permissions", "value": items}
    )


async def create_permission(req: GraphRequest) -> GraphResponse:
    if req.delegated and not set(req.claims.get("wids") or []) & {GLOBAL_ADMIN, SHAREPOINT_ADMIN}:
        raise GraphError(403, "accessDenied", "Access denied")
    site = _site(req)
    body = req.body if isinstance(req.body, dict) else {}
    roles = body.get("roles") or []
    idents = body.get("grantedToIdentities") or body.get("grantedToIdentitiesV2") or []
    apps = [str((i.get("application") or {}).get("id", "")) for i in idents if isinstance(i, dict)]
    if len(roles) != 1 or roles[0] not in ROLES or not apps or not all(apps):
        raise GraphError(400, "invalidRequest", "Invalid request")
    if req.state.tenant.application(apps[0]) is None:
        raise GraphError(400, "invalidRequest", "Invalid request: no such application")
    with req.state.lock:
        site.setdefault("grants", {})[apps[0]] = roles[0]
    return GraphResponse(201, _permission(site, apps[0], roles[0]))


def routes() -> list[RouteSpec]:
    base = r"/sites/(?P<site>[^/:]+)/permissions"
    return [route("GET", base, list_permissions, _PERMS), route("POST", base, create_permission, _PERMS)]
