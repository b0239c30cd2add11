"""CTAP2 behaviours python-fido2's client relies on, driven through fido2's own Ctap2/ClientPin."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator

import pytest
from fido2.ctap import CtapError
from fido2.ctap2 import ClientPin, Ctap2
from fido2.ctap2.pin import PinProtocolV1, PinProtocolV2
from fido2.utils import sha256
from keys_support import PIN, RP_ID

from drill.keys.software import SoftwareKey
from drill.keys.software_state import KeyState

ERR = CtapError.ERR
CDH = b"\x11" * 32
RP = {"id": RP_ID, "name": "RP"}
ES256_PARAMS = [{"type": "public-key", "alg": -7}]


@pytest.fixture
def ctap(key: SoftwareKey) -> Iterator[Ctap2]:
    device = key.open_device()
    yield Ctap2(device)
    device.close()


def _user(n: int) -> dict[str, object]:
    return {"id": f"user-{n}".encode(), "name": f"user{n}@contoso.test", "displayName": f"User {n}"}


@pytest.mark.parametrize("protocol", [PinProtocolV1, PinProtocolV2])
def test_set_change_and_token_with_both_pin_protocols(
    make_key: Callable[..., SoftwareKey], protocol: type[PinProtocolV1]
) -> None:
    key = make_key(pin=None)
    device = key.open_device()
    ctap = Ctap2(device)
    assert ctap.info.options["clientPin"] is False
    client_pin = ClientPin(ctap, protocol())
    with pytest.raises(CtapError) as info:
        client_pin.get_pin_token(PIN)
    assert info.value.code == ERR.PIN_NOT_SET
    client_pin.set_pin("1234")
    with pytest.raises(CtapError) as info:
        client_pin.set_pin("5678")  # only changePIN may replace a PIN
    assert info.value.code == ERR.NOT_ALLOWED
    client_pin.change_pin("1234", PIN)
    legacy = client_pin.get_pin_token(PIN)
    scoped = client_pin.get_pin_token(PIN, ClientPin.PERMISSION.MAKE_CREDENTIAL, RP_ID)
    assert legacy != scoped
    with pytest.raises(CtapError) as info:
        client_pin.get_pin_token(PIN, ClientPin.PERMISSION.CREDENTIAL_MGMT, RP_ID)
    assert info.value.code == ERR.UNAUTHORIZED_PERMISSION
    with pytest.raises(CtapError) as info:
        client_pin.change_pin("1234", "9999")
    assert info.value.code == ERR.PIN_INVALID
    assert client_pin.get_pin_retries() == (7, False)
    with pytest.raises(ValueError, match="PIN must be >= 4"):
        client_pin.change_pin(PIN, "12")  # fido2 refuses before sending; the key would too
    device.close()


def test_short_pin_is_a_policy_violation(make_key: Callable[..., SoftwareKey]) -> None:
    key = make_key(pin=None)
    device = key.open_device()
    ctap = Ctap2(device)
    protocol = PinProtocolV2()
    key_agreement, shared = protocol.encapsulate(
        ctap.client_pin(2, ClientPin.CMD.GET_KEY_AGREEMENT)[ClientPin.RESULT.KEY_AGREEMENT]
    )
    new_pin_enc = protocol.encrypt(shared, b"12".ljust(64, b"\0"))
    with pytest.raises(CtapError) as info:
        ctap.client_pin(
            2,
            ClientPin.CMD.SET_PIN,
            key_agreement=key_agreement,
            new_pin_enc=new_pin_enc,
            pin_uv_param=protocol.authenticate(shared, new_pin_enc),
        )
    assert info.value.code == ERR.PIN_POLICY_VIOLATION
    device.close()


def test_pin_set_without_token_requires_puat(ctap: Ctap2) -> None:
    with pytest.raises(CtapError) as info:
        ctap.make_credential(CDH, RP, _user(1), ES256_PARAMS)
    assert info.value.code == ERR.PUAT_REQUIRED


def test_zero_length_pin_auth_is_a_touch_probe(ctap: Ctap2, make_key: Callable[..., SoftwareKey]) -> None:
    with pytest.raises(CtapError) as info:
        ctap.make_credential(CDH, RP, _user(1), ES256_PARAMS, pin_uv_param=b"", pin_uv_protocol=2)
    assert info.value.code == ERR.PIN_AUTH_INVALID
    bare = make_key(pin=None).open_device()
    with pytest.raises(CtapError) as info:
        Ctap2(bare).make_credential(CDH, RP, _user(1), ES256_PARAMS, pin_uv_param=b"", pin_uv_protocol=2)
    assert info.value.code == ERR.PIN_NOT_SET
    bare.close()


def test_token_is_bound_to_its_rp_and_permission(ctap: Ctap2) -> None:
    client_pin = ClientPin(ctap)
    token = client_pin.get_pin_token(PIN, ClientPin.PERMISSION.GET_ASSERTION, RP_ID)
    param = client_pin.protocol.authenticate(token, CDH)
    with pytest.raises(CtapError) as info:  # a GetAssertion-only token cannot make credentials
        ctap.make_credential(CDH, RP, _user(1), ES256_PARAMS, pin_uv_param=param, pin_uv_protocol=2)
    assert info.value.code == ERR.PIN_AUTH_INVALID
    with pytest.raises(CtapError) as info:  # nor assert for another RP
        ctap.get_assertion("other.test", CDH, pin_uv_param=param, pin_uv_protocol=2)
    assert info.value.code == ERR.PIN_AUTH_INVALID


def test_discoverable_credentials_and_get_next_assertion(ctap: Ctap2) -> None:
    client_pin = ClientPin(ctap)
    for n in (1, 2, 3):
        token = client_pin.get_pin_token(PIN, ClientPin.PERMISSION.MAKE_CREDENTIAL, RP_ID)
        ctap.make_credential(
            CDH,
            RP,
            _user(n),
            ES256_PARAMS,
            options={"rk": True},
            pin_uv_param=client_pin.protocol.authenticate(token, CDH),
            pin_uv_protocol=2,
        )
    token = client_pin.get_pin_token(PIN, ClientPin.PERMISSION.GET_ASSERTION, RP_ID)
    assertions = ctap.get_assertions(
        RP_ID, CDH, pin_uv_param=client_pin.protocol.authenticate(token, CDH), pin_uv_protocol=2
    )
    assert [a.user["id"] for a in assertions] == [b"user-3", b"user-2", b"user-1"]  # newest first
    assert assertions[0].number_of_credentials == 3
    counters = [a.auth_data.counter for a in assertions]
    assert counters == sorted(counters)
    assert len(set(counters)) == 3
    assert all(a.auth_data.is_user_verified() for a in assertions)
    assert assertions[0].user["name"] == "user3@contoso.test"  # user details only after UV
    with pytest.raises(CtapError) as info:
        ctap.get_next_assertion()
    assert info.value.code == ERR.NOT_ALLOWED


def test_preflight_without_presence_keeps_the_counter(ctap: Ctap2) -> None:
    ctap_pin = ClientPin(ctap)
    token = ctap_pin.get_pin_token(PIN, ClientPin.PERMISSION.MAKE_CREDENTIAL, RP_ID)
    made = ctap.make_credential(
        CDH,
        RP,
        _user(1),
        ES256_PARAMS,
        pin_uv_param=ctap_pin.protocol.authenticate(token, CDH),
        pin_uv_protocol=2,
    )
    cred = {"type": "public-key", "id": made.auth_data.credential_data.credential_id}  # type: ignore[union-attr]
    quiet = ctap.get_assertion(RP_ID, CDH, [cred], options={"up": False})
    assert quiet.auth_data.counter == made.auth_data.counter
    assert not quiet.auth_data.is_user_present()
    loud = ctap.get_assertion(RP_ID, CDH, [cred])
    assert loud.auth_data.counter == made.auth_data.counter + 1
    with pytest.raises(CtapError) as info:
        ctap.get_assertion(RP_ID, CDH, [{"type": "public-key", "id": b"\0"}], options={"up": False})
    assert info.value.code == ERR.NO_CREDENTIALS


def test_exclude_list_and_unsupported_algorithm(ctap: Ctap2) -> None:
    client_pin = ClientPin(ctap)

    def param() -> bytes:
        token = client_pin.get_pin_token(PIN, ClientPin.PERMISSION.MAKE_CREDENTIAL, RP_ID)
        return bytes(client_pin.protocol.authenticate(token, CDH))

    made = ctap.make_credential(CDH, RP, _user(1), ES256_PARAMS, pin_uv_param=param(), pin_uv_protocol=2)
    cred = {"type": "public-key", "id": made.auth_data.credential_data.credential_id}  # type: ignore[union-attr]
    with pytest.raises(CtapError) as info:
        ctap.make_credential(CDH, RP, _user(2), ES256_PARAMS, [cred], pin_uv_param=param(), pin_uv_protocol=2)
    assert info.value.code == ERR.CREDENTIAL_EXCLUDED
    with pytest.raises(CtapError) as info:
        ctap.make_credential(
            CDH, RP, _user(2), [{"type": "public-key", "alg": -8}], pin_uv_param=param(), pin_uv_protocol=2
        )
    assert info.value.code == ERR.UNSUPPORTED_ALGORITHM


def test_reset_only_soon_after_power_up(key: SoftwareKey, ctap: Ctap2) -> None:
    clock = [0.0]
    key._core._clock = lambda: clock[0]  # a stand-in for the wall clock: no sleeping in tests
    key._core._powered_at = 0.0
    clock[0] = 11.0
    with pytest.raises(CtapError) as info:
        ctap.reset()
    assert info.value.code == ERR.NOT_ALLOWED


def test_state_file_is_private_and_holds_no_pin(key: SoftwareKey) -> None:
    mode = stat.S_IMODE(key.path.stat().st_mode)
    assert mode == 0o600
    text = key.path.read_text()
    assert PIN not in text
    pin_hash = sha256(PIN.encode())[:16]
    assert pin_hash.hex() not in text
    import base64

    assert base64.b64encode(pin_hash).decode() not in text
    state = KeyState.load(key.path)
    assert state.pin_hash_matches(pin_hash)
    assert not state.pin_hash_matches(sha256(b"000000")[:16])
    assert json.loads(text)["pin_retries"] == 8


def test_wrong_pin_regenerates_the_key_agreement(ctap: Ctap2) -> None:
    def key_agreement() -> object:
        return ctap.client_pin(2, ClientPin.CMD.GET_KEY_AGREEMENT)[ClientPin.RESULT.KEY_AGREEMENT]

    before = key_agreement()
    assert key_agreement() == before  # stable while nothing happens
    with pytest.raises(CtapError):
        ClientPin(ctap).get_pin_token("000000")
    assert key_agreement() != before


def test_adapter_refuses_a_key_whose_getinfo_fails(key: SoftwareKey) -> None:
    """Fido2Client would silently fall back to U2F; the adapter must refuse instead."""
    import threading

    from drill.keys.authenticator import Fido2Authenticator
    from drill.keys.errors import KeyCeremonyError
    from drill.keys.prompts import ScriptedPrompts

    class BrokenInfo:
        def __init__(self) -> None:
            self._device = key.open_device()
            self.capabilities = self._device.capabilities

        def call(
            self, cmd: int, data: bytes = b"", event: object = None, on_keepalive: object = None
        ) -> bytes:
            if data[:1] == b"\x04":
                return bytes([ERR.INVALID_COMMAND])
            return bytes(self._device.call(cmd, data, event, on_keepalive))

        def close(self) -> None:
            self._device.close()

    auth = Fido2Authenticator(
        BrokenInfo, kind="software", handle="broken", prompts=ScriptedPrompts(), related_origins={}
    )
    with pytest.raises(KeyCeremonyError) as info:
        auth.get_assertion(
            {"challenge": "AAAAAAAAAAAAAAAAAAAAAA", "rpId": RP_ID}, f"https://{RP_ID}", threading.Event()
        )
    assert info.value.name == "NotSupportedError"
