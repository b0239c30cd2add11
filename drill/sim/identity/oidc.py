"""OpenID Connect metadata, JWKS and the v2.0 token endpoint, as msal and azure-identity call them.

Metadata puts `authorization_endpoint` on the browser host (login.microsoftonline.test) and everything a
Python client calls (token, JWKS) on `state.base_url`, the loopback address: the browser and the
libraries reach the same server under the names each can resolve. msal 1.39 reads only
`authorization_endpoint` and `token_endpoint` and does not validate the issuer or the id token beyond
its nonce, so the issuer `{base_url}/{tid}/v2.0` (tokens.py) works for it.

Grants: authorization code with PKCE (S256 only; `plain` is refused, which Entra would accept),
refresh token (each redemption a non-interactive sign-in of the user: redemption.py), client
credentials with a client secret (compared by SHA-256 with the application's `clientSecretSha256`) or a
client assertion (private_key_jwt: signed by a certificate listed in the app's `keyCredentials[].key` as
PEM, audience = this token endpoint, iss = sub = client id, jti not replayed).
Errors carry Entra's JSON shape (`error`, `error_description` starting with `AADSTS<code>:`,
`error_codes`, `timestamp`, `trace_id`, `correlation_id`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from drill.sim.identity.client_auth import authenticate_client
from drill.sim.identity.redemption import record_redemption
from drill.sim.identity.store import (
    REFRESH_LIFETIME,
    AuthCode,
    OAuthError,
    RefreshGrant,
    new_secret,
    s256,
    store,
    tenant_matches,
)
from drill.sim.state import LOGIN_HOST, SimState, token_service
from drill.sim.tokens import ARM_AUDIENCE, GRAPH_APP_ID, GRAPH_AUDIENCE, LOGS_AUDIENCE

LIFETIME_S = 3599
OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
# Resource identifiers the simulator issues tokens for; a GUID app id names the same resource.
RESOURCES = {
    GRAPH_AUDIENCE: GRAPH_AUDIENCE,
    "00000003-0000-0000-c000-000000000000": GRAPH_AUDIENCE,
    LOGS_AUDIENCE: LOGS_AUDIENCE,
    "ca7f3f0b-7d91-482c-8e09-c5d840d0eac5": LOGS_AUDIENCE,
    ARM_AUDIENCE: ARM_AUDIENCE,
    "https://management.core.windows.net": ARM_AUDIENCE,
    "797f4846-ba00-4fd7-ba43-dac1f8f63013": ARM_AUDIENCE,
}

_LOGGED_RESOURCES = {LOGS_AUDIENCE: ("ca7f3f0b-7d91-482c-8e09-c5d840d0eac5", "Log Analytics API")}


def error_response(state: SimState, exc: OAuthError, correlation_id: str | None = None) -> JSONResponse:
    now = state.clock.now()
    trace, corr = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": exc.error,
        "error_description": f"{exc}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {stamp}",
        "error_codes": [exc.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": corr,
    }
    return JSONResponse(body, status_code=exc.status)


def split_scopes(requested: list[str]) -> tuple[str, list[str]]:
    """(resource, bare scope names) of a request; bare names mean Microsoft Graph, as in Entra."""
    resources: set[str] = set()
    names: list[str] = []
    for scope in requested:
        if scope in OIDC_SCOPES:
            continue
        if "/" in scope and (scope.startswith("https://") or scope.count("/") == 1):
            prefix, _, name = scope.rpartition("/")
            resource = RESOURCES.get(prefix.rstrip("/"))
            if resource is None:
                raise OAuthError("invalid_scope", 70011, detail=f"The scope '{scope}' does not exist.")
            resources.add(resource)
            names.append(name)
        else:
            resources.add(GRAPH_AUDIENCE)
            names.append(scope)
    if len(resources) > 1:
        raise OAuthError("invalid_scope", 28000)
    return (resources.pop() if resources else GRAPH_AUDIENCE), names


def resource_of(scopes: list[str]) -> tuple[str, str]:
    """(resource app id, display name) a sign-in is for, as its log row names it."""
    try:
        resource, _ = split_scopes(scopes)
    except OAuthError:  # an invalid scope is refused at authorize; the log still needs a resource
        resource = ""
    return _LOGGED_RESOURCES.get(resource, (GRAPH_APP_ID, "Microsoft Graph"))


def delegated_grant(
    app: dict[str, Any], resource: str, names: list[str], user_id: str | None = None
) -> list[str]:
    """The requested scopes the app may have (consented): intersect with its `delegatedScopes` (tenant-wide)
    and the user's own grants (`principalScopes`, consentType Principal: graph/app_writes.py)."""
    allowed: list[str] = []
    own = (app.get("principalScopes") or {}).get(user_id or "", []) if user_id else []
    for entry in [*(app.get("delegatedScopes") or []), *own]:
        prefix, _, name = str(entry).rpartition("/")
        if (RESOURCES.get(prefix) if prefix else GRAPH_AUDIENCE) == resource:
            allowed.append(name)
    if ".default" in names:
        return allowed
    return [n for n in names if n in allowed]


def client_info(user_id: str, tenant_id: str) -> str:
    raw = json.dumps({"uid": user_id, "utid": tenant_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _user_claims(state: SimState, user: dict[str, Any], client_id: str, now: datetime) -> dict[str, Any]:
    upn = str(user.get("userPrincipalName", ""))
    return {
        "oid": user["id"],
        "sub": hashlib.sha256(f"{user['id']}:{client_id}".encode()).hexdigest()[:43],
        "name": user.get("displayName", ""),
        "upn": upn,
        "unique_name": upn,
        "wids": state.tenant.active_role_template_ids(user["id"], now),
    }


def user_tokens(
    state: SimState,
    *,
    app: dict[str, Any],
    user: dict[str, Any],
    requested: list[str],
    auth: dict[str, Any],
    nonce: str | None,
    session_id: str,
) -> dict[str, Any]:
    """Access, id and refresh token for a user; `auth` holds what the sign-in proved (amr, auth_time)."""
    svc = token_service(state)
    now = state.clock.now()
    resource, names = split_scopes(requested)
    granted = delegated_grant(app, resource, names, user["id"])
    client_id = app["appId"]
    claims = _user_claims(state, user, client_id, now)
    access = svc.issue(
        {
            **claims,
            "aud": resource,
            "scp": " ".join(granted),
            "amr": list(auth.get("amr", [])),
            "appid": client_id,
            "azp": client_id,
            "appidacr": "0" if app.get("kind") == "public" else "1",
            "idtyp": "user",
            "auth_time": auth.get("auth_time"),
            "sid": session_id,
            "uti": new_secret(16),
            "ver": "1.0",
        },
        lifetime_s=LIFETIME_S,
    )
    id_claims: dict[str, Any] = {
        "aud": client_id,
        "oid": claims["oid"],
        "sub": claims["sub"],
        "name": claims["name"],
        "preferred_username": claims["upn"],
        "sid": session_id,
        "auth_time": auth.get("auth_time"),
        "uti": new_secret(16),
        "ver": "2.0",
    }
    if nonce:
        id_claims["nonce"] = nonce
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(
            [
                *(granted if resource == GRAPH_AUDIENCE else [f"{resource}/{g}" for g in granted]),
                "openid",
                "profile",
                "email",
            ]
        ),
        "expires_in": LIFETIME_S,
        "ext_expires_in": LIFETIME_S,
        "access_token": access,
        "id_token": svc.issue(id_claims, lifetime_s=LIFETIME_S),
        "client_info": client_info(user["id"], state.tenant.id),
    }
    if "offline_access" in requested:
        refresh = new_secret(48)
        ids = store(state)
        with ids.lock:
            ids.refresh[refresh] = RefreshGrant(
                client_id=client_id,
                user_id=user["id"],
                scopes=list(requested),
                auth=dict(auth),
                expires=now + REFRESH_LIFETIME,
                session_id=session_id,
                issued=now,
            )
        body["refresh_token"] = refresh
    return body


def app_token(state: SimState, app: dict[str, Any], requested: list[str]) -> dict[str, Any]:
    if len(requested) != 1 or not requested[0].endswith("/.default"):
        raise OAuthError("invalid_scope", 1002012)
    resource, _ = split_scopes(requested)
    if resource == LOGS_AUDIENCE:
        roles = ["Data.Read"] if app.get("workspaceRoles") else []
    elif resource == ARM_AUDIENCE:
        roles = []  # ARM authorises by Azure RBAC role assignments (drill/sim/arm/rbac.py), not app roles
    else:
        roles = [str(r) for r in app.get("appRoles") or []]
    sp_id = str(app.get("servicePrincipalId") or uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{app['appId']}"))
    claims = {
        "aud": resource,
        "oid": sp_id,
        "sub": sp_id,
        "roles": roles,
        "appid": app["appId"],
        "azp": app["appId"],
        "appidacr": "1",
        "idtyp": "app",
        "uti": new_secret(16),
        "ver": "1.0",
    }
    access = token_service(state).issue(claims, lifetime_s=LIFETIME_S)
    return {
        "token_type": "Bearer",
        "expires_in": LIFETIME_S,
        "ext_expires_in": LIFETIME_S,
        "access_token": access,
    }


def _redeem_code(state: SimState, app: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    ids = store(state)
    with ids.lock:
        grant: AuthCode | None = ids.codes.get(form.get("code", ""))
        already = grant is not None and grant.redeemed
        if grant is not None:
            grant.redeemed = True
    if grant is None or grant.expires < state.clock.now():
        raise OAuthError("invalid_grant", 70008)
    if already:
        raise OAuthError("invalid_grant", 54005)
    flow = grant.flow
    if flow.client_id != app["appId"]:
        raise OAuthError("invalid_grant", 70000, detail="The code was issued to another client.")
    if form.get("redirect_uri") != flow.redirect_uri:
        raise OAuthError("invalid_grant", 50011)
    verifier = form.get("code_verifier", "")
    if not verifier or not hmac.compare_digest(s256(verifier), flow.code_challenge):
        raise OAuthError("invalid_grant", 501481)
    requested = form.get("scope", "").split() or flow.scopes
    return _tokens_for(state, app, grant.user_id, requested, grant.auth, flow.nonce, flow.session_id)


def _refresh(state: SimState, app: dict[str, Any], form: dict[str, str], request: Request) -> dict[str, Any]:
    """Redeem a refresh token: a non-interactive sign-in of its user, logged success or failure
    (signin_record.record_redemption) with the client's `client-request-id` as CorrelationId."""
    ids = store(state)
    with ids.lock:
        grant = ids.refresh.get(form.get("refresh_token", ""))
    if grant is None or grant.client_id != app["appId"]:
        raise OAuthError("invalid_grant", 9002313)
    try:
        body = _redeem_refresh(state, app, form, grant)
    except OAuthError as exc:
        record_redemption(state, request, app, grant, resource_of(grant.scopes), str(exc.code), str(exc))
        raise
    record_redemption(state, request, app, grant, resource_of(grant.scopes), "0", "")
    return body


def _redeem_refresh(
    state: SimState, app: dict[str, Any], form: dict[str, str], grant: RefreshGrant
) -> dict[str, Any]:
    # Graph's revokeSignInSessions stamps the user (services["sessionsRevokedAt"]); older grants die.
    revoked_at = (state.services.get("sessionsRevokedAt") or {}).get(grant.user_id)
    if grant.revoked or (revoked_at is not None and grant.issued <= revoked_at):
        raise OAuthError("invalid_grant", 50173)
    if grant.expires < state.clock.now():
        raise OAuthError("invalid_grant", 70008)
    requested = form.get("scope", "").split() or grant.scopes
    return _tokens_for(state, app, grant.user_id, requested, grant.auth, None, grant.session_id)


def _tokens_for(
    state: SimState,
    app: dict[str, Any],
    user_id: str,
    requested: list[str],
    auth: dict[str, Any],
    nonce: str | None,
    session_id: str,
) -> dict[str, Any]:
    """Both user grants end alike: the account must still exist and be enabled (AADSTS50057 otherwise)."""
    user = state.tenant.user(user_id)
    if user is None or not user.get("accountEnabled", True):
        raise OAuthError("invalid_grant", 50057)
    return user_tokens(
        state, app=app, user=user, requested=requested, auth=auth, nonce=nonce, session_id=session_id
    )


# Grant types served by other modules (device_code.py registers the device authorization grant on import).
EXTRA_GRANTS: dict[str, Callable[[SimState, dict[str, Any], dict[str, str]], dict[str, Any]]] = {}


def _grant(state: SimState, form: dict[str, str], request: Request) -> dict[str, Any]:
    app = state.tenant.application(form.get("client_id", ""))
    if app is None:
        raise OAuthError("unauthorized_client", 700016)
    authenticate_client(state, app, form, request)
    grant_type = form.get("grant_type", "")
    if grant_type == "authorization_code":
        return _redeem_code(state, app, form)
    if grant_type == "refresh_token":
        return _refresh(state, app, form, request)
    if grant_type in EXTRA_GRANTS:
        return EXTRA_GRANTS[grant_type](state, app, form)
    if grant_type == "client_credentials" and app.get("kind") != "public":
        return app_token(state, app, form.get("scope", "").split())
    raise OAuthError("unsupported_grant_type", 70003)


def metadata(state: SimState, tenant: str) -> dict[str, Any]:
    base, tid = state.base_url, state.tenant.id
    issuer = (
        f"{base}/{tid}/v2.0" if tenant not in {"common", "organizations"} else f"{base}/{{tenantid}}/v2.0"
    )
    return {
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base}/oidc/userinfo",
        "authorization_endpoint": f"https://{LOGIN_HOST}/{tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"https://{LOGIN_HOST}/{tenant}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "kerberos_endpoint": f"{base}/{tenant}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.test",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
        "code_challenge_methods_supported": ["S256"],
    }


def install(state: SimState) -> list[BaseRoute]:
    async def openid_configuration(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if not tenant_matches(state, tenant):
            return error_response(state, OAuthError("invalid_tenant", 90002))
        return JSONResponse(metadata(state, tenant))

    async def keys(request: Request) -> Response:
        return JSONResponse(token_service(state).jwks())

    async def token(request: Request) -> Response:
        if state.fault("token-endpoint-down") is not None:
            return error_response(state, OAuthError("temporarily_unavailable", 90033, status=503))
        if not tenant_matches(state, request.path_params["tenant"]):
            return error_response(state, OAuthError("invalid_request", 90002))
        form = {k: str(v) for k, v in (await request.form()).items()}
        try:
            body = _grant(state, form, request)
        except OAuthError as exc:
            return error_response(state, exc, request.headers.get("client-request-id"))
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/discovery/v2.0/keys", keys),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]
