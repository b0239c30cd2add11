"""Log a refresh-token redemption as Entra does: a non-interactive sign-in of the token's user.

No prompt, no credential: the user is signed in on the strength of the earlier sign-in that issued the
token, so the row is `isInteractive: false` and lands in AADNonInteractiveUserSignInLogs, success or
failure (a revoked or expired token, a disabled account). Its CorrelationId is the client's
`client-request-id` header when the client sends one (Graph's signIn.correlationId: "the identifier that's
sent from the client when sign-in is initiated"; MSAL sends that header on every token request and lets
the caller choose it), else a fresh id: a client can make a row carry any CorrelationId it likes.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request

from drill.sim.identity.store import RefreshGrant
from drill.sim.state import SignInEvent, SimState

# What the earlier sign-in proved, as non-interactive rows report a step satisfied before (BELIEF).
PREVIOUSLY_SATISFIED = "Previously satisfied"


def record_redemption(
    state: SimState,
    request: Request,
    app: dict[str, Any],
    grant: RefreshGrant,
    resource: tuple[str, str],
    result_type: str,
    description: str,
) -> SignInEvent | None:
    """Emit the non-interactive sign-in of one redemption; None when the token's user no longer exists."""
    user = state.tenant.user(grant.user_id)
    if user is None:
        return None
    ok = result_type == "0"
    event = SignInEvent(
        created=state.clock.now(),
        user_id=grant.user_id,
        user_principal_name=str(user.get("userPrincipalName", "")),
        user_display_name=str(user.get("displayName", "")),
        app_id=str(app.get("appId", "")),
        app_display_name=str(app.get("displayName", "")),
        result_type=result_type,
        result_description=description,
        resource_id=resource[0],
        resource_display_name=resource[1],
        ip_address=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
        client_app_used="Mobile Apps and Desktop clients",
        is_interactive=False,
        authentication_requirement="singleFactorAuthentication",
        authentication_details=[
            {
                "authenticationStepDateTime": state.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "authenticationMethod": PREVIOUSLY_SATISFIED,
                "authenticationMethodDetail": "",
                "succeeded": ok,
                "authenticationStepResultDetail": "First factor requirement satisfied by prior authentication"
                if ok
                else description,
                "authenticationStepRequirement": "Primary authentication",
            }
        ],
        session_id=grant.session_id,
        correlation_id=request.headers.get("client-request-id") or str(uuid.uuid4()),
        extra={"failureReason": description, "grant": "refresh_token"},
    )
    state.emit_signin(event)
    return event
