"""Identity's private state: sign-in flows in progress, authorization codes, refresh grants, error texts.

Entra keeps a sign-in's progress in the `flowToken` the pages post back (never in a cookie, because the
WebAuthn leg runs on another site and SameSite cookies would not come back). The simulator does the same:
each flow is found by its token, every secret (flow token, code, refresh token) is random and lives only in
this process's memory.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drill.sim.state import SimState

FLOW_LIFETIME = timedelta(minutes=15)
CODE_LIFETIME = timedelta(minutes=10)
REFRESH_LIFETIME = timedelta(days=90)

# Error names and texts as Entra's reference-error-codes page gives them (reference/ids/aadsts_codes_*.csv
# for the break-glass ones); only the codes the simulator emits.
AADSTS: dict[int, str] = {
    50011: "The redirect URI specified in the request does not match the redirect URIs configured for the "
    "application.",
    50034: "The user account does not exist in this directory.",
    50057: "The user account is disabled. The user object in Active Directory backing this account has been "
    "disabled.",
    50058: "Session information isn't sufficient for single-sign-on.",
    50074: "Strong authentication is required and the user did not pass the MFA challenge.",
    50079: "Due to a configuration change made by the admin such as a Conditional Access policy, per-user "
    "enforcement, or because the user moved to a new location, the user is required to use multifactor "
    "authentication.",
    50105: "The signed in user isn't assigned to a role for the signed in app.",
    65001: "The user or administrator hasn't consented to use the application.",
    90094: "Administrator consent is required.",
    50126: "Error validating credentials due to invalid username or password.",
    50140: 'This error occurred due to "Keep me signed in" interrupt when the user was signing-in.',
    50199: "For security reasons, user confirmation is required for this request.",
    50203: "The user must register the Microsoft Authenticator app.",
    50173: "The provided grant has expired due to it being revoked, and a fresh auth token is needed.",
    53000: "Device is not in required device state: compliant. Conditional Access policy requires a "
    "compliant device, and the device isn't compliant.",
    53003: "Access has been blocked by Conditional Access policies. The access policy does not allow token "
    "issuance.",
    54005: "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
    "existing refresh token.",
    70000: "The provided grant is invalid or malformed.",
    70003: "The app requested an unsupported grant type.",
    70008: "The provided authorization code or refresh token has expired due to inactivity.",
    70011: "The provided request must include a 'scope' input parameter. The provided value for the input "
    "parameter 'scope' isn't valid.",
    28000: "Provided value for the input parameter scope is not valid because it contains more than one "
    "resource.",
    90002: "Tenant not found. Check to make sure you have the correct tenant ID.",
    90033: "A transient error has occurred. Please try again.",
    500121: "Authentication failed during strong authentication request.",
    500344: "No account was found for the passkey that was presented.",
    135016: "FIDO sign-in is blocked by the user credential policy.",
    501481: "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    700024: "Client assertion is not within its valid time range.",
    700027: "Client assertion failed signature validation.",
    700016: "Application with identifier was not found in the directory.",
    700025: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    7000215: "Invalid client secret provided. Ensure the secret being sent in the request is the client "
    "secret value, not the client secret ID.",
    7000218: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    900144: "The request body must contain the following parameter.",
    9002313: "Invalid request. Request is malformed or invalid.",
    1002012: "The provided value for scope is not valid. Client credential flows must have a scope value "
    "with /.default suffixed to the resource identifier (application ID URI).",
}


def aadsts_message(code: int, detail: str = "") -> str:
    text = AADSTS.get(code, "Unknown error.")
    return f"AADSTS{code}: {text}" + (f" {detail}" if detail else "")


class OAuthError(Exception):
    def __init__(self, error: str, code: int, status: int = 400, detail: str = "") -> None:
        super().__init__(aadsts_message(code, detail))
        self.error, self.code, self.status = error, code, status


def new_secret(nbytes: int = 32) -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Flow:
    """One interactive sign-in from /authorize to the redirect."""

    token: str
    created: datetime
    client_id: str
    app: dict[str, Any]
    redirect_uri: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str
    response_mode: str
    login_hint: str
    client_info: bool
    user_agent: str
    ip: str
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    user_id: str | None = None
    tenant_segment: str = "common"  # the authority path segment the sign-in started under
    # Entra's page tokens: sCtx (posted as ctx), the form canary and the JSON API canary (apiCanary).
    ctx: str = field(default_factory=lambda: new_secret(24))
    canary: str = field(default_factory=lambda: new_secret(24))
    api_canary: str = field(default_factory=lambda: new_secret(24))
    fido_challenge: str | None = None  # sFidoChallenge: its UTF-8 bytes are the WebAuthn challenge
    cross_domain_canary: str | None = None  # sCrossDomainCanary, posted back as lmcCanary
    fido_state: Any = None  # fido2.server state of the open WebAuthn challenge
    authenticated: dict[str, Any] | None = None  # set once the key was accepted (amr, method, ...)
    passkey: dict[str, Any] | None = None  # the credential that signed in, for the rows still to come
    outcome: Any = None  # ca.Outcome of the sign-in, for the rows still to come
    done: bool = False


@dataclass
class AuthCode:
    flow: Flow
    user_id: str
    expires: datetime
    auth: dict[str, Any]
    redeemed: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    user_id: str
    scopes: list[str]
    auth: dict[str, Any]
    expires: datetime
    session_id: str
    issued: datetime
    revoked: bool = False


@dataclass
class IdStore:
    flows: dict[str, Flow] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    refresh: dict[str, RefreshGrant] = field(default_factory=dict)
    # registration id -> (user id, fido2 server state, expiry) of /_sim/passkeys/register/begin
    registrations: dict[str, tuple[str, Any, datetime]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def purge(self, now: datetime) -> None:
        """Forget spent flows and codes, so a long rehearsal does not grow without bound."""
        with self.lock:
            for token in [t for t, f in self.flows.items() if now - f.created > FLOW_LIFETIME]:
                del self.flows[token]
            for code in [c for c, g in self.codes.items() if g.expires < now]:
                del self.codes[code]
            for rid in [r for r, v in self.registrations.items() if v[2] < now]:
                del self.registrations[rid]

    def flow(self, token: str, now: datetime) -> Flow | None:
        with self.lock:
            flow = self.flows.get(token)
        if flow is None or flow.done or now - flow.created > FLOW_LIFETIME:
            return None
        return flow


def store(state: SimState) -> IdStore:
    with state.lock:
        found = state.services.get("identity")
        if not isinstance(found, IdStore):
            found = IdStore()
            state.services["identity"] = found
        return found


def tenant_matches(state: SimState, segment: str) -> bool:
    """The authority path segment names this tenant: its id, its primary domain, or a multi-tenant alias."""
    low = segment.lower()
    return low in {state.tenant.id, state.tenant.primary_domain.lower(), "organizations", "common"}


def revoke_user_sessions(state: SimState, user_id: str) -> int:
    """What Graph's revokeSignInSessions does to the identity side: every refresh grant of the user dies.

    Returns how many grants were revoked; the Graph route calls this.
    """
    ids = store(state)
    with ids.lock:
        live = [g for g in ids.refresh.values() if g.user_id == user_id and not g.revoked]
        for grant in live:
            grant.revoked = True
    return len(live)
