"""Physical FIDO2 key tests: run with `pytest --device -s tests/device` and one key plugged in.

They use the same adapter as the drill. The ceremony test asks for the key's PIN (hidden) and a touch;
the others never send a PIN, so they cannot cost a retry.
"""

from __future__ import annotations

import sys
import threading

import pytest
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity

from drill.keys.authenticator import Fido2Authenticator
from drill.keys.errors import PinGuardError
from drill.keys.inventory import FoundKey, list_hardware_keys
from drill.keys.prompts import ConsolePrompts, ScriptedPrompts

pytestmark = pytest.mark.device


@pytest.fixture
def hardware_key() -> FoundKey:
    keys = list_hardware_keys()
    if len(keys) != 1:
        pytest.skip(f"plug in exactly one FIDO2 key (found {len(keys)})")
    return keys[0]


def _adapter(found: FoundKey, prompts: object, guard: int = 3) -> Fido2Authenticator:
    return Fido2Authenticator(
        found.open_device,
        kind="hardware",
        handle=found.info.handle,
        prompts=prompts,  # type: ignore[arg-type]
        related_origins={},
        pin_guard=guard,
    )


def test_describe_reads_ctap2_details(hardware_key: FoundKey) -> None:
    info = _adapter(hardware_key, ScriptedPrompts()).describe()
    assert {"FIDO_2_0", "FIDO_2_1"} & set(info.versions)
    assert info.aaguid == hardware_key.info.aaguid
    if info.pin_set:
        assert info.pin_retries is not None


def test_guard_refuses_without_sending_a_pin(hardware_key: FoundKey) -> None:
    info = hardware_key.info
    if not info.pin_set or info.pin_retries is None:
        pytest.skip("the key has no PIN set")
    prompts = ScriptedPrompts(["never-sent"])
    server = Fido2Server(PublicKeyCredentialRpEntity(id="example.com", name="x"))
    options, _state = server.authenticate_begin(user_verification="required")
    with pytest.raises(PinGuardError):
        # A guard of 8 is at or above any key's retry count: refused before any PIN is asked for.
        _adapter(hardware_key, prompts, guard=8).get_assertion(
            dict(options)["publicKey"], "https://example.com", threading.Event()
        )
    assert prompts.pin_requests == []
    assert _adapter(hardware_key, ScriptedPrompts()).describe().pin_retries == info.pin_retries


@pytest.mark.skipif(not sys.stdin.isatty(), reason="needs an operator at the terminal (run with -s)")
def test_register_and_authenticate_with_pin_and_touch(hardware_key: FoundKey) -> None:
    server = Fido2Server(PublicKeyCredentialRpEntity(id="example.com", name="drill device test"))
    auth = _adapter(hardware_key, ConsolePrompts())
    options, state = server.register_begin(
        PublicKeyCredentialUserEntity(id=b"device-test", name="device-test"), user_verification="required"
    )
    registered = server.register_complete(
        state, auth.make_credential(dict(options)["publicKey"], "https://example.com", threading.Event())
    )
    assert registered.credential_data is not None
    options, state = server.authenticate_begin([registered.credential_data], user_verification="required")
    response = auth.get_assertion(dict(options)["publicKey"], "https://example.com", threading.Event())
    server.authenticate_complete(state, [registered.credential_data], response)
