"""The WebAuthn relying party of the simulated tenant: python-fido2's Fido2Server plus what it leaves out.

Fido2Server checks type, challenge, origin, RP ID hash, UP/UV flags and the signature. Entra also
enforces, and so do we: the signature counter (a counter that does not grow means a cloned key), the
userHandle (a discoverable credential must name this user), the FIDO2 method policy (enabled, user
targeted), AAGUID key restrictions (allow or block lists, also inside passkey profiles) and attestation
enforcement (packed attestation chained to a root in `tenant.attestationRoots`). Attestation is
evaluated at registration and remembered on the credential (`attestationLevel`), as Entra does; when
the policy enforces it, a credential without trusted attestation is refused at registration and at
sign-in (the latter is our reading: enforcement after the fact makes an old unattested key fail).

RP ID is `login.microsoft.test` (FIDO_HOST); the ceremony origin is `https://login.microsoft.test`, and
`https://login.microsoftonline.test` is accepted as a related origin (served in
`/.well-known/webauthn`), mirroring Entra's two sites.

Passkey profiles (v1.0 `passkeyProfiles`, targets' `allowedPasskeyProfiles`, `defaultPasskeyProfile`):
a profile may carry its own `keyRestrictions` and `attestationEnforcement` (anything but "disabled"
enforces); the shape is our reading of the docs, kept small.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from fido2 import cbor
from fido2.attestation.base import AttestationResult, AttestationVerifier, InvalidAttestation
from fido2.cose import CoseKey
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticatorAttachment,
    AuthenticatorData,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from drill.sim.state import FIDO_HOST, LOGIN_HOST, SimState

RP_ID = FIDO_HOST
RP_ORIGIN = f"https://{FIDO_HOST}"
RELATED_ORIGINS = (f"https://{LOGIN_HOST}",)
# Codes Entra shows in place on the sign-in page (PAGES.md): the key is blocked by the credential policy
# (135016, FidoBlockedByPolicy), or no account has the presented credential (500344). Other refusals: 500121.
FIDO_BLOCKED, NO_ACCOUNT = 135016, 500344


class RPError(Exception):
    """A ceremony or policy refusal; `reason` goes to the sign-in record, `code` to the page."""

    def __init__(self, reason: str, code: int = 500121) -> None:
        super().__init__(reason)
        self.reason, self.code = reason, code


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _cose(text: str) -> CoseKey:
    decoded = cbor.decode(unb64u(text))
    if not isinstance(decoded, dict):
        raise RPError("stored public key is not a COSE map")
    return CoseKey.parse(decoded)


def user_handle(user_id: str) -> bytes:
    """The WebAuthn user.id for a user: the 16 bytes of the object id (opaque, stable, no PII)."""
    return uuid.UUID(user_id).bytes


def _server() -> Fido2Server:
    return Fido2Server(
        PublicKeyCredentialRpEntity(id=RP_ID, name="Microsoft"),
        attestation=AttestationConveyancePreference.DIRECT,
        verify_origin=lambda origin: origin == RP_ORIGIN or origin in RELATED_ORIGINS,
    )


# -- policy ----------------------------------------------------------------------------------------------
def fido2_policy(state: SimState) -> dict[str, Any]:
    return dict(state.tenant.authenticationMethodsPolicy.get("fido2") or {})


def _targets_user(state: SimState, targets: list[dict[str, Any]], user_id: str) -> list[dict[str, Any]]:
    groups = {g["id"] for g in state.tenant.groups_of(user_id)}
    return [t for t in targets if t.get("id") in ("all_users", user_id) or t.get("id") in groups]


@dataclass(frozen=True)
class KeyRules:
    """What the method policy demands of a user's keys."""

    enabled: bool
    attestation_enforced: bool
    restrictions: tuple[dict[str, Any], ...]  # keyRestrictions objects that apply


def key_rules(state: SimState, user_id: str) -> KeyRules:
    policy = fido2_policy(state)
    included = _targets_user(state, list(policy.get("includeTargets") or []), user_id)
    excluded = _targets_user(state, list(policy.get("excludeTargets") or []), user_id)
    enabled = policy.get("state", "enabled") == "enabled" and bool(included) and not excluded
    enforced = bool(policy.get("isAttestationEnforced"))
    restrictions = [policy["keyRestrictions"]] if policy.get("keyRestrictions") else []
    profiles = {p.get("id"): p for p in policy.get("passkeyProfiles") or []}
    if profiles:
        names = [n for t in included for n in t.get("allowedPasskeyProfiles") or []]
        names = names or [policy.get("defaultPasskeyProfile")]
        for name in names:
            profile = profiles.get(name)
            if profile is None:
                continue
            if profile.get("keyRestrictions"):
                restrictions.append(profile["keyRestrictions"])
            if str(profile.get("attestationEnforcement", "disabled")) != "disabled":
                enforced = True
    return KeyRules(enabled, enforced, tuple(restrictions))


def aaguid_refusal(rules: KeyRules, aaguid: str) -> str | None:
    """Why the key restrictions refuse this AAGUID, or None when they allow it."""
    low = aaguid.lower()
    for r in rules.restrictions:
        if not r.get("isEnforced"):
            continue
        listed = low in {str(a).lower() for a in r.get("aaGuids") or []}
        if r.get("enforcementType", "allow") == "allow" and not listed:
            return f"key restrictions allow only listed AAGUIDs; {aaguid} is not listed"
        if r.get("enforcementType") == "block" and listed:
            return f"key restrictions block AAGUID {aaguid}"
    return None


class _TenantRoots(AttestationVerifier):
    def __init__(self, roots_pem: list[str]) -> None:
        super().__init__()
        self._roots = [x509.load_pem_x509_certificate(p.encode()) for p in roots_pem]

    def ca_lookup(self, attestation_result: AttestationResult, auth_data: AuthenticatorData) -> bytes | None:
        if not attestation_result.trust_path:
            return None
        last = x509.load_der_x509_certificate(attestation_result.trust_path[-1])
        from cryptography.hazmat.primitives.serialization import Encoding

        for root in self._roots:
            if root.subject == last.issuer:
                return root.public_bytes(Encoding.DER)
        return None


# -- registration ----------------------------------------------------------------------------------------
def begin_registration(state: SimState, user: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    existing = [
        AttestedCredentialData.create(b"\0" * 16, unb64u(p["credentialId"]), _cose(p["publicKey"]))
        for p in state.tenant.passkeys_of(user["id"])
    ]
    options, reg_state = _server().register_begin(
        PublicKeyCredentialUserEntity(
            id=user_handle(user["id"]),
            name=str(user["userPrincipalName"]),
            display_name=str(user["displayName"]),
        ),
        credentials=existing,
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement.REQUIRED,
        authenticator_attachment=AuthenticatorAttachment.CROSS_PLATFORM,
    )
    return dict(options), reg_state


def complete_registration(
    state: SimState, user: dict[str, Any], reg_state: Any, response: dict[str, Any], display_name: str
) -> dict[str, Any]:
    """Verify, apply the method policy, store the credential; returns the stored passkey record."""
    try:
        auth_data = _server().register_complete(reg_state, response)
    except ValueError as exc:
        raise RPError(f"registration refused: {exc}") from exc
    cred = auth_data.credential_data
    if cred is None:
        raise RPError("registration refused: no credential data")
    aaguid = str(uuid.UUID(bytes=bytes(cred.aaguid)))
    rules = key_rules(state, user["id"])
    if not rules.enabled:
        raise RPError("the FIDO2 method is not enabled for this user")
    refusal = aaguid_refusal(rules, aaguid)
    if refusal:
        raise RPError(refusal)
    attestation = RegistrationResponse.from_dict(response).response.attestation_object
    chain = [b64u(c) for c in attestation.att_stmt.get("x5c", [])]
    try:
        _TenantRoots(state.tenant.attestationRoots).verify_attestation(
            attestation, RegistrationResponse.from_dict(response).response.client_data.hash
        )
        level, why = "attested", ""
    except (InvalidAttestation, ValueError) as exc:
        level, why = "notAttested", f"{attestation.fmt} attestation not trusted: {exc or type(exc).__name__}"
    if rules.attestation_enforced and level != "attested":
        raise RPError(f"attestation is enforced and the key is not attested ({why})")
    now = state.clock.now()
    record = {
        "id": b64u(cred.credential_id)[:43],
        "userId": user["id"],
        "credentialId": b64u(cred.credential_id),
        "publicKey": b64u(cbor.encode(dict(cred.public_key))),
        "aaGuid": aaguid,
        "signCount": auth_data.counter,
        "displayName": display_name,
        "model": display_name,
        "createdDateTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "attestationCertificates": chain,
        "attestationLevel": level,
    }
    with state.lock:
        state.tenant.passkeys.append(record)
    return record


# -- authentication --------------------------------------------------------------------------------------
def begin_authentication(
    state: SimState, user: dict[str, Any], challenge: bytes | None = None
) -> tuple[dict[str, Any], Any]:
    """Request options for the user's registered keys (empty allowCredentials when none are left).

    Entra's challenge is the UTF-8 bytes of the page's `sFidoChallenge` string, so the caller may pass it.
    """
    descriptors = [
        PublicKeyCredentialDescriptor(type=PublicKeyCredentialType.PUBLIC_KEY, id=unb64u(p["credentialId"]))
        for p in state.tenant.passkeys_of(user["id"])
    ]
    options, auth_state = _server().authenticate_begin(
        descriptors, user_verification=UserVerificationRequirement.REQUIRED, challenge=challenge
    )
    return dict(options), auth_state


def complete_authentication(
    state: SimState, user: dict[str, Any], auth_state: Any, response: dict[str, Any]
) -> dict[str, Any]:
    """Verify an assertion against the user's credentials and the policy; returns the passkey record."""
    rules = key_rules(state, user["id"])
    if not rules.enabled:
        raise RPError("the FIDO2 method is not enabled for this user", FIDO_BLOCKED)
    records = state.tenant.passkeys_of(user["id"])
    try:
        raw_id = unb64u(str(response.get("rawId") or response.get("id") or ""))
    except ValueError as exc:
        raise RPError("malformed credential id") from exc
    record = next((p for p in records if unb64u(p["credentialId"]) == raw_id), None)
    if record is None:
        raise RPError(
            "the credential is not registered for this user (deleted, or another account's key)", NO_ACCOUNT
        )
    cred = AttestedCredentialData.create(
        uuid.UUID(record["aaGuid"]).bytes, raw_id, _cose(record["publicKey"])
    )
    try:
        _server().authenticate_complete(auth_state, [cred], response)
    except ValueError as exc:
        raise RPError(f"assertion refused: {exc}") from exc
    handle = (response.get("response") or {}).get("userHandle")
    if handle and unb64u(str(handle)) != user_handle(user["id"]):
        raise RPError("assertion refused: userHandle names another user")
    auth_data = AuthenticatorData(unb64u(str(response["response"]["authenticatorData"])))
    stored = int(record.get("signCount") or 0)
    if (auth_data.counter or stored) and auth_data.counter <= stored:
        raise RPError(
            f"assertion refused: signature counter did not increase ({auth_data.counter} <= {stored})"
        )
    refusal = aaguid_refusal(rules, record["aaGuid"])
    if refusal:
        raise RPError(refusal, FIDO_BLOCKED)
    if rules.attestation_enforced and record.get("attestationLevel") != "attested":
        raise RPError("attestation is enforced and this key was registered without trusted attestation")
    with state.lock:
        record["signCount"] = auth_data.counter
    return record


def webauthn_json(assertion: dict[str, Any]) -> dict[str, Any]:
    """The page posts a flat assertion {id, clientDataJSON, ...}; fido2 wants the WebAuthn-JSON nesting."""
    if "response" in assertion:
        return assertion
    return {
        "id": assertion.get("id"),
        "rawId": assertion.get("rawId") or assertion.get("id"),
        "type": assertion.get("type", "public-key"),
        "response": {
            "clientDataJSON": assertion.get("clientDataJSON"),
            "authenticatorData": assertion.get("authenticatorData"),
            "signature": assertion.get("signature"),
            "userHandle": assertion.get("userHandle") or None,
        },
        "clientExtensionResults": assertion.get("clientExtensionResults") or {},
    }
