"""What the tenant has granted, as Graph shows it: service principals, delegated permission grants
(oauth2PermissionGrants) and app role assignments.

Derived from the fixture's applications, so a grant removed from an app (a `grant-missing-*` fault) is gone
from its token and from these lists alike. The drill app's `delegatedScopes` become one tenant-wide
grant (consentType AllPrincipals, what admin consent writes); the observer's `appRoles` become app role
assignments on the Microsoft Graph service principal, whose `appRoles` and `oauth2PermissionScopes` carry
Microsoft's permission ids (graph_permissions.json). Reading any of these needs Directory.Read.All, or
Application.Read.All for service principals and app role assignments (Microsoft's permission tables:
serviceprincipal-get, serviceprincipal-list-oauth2permissiongrants, serviceprincipal-list-approleassignments).
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from importlib import resources

from drill.sim.graph.http import (
    GraphError,
    GraphRequest,
    GraphResponse,
    Obj,
    Perms,
    RouteSpec,
    not_found,
    ok,
    route,
)
from drill.sim.graph.odata import QuerySpec, collection, ops, parse_query
from drill.sim.tokens import GRAPH_APP_ID

_READ_SP = Perms(
    delegated=("Application.Read.All", "Directory.Read.All", "Application.ReadWrite.All"),
    application=("Application.Read.All", "Directory.Read.All", "Application.ReadWrite.All"),
)
_READ_GRANTS = Perms(
    delegated=("Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"),
    application=("Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"),
)
# These shapes are raw (no CSDL excerpt of the three types in graph_types.json): $select is refused.
SPS = QuerySpec("servicePrincipal", "ServicePrincipal", filterable={"appId": ops("eq")}, raw=True,
                supports_select=False)  # fmt: skip
GRANTS = QuerySpec("oAuth2PermissionGrant", "OAuth2PermissionGrant", filterable={"clientId": ops("eq")},
                   raw=True, supports_select=False)  # fmt: skip
ASSIGNMENTS = QuerySpec("appRoleAssignment", "AppRoleAssignment", raw=True, supports_select=False)
GRAPH_NAME = "Microsoft Graph"
CREATED = "2025-01-01T00:00:00Z"


@cache
def permission_ids() -> dict[str, dict[str, str]]:
    text = resources.files("drill.sim.graph").joinpath("graph_permissions.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(text)
    return data


def sp_id(app: Obj) -> str:
    """The app's service principal object id (also the `oid` of its app-only tokens: identity/oidc.py)."""
    return str(app.get("servicePrincipalId") or uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{app['appId']}"))


def _graph_sp(req: GraphRequest) -> Obj:
    ids = permission_ids()
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{req.state.tenant.id}:{GRAPH_APP_ID}")),
        "appId": GRAPH_APP_ID,
        "displayName": GRAPH_NAME,
        "accountEnabled": True,
        "appRoleAssignmentRequired": False,
        "servicePrincipalType": "Application",
        "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        "appRoles": [
            {"id": i, "value": v, "allowedMemberTypes": ["Application"], "isEnabled": True,
             "origin": "Application", "displayName": v, "description": v}
            for v, i in sorted(ids["application"].items())
        ],
        "oauth2PermissionScopes": [
            {"id": i, "value": v, "type": "Admin", "isEnabled": True, "adminConsentDisplayName": v,
             "adminConsentDescription": v, "userConsentDisplayName": None, "userConsentDescription": None}
            for v, i in sorted(ids["delegated"].items())
        ],
    }  # fmt: skip


def _app_sp(req: GraphRequest, app: Obj) -> Obj:
    return {
        "id": sp_id(app),
        "appId": app["appId"],
        "displayName": app.get("displayName"),
        "accountEnabled": True,
        "appRoleAssignmentRequired": bool(app.get("appRoleAssignmentRequired", False)),
        "servicePrincipalType": "Application",
        "appOwnerOrganizationId": req.state.tenant.id,
        "appRoles": [],
        "oauth2PermissionScopes": [],
    }


def _all_sps(req: GraphRequest) -> list[Obj]:
    return [_graph_sp(req), *(_app_sp(req, a) for a in _with_sp(req))]


def _with_sp(req: GraphRequest) -> list[Obj]:
    """Fixture apps have their service principal; an app registered through Graph only once it is created."""
    return [a for a in req.state.tenant.applications if a.get("servicePrincipalCreated", True)]


def _find(req: GraphRequest, key: str, by_app_id: bool) -> tuple[Obj, Obj | None]:
    for app in _with_sp(req):
        if (app["appId"] if by_app_id else sp_id(app)).lower() == key.lower():
            return _app_sp(req, app), app
    graph = _graph_sp(req)
    if (graph["appId"] if by_app_id else graph["id"]).lower() == key.lower():
        return graph, None
    raise not_found(key)


def _target(req: GraphRequest) -> tuple[Obj, Obj | None]:
    if "appid" in req.params:
        return _find(req, req.params["appid"], by_app_id=True)
    return _find(req, req.params["sp"], by_app_id=False)


async def list_sps(req: GraphRequest) -> GraphResponse:
    return ok(collection(req, SPS, _all_sps(req), "servicePrincipals"))


async def get_sp(req: GraphRequest) -> GraphResponse:
    parse_query(req, SPS, collection=False)
    sp, _ = _target(req)
    return ok({"@odata.context": f"{req.base}/$metadata#servicePrincipals/$entity", **sp})


def _grants(req: GraphRequest, app: Obj | None) -> list[Obj]:
    scopes = [str(s) for s in (app or {}).get("delegatedScopes") or []]
    if app is None:
        return []
    client = sp_id(app)
    # consentType Principal grants (graph/app_writes.py): one per user, as Graph lists them
    per_user = [(str(pid), [str(s) for s in own]) for pid, own in (app.get("principalScopes") or {}).items()]
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"grant:{client}" + (f":{pid}" if pid else ""))),
            "clientId": client,
            "consentType": "Principal" if pid else "AllPrincipals",
            "principalId": pid,
            "resourceId": _graph_sp(req)["id"],
            "scope": " ".join(granted),
        }
        for pid, granted in ([(None, scopes)] if scopes else []) + per_user  # type: ignore[operator]
    ]


async def sp_grants(req: GraphRequest) -> GraphResponse:
    _, app = _target(req)
    return ok(collection(req, GRANTS, _grants(req, app), "oauth2PermissionGrants"))


async def list_grants(req: GraphRequest) -> GraphResponse:
    every = [g for a in req.state.tenant.applications for g in _grants(req, a)]
    q = parse_query(req, GRANTS)
    if q.filter is None:
        raise GraphError(
            400, "Request_UnsupportedQuery", "Filter on clientId is required in the simulated tenant."
        )
    return ok(collection(req, GRANTS, every, "oauth2PermissionGrants"))


async def sp_assignments(req: GraphRequest) -> GraphResponse:
    sp, app = _target(req)
    ids = permission_ids()["application"]
    graph = _graph_sp(req)
    items = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ara:{sp['id']}:{role}")),
            "deletedDateTime": None,
            "appRoleId": ids.get(str(role), str(uuid.uuid5(uuid.NAMESPACE_URL, f"role:{role}"))),
            "createdDateTime": CREATED,
            "principalDisplayName": sp["displayName"],
            "principalId": sp["id"],
            "principalType": "ServicePrincipal",
            "resourceDisplayName": GRAPH_NAME,
            "resourceId": graph["id"],
        }
        for role in (app or {}).get("appRoles") or []
    ]
    return ok(collection(req, ASSIGNMENTS, items, "appRoleAssignments"))


async def sp_assigned_to(req: GraphRequest) -> GraphResponse:
    """Users and groups assigned to the app (what appRoleAssignmentRequired checks at sign-in)."""
    sp, app = _target(req)
    items: list[Obj] = []
    for pid in (app or {}).get("assignedPrincipals") or []:
        user = req.state.tenant.user(str(pid))
        items.append(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"assigned:{sp['id']}:{pid}")),
                "deletedDateTime": None,
                "appRoleId": "00000000-0000-0000-0000-000000000000",  # the default access role
                "createdDateTime": CREATED,
                "principalDisplayName": (user or {}).get("displayName"),
                "principalId": str(pid),
                "principalType": "User" if user else "Group",
                "resourceDisplayName": sp["displayName"],
                "resourceId": sp["id"],
            }
        )
    return ok(collection(req, ASSIGNMENTS, items, "appRoleAssignedTo"))


def routes() -> list[RouteSpec]:
    by_app = r"/servicePrincipals\(appId='(?P<appid>[^']+)'\)"
    by_id = r"/servicePrincipals/(?P<sp>[^/()]+)"
    out: list[RouteSpec] = [
        route("GET", "/servicePrincipals", list_sps, _READ_SP),
        route("GET", "/oauth2PermissionGrants", list_grants, _READ_GRANTS),
    ]
    for base in (by_app, by_id):
        out += [
            route("GET", base, get_sp, _READ_SP),
            route("GET", base + "/oauth2PermissionGrants", sp_grants, _READ_GRANTS),
            route("GET", base + "/appRoleAssignments", sp_assignments, _READ_SP),
            route("GET", base + "/appRoleAssignedTo", sp_assigned_to, _READ_SP),
        ]
    return out
