"""Turn one sign-in attempt into the SignInEvent Entra would log, with what the drill needs to judge it.

Every attempt after the username step is recorded, success or failure: the result code, the applied
Conditional Access policies (every policy with its result, as SigninLogs lists them), the passkey used
(method "Passkey (device-bound)", AAGUID), the authentication strength result, app, resource, user agent
and the flow's correlation and session ids. `extra` carries simulator facts a reader may want
(failureReason, aaguid, credentialId, kmsi) without pretending Entra logs them.
"""

from __future__ import annotations

from typing import Any

from drill.sim.identity import ca
from drill.sim.identity.oidc import resource_of
from drill.sim.identity.store import Flow
from drill.sim.state import SignInEvent, SimState

PASSKEY_METHOD = "Passkey (device-bound)"


def record_signin(
    state: SimState,
    flow: Flow,
    user: dict[str, Any],
    *,
    result_type: str,
    description: str,
    reason: str,
    passkey: dict[str, Any] | None = None,
    outcome: ca.Outcome | None = None,
) -> SignInEvent:
    now = state.clock.now()
    detail = {
        "authenticationStepDateTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "authenticationMethod": PASSKEY_METHOD,
        "authenticationMethodDetail": (passkey or {}).get("model") or "",
        # The key step succeeded whenever a credential was accepted: later refusals (disabled account, CA)
        # and interrupts (50140 "Stay signed in?", CMSI, proof-up) come after it.
        "succeeded": passkey is not None,
        "authenticationStepResultDetail": "MFA successfully completed" if passkey is not None else reason,
        "authenticationStepRequirement": "Primary authentication",
    }
    # Conditional Access runs after the credential: earlier failures log it as notApplied, no policies.
    results = outcome.results if outcome is not None else []
    mfa_required = any(
        r.result in ("success", "failure")
        and ({"Mfa", "RequireAuthenticationStrength"} & set(r.grant_controls))
        for r in results
    )
    resource_id, resource_name = resource_of(flow.scopes)
    event = SignInEvent(
        created=now,
        user_id=user["id"],
        user_principal_name=str(user.get("userPrincipalName", "")),
        user_display_name=str(user.get("displayName", "")),
        app_id=flow.client_id,
        app_display_name=str(flow.app.get("displayName", "")),
        result_type=result_type,
        result_description=description,
        resource_id=resource_id,
        resource_display_name=resource_name,
        ip_address=flow.ip,
        user_agent=flow.user_agent,
        client_app_used="Browser",
        is_interactive=True,
        conditional_access_status=outcome.status if outcome is not None else "notApplied",
        applied_policies=outcome.applied_policies() if outcome is not None else [],
        authentication_requirement="multiFactorAuthentication"
        if mfa_required
        else "singleFactorAuthentication",
        authentication_details=[detail],
        authentication_methods_used=[PASSKEY_METHOD] if passkey is not None else [],
        authentication_strength=outcome.strength if outcome is not None else None,
        session_id=flow.session_id,
        correlation_id=flow.correlation_id,
        extra={
            "failureReason": reason,
            "aaguid": (passkey or {}).get("aaGuid"),
            "credentialId": (passkey or {}).get("credentialId"),
            "authenticationStrengthResult": ((outcome.strength if outcome else None) or {}).get(
                "authenticationStrengthResult"
            ),
        },
    )
    state.emit_signin(event)
    return event
