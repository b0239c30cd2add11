"""The directory writes `drill setup` makes, as Microsoft Graph v1.0 shapes them: applications (with
keyCredentials and federatedIdentityCredentials), service principals, delegated permission grants and app role
assignments.

They write the same per-app record the rest of the simulator reads (`tenant.applications`: `kind`,
`redirectUris`, `delegatedScopes`, `principalScopes`, `appRoles`, `keyCredentials` as PEM), so an app made
here
signs in, gets tokens and shows in the grant reads (grants.py) like a fixture app. Each write checks the
delegated scope and the caller's directory role (`wids`) Microsoft documents, and answers 403
Authorization_RequestDenied without it (DIFFERENCES.md, "Setup write APIs": which role each needs).
"""

from __future__ import annotations

import base64
import uuid

from drill.sim.graph.grants import _graph_sp, _target, permission_ids, sp_id
from drill.sim.graph.http import (
    GraphError,
    GraphRequest,
    GraphResponse,
    Obj,
    Perms,
    RouteSpec,
    not_found,
    route,
)
from drill.sim.graph.odata import QuerySpec, collection, ops
from drill.sim.tenant import GLOBAL_ADMIN

PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
CLOUD_APP_ADMIN = "158c047a-c907-4556-b7ef-446551a6b5f7"
APP_ADMIN = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
APP_DEVELOPER = "cf1c38e5-3621-4004-a7cb-879624dced7c"
# Who may register apps and their service principals, credentials and delegated grants (the Graph pages'
# "supported Microsoft Entra roles"); Microsoft Graph's app roles (application permissions) only Privileged
# Role Administrator (and Global Administrator): "grant-admin-consent" on Microsoft Learn.
APP_WRITERS = frozenset({GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN, CLOUD_APP_ADMIN, APP_ADMIN})
GRAPH_APP_ROLE_GRANTERS = frozenset({GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN})

_APPS = Perms(
    delegated=("Application.ReadWrite.All", "Directory.ReadWrite.All"),
    application=("Application.ReadWrite.All", "Directory.ReadWrite.All"),
)
_GRANTS = Perms(
    delegated=("DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"),
    application=("DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"),
)
_ROLES = Perms(
    delegated=(
        ("AppRoleAssignment.ReadWrite.All", "Application.Read.All"),
        ("AppRoleAssignment.ReadWrite.All", "Directory.Read.All"),
    ),
    application=(("AppRoleAssignment.ReadWrite.All", "Application.Read.All"),),
)
APPS_Q = QuerySpec(
    "application",
    "Application",
    filterable={"appId": ops("eq"), "displayName": ops("eq")},
    raw=True,
    supports_select=False,
)
FICS_Q = QuerySpec(
    "federatedIdentityCredential", "FederatedIdentityCredential", raw=True, supports_select=False
)


def _require_role(req: GraphRequest, roles: frozenset[str]) -> None:
    """A delegated caller needs one of the documented directory roles on top of the scope."""
    if req.delegated and not set(req.claims.get("wids") or []) & roles:
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )


def object_id(app: Obj) -> str:
    return str(app.get("objectId") or uuid.uuid5(uuid.NAMESPACE_URL, f"app:{app['appId']}"))


def _app_json(req: GraphRequest, app: Obj) -> Obj:
    public = app.get("kind") == "public"
    return {
        "id": object_id(app),
        "appId": app["appId"],
        "displayName": app.get("displayName"),
        "notes": app.get("notes"),
        "signInAudience": "AzureADMyOrg",
        "isFallbackPublicClient": public,
        "publicClient": {"redirectUris": list(app.get("redirectUris") or []) if public else []},
        "web": {"redirectUris": [] if public else list(app.get("redirectUris") or [])},
        "keyCredentials": [
            {k: v for k, v in kc.items() if k != "key"} | {"key": None}
            for kc in app.get("keyCredentials") or []
        ],
        "passwordCredentials": [],
        "requiredResourceAccess": list(app.get("requiredResourceAccess") or []),
    }


def _by_object_id(req: GraphRequest) -> Obj:
    key = req.params["app"].lower()
    for app in req.state.tenant.applications:
        if object_id(app).lower() == key:
            return app
    raise not_found(req.params["app"])


async def list_apps(req: GraphRequest) -> GraphResponse:
    items = [_app_json(req, a) for a in req.state.tenant.applications]
    return GraphResponse(200, collection(req, APPS_Q, items, "applications"))


async def create_app(req: GraphRequest) -> GraphResponse:
    _require_role(req, APP_WRITERS | {APP_DEVELOPER})
    body = req.body if isinstance(req.body, dict) else {}
    if not body.get("displayName"):
        raise GraphError(400, "Request_BadRequest", "Property 'displayName' is required.")
    public = bool(body.get("isFallbackPublicClient")) or bool(
        (body.get("publicClient") or {}).get("redirectUris")
    )
    uris = (
        (body.get("publicClient") or {}).get("redirectUris")
        or (body.get("web") or {}).get("redirectUris")
        or []
    )
    app: Obj = {
        "appId": str(uuid.uuid4()),
        "objectId": str(uuid.uuid4()),
        "displayName": str(body["displayName"]),
        "notes": body.get("notes"),
        "kind": "public" if public else "confidential",
        "redirectUris": [str(u) for u in uris],
        "requiredResourceAccess": list(body.get("requiredResourceAccess") or []),
        "servicePrincipalCreated": False,
        "delegatedScopes": [],
        "appRoles": [],
    }
    with req.state.lock:
        req.state.tenant.applications.append(app)
    return GraphResponse(
        201, {"@odata.context": f"{req.base}/$metadata#applications/$entity", **_app_json(req, app)}
    )


def _pem(key_b64: str) -> str:
    """keyCredentials' `key` is the certificate's DER, base64 (Edm.Binary); the token endpoint keeps PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(key_b64))
    except ValueError as exc:
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'key'.") from exc
    return cert.public_bytes(Encoding.PEM).decode()


async def update_app(req: GraphRequest) -> GraphResponse:
    _require_role(req, APP_WRITERS)
    app = _by_object_id(req)
    body = req.body if isinstance(req.body, dict) else {}
    unknown = set(body) - {"keyCredentials", "notes", "displayName"}
    if unknown:
        raise GraphError(400, "Request_BadRequest", f"Property update not supported here: {sorted(unknown)}")
    if "keyCredentials" in body:  # PATCH replaces the whole collection, as Graph does
        creds = []
        for kc in body["keyCredentials"] or []:
            creds.append(
                {
                    "type": kc.get("type", "AsymmetricX509Cert"),
                    "usage": kc.get("usage", "Verify"),
                    "displayName": kc.get("displayName"),
                    "keyId": kc.get("keyId") or str(uuid.uuid4()),
                    "customKeyIdentifier": kc.get("customKeyIdentifier"),
                    "key": _pem(str(kc.get("key"))),
                }
            )
        app["keyCredentials"] = creds
    for name in ("notes", "displayName"):
        if name in body:
            app[name] = body[name]
    return GraphResponse(204)


async def list_fics(req: GraphRequest) -> GraphResponse:
    app = _by_object_id(req)
    return GraphResponse(
        200,
        collection(
            req,
            FICS_Q,
            list(app.get("federatedIdentityCredentials") or []),
            f"applications('{object_id(app)}')/federatedIdentityCredentials",
        ),
    )


async def create_fic(req: GraphRequest) -> GraphResponse:
    _require_role(req, APP_WRITERS)
    app = _by_object_id(req)
    body = req.body if isinstance(req.body, dict) else {}
    missing = [k for k in ("name", "issuer", "subject", "audiences") if not body.get(k)]
    if missing:
        raise GraphError(400, "Request_BadRequest", f"Missing required properties: {missing}")
    fic = {
        "id": str(uuid.uuid4()),
        "name": body["name"],
        "issuer": body["issuer"],
        "subject": body["subject"],
        "audiences": list(body["audiences"]),
        "description": body.get("description"),
    }
    fics = app.setdefault("federatedIdentityCredentials", [])
    if any(f["name"] == fic["name"] for f in fics):
        raise GraphError(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "FederatedIdentityCredential with name already exists.",
        )
    fics.append(fic)
    return GraphResponse(201, fic)


async def create_sp(req: GraphRequest) -> GraphResponse:
    _require_role(req, APP_WRITERS | {APP_DEVELOPER})
    body = req.body if isinstance(req.body, dict) else {}
    app = req.state.tenant.application(str(body.get("appId", "")))
    if app is None:
        raise GraphError(
            400,
            "Request_BadRequest",
            "The appId of the service principal does not reference a valid application object.",
        )
    if app.get("servicePrincipalCreated", True):
        raise GraphError(
            409, "Request_MultipleObjectsWithSameKeyValue", "The service principal already exists."
        )
    app["servicePrincipalCreated"] = True
    app["servicePrincipalNotes"] = body.get("notes")
    sp, _ = _target(GraphRequest(req.state, "GET", "", {}, {}, params={"appid": app["appId"]}))
    return GraphResponse(
        201,
        {
            "@odata.context": f"{req.base}/$metadata#servicePrincipals/$entity",
            **sp,
            "notes": body.get("notes"),
        },
    )


def _client(req: GraphRequest, client_id: str) -> Obj:
    for app in req.state.tenant.applications:
        if sp_id(app).lower() == client_id.lower() and app.get("servicePrincipalCreated", True):
            return app
    raise GraphError(
        400, "Request_BadRequest", f"Invalid value specified for property 'clientId': {client_id}"
    )


async def create_grant(req: GraphRequest) -> GraphResponse:
    _require_role(req, APP_WRITERS)
    body = req.body if isinstance(req.body, dict) else {}
    app = _client(req, str(body.get("clientId", "")))
    if str(body.get("resourceId", "")).lower() != _graph_sp(req)["id"].lower():
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'resourceId'.")
    scopes = str(body.get("scope", "")).split()
    known = permission_ids()["delegated"]
    bad = [s for s in scopes if s not in known]
    if bad or not scopes:
        raise GraphError(400, "Request_BadRequest", f"Invalid value specified for property 'scope': {bad}")
    consent = body.get("consentType")
    principal = body.get("principalId")
    if consent == "Principal":
        if req.state.tenant.user(str(principal or "")) is None:
            raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'principalId'.")
        app.setdefault("principalScopes", {})[str(principal)] = scopes
    elif consent == "AllPrincipals" and principal is None:
        app["delegatedScopes"] = scopes
    else:
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'consentType'.")
    grant = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"grant:{sp_id(app)}:{principal}")),
        "clientId": sp_id(app),
        "consentType": consent,
        "principalId": principal,
        "resourceId": _graph_sp(req)["id"],
        "scope": " ".join(scopes),
    }
    return GraphResponse(
        201, {"@odata.context": f"{req.base}/$metadata#oauth2PermissionGrants/$entity", **grant}
    )


async def create_role_assignment(req: GraphRequest) -> GraphResponse:
    body = req.body if isinstance(req.body, dict) else {}
    sp, _ = _target(req)
    graph = _graph_sp(req)
    if str(body.get("resourceId", "")).lower() == graph["id"].lower():
        _require_role(req, GRAPH_APP_ROLE_GRANTERS)
    else:
        _require_role(req, APP_WRITERS)
    app = _client(req, str(body.get("principalId", "")))
    if str(body.get("principalId", "")).lower() != sp["id"].lower():
        raise GraphError(400, "Request_BadRequest", "principalId must be the service principal in the path.")
    names = {i.lower(): v for v, i in permission_ids()["application"].items()}
    role = names.get(str(body.get("appRoleId", "")).lower())
    if role is None:
        raise GraphError(400, "Request_BadRequest", "Permission being assigned was not found on application")
    roles = app.setdefault("appRoles", [])
    if role in roles:
        raise GraphError(409, "Request_BadRequest", "Permission being assigned already exists on the object")
    roles.append(role)
    out = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ara:{sp['id']}:{role}")),
        "deletedDateTime": None,
        "appRoleId": body["appRoleId"],
        "createdDateTime": req.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "principalDisplayName": app.get("displayName"),
        "principalId": sp["id"],
        "principalType": "ServicePrincipal",
        "resourceDisplayName": graph["displayName"],
        "resourceId": graph["id"],
    }
    return GraphResponse(201, {"@odata.context": f"{req.base}/$metadata#appRoleAssignments/$entity", **out})


def routes() -> list[RouteSpec]:
    app = r"/applications/(?P<app>[^/()]+)"
    return [
        route("GET", "/applications", list_apps, _APPS),
        route("POST", "/applications", create_app, _APPS),
        route("PATCH", app, update_app, _APPS),
        route("GET", app + "/federatedIdentityCredentials", list_fics, _APPS),
        route("POST", app + "/federatedIdentityCredentials", create_fic, _APPS),
        route("POST", "/servicePrincipals", create_sp, _APPS),
        route("POST", "/oauth2PermissionGrants", create_grant, _GRANTS),
        route(
            "POST", r"/servicePrincipals/(?P<sp>[^/()]+)/appRoleAssignments", create_role_assignment, _ROLES
        ),
    ]
