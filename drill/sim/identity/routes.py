"""The simulated Entra identity platform: OIDC + tokens, sign-in pages with WebAuthn, CA, passkey setup.

Routes come from oidc.py (metadata, JWKS, /token), signin_pages.py (authorize, login posts, the FIDO
ceremony page, related origins) and this module's control routes:

  POST /_sim/passkeys/register/begin     {"userId": id|upn}  -> {"registrationId", "options": {"publicKey"}}
  POST /_sim/passkeys/register/complete  {"registrationId", "response": RegistrationResponse JSON,
                                          "displayName"?, "bypassPolicy"?: false} -> the stored passkey
  GET  /_sim/identity/passkeys           registered credentials (no key material)

Registration is verified with Fido2Server plus the tenant's FIDO2 policy (webauthn_rp) and audited as
Entra audits security-info registration. `bypassPolicy` lets a rehearsal register keys under a tenant
that already carries a fault (an administrator pre-provisioning them before the restriction).

Helpers for other simulator parts: `configure_client_secret(state, app_id, secret)` (the demo and the
tests give the observer its secret in memory), `configure_client_certificate(state, app_id, cert_pem)`,
`breakglass_user_ids(state)`, and
`idstore.revoke_user_sessions(state, user_id)` for Graph's revokeSignInSessions.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from drill.sim.identity import device_code, oidc
from drill.sim.identity import pages as signin_pages
from drill.sim.identity.setup_faults import FAULTS as SETUP_FAULTS
from drill.sim.identity.store import new_secret, store
from drill.sim.identity.webauthn_rp import (
    RPError,
    begin_registration,
    complete_registration,
    key_rules,
)
from drill.sim.state import AuditEvent, Fault, SimState
from drill.sim.tenant import GLOBAL_ADMIN

# An AAGUID no demo key has (YubiKey 5 Series): what "the allow-list was changed" looks like.
FOREIGN_AAGUID = "cb69481e-8ff7-4039-93ec-0a2729a154a8"


def configure_client_secret(state: SimState, app_id: str, secret: str) -> None:
    """Give a confidential app its secret for this run; only the SHA-256 is kept."""
    app = state.tenant.application(app_id)
    if app is None:
        raise KeyError(f"no application {app_id}")
    app["clientSecretSha256"] = hashlib.sha256(secret.encode()).hexdigest()


def configure_client_certificate(state: SimState, app_id: str, cert_pem: str) -> None:
    """Add a certificate (PEM) the app may sign client assertions with (Graph's keyCredentials)."""
    app = state.tenant.application(app_id)
    if app is None:
        raise KeyError(f"no application {app_id}")
    app.setdefault("keyCredentials", []).append(
        {"type": "AsymmetricX509Cert", "usage": "Verify", "key": cert_pem}
    )


def breakglass_user_ids(state: SimState) -> list[str]:
    """Accounts holding Global Administrator directly and actively: the ones a drill signs in with.

    Taken once from the healthy tenant when identity is installed, so a role fault applied first (GA
    removed, moved to a group) does not hide the accounts from a sign-in fault applied after it.
    """
    cached = state.services.get("identity_breakglass")
    if isinstance(cached, list):
        return list(cached)
    holders = state.tenant.direct_holders(GLOBAL_ADMIN, state.clock.now())
    return [u["id"] for u in state.tenant.users if u["id"] in holders]


def _breakglass_groups(state: SimState) -> set[str]:
    ids = set(breakglass_user_ids(state))
    return {g["id"] for g in state.tenant.groups if ids & set(g.get("members", []))}


def _policy(
    pid: str, name: str, state_: str, grant: dict[str, Any] | None, users: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": pid,
        "displayName": name,
        "state": state_,
        "createdDateTime": "2026-01-01T00:00:00Z",
        "modifiedDateTime": None,
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"], "excludeApplications": []},
            "users": {
                "includeUsers": [],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": [],
                "includeRoles": [],
                "excludeRoles": [],
                **users,
            },
        },
        "grantControls": grant,
        "sessionControls": None,
    }


# -- faults ---------------------------------------------------------------------------------------------
def _account_disabled(state: SimState) -> None:
    for uid in breakglass_user_ids(state):
        user = state.tenant.user(uid)
        if user is not None:
            user["accountEnabled"] = False


def _ca_block(state: SimState) -> None:
    grant = {
        "operator": "OR",
        "builtInControls": ["block"],
        "customAuthenticationFactors": [],
        "termsOfUse": [],
    }
    state.tenant.conditionalAccessPolicies.append(
        _policy(
            "f0a1b2c3-0000-4000-8000-00000000b10c",
            "CA900 - Block access outside the office (new)",
            "enabled",
            grant,
            {"includeUsers": ["All"]},
        )
    )


def _ca_compliant(state: SimState) -> None:
    grant = {
        "operator": "OR",
        "builtInControls": ["compliantDevice"],
        "customAuthenticationFactors": [],
        "termsOfUse": [],
    }
    state.tenant.conditionalAccessPolicies.append(
        _policy(
            "f0a1b2c3-0000-4000-8000-00000000c0de",
            "CA901 - Require compliant device (new)",
            "enabled",
            grant,
            {"includeUsers": ["All"]},
        )
    )


def _ca_extra(state: SimState) -> None:
    grant = {
        "operator": "OR",
        "builtInControls": ["compliantDevice"],
        "customAuthenticationFactors": [],
        "termsOfUse": [],
    }
    policy = _policy(
        "f0a1b2c3-0000-4000-8000-0000000e7a0a",
        "CA950 - Admins on compliant devices (report-only)",
        "enabledForReportingButNotEnforced",
        grant,
        {"includeGroups": sorted(_breakglass_groups(state))},
    )
    state.tenant.conditionalAccessPolicies.append(policy)


def _aaguid_not_allowed(state: SimState) -> None:
    fido2 = state.tenant.authenticationMethodsPolicy.setdefault("fido2", {})
    fido2["keyRestrictions"] = {"isEnforced": True, "enforcementType": "allow", "aaGuids": [FOREIGN_AAGUID]}


def _passkey_deleted(state: SimState) -> None:
    ids = set(breakglass_user_ids(state))
    with state.lock:
        state.tenant.passkeys[:] = [p for p in state.tenant.passkeys if p["userId"] not in ids]


def _attestation_unattested(state: SimState) -> None:
    state.tenant.authenticationMethodsPolicy.setdefault("fido2", {})["isAttestationEnforced"] = True
    ids = set(breakglass_user_ids(state))
    for p in state.tenant.passkeys:
        if p["userId"] in ids:
            p["attestationLevel"], p["attestationCertificates"] = "notAttested", []


def _strength_unmet(state: SimState) -> None:
    for policy in state.tenant.authenticationStrengthPolicies:
        for conf in policy.get("combinationConfigurations") or []:
            if conf.get("allowedAAGUIDs"):
                conf["allowedAAGUIDs"] = [FOREIGN_AAGUID]


def _nothing(state: SimState) -> None:
    """The fault lives in state.faults; the service consults it at request time."""


FAULTS: list[Fault] = [
    Fault(
        "account-disabled",
        "sign-in",
        "break-glass accounts disabled: sign-in fails with AADSTS50057",
        _account_disabled,
    ),
    Fault(
        "ca-block",
        "sign-in",
        "a new enabled CA policy blocks all users without the break-glass exclusion (AADSTS53003)",
        _ca_block,
    ),
    Fault(
        "ca-compliant-device",
        "sign-in",
        "a new enabled CA policy demands a compliant device from all users (AADSTS53000)",
        _ca_compliant,
    ),
    Fault(
        "ca-extra-policy-applies",
        "sign-in",
        "a new report-only policy includes the break-glass group: sign-in "
        "succeeds but the applied policies differ",
        _ca_extra,
    ),
    Fault(
        "aaguid-not-allowed",
        "sign-in",
        "FIDO2 key restrictions no longer allow the break-glass keys' AAGUIDs",
        _aaguid_not_allowed,
    ),
    Fault(
        "auth-strength-aaguid-unmet",
        "sign-in",
        "the break-glass authentication strength no longer lists the "
        "keys' AAGUIDs: 'another sign-in method is required'",
        _strength_unmet,
    ),
    Fault("passkey-deleted", "sign-in", "the break-glass accounts' passkeys were deleted", _passkey_deleted),
    Fault(
        "attestation-enforced-unattested",
        "sign-in",
        "attestation enforced; the registered keys have no trusted attestation",
        _attestation_unattested,
    ),
    Fault("token-endpoint-down", "token", "the token endpoint answers 503 (AADSTS90033)", _nothing),
    *SETUP_FAULTS,
]


# -- control routes -------------------------------------------------------------------------------------
def _audit_registration(state: SimState, user: dict[str, Any], record: dict[str, Any]) -> None:
    target = {
        "id": user["id"],
        "displayName": user.get("displayName"),
        "type": "User",
        "userPrincipalName": user.get("userPrincipalName"),
        "modifiedProperties": [],
    }
    state.emit_audit(
        AuditEvent(
            created=state.clock.now(),
            category="UserManagement",
            operation_name="User registered security info",
            result_reason="User registered Passkey (device-bound)",
            logged_by_service="Authentication Methods",
            initiated_by={
                "user": {
                    "id": user["id"],
                    "displayName": user.get("displayName"),
                    "userPrincipalName": user.get("userPrincipalName"),
                    "ipAddress": "127.0.0.1",
                }
            },
            target_resources=[target],
            additional_details=[
                {"key": "AAGUID", "value": record["aaGuid"]},
                {"key": "Method", "value": "Passkey (device-bound)"},
            ],
        )
    )


def install(state: SimState) -> list[BaseRoute]:
    ids = store(state)
    state.services["identity_breakglass"] = breakglass_user_ids(state)

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    async def register_begin(request: Request) -> Response:
        body = await body_of(request)
        user = state.tenant.user(str(body.get("userId", "")))
        if user is None:
            return JSONResponse({"error": "no such user"}, status_code=404)
        options, reg_state = begin_registration(state, user)
        reg_id = new_secret(24)
        with ids.lock:
            ids.registrations[reg_id] = (user["id"], reg_state, state.clock.now() + timedelta(minutes=10))
        return JSONResponse({"registrationId": reg_id, "options": json.loads(json.dumps(options))})

    async def register_complete(request: Request) -> Response:
        body = await body_of(request)
        with ids.lock:
            found = ids.registrations.pop(str(body.get("registrationId", "")), None)
        if found is None or found[2] < state.clock.now():
            return JSONResponse({"error": "unknown or expired registrationId"}, status_code=400)
        user = state.tenant.user(found[0])
        if user is None:
            return JSONResponse({"error": "no such user"}, status_code=404)
        saved = None
        if body.get("bypassPolicy"):
            saved = state.tenant.authenticationMethodsPolicy.get("fido2")
            state.tenant.authenticationMethodsPolicy["fido2"] = {
                "state": "enabled",
                "includeTargets": [{"id": "all_users", "targetType": "group"}],
            }
        try:
            record = complete_registration(
                state,
                user,
                found[1],
                dict(body.get("response") or {}),
                str(body.get("displayName") or "Security key"),
            )
        except RPError as exc:
            return JSONResponse({"error": exc.reason}, status_code=400)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"malformed registration response: {exc}"}, status_code=400)
        finally:
            if saved is not None:
                state.tenant.authenticationMethodsPolicy["fido2"] = saved
        _audit_registration(state, user, record)
        return JSONResponse({k: v for k, v in record.items() if k != "publicKey"})

    async def passkeys(request: Request) -> Response:
        listed = [{k: v for k, v in p.items() if k != "publicKey"} for p in state.tenant.passkeys]
        rules = {u: key_rules(state, u).enabled for u in {p["userId"] for p in listed}}
        return JSONResponse({"value": listed, "fido2EnabledFor": rules})

    return [
        *oidc.install(state),
        *device_code.install(state),
        *signin_pages.install(state),
        Route("/_sim/passkeys/register/begin", register_begin, methods=["POST"]),
        Route("/_sim/passkeys/register/complete", register_complete, methods=["POST"]),
        Route("/_sim/identity/passkeys", passkeys),
    ]


__all__ = [
    "FAULTS",
    "breakglass_user_ids",
    "configure_client_certificate",
    "configure_client_secret",
    "install",
]
