"""Entra's sign-in pages in their real shape: one converged page with views, the FIDO host, interrupts.

Every fact used here is in PAGES.md with its source and mark (VERIFIED or BELIEF); a page carries only the
`$Config` keys and element ids the reference lists (tests/sim/identity/test_page_fidelity.py checks it).
The path, host by host (Entra's hosts are login.microsoftonline.com and login.microsoft.com):

  login.microsoftonline.test/{tenant}/oauth2/v2.0/authorize   GET: ConvergedSignIn (username, password,
                                                               picker and FIDO views switched by script; `ps`)
  login.microsoftonline.test/common/GetCredentialType          POST JSON: the credential lookup
  login.microsoftonline.test/{tenant}/login                    POST type=11 password, type=23 FIDO assertion
  login.microsoft.test/{tenant}/fido/get?uiflavor=Web          POST (top-level form): the WebAuthn page
  login.microsoftonline.test/kmsi                              POST type=28: "Stay signed in?" answered
  login.microsoftonline.test/appverify                         POST: CMSI "Are you trying to sign in to ...?"
  login.microsoftonline.test/{tenant}/reprocess                GET ?ctx=: "Sign in another way" (the picker)
  login.microsoft.test/.well-known/webauthn                    related origins of the RP ID

Which branch a sign-in takes is the tenant fixture's `signInExperience` (`preferredCredential` 7 or 1000,
`showKmsi`, `interrupt`, `fidoOfferedToBrowser`); FIDO is also never offered to a Firefox-on-Linux user
agent, as Entra does. Progress is carried by the flow token (`sFT`, posted as `flowToken`), never a cookie.
All tenant strings reach HTML through Jinja2 autoescaping, and `$Config` through `tojson`.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from drill.sim.beliefs import Belief
from drill.sim.identity import ca, consent
from drill.sim.identity.oidc import resource_of, split_scopes
from drill.sim.identity.signin_record import record_signin
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
_ENV = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
)
# pgid -> (hpgid, hpgact) as captured pages carry them; None where no capture gives the numbers.
PAGE_IDS: dict[str, tuple[int | None, int | None]] = {
    "ConvergedSignIn": (1104, 1800),
    "ConvergedTFA": (1114, 2202),
    "KmsiInterrupt": (1115, 2005),
    "ConvergedProofUpRedirect": (1121, 2000),
    "CmsiInterrupt": (None, None),
    "ConvergedError": (None, None),  # BELIEF: the generic error page's pgid is known from test fixtures only
}
PREF_FIDO, PREF_PASSWORD, PREF_NONE = 7, 1, 1000
INTERRUPTS = ("cmsi", "proofUp", "mfaRegistrationNag", "mfa")
# Codes shown in place on the converged page (arrValErrs) rather than on an error page.
INLINE = (50057, 50126, 500344, 135016)


def _show_kmsi(state: SimState, form_name: str) -> None:
    """The belief's forms are the tenant's own knob (`signInExperience.showKmsi`), set at start-up."""
    state.tenant.signInExperience = {**state.tenant.signInExperience, "showKmsi": form_name == "shown"}


BELIEFS = [
    Belief(
        "kmsi-prompt",
        "whether 'Stay signed in?' follows the key (a CA persistent-browser control or the toggle hides it)",
        {
            "shown": "the prompt and its 50140 row (the tenant shows KMSI; no session control hides it)",
            "hidden": "no prompt, only the success row (persistent-browser session control, or toggle off)",
        },
        apply=_show_kmsi,
    ),
]
# Error page title index (iErrorTitle) per code; the order of Microsoft's title list is BELIEF.
TITLE_INDEX = {53003: 1, 53000: 2, 53001: 2}


def experience(state: SimState) -> dict[str, Any]:
    """The tenant's sign-in variant, defaults filled in: the most common real path (FIDO view, KMSI)."""
    given = dict(state.tenant.signInExperience or {})
    return {
        "preferredCredential": int(given.get("preferredCredential", PREF_FIDO)),
        "showKmsi": bool(given.get("showKmsi", True)),
        "interrupt": given.get("interrupt"),
        "fidoOfferedToBrowser": bool(given.get("fidoOfferedToBrowser", True)),
    }


def fido_offered(state: SimState, user_agent: str) -> bool:
    """Entra leaves FIDO out for some browsers (proven: Firefox on Linux); the fixture can do it for all."""
    ua = user_agent.lower()
    if "firefox" in ua and "linux" in ua and "android" not in ua:
        return False
    return bool(experience(state)["fidoOfferedToBrowser"])


def _browser(user_agent: str) -> str:
    """$Config.browser: ESTS's own parse of the user agent (shape `Chrome/_Linux/_M156`)."""
    name = "Firefox" if "Firefox/" in user_agent else "Edge" if "Edg/" in user_agent else "Chrome"
    osname = "Windows" if "Windows" in user_agent else "Mac" if "Mac OS" in user_agent else "Linux"
    major = ""
    marker = {"Firefox": "Firefox/", "Edge": "Edg/", "Chrome": "Chrome/"}[name]
    if marker in user_agent:
        major = user_agent.split(marker, 1)[1].split(".", 1)[0]
    return f"{name}/_{osname}/_M{major}"


def _stamp(state: SimState) -> str:
    return state.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def render(
    state: SimState, template: str, config: dict[str, Any], status: int = 200, **ctx: Any
) -> HTMLResponse:
    html = _ENV.get_template(template).render(config=config, tenant_name=state.tenant.display_name, **ctx)
    return HTMLResponse(
        html, status_code=status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
    )


def _page(pgid: str | None, flow: Flow | None, **extra: Any) -> dict[str, Any]:
    """The keys every captured page carries, then the page's own."""
    config: dict[str, Any] = {}
    if pgid is not None:
        hpgid, hpgact = PAGE_IDS[pgid]
        config["pgid"] = pgid
        if hpgid is not None:
            config["hpgid"], config["hpgact"] = hpgid, hpgact
    config.update(
        {
            "sFT": flow.token if flow else "",
            "sFTName": "flowToken",
            "sCtx": flow.ctx if flow else "",
            "canary": flow.canary if flow else "",
            "correlationId": flow.correlation_id if flow else str(uuid.uuid4()),
            "sessionId": flow.session_id if flow else str(uuid.uuid4()),
        }
    )
    config.update(extra)
    return config


def error_page(
    state: SimState, flow: Flow | None, code: int, detail: str = "", title: str = ""
) -> HTMLResponse:
    """The generic ESTS error page: everything a tool reads is in `$Config` (codes, AADSTS text)."""
    message = aadsts_message(code, detail)
    config = _page(
        "ConvergedError",
        flow,
        iErrorCode=code,
        sErrorCode=str(code),
        strServiceExceptionMessage=message,
        iErrorTitle=TITLE_INDEX.get(code, 0),
        iErrorDescription=TITLE_INDEX.get(code, 0),
        **({"strMainMessage": title} if title else {}),
    )
    return render(state, "error.html", config, request_id=str(uuid.uuid4()), timestamp=_stamp(state))


def _tenant_segment(flow: Flow) -> str:
    return flow.tenant_segment or "common"


def _credential_type(state: SimState, flow: Flow, username: str) -> dict[str, Any]:
    """GetCredentialType's answer (also embedded as oGetCredTypeResult when login_hint is given)."""
    user = state.tenant.user(username) if username else None
    if user is None:
        none: dict[str, Any] = {"PrefCredential": PREF_PASSWORD, "HasPassword": True, "HasFido": False}
        return {"Username": username, "Display": username, "IfExistsResult": 1, "ThrottleStatus": 0,
                "Credentials": none, "EstsProperties": {"DomainType": 3}, "FlowToken": flow.token,
                "apiCanary": flow.api_canary}  # fmt: skip
    keys = state.tenant.passkeys_of(user["id"])
    has_fido = bool(keys) and key_rules(state, user["id"]).enabled
    pref = experience(state)["preferredCredential"] if has_fido else PREF_PASSWORD
    creds: dict[str, Any] = {
        "PrefCredential": pref,
        "HasPassword": True,
        "HasFido": has_fido,
        "HasRemoteNGC": False,
        "HasAccessPass": False,
    }
    if has_fido:
        creds["FidoParams"] = {
            "AllowList": [p["credentialId"] for p in keys],
            "HasCrossDeviceCapablePasskey": False,
        }
    upn = str(user["userPrincipalName"])
    return {
        "Username": upn,
        "Display": upn,
        "IfExistsResult": 0,
        "ThrottleStatus": 0,
        "Credentials": creds,
        "EstsProperties": {"DomainType": 3, "UserTenantBranding": None},
        "FlowToken": flow.token,
        "apiCanary": flow.api_canary,
    }


def signin_page(
    state: SimState, flow: Flow, *, error: int | None = None, cred_type: dict[str, Any] | None = None
) -> HTMLResponse:
    """ConvergedSignIn. Its first render carries the harmless 50058 ("no SSO session"), as Entra's does."""
    code = error if error is not None else 50058
    tenant = _tenant_segment(flow)
    extra: dict[str, Any] = {
        "urlPost": f"/{tenant}/login",
        "urlGetCredentialType": f"{LOGIN}/common/GetCredentialType?mkt=en-US",
        "apiCanary": flow.api_canary,
        "iAllowedIdentities": 2,
        "urlResume": f"{LOGIN}/{tenant}/resume?ctx={quote(flow.ctx)}",
        "urlRefresh": f"{LOGIN}/{tenant}/reprocess?ctx={quote(flow.ctx)}",
        "urlLogin": f"{LOGIN}/{tenant}/reprocess?ctx={quote(flow.ctx)}",
        "sErrorCode": str(code),
        "arrValErrs": [str(code)],
        "browser": _browser(flow.user_agent),
        "fKMSIEnabled": experience(state)["showKmsi"],
        "iLoginMode": 1,
        "fShowSignInOptionsAsButton": True,
        "uiflavor": 1001,
    }
    if fido_offered(state, flow.user_agent):
        extra["fIsFidoSupported"] = True
        extra["urlFidoLogin"] = f"{FIDO}/{tenant}/fido/get?uiflavor=Web"
        extra["urlPostAad"] = f"{LOGIN}/{tenant}/login"
        extra["urlPostMsa"] = "https://login.live.test/ppsecure/partnerpost.srf"
    user = state.tenant.user(flow.user_id) if flow.user_id else None
    if user is not None:
        extra["sPOST_Username"] = str(user["userPrincipalName"])
    elif flow.login_hint:
        extra["sPOST_Username"] = flow.login_hint
    if cred_type is not None:
        extra["oGetCredTypeResult"] = cred_type
    return render(state, "signin.html", _page("ConvergedSignIn", flow, **extra))


def _record(state: SimState, flow: Flow, user: dict[str, Any], code: int, reason: str, **kw: Any) -> None:
    record_signin(
        state, flow, user, result_type=str(code), description=AADSTS.get(code, reason), reason=reason, **kw
    )


def _fail(
    state: SimState, flow: Flow, user: dict[str, Any], code: int, reason: str, **kw: Any
) -> HTMLResponse:
    """A refused sign-in: recorded, the flow spent, the code shown in place or on an error page."""
    _record(state, flow, user, code, reason, **kw)
    flow.done = True
    if code in INLINE:
        return signin_page(state, flow, error=code)
    return error_page(state, flow, code, reason if code == 500121 else "")


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
        tenant_segment=tenant,
    )
    ids = store(state)
    ids.purge(flow.created)
    with ids.lock:
        ids.flows[flow.token] = flow
    cred_type = None
    if flow.login_hint:
        cred_type = _credential_type(state, flow, flow.login_hint)
        _remember_user(state, flow, cred_type)
    return signin_page(state, flow, cred_type=cred_type)


def _remember_user(state: SimState, flow: Flow, cred_type: dict[str, Any]) -> None:
    if cred_type.get("IfExistsResult") == 0:
        user = state.tenant.user(str(cred_type["Username"]))
        flow.user_id = user["id"] if user else None


async def get_credential_type(state: SimState, request: Request) -> Response:
    """The username lookup: finds the flow by its token, checks the API canary, answers the credentials."""
    try:
        body = await request.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    flow = store(state).flow(str(body.get("flowToken", "")), state.clock.now())
    if flow is None or request.headers.get("canary") != flow.api_canary:
        return JSONResponse({"IfExistsResult": 4, "ThrottleStatus": 0, "Credentials": {}})
    result = _credential_type(state, flow, str(body.get("username", "")).strip())
    _remember_user(state, flow, result)
    return JSONResponse(result)


async def fido_get(state: SimState, request: Request) -> Response:
    """The ceremony page on the FIDO host, reached by a top-level form POST from the converged page."""
    if request.url.hostname != FIDO_HOST or request.method != "POST":
        return HTMLResponse("Not found", status_code=404)
    form = {k: str(v) for k, v in (await request.form()).items()}
    flow = store(state).flow(form.get("serverChallenge", ""), state.clock.now())
    if flow is None or form.get("ctx") != flow.ctx or form.get("loginCanary") != flow.canary:
        return error_page(state, flow, 50058, "The sign-in session expired; start again.")
    user = state.tenant.user(flow.user_id or "")
    if user is None:
        return error_page(state, flow, 50058)
    flow.fido_challenge = new_secret(32)
    _options, flow.fido_state = begin_authentication(state, user, challenge=flow.fido_challenge.encode())
    flow.cross_domain_canary = new_secret(24)
    allow = [c for c in form.get("credentialsJson", "").split(",") if c]
    config = _page(
        None,
        flow,
        urlPost=form.get("postBackUrl") or f"{LOGIN}/{_tenant_segment(flow)}/login",
        sFidoChallenge=flow.fido_challenge,
        sCrossDomainCanary=flow.cross_domain_canary,
        arrFidoAllowList=allow,
    )
    return render(state, "fido.html", config, cancel_url=form.get("cancelUrl", ""))


async def login_post(state: SimState, request: Request) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    flow = store(state).flow(form.get("flowToken", ""), state.clock.now())
    if flow is None or form.get("ctx") != flow.ctx:
        return error_page(state, None, 50058, "The sign-in session expired or was already used; start again.")
    kind = form.get("type", "")
    if kind == "11":
        return _password(state, flow, form)
    user = state.tenant.user(flow.user_id or "")
    if user is None:
        return error_page(state, flow, 50058)
    if kind == "23":
        return _assertion(state, flow, user, form, request)
    return error_page(state, flow, 900144, "Unexpected form post.")


def _password(state: SimState, flow: Flow, form: dict[str, str]) -> HTMLResponse:
    """No password is known to the simulator: any password is wrong (50126), shown in place."""
    user = state.tenant.user(form.get("loginfmt", "").strip() or flow.user_id or "")
    if user is None:
        return signin_page(state, flow, error=50126)
    flow.user_id = user["id"]
    _record(state, flow, user, 50126, "a password was posted; the drill never sends one")
    return signin_page(state, flow, error=50126)


def _assertion(
    state: SimState, flow: Flow, user: dict[str, Any], form: dict[str, str], request: Request
) -> Response:
    flow.user_agent = request.headers.get("user-agent", flow.user_agent)
    if flow.fido_state is None or form.get("lmcCanary") != flow.cross_domain_canary:
        return _fail(state, flow, user, 500121, "no WebAuthn challenge was issued for this sign-in")
    if not form.get("assertion"):
        return _fail(state, flow, user, 500121, "the FIDO page posted no assertion")
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
        why = (
            "authentication strength not satisfied: " + outcome.strength_unmet["authenticationStrengthResult"]
        )
        _record(state, flow, user, 53003, why, passkey=record, outcome=outcome)
        flow.done = True
        name = outcome.strength_unmet.get("displayName", "")
        return error_page(state, flow, 53003, title=f"Another sign-in method is required ({name})")
    gate = _app_gate(state, flow, user, record, outcome)
    if gate is not None:
        return gate
    flow.authenticated = {"amr": ["fido", "mfa"], "auth_time": int(time.time()), "aaguid": record["aaGuid"]}
    flow.passkey, flow.outcome = record, outcome
    interrupt = experience(state)["interrupt"]
    if interrupt in INTERRUPTS:
        return _interrupt(state, flow, user, str(interrupt))
    return _kmsi_or_redirect(state, flow, user)


def _app_gate(
    state: SimState, flow: Flow, user: dict[str, Any], record: dict[str, Any], outcome: Any
) -> Response | None:
    """The app's own setup, once the user is known: assignment (50105), then consent (prompt or 90094)."""
    upn, app = str(user["userPrincipalName"]), flow.app
    if not consent.assigned(state, app, user["id"]):
        _record(state, flow, user, 50105, "user not assigned to the app", passkey=record, outcome=outcome)
        flow.done = True
        detail = (
            f"Your administrator has configured the application {app.get('displayName', '')} "
            f"('{app['appId']}') to block users unless they are specifically granted ('assigned') access to "
            f"the application. The signed in user '{upn}' is blocked because they are not a direct member of "
            "a group with access, nor had access directly assigned by an administrator."
        )
        return error_page(state, flow, 50105, detail)
    missing = consent.unconsented(flow)
    if not missing:
        return None
    flow.done = True
    if consent.can_consent_for_tenant(state, user["id"]):
        _record(state, flow, user, 65001, "consent prompt shown", passkey=record, outcome=outcome)
        config = _page(None, flow, sAppName=str(app.get("displayName", "")), sPOST_Username=upn)
        return render(state, "consent.html", config, scopes=missing)
    _record(state, flow, user, 90094, "admin consent required", passkey=record, outcome=outcome)
    name = state.tenant.display_name
    detail = (
        f"An administrator of {name} has set a policy that prevents you from granting "
        f"{app.get('displayName', '')} the permissions it is requesting. Contact an administrator of {name}, "
        "who can grant permissions to this app on your behalf."
    )
    return error_page(state, flow, 90094, detail, title="Need admin approval")


def _interrupt(state: SimState, flow: Flow, user: dict[str, Any], which: str) -> Response:
    """An interrupt page after the key was accepted; logged as the interrupt's code with this flow's ids."""
    upn = str(user["userPrincipalName"])
    if which == "cmsi":
        _record(state, flow, user, 50199, "CMSI interrupt shown", passkey=flow.passkey, outcome=flow.outcome)
        app = str(flow.app.get("displayName", ""))
        config = _page("CmsiInterrupt", flow, urlPost="/appverify", sAppName=app, sPOST_Username=upn)
        return render(state, "cmsi.html", config)
    if which == "mfa":
        _record(state, flow, user, 50074, "MFA interrupt shown", passkey=flow.passkey, outcome=flow.outcome)
        proofs = [{"authMethodId": "PhoneAppNotification", "data": "PhoneAppNotification",
                   "display": "+X XXXXXXXX12", "isDefault": True}]  # fmt: skip
        config = _page(
            "ConvergedTFA",
            flow,
            urlPost="/common/SAS/ProcessAuth",
            arrUserProofs=proofs,
            urlBeginAuth=f"{LOGIN}/common/SAS/BeginAuth",
            urlEndAuth=f"{LOGIN}/common/SAS/EndAuth",
            sPOST_Username=upn,
        )
        return render(state, "tfa.html", config)
    nag = which == "mfaRegistrationNag"
    code = 50203 if nag else 50079
    _record(
        state, flow, user, code, "registration interrupt shown", passkey=flow.passkey, outcome=flow.outcome
    )
    extra: dict[str, Any] = {
        "sProofUpToken": new_secret(24),
        "urlSetUpMfa": "https://aka.ms/mfasetup",
        "sPOST_Username": upn,
        "iRemainingDaysToSkipMfaRegistration": 14 if nag else 0,
    }
    if nag:
        extra["sErrorCode"] = "50203"
        extra["urlSkipMfaRegistration"] = f"{LOGIN}/{_tenant_segment(flow)}/reprocess?ctx={quote(flow.ctx)}"
    return render(state, "proofup.html", _page("ConvergedProofUpRedirect", flow, **extra))


def _kmsi_or_redirect(state: SimState, flow: Flow, user: dict[str, Any]) -> Response:
    if not experience(state)["showKmsi"]:
        _record(state, flow, user, 0, "", passkey=flow.passkey, outcome=flow.outcome)
        return _redirect(state, flow, user, kmsi=False)
    # The prompt is logged as an interrupt (50140) before the success row, with the same correlation id.
    _record(
        state, flow, user, 50140, "Keep me signed in interrupt", passkey=flow.passkey, outcome=flow.outcome
    )
    config = _page("KmsiInterrupt", flow, urlPost="/kmsi", sPOST_Username=str(user["userPrincipalName"]))
    return render(state, "kmsi.html", config)


async def kmsi_post(state: SimState, request: Request) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    flow = store(state).flow(form.get("flowToken", ""), state.clock.now())
    if flow is None or flow.authenticated is None or form.get("type") != "28" or form.get("ctx") != flow.ctx:
        return error_page(state, flow, 50058, "The sign-in session expired or was already used; start again.")
    user = state.tenant.user(flow.user_id or "")
    if user is None:
        return error_page(state, flow, 50058)
    _record(state, flow, user, 0, "", passkey=flow.passkey, outcome=flow.outcome)
    return _redirect(state, flow, user, kmsi=form.get("LoginOptions") == "1")


async def appverify_post(state: SimState, request: Request) -> Response:
    """CMSI answered: Continue goes on to KMSI or the app, anything else ends the sign-in."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    flow = store(state).flow(form.get("flowToken", ""), state.clock.now())
    if flow is None or flow.authenticated is None or form.get("ctx") != flow.ctx:
        return error_page(state, flow, 50058, "The sign-in session expired or was already used; start again.")
    user = state.tenant.user(flow.user_id or "")
    if user is None or form.get("ContinueAuth") != "true":
        return error_page(state, flow, 50058)
    return _kmsi_or_redirect(state, flow, user)


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
        if request.url.hostname == FIDO_HOST:
            return HTMLResponse("Not found", status_code=404)
        return await login_post(state, request)

    async def _fido(request: Request) -> Response:
        return await fido_get(state, request)

    async def _gct(request: Request) -> Response:
        return await get_credential_type(state, request)

    async def _kmsi(request: Request) -> Response:
        return await kmsi_post(state, request)

    async def _appverify(request: Request) -> Response:
        return await appverify_post(state, request)

    async def reprocess(request: Request) -> Response:
        """ "Sign in another way": the converged page again, on the credential picker."""
        ctx = request.query_params.get("ctx", "")
        ids = store(state)
        with ids.lock:
            flow = next((f for f in ids.flows.values() if f.ctx == ctx and not f.done), None)
        if flow is None:
            return error_page(state, None, 50058, "The sign-in session expired; start again.")
        cred = _credential_type(state, flow, flow.login_hint or "")
        if cred.get("IfExistsResult") == 0:
            cred["Credentials"]["PrefCredential"] = PREF_NONE
        return signin_page(state, flow, cred_type=cred)

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
        return render(state, "signedout.html", _page(None, None))

    return [
        Route("/{tenant}/oauth2/v2.0/authorize", _authorize),
        Route("/{tenant}/oauth2/v2.0/logout", logout),
        Route("/common/GetCredentialType", _gct, methods=["POST"]),
        Route("/{tenant}/login", _login, methods=["POST"]),
        Route("/{tenant}/fido/get", _fido, methods=["GET", "POST"]),
        Route("/{tenant}/reprocess", reprocess),
        Route("/kmsi", _kmsi, methods=["POST"]),
        Route("/appverify", _appverify, methods=["POST"]),
        Route("/.well-known/webauthn", well_known),
        Route("/common/oauth2/nativeclient", nativeclient),
    ]
