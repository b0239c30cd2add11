"""The proofs that replace what the Windows WebAuthn path cannot read before the ceremony.

An assertion carries no AAGUID, and webauthn.dll shows nothing about the key before its dialog
(drill/sim/DIFFERENCES.md, "The Windows key path"). After the sign-in the drill proves:

- `key_user_verified` (replaces preflight's `key_pin_set`): the assertion's authenticator data has the UV
  flag, so the key verified its user (PIN, or built-in biometrics) before signing;
- `key_identity` (replaces `key_aaguid`): Entra accepted a credential registered to the account, and every
  passkey registered to the account (Graph `fido2Methods`, read as the observer) is an approved model, so the
  key that answered is one. A passkey of another model, or none listed, is not proven: FAIL. Whether the
  method id encodes the credential id is not documented, so a match only names the method in the evidence.
"""

from __future__ import annotations

import base64
from typing import Any

from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext
from drill.steps.waiting import call_within

TITLE_IDENTITY = "The key that answered is an approved model (its passkeys on Graph)"
TITLE_UV = "The key verified its user (UV flag in the assertion: PIN or built-in biometrics)"
UV_FLAG = 0x04  # WebAuthn authenticator data flags, bit 2


def answered(ceremonies: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The sign-in's successful `get` ceremony (the bridge records its credential id and UV flag)."""
    return next((c for c in reversed(ceremonies) if c.get("kind") == "get" and c.get("result") == "ok"), None)


def check_user_verified(sb: StepBuilder, ceremony: dict[str, Any] | None) -> None:
    verified = bool(ceremony and ceremony.get("userVerified"))
    sb.check(
        "key_user_verified",
        TITLE_UV,
        verified,
        "the assertion's UV flag is set: the key asked for its PIN"
        if verified
        else "no successful assertion with the UV flag set",
        {"ceremony": ceremony or {}},
    )


def _b64u(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError):
        return None


def same_credential(method_id: str, credential_id: str) -> bool:
    """A method id that spells the credential id: base64url, optionally with .NET's trailing padding digit."""
    raw = _b64u(credential_id)
    if raw is None or not method_id:
        return False
    plain = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    padding = str(-len(plain) % 4)
    return method_id in (plain, plain + padding)


def judge_identity(
    methods: list[dict[str, Any]], approved: set[str], credential_id: str | None
) -> tuple[bool, str, list[str]]:
    """(passed, reason, advisories) from the account's registered passkeys."""
    if not methods:
        return False, "Graph lists no passkey for the account: the key that answered cannot be named", []
    listed = [
        f"{m.get('model') or 'unknown model'} (AAGUID {m.get('aaGuid')}, {m.get('attestationLevel')})"
        for m in methods
    ]
    other = [m for m in methods if str(m.get("aaGuid", "")).lower() not in approved]
    match = next(
        (m for m in methods if credential_id and same_credential(str(m.get("id")), credential_id)), None
    )
    named = (
        f"; the credential that answered is {match.get('model')} (AAGUID {match.get('aaGuid')})"
        if match
        else ""
    )
    if other:
        bad = ", ".join(f"{m.get('model') or 'unknown model'} (AAGUID {m.get('aaGuid')})" for m in other)
        return (
            False,
            f"the account also holds passkeys of models the playbook does not approve: {bad}; the key that "
            f"answered is not proven to be an approved model{named}",
            [],
        )
    advisories = [
        f"{m.get('model') or 'unknown model'} (AAGUID {m.get('aaGuid')}) was registered without attestation: "
        "its AAGUID is what the key claimed"
        for m in methods
        if m.get("attestationLevel") != "attested"
    ]
    return (
        True,
        f"every passkey registered to the account is an approved model: {'; '.join(listed)}{named}",
        advisories,
    )


async def registered_passkeys(ctx: DrillContext) -> tuple[list[dict[str, Any]], int]:
    """The account's fido2Methods on Graph, read as the observer (UserAuthenticationMethod.Read.All)."""
    from drill.auth import observer_credential
    from drill.clients import graph_client, graph_scopes

    ctx.observer = ctx.observer or observer_credential(ctx.playbook, ctx.cloud)
    client = graph_client(ctx.observer, ctx.cloud, graph_scopes(ctx.cloud, (".default",)))
    user = client.users.by_user_id(str(ctx.account.object_id))

    async def read() -> Any:
        ctx.counters["graph_requests"] += 1
        return await user.authentication.fido2_methods.get()

    response, errors = await call_within(read, float(ctx.playbook.sla.preflight))
    methods = [
        {
            "id": m.id,
            "aaGuid": m.aa_guid,
            "model": m.model,
            "displayName": m.display_name,
            "attestationLevel": getattr(m.attestation_level, "value", m.attestation_level),
        }
        for m in (getattr(response, "value", None) or [])
    ]
    return methods, len(errors)


async def check_identity(ctx: DrillContext, sb: StepBuilder, ceremony: dict[str, Any] | None) -> None:
    approved = {str(a).lower() for a in ctx.account.key.aaguids}
    credential = str((ceremony or {}).get("credentialId") or "") or None
    try:
        methods, transient = await registered_passkeys(ctx)
    except Exception as exc:  # noqa: BLE001 - an unreadable proof is a failed proof, with its cause
        sb.check(
            "key_identity", TITLE_IDENTITY, False, f"the account's passkeys could not be read: {exc}"[:500]
        )
        return
    ok, reason, advisories = judge_identity(methods, approved, credential)
    sb.check(
        "key_identity",
        TITLE_IDENTITY,
        ok,
        reason,
        {
            "passkeys": methods,
            "approved": sorted(approved),
            "credential_id": credential,
            "transient_errors": transient,
        },
    )
    for advisory in advisories:
        ctx.finding("advisory", "Passkey model self-reported", advisory, "signin")


def warn_before_ceremony(ctx: DrillContext, info: Any) -> None:
    """The operator hears it before the dialog opens: Windows asks for the PIN and nothing guards it."""
    if info.unreadable:
        ctx.progress.info(
            "Windows security dialog: it asks for the key's PIN itself. The PIN retry guard is OFF on this "
            "path (retries cannot be read): if the PIN is refused once, cancel and check the key on an "
            f"elevated prompt before trying again (guard: more than {ctx.account.pin_retry_guard} left)",
        )


async def prove_hidden_key(ctx: DrillContext, sb: StepBuilder, ceremonies: list[dict[str, Any]]) -> None:
    """After a successful sign-in on a path that hid the key: the checks preflight's deferred ones name."""
    info = ctx.key_info
    if info is None or not info.unreadable:
        return
    ceremony = answered(ceremonies)
    check_user_verified(sb, ceremony)
    await check_identity(ctx, sb, ceremony)
