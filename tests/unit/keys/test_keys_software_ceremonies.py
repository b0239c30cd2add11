"""The software key driven only through python-fido2 (Fido2Client over CtapHidDevice), verified by
fido2.server.Fido2Server: the acceptance list of issue 3."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from fido2.attestation import AttestationVerifier, UntrustedAttestation
from fido2.ctap import CtapError
from fido2.ctap2 import ClientPin, Ctap2
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity
from keys_support import ORIGIN, PIN, RP_ID, RelyingParty, adapter_for

from drill.keys.errors import KeyCeremonyError
from drill.keys.prompts import ScriptedPrompts
from drill.keys.software import SoftwareKey, open_software_authenticator
from drill.keys.vendor import VENDOR_A, VENDOR_B, VendorAuthority, vendor_root_pems


def test_register_then_authenticate_discoverable_with_uv(key: SoftwareKey, rp: RelyingParty) -> None:
    prompts = ScriptedPrompts.always(PIN)
    auth = adapter_for(key, prompts)
    registered = rp.register(auth, discoverable=True)
    assert registered.is_user_verified()
    first = rp.authenticate(auth, allow_list=False)
    second = rp.authenticate(auth, allow_list=False)
    assert first.response.authenticator_data.is_user_verified()
    assert second.response.authenticator_data.counter == first.response.authenticator_data.counter + 1
    assert first.response.user_handle == b"user-1"
    assert prompts.pin_requests == [8, 8, 8]
    assert prompts.touches >= 3


def test_allow_list_flow_with_non_discoverable_credential(key: SoftwareKey, rp: RelyingParty) -> None:
    auth = adapter_for(key, ScriptedPrompts.always(PIN))
    rp.register(auth, discoverable=False)
    before = rp.counter
    rp.authenticate(auth, allow_list=True)
    # The pre-flight GetAssertion (up=false) that filters the allow list must not move the counter.
    assert rp.counter == before + 1
    with pytest.raises(KeyCeremonyError) as info:
        rp.authenticate(auth, allow_list=False)  # not discoverable: an empty allow list finds nothing
    assert info.value.name == "NotAllowedError"
    assert "no credential" in info.value.message


def test_factory_opens_the_state_file_through_the_same_path(key: SoftwareKey, rp: RelyingParty) -> None:
    auth = open_software_authenticator(key.path, ScriptedPrompts.always(PIN), {}, 3)
    rp.register(auth)
    reopened = open_software_authenticator(key.path, ScriptedPrompts.always(PIN), {}, 3)
    rp.authenticate(reopened, allow_list=False)  # credentials and counter persisted in the file
    described = reopened.describe()
    assert described.kind == "software"
    assert described.aaguid == VENDOR_A.model.aaguid
    assert described.versions == ("FIDO_2_0", "FIDO_2_1")
    assert described.pin_set
    assert described.pin_retries == 8


def test_wrong_pin_decrements_retries_and_is_not_retried(key: SoftwareKey, rp: RelyingParty) -> None:
    rp.register(adapter_for(key, ScriptedPrompts.always(PIN)))
    prompts = ScriptedPrompts(["000000", PIN])
    auth = adapter_for(key, prompts)
    with pytest.raises(KeyCeremonyError) as info:
        rp.authenticate(auth, allow_list=False)
    assert info.value.name == "NotAllowedError"
    assert "wrong PIN; 7 tries left" in info.value.message
    assert prompts.pin_requests == [8]  # asked once, never retried automatically
    assert auth.describe().pin_retries == 7
    rp.authenticate(auth, allow_list=False)  # the right PIN restores the full count
    assert auth.describe().pin_retries == 8


def test_three_wrong_pins_block_until_reinsert(key: SoftwareKey, rp: RelyingParty) -> None:
    rp.register(adapter_for(key, ScriptedPrompts.always(PIN)))
    auth = adapter_for(key, ScriptedPrompts(["111111", "222222", "333333", PIN, PIN]))
    messages = []
    for _ in range(4):
        with pytest.raises(KeyCeremonyError) as info:
            rp.authenticate(auth, allow_list=False)
        messages.append(info.value.message)
    assert "7 tries left" in messages[0]
    assert "6 tries left" in messages[1]
    assert "re-insert" in messages[2]
    assert "5 tries left" in messages[2]
    assert "re-insert" in messages[3]  # even the right PIN is refused until power cycle, at no cost
    assert auth.describe().pin_retries == 5
    key.power_cycle()
    rp.authenticate(auth, allow_list=False)
    assert auth.describe().pin_retries == 8


def _wrong_pin(key: SoftwareKey) -> int:
    device = key.open_device()
    try:
        ClientPin(Ctap2(device)).get_pin_token("999999", ClientPin.PERMISSION.GET_ASSERTION, RP_ID)
    except CtapError as exc:
        return int(exc.code)
    finally:
        device.close()
    raise AssertionError("a wrong PIN was accepted")


def test_retries_at_zero_block_for_good(key: SoftwareKey, rp: RelyingParty) -> None:
    rp.register(adapter_for(key, ScriptedPrompts.always(PIN)))
    codes = []
    for attempt in range(8):
        if attempt and attempt % 3 == 0:
            key.power_cycle()
        codes.append(_wrong_pin(key))
    assert codes[-1] == CtapError.ERR.PIN_BLOCKED
    assert codes[2] == codes[5] == CtapError.ERR.PIN_AUTH_BLOCKED
    key.power_cycle()
    device = key.open_device()
    with pytest.raises(CtapError) as info:
        ClientPin(Ctap2(device)).get_pin_token(PIN, ClientPin.PERMISSION.GET_ASSERTION, RP_ID)
    assert info.value.code == CtapError.ERR.PIN_BLOCKED
    device.close()
    with pytest.raises(KeyCeremonyError):
        rp.authenticate(adapter_for(key, ScriptedPrompts.always(PIN)), allow_list=False)


def _blocking_presence(reached: threading.Event) -> Callable[[threading.Event], bool]:
    def presence(stop: threading.Event) -> bool:
        reached.set()
        stop.wait(10)
        return False

    return presence


def test_cancel_during_touch_wait_answers_keepalive_cancel(make_key: Callable[..., SoftwareKey]) -> None:
    reached = threading.Event()
    key = make_key(presence=_blocking_presence(reached))
    device = key.open_device()
    cancel = threading.Event()
    statuses: list[int] = []
    threading.Thread(target=lambda: (reached.wait(10), cancel.set()), daemon=True).start()
    with pytest.raises(CtapError) as info:
        Ctap2(device).selection(event=cancel, on_keepalive=statuses.append)
    assert info.value.code == CtapError.ERR.KEEPALIVE_CANCEL
    assert statuses == [2]  # KEEPALIVE(UPNEEDED) while waiting
    device.close()


def test_cancel_through_the_adapter_is_an_abort(
    make_key: Callable[..., SoftwareKey], rp: RelyingParty
) -> None:
    reached = threading.Event()
    key = make_key(pin=None, presence=_blocking_presence(reached))
    auth = adapter_for(key, ScriptedPrompts())
    cancel = threading.Event()
    threading.Thread(target=lambda: (reached.wait(10), cancel.set()), daemon=True).start()
    options, _state = Fido2Server(PublicKeyCredentialRpEntity(id=RP_ID, name="x")).register_begin(
        PublicKeyCredentialUserEntity(id=b"u", name="u"), user_verification="discouraged"
    )
    with pytest.raises(KeyCeremonyError) as info:
        auth.make_credential(dict(options)["publicKey"], ORIGIN, cancel)
    assert info.value.name == "AbortError"


def test_touch_deadline_gives_a_clear_error(make_key: Callable[..., SoftwareKey], rp: RelyingParty) -> None:
    key = make_key(presence=_blocking_presence(threading.Event()))
    prompts = ScriptedPrompts.always(PIN)
    with pytest.raises(KeyCeremonyError) as info:
        rp.register(adapter_for(key, prompts, touch_timeout=0.3))
    assert "no touch within" in info.value.message
    assert prompts.touches == 1
    assert prompts.touches_done == 1


def test_key_removed_mid_ceremony(make_key: Callable[..., SoftwareKey], rp: RelyingParty) -> None:
    holder: list[SoftwareKey] = []

    def presence(_stop: threading.Event) -> bool:
        holder[0].unplug()
        return True

    holder.append(make_key(presence=presence))
    with pytest.raises(KeyCeremonyError) as info:
        rp.register(adapter_for(holder[0], ScriptedPrompts.always(PIN)))
    assert info.value.name == "NotAllowedError"
    assert "removed" in info.value.message


def test_reset_wipes_credentials_and_pin(key: SoftwareKey, rp: RelyingParty) -> None:
    rp.register(adapter_for(key, ScriptedPrompts.always(PIN)))
    key.power_cycle()  # reset is only accepted shortly after power-up, as on hardware
    device = key.open_device()
    Ctap2(device).reset()
    info = Ctap2(device).info
    device.close()
    assert info.options["clientPin"] is False
    described = adapter_for(key, ScriptedPrompts()).describe()
    assert not described.pin_set
    with pytest.raises(KeyCeremonyError) as error:
        # No PIN any more: user_verification="required" cannot be met, and nothing is left to find.
        rp.authenticate(adapter_for(key, ScriptedPrompts()), allow_list=False)
    assert error.value.name == "NotAllowedError"


class _VendorRoot(AttestationVerifier):
    def __init__(self, root_der: bytes) -> None:
        super().__init__()
        self._root = root_der

    def ca_lookup(self, attestation_result: object, auth_data: object) -> bytes:
        return self._root


def _register_with(verifier: AttestationVerifier, key: SoftwareKey) -> object:
    server = Fido2Server(
        PublicKeyCredentialRpEntity(id=RP_ID, name="x"), attestation="direct", verify_attestation=verifier
    )
    options, state = server.register_begin(
        PublicKeyCredentialUserEntity(id=b"u", name="u"), user_verification="required"
    )
    response = adapter_for(key, ScriptedPrompts.always(PIN)).make_credential(
        dict(options)["publicKey"], ORIGIN, threading.Event()
    )
    return server.register_complete(state, response)


def test_attestation_verifies_against_the_vendor_root_only(key: SoftwareKey, vendor_dir: Path) -> None:
    root_a = VendorAuthority.load_or_create(vendor_dir, VENDOR_A)
    root_b = VendorAuthority.load_or_create(vendor_dir, VENDOR_B)
    # The simulator trusts the PEM; load it back the way an independent verifier would.
    der = x509.load_pem_x509_certificate(root_a.root_pem).public_bytes(Encoding.DER)
    auth_data = _register_with(_VendorRoot(der), key)
    assert auth_data.credential_data.aaguid == VENDOR_A.model.aaguid.bytes  # type: ignore[attr-defined]
    assert vendor_root_pems(vendor_dir) == {"vendor-a": root_a.root_pem, "vendor-b": root_b.root_pem}
    assert (vendor_dir / "vendor-a" / "root.pem").read_bytes() == root_a.root_pem
    other = x509.load_pem_x509_certificate(root_b.root_pem).public_bytes(Encoding.DER)
    with pytest.raises(UntrustedAttestation):
        _register_with(_VendorRoot(other), key)


def test_two_vendors_differ_and_none_attestation(
    make_key: Callable[..., SoftwareKey], rp: RelyingParty
) -> None:
    first, second = make_key(VENDOR_A), make_key(VENDOR_B, attestation=False)
    a, b = adapter_for(first, ScriptedPrompts()).describe(), adapter_for(second, ScriptedPrompts()).describe()
    assert a.aaguid != b.aaguid
    assert a.model != b.model
    assert b.model == "Vendor B SecureTouch N"
    registered = rp.register(adapter_for(second, ScriptedPrompts.always(PIN)))
    assert registered.credential_data.aaguid == VENDOR_B.model.aaguid.bytes
