"""The device authorization grant (RFC 8628) as Entra serves it: `/devicecode`, then polling `/token`.

An administrator's tool (`drill setup`) signs in this way with msal's `initiate_device_flow`. The human
half (typing the code at microsoft.com/devicelogin and signing in) is stood in for by the control route
`POST /_sim/identity/devicecode/approve {user_code, user}`: a test names the admin who "signed in". Until
then `/token` answers `authorization_pending`, as Entra does (AADSTS70016); after `expires_in`,
`expired_token`
(AADSTS70019). Facts: DIFFERENCES.md, "Setup write APIs".
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from drill.sim.identity.oidc import EXTRA_GRANTS, error_response, user_tokens
from drill.sim.identity.store import OAuthError
from drill.sim.state import SimState

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
LIFETIME = timedelta(minutes=15)
VERIFICATION_URI = "https://microsoft.com/devicelogin"


@dataclass
class _Pending:
    client_id: str
    scopes: list[str]
    user_code: str
    expires: datetime
    user_id: str | None = None
    redeemed: bool = False
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _pending(state: SimState) -> dict[str, _Pending]:
    with state.lock:
        found: dict[str, _Pending] = state.services.setdefault("device_codes", {})
        return found


def redeem(state: SimState, app: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """One poll of `/token`: pending until approved, then the user's tokens once."""
    grant = _pending(state).get(form.get("device_code", ""))
    if grant is None or grant.client_id != app["appId"] or grant.redeemed:
        raise OAuthError("invalid_grant", 70000)
    if grant.expires < state.clock.now():
        raise OAuthError("expired_token", 70019)
    if grant.user_id is None:
        raise OAuthError("authorization_pending", 70016)
    user = state.tenant.user(grant.user_id)
    if user is None or not user.get("accountEnabled", True):
        raise OAuthError("invalid_grant", 50057)
    grant.redeemed = True
    now = state.clock.now()
    auth = {"amr": ["pwd", "mfa"], "auth_time": int(now.timestamp())}
    return user_tokens(
        state, app=app, user=user, requested=grant.scopes, auth=auth, nonce=None, session_id=grant.session_id
    )


EXTRA_GRANTS[GRANT_TYPE] = redeem


def install(state: SimState) -> list[BaseRoute]:
    async def devicecode(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        app = state.tenant.application(form.get("client_id", ""))
        if app is None:
            return error_response(state, OAuthError("unauthorized_client", 700016))
        code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(9))
        _pending(state)[code] = _Pending(
            client_id=app["appId"],
            scopes=form.get("scope", "").split(),
            user_code=user_code,
            expires=state.clock.now() + LIFETIME,
        )
        return JSONResponse(
            {
                "user_code": user_code,
                "device_code": code,
                "verification_uri": VERIFICATION_URI,
                "expires_in": int(LIFETIME.total_seconds()),
                "interval": 1,
                "message": f"To sign in, use a web browser to open the page {VERIFICATION_URI} and enter "
                f"the code {user_code} to authenticate.",
            }
        )

    async def approve(request: Request) -> Response:
        body = await request.json()
        user = state.tenant.user(str(body.get("user", "")))
        match = [p for p in _pending(state).values() if p.user_code == body.get("user_code")]
        if user is None or not match:
            return JSONResponse({"error": "no such user or user code"}, status_code=404)
        match[0].user_id = user["id"]
        return JSONResponse({"approved": match[0].user_code})

    return [
        Route("/{tenant}/oauth2/v2.0/devicecode", devicecode, methods=["POST"]),
        Route("/_sim/identity/devicecode/approve", approve, methods=["POST"]),
    ]
