"""The Windows WebAuthn path at step level, against the simulator over real HTTPS (msgraph-sdk, python-fido2).

Preflight on the path without elevation: every key detail it cannot read is `not observable`, naming its
proof, and nothing FAILs for it. After the ceremony the key's model is proven from the account's passkeys on
Graph, and a model the playbook does not approve FAILs there, at `signin/key_identity`.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drill.evidence.model import Status
from drill.keys.key_path import choose_key_path
from drill.keys.software import SoftwareKey
from drill.run.demo import FIDO_ORIGIN, build_context, demo_world
from drill.steps import key_identity, preflight
from drill.steps.base import StepBuilder
from drill.testing import windows_authenticator

ACCOUNT = "ea01"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with demo_world(tmp_path_factory.mktemp("windows-key")) as world:
        yield world


def _context(world: Any, approved: list[uuid.UUID] | None = None) -> Any:
    ctx = build_context(world, ACCOUNT, quiet=True)
    if approved is not None:
        key = ctx.account.key.model_copy(update={"aaguids": approved})
        ctx.account = ctx.account.model_copy(update={"key": key})
    key = SoftwareKey.open(world.key_paths[ACCOUNT])
    auth = windows_authenticator(
        key, world.pin, world.cloud.webauthn_related_origins, ctx.account.key.aaguids
    )
    ctx.open_key = lambda: auth
    ctx.key_path = choose_key_path(platform="win32", elevated=False)
    return ctx


def _sign(world: Any, ctx: Any) -> dict[str, Any]:
    """One assertion through the fake OS dialog, as the bridge would record it."""
    from fido2.server import Fido2Server
    from fido2.webauthn import PublicKeyCredentialRpEntity

    from drill.browser.bridge import assertion_facts

    server = Fido2Server(PublicKeyCredentialRpEntity(name="sim", id="login.microsoft.test"))
    options, _state = server.authenticate_begin(user_verification="required")
    result = ctx.open_key().get_assertion(dict(options)["publicKey"], FIDO_ORIGIN, threading.Event())
    return {"kind": "get", "result": "ok", **assertion_facts("get", result)}


def test_preflight_without_elevation_has_no_fail_from_unreadable_key_details(world: Any) -> None:
    ctx = _context(world)
    result = asyncio.run(preflight.run(ctx, with_key=True))
    checks = {c.id: c for c in result.checks}
    assert result.status is Status.PASS, [(c.id, c.status, c.reason) for c in result.checks]
    assert not [c for c in result.checks if c.status is Status.FAIL and c.id.startswith("key_")]
    assert checks["key_aaguid"].status is Status.NOT_OBSERVABLE
    assert checks["key_aaguid"].replaced_by == "signin/key_identity"
    assert checks["key_pin_set"].replaced_by == "signin/key_user_verified"
    assert checks["key_present"].replaced_by == "signin/webauthn_used"
    assert checks["key_pin_retries"].required is False
    assert "retry guard is off" in checks["key_pin_retries"].reason
    assert any(f.title == "PIN retry guard unavailable" for f in ctx.findings)
    # The permission self-check asked for what the post-ceremony proof reads.
    assert "windows-key" in result.evidence["permissions"]["features"]


def test_key_model_proven_after_the_ceremony(world: Any) -> None:
    ctx = _context(world)
    ctx.key_info = ctx.open_key().describe()
    ceremony = _sign(world, ctx)
    assert ceremony["userVerified"] is True
    assert ceremony["credentialId"]
    sb = StepBuilder("signin", "Sign-in")
    asyncio.run(key_identity.prove_hidden_key(ctx, sb, [ceremony]))
    checks = {c.id: c for c in sb.checks}
    assert checks["key_user_verified"].status is Status.PASS
    identity = checks["key_identity"]
    assert identity.status is Status.PASS, identity.reason
    assert "every passkey registered to the account is an approved model" in identity.reason
    assert identity.evidence["passkeys"], "the Graph read is the evidence"


def test_a_wrong_key_model_fails_at_the_step_that_proves_it(world: Any) -> None:
    ctx = _context(world, approved=[uuid.uuid4()])  # the playbook approves some other model
    ctx.key_info = ctx.open_key().describe()
    sb = StepBuilder("signin", "Sign-in")
    asyncio.run(key_identity.prove_hidden_key(ctx, sb, [_sign(world, ctx)]))
    identity = next(c for c in sb.checks if c.id == "key_identity")
    assert identity.status is Status.FAIL
    assert "models the playbook does not approve" in identity.reason
    assert sb.finish().status is Status.FAIL


def test_the_hid_path_does_not_run_the_after_ceremony_proofs(world: Any, tmp_path: Path) -> None:
    ctx = build_context(world, ACCOUNT, quiet=True)
    ctx.key_info = ctx.open_key().describe()
    assert not ctx.key_info.unreadable
    sb = StepBuilder("signin", "Sign-in")
    asyncio.run(key_identity.prove_hidden_key(ctx, sb, []))
    assert sb.checks == []
