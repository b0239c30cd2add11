"""Shared helpers for key tests: the demo PIN, a relying party built on fido2.server, adapters."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
)

from drill.keys.authenticator import Fido2Authenticator
from drill.keys.prompts import ScriptedPrompts
from drill.keys.software import SoftwareKey

PIN = "482916"
ORIGIN = "https://rp.example.test"
RP_ID = "rp.example.test"


def adapter_for(
    key: SoftwareKey, prompts: ScriptedPrompts, *, guard: int = 3, touch_timeout: float = 30.0
) -> Fido2Authenticator:
    """The product adapter over this very key object, so a test can power-cycle or unplug it."""
    return Fido2Authenticator(
        key.open_device,
        kind="software",
        handle=key.handle,
        prompts=prompts,
        related_origins={},
        pin_guard=guard,
        touch_timeout=touch_timeout,
    )


class RelyingParty:
    """fido2.server.Fido2Server plus the checks it leaves to its caller (counter)."""

    def __init__(self, rp_id: str = RP_ID, verify_origin: Callable[[str], bool] | None = None) -> None:
        self.server = Fido2Server(
            PublicKeyCredentialRpEntity(id=rp_id, name="Test RP"), verify_origin=verify_origin
        )
        self.credentials: list[AttestedCredentialData] = []
        self.counter = 0

    def register(self, auth: Fido2Authenticator, *, discoverable: bool = True, origin: str = ORIGIN) -> Any:
        options, state = self.server.register_begin(
            PublicKeyCredentialUserEntity(id=b"user-1", name="breakglass1@contoso.test", display_name="BG 1"),
            credentials=self.credentials,
            user_verification="required",
            resident_key_requirement="required" if discoverable else "discouraged",
            authenticator_attachment="cross-platform",
        )
        response = auth.make_credential(dict(options)["publicKey"], origin, threading.Event())
        auth_data = self.server.register_complete(state, response)
        assert auth_data.credential_data is not None
        self.credentials.append(auth_data.credential_data)
        self.counter = auth_data.counter
        return auth_data

    def authenticate(
        self,
        auth: Fido2Authenticator,
        *,
        allow_list: bool,
        origin: str = ORIGIN,
        cancel: threading.Event | None = None,
    ) -> Any:
        options, state = self.server.authenticate_begin(
            self.credentials if allow_list else None, user_verification="required"
        )
        response = auth.get_assertion(dict(options)["publicKey"], origin, cancel or threading.Event())
        self.server.authenticate_complete(state, self.credentials, response)
        parsed = AuthenticationResponse.from_dict(response)
        auth_data = parsed.response.authenticator_data
        assert auth_data.counter > self.counter, "signature counter must increase"
        self.counter = auth_data.counter
        return parsed
