"""Entra-like sign-in pages: authorize, username, the WebAuthn ceremony on the FIDO host, KMSI, errors.

Pages follow FIDELITY.md "Sign-in pages" (ids and `$Config` keys), so the product's UI profile drives
them exactly as it would drive Entra. The path, host by host:

  https://login.microsoftonline.test/{tenant}/oauth2/v2.0/authorize   GET: username page (#i0116)
  https://login.microsoftonline.test/common/login                     POST type=11 username, 23 assertion,
                                                                      28 "Stay signed in?" answer
  https://login.microsoft.test/common/fido/get?uiflavor=Web           GET|POST: navigator.credentials.get()
  https://login.microsoft.test/.well-known/webauthn                   related origins of the RP ID
  https://login.microsoftonline.test/common/oauth2/nativeclient       the public client's landing page

Progress is carried by the `flowToken` form field only. Every attempt after the username step emits a
SignInEvent (identity.record_signin). All tenant strings reach HTML through Jinja2 autoescaping, and
`$Config` through `tojson` (which escapes <, >, & and ').
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from drill.sim.identity import ca
from drill.sim.identity.oidc import split_scopes
from drill.sim.identity.signin_record import record_signin, resource_of
from drill.sim.identity.store import (
    AADSTS,
    CODE_LIFETIME,
    AuthCode,
    Flow,
    OAuthError,
    aadsts_message,
    new_secret,
    store,
    tenant_matches,
)
from drill.sim.identity.webauthn_rp import (
    RELATED_ORIGINS,
    RPError,
    begin_authentication,
    complete_authentication,
    key_rules,
    webauthn_json,
)
from drill.sim.state import FIDO_HOST, LOGIN_HOST, SimState

LOGIN = f"https://{LOGIN_HOST}"
FIDO = f"https://{FIDO_HOST}"
URL_POST = f"{LOGIN}/common/login"
URL_FIDO = f"{FIDO}/common/fido/get?uiflavor=Web"
_ENV = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
)
HEADINGS = {
    53003: "You cannot access this right now",
    53000: "You cannot access this right now",
    50057: "Your account has been locked",
}
MESSAGES = {
    53003: "Your sign-in was successful but does not meet the criteria to access this resource. For example, "
    "you might be signing in from a browser, app, or location that is restricted by your admin.",
    53000: "Your sign-in was successful but your admin requires the device requesting access to be managed "
    "by your organization to access this resource.",
    50057: "Your account has been locked. Contact your support person to unlock it, then try again.",
}


def _stamp(state: SimState) -> str:
    return state.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render(
    state: SimState, template: str, config: dict[str, Any], status: int = 200, **ctx: Any
) -> HTMLResponse:
    html = _ENV.get_template(template).render(config=config, tenant_name=state.tenant.display_name, **ctx)
    return HTMLResponse(
        html, status_code=status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    )


def _config(flow: Flow | None, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "urlPost": URL_POST,
        "sFT": flow.token if flow else "",
        "sCtx": flow.token[:16] if flow else "",
        "correlationId": flow.correlation_id if flow else str(uuid.uuid4()),
        "sessionId": flow.session_id if flow else str(uuid.uuid4()),
        "fIsFidoSupported": True,
    }
    base.update(extra)
    return base


def error_page(state: SimState, flow: Flow | None, code: int, detail: str = "") -> HTMLResponse:
    message = aadsts_message(code, detail)
    config = _config(flow, iErrorCode=code, strServiceExceptionMessage=message, sErrorCode=str(code))
    return render(
        state,
        "error.html",
        config,
        heading=HEADINGS.get(code, "Sorry, but we're having trouble signing you in."),
        message=MESSAGES.get(code, message),
        request_id=str(uuid.uuid4()),
        timestamp=_stamp(state),
        title="Sign in to your account",
    )


def login_page(state: SimState, flow: Flow, username: str, error: str = "") -> HTMLResponse:
    user = state.tenant.user(username) if username else None
    auto = bool(user and not error and _has_usable_passkey(state, user))
    extra = {"urlFidoLogin": URL_FIDO, "fAutoFido": True} if auto else {}
    return render(
        state,
        "login.html",
        _config(flow, **extra),
        username=username,
        username_error=error,
        title="Sign in to your account",
    )


def _has_usable_passkey(state: SimState, user: dict[str, Any]) -> bool:
    return bool(state.tenant.passkeys_of(user["id"])) and key_rules(state, user["id"]).enabled


def _fail(
    state: SimState, flow: Flow, user: dict[str, Any], code: int, reason: str, **kw: Any
) -> HTMLResponse:
    record_signin(
        state, flow, user, result_type=str(code), description=AADSTS.get(code, reason), reason=reason, **kw
    )
    flow.done = True
    return error_page(state, flow, code, reason if code == 500121 else "")


def _after_username(state: SimState, flow: Flow, username: str) -> HTMLResponse:
    user = state.tenant.user(username)
    if user is None:
        return login_page(
            state,
            flow,
            username,
            "This username may be incorrect. Make sure you typed it correctly. "
            "Otherwise, contact your admin.",
        )
    flow.user_id = user["id"]
    if not _has_usable_passkey(state, user):
        why = (
            "the FIDO2 method is not enabled for this user"
            if state.tenant.passkeys_of(user["id"])
            else "the user has no registered passkey or security key"
        )
        return _fail(state, flow, user, 500121, why)
    return login_page(state, flow, str(user["userPrincipalName"]))


async def authorize(state: SimState, request: Request) -> Response:
    q = request.query_params
    tenant = request.path_params["tenant"]
    if not tenant_matches(state, tenant):
        return error_page(state, None, 90002)
    app = state.tenant.application(q.get("client_id", ""))
    if app is None:
        return error_page(state, None, 700016, f"Application '{q.get('client_id', '')}' was not found.")
    redirect_uri = q.get("redirect_uri", "")
    if redirect_uri not in (app.get("redirectUris") or []):
        return error_page(state, None, 50011, f"Redirect URI: '{redirect_uri}'.")
    if q.get("response_type") != "code":
        return error_page(state, None, 900144, "'response_type' must be 'code'.")
    if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
        return error_page(state, None, 900144, "'code_challenge' with code_challenge_method S256 (PKCE).")
    scopes = q.get("scope", "").split()
    try:
        split_scopes(scopes)
    except OAuthError as exc:
        return error_page(state, None, exc.code)
    flow = Flow(
        token=new_secret(48),
        created=state.clock.now(),
        client_id=app["appId"],
        app=app,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=q.get("state"),
        nonce=q.get("nonce"),
        code_challenge=q["code_challenge"],
        response_mode=q.get("response_mode", "query"),
        login_hint=q.get("login_hint", ""),
        client_info=q.get("client_info") == "1",
        user_agent=request.headers.get("user-agent", ""),
        ip=request.client.host if request.client else "127.0.0.1",
        correlation_id=request.headers.get("client-request-id") or str(uuid.uuid4()),
    )
    ids = store(state)
    ids.purge(flow.created)
    with ids.lock:
        ids.flows[flow.token] = flow
    if flow.login_hint:
        return _after_username(state, flow, flow.login_hint)
    return login_page(state, flow, "")


async def fido_get(state: SimState, request: Request) -> Response:
    if request.url.hostname != FIDO_HOST:
        return HTMLResponse("Not found", status_code=404)
    token = str((await request.form()).get("flowToken", "")) if request.method == "POST" else ""
    token = token or request.query_params.get("flowToken", "")
    flow = store(state).flow(token, state.clock.now())
    if flow is None or flow.user_id is None:
        return error_page(state, flow, 50058, "The sign-in session expired; start again.")
    user = state.tenant.user(flow.user_id)
    if user is None:
        return error_page(state, flow, 50034)
    options, flow.fido_state = begin_authentication(state, user)
    config = _config(flow, oGetCredentialOptions=json.loads(json.dumps(options)))
    return render(state, "fido.html", config, title="Sign in to your account")


async def login_post(state: SimState, request: Request) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    flow = store(state).flow(form.get("flowToken", ""), state.clock.now())
    if flow is None:
        return error_page(state, None, 50058, "The sign-in session expired or was already used; start again.")
    kind = form.get("type", "")
    if kind == "11":
        return _after_username(state, flow, form.get("loginfmt", "").strip())
    user = state.tenant.user(flow.user_id or "")
    if user is None:
        return error_page(state, flow, 50058)
    if kind == "23":
        return _assertion(state, flow, user, form, request)
    if kind == "28" and flow.authenticated is not None:
        return _redirect(state, flow, user, kmsi=form.get("LoginOptions") == "1")
    return error_page(state, flow, 900144, "Unexpected form post.")


def _assertion(
    state: SimState, flow: Flow, user: dict[str, Any], form: dict[str, str], request: Request
) -> HTMLResponse:
    flow.user_agent = request.headers.get("user-agent", flow.user_agent)
    if form.get("errorName") or not form.get("assertion"):
        reason = f"the browser's WebAuthn call failed ({form.get('errorName') or 'no assertion'})"
        return _fail(state, flow, user, 500121, reason)
    if flow.fido_state is None:
        return _fail(state, flow, user, 500121, "no WebAuthn challenge was issued for this sign-in")
    try:
        response = webauthn_json(json.loads(form["assertion"]))
        record = complete_authentication(state, user, flow.fido_state, response)
    except (ValueError, KeyError, TypeError) as exc:
        return _fail(state, flow, user, 500121, f"malformed assertion ({type(exc).__name__})")
    except RPError as exc:
        return _fail(state, flow, user, exc.code, exc.reason)
    finally:
        flow.fido_state = None  # one challenge, one attempt
    if not user.get("accountEnabled", True):
        return _fail(state, flow, user, 50057, "account disabled", passkey=record)
    resource_id, _ = resource_of(flow.scopes)
    ctx = ca.SignInContext(
        user_id=user["id"],
        app_ids=(resource_id, flow.client_id),
        now=state.clock.now(),
        client_app_type="browser",
        methods=("fido2",),
        aaguid=record["aaGuid"],
    )
    outcome = ca.decide(ca.evaluate(state.tenant, ctx))
    if outcome.error_code is not None:
        return _fail(
            state, flow, user, outcome.error_code, "Conditional Access", passkey=record, outcome=outcome
        )
    if outcome.strength_unmet is not None:
        record_signin(
            state,
            flow,
            user,
            result_type="53003",
            description=AADSTS[53003],
            reason="authentication strength not satisfied: "
            + outcome.strength_unmet["authenticationStrengthResult"],
            passkey=record,
            outcome=outcome,
        )
        flow.done = True
        return render(
            state,
            "strength.html",
            _config(flow, sAuthStrengthResult=outcome.strength_unmet),
            strength_name=outcome.strength_unmet.get("displayName", ""),
            request_id=str(uuid.uuid4()),
            timestamp=_stamp(state),
            title="Sign in to your account",
        )
    flow.authenticated = {"amr": ["fido", "mfa"], "auth_time": int(time.time()), "aaguid": record["aaGuid"]}
    record_signin(
        state, flow, user, result_type="0", description="", reason="", passkey=record, outcome=outcome
    )
    return render(
        state, "kmsi.html", _config(flow), username=user["userPrincipalName"], title="Sign in to your account"
    )


def _redirect(state: SimState, flow: Flow, user: dict[str, Any], kmsi: bool) -> Response:
    code = new_secret(64)
    ids = store(state)
    with ids.lock:
        ids.codes[code] = AuthCode(
            flow=flow,
            user_id=user["id"],
            expires=state.clock.now() + CODE_LIFETIME,
            auth={**(flow.authenticated or {}), "kmsi": kmsi},
        )
    flow.done = True
    params = {"code": code}
    if flow.state is not None:
        params["state"] = flow.state
    if flow.client_info:
        from drill.sim.identity.oidc import client_info

        params["client_info"] = client_info(user["id"], state.tenant.id)
    params["session_state"] = flow.session_id
    sep = "&" if "?" in flow.redirect_uri else "?"
    return RedirectResponse(f"{flow.redirect_uri}{sep}{urlencode(params)}", status_code=302)


def install(state: SimState) -> list[BaseRoute]:
    async def _authorize(request: Request) -> Response:
        return await authorize(state, request)

    async def _login(request: Request) -> Response:
        return await login_post(state, request)

    async def _fido(request: Request) -> Response:
        return await fido_get(state, request)

    async def well_known(request: Request) -> Response:
        if request.url.hostname != FIDO_HOST:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse({"origins": list(RELATED_ORIGINS)})

    async def nativeclient(request: Request) -> Response:
        return HTMLResponse(
            "<!DOCTYPE html><html><head><title>nativeclient</title></head><body></body></html>"
        )

    async def logout(request: Request) -> Response:
        # No SSO session is kept (every authorize is a fresh sign-in), so there is nothing to end.
        return render(state, "signedout.html", _config(None), title="Sign out")

    return [
        Route("/{tenant}/oauth2/v2.0/authorize", _authorize),
        Route("/{tenant}/oauth2/v2.0/logout", logout),
        Route("/common/login", _login, methods=["POST"]),
        Route("/common/fido/get", _fido, methods=["GET", "POST"]),
        Route("/.well-known/webauthn", well_known),
        Route("/common/oauth2/nativeclient", nativeclient),
    ]
