"""ClientPIN on the authenticator side: PIN set/change, tokens, retries and the lock-outs.

The lock-outs are the point of this module: a break-glass key that reaches zero retries is a lost
account, and the drill's retry guard is tested against exactly these rules (8 retries; three wrong in
a row block until power cycle; zero blocks for good; the key-agreement key changes after a mismatch).
The crypto is python-fido2's own `PinProtocolV1/V2` run from the other end.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fido2.ctap import CtapError
from fido2.ctap2.pin import PinProtocolV1, PinProtocolV2
from fido2.utils import bytes2int, int2bytes, sha256

from drill.keys.software_state import PIN_RETRIES_MAX, KeyState

ERR = CtapError.ERR
PERM_MC = 0x01
PERM_GA = 0x02
_SUPPORTED_PERMISSIONS = PERM_MC | PERM_GA
PROTOCOLS: dict[int, PinProtocolV1] = {1: PinProtocolV1(), 2: PinProtocolV2()}
_MIN_PIN_LENGTH = 4
_MAX_PIN_BYTES = 63


class CtapFailure(Exception):
    """Ends a command with a CTAP status code; never leaves the software key."""

    def __init__(self, code: int) -> None:
        super().__init__(f"CTAP status 0x{code:02x}")
        self.code = code


def param(params: Mapping[int, Any], key: int, kind: type | tuple[type, ...], *, required: bool) -> Any:
    """Fetch one CBOR parameter with the type checks the spec prescribes."""
    if key not in params:
        if required:
            raise CtapFailure(ERR.MISSING_PARAMETER)
        return None
    value = params[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise CtapFailure(ERR.CBOR_UNEXPECTED_TYPE)
    if not isinstance(value, kind):
        raise CtapFailure(ERR.CBOR_UNEXPECTED_TYPE)
    return value


def _authenticate(protocol: PinProtocolV1, key: bytes, message: bytes) -> bytes:
    return bytes(protocol.authenticate(key, message))  # type: ignore[no-untyped-call]


def _decrypt(protocol: PinProtocolV1, key: bytes, ciphertext: bytes) -> bytes:
    return bytes(protocol.decrypt(key, ciphertext))  # type: ignore[no-untyped-call]


def _encrypt(protocol: PinProtocolV1, key: bytes, plaintext: bytes) -> bytes:
    return bytes(protocol.encrypt(key, plaintext))  # type: ignore[no-untyped-call]


def protocol_for(version: Any) -> PinProtocolV1:
    if version is None:
        raise CtapFailure(ERR.MISSING_PARAMETER)
    if isinstance(version, bool) or not isinstance(version, int):
        raise CtapFailure(ERR.CBOR_UNEXPECTED_TYPE)
    if version not in PROTOCOLS:
        raise CtapFailure(ERR.INVALID_PARAMETER)
    return PROTOCOLS[version]


class PinAuthority:
    """Per-power-cycle PIN state over the persistent `KeyState`."""

    def __init__(self, state: KeyState, persist: Callable[[], None]) -> None:
        self._state = state
        self._persist = persist
        self.power_cycle()

    def power_cycle(self) -> None:
        """What re-inserting the key does: new key agreement, no token, the in-a-row counter cleared."""
        self._ka = ec.generate_private_key(ec.SECP256R1())
        self._token: bytes | None = None
        self._permissions = 0
        self._permissions_rp: str | None = None
        self._in_a_row = 0

    @property
    def auth_blocked(self) -> bool:
        return self._in_a_row >= 3

    def _regenerate(self) -> None:
        self._ka = ec.generate_private_key(ec.SECP256R1())

    def _key_agreement(self) -> dict[int, Any]:
        numbers = self._ka.public_key().public_numbers()
        return {1: 2, 3: -25, -1: 1, -2: int2bytes(numbers.x, 32), -3: int2bytes(numbers.y, 32)}

    def _shared_secret(self, protocol: PinProtocolV1, peer: Any) -> bytes:
        if not isinstance(peer, Mapping):
            raise CtapFailure(ERR.CBOR_UNEXPECTED_TYPE)
        x, y = peer.get(-2), peer.get(-3)
        if peer.get(1) != 2 or peer.get(-1) != 1 or not (isinstance(x, bytes) and isinstance(y, bytes)):
            raise CtapFailure(ERR.INVALID_PARAMETER)
        if len(x) != 32 or len(y) != 32:
            raise CtapFailure(ERR.INVALID_PARAMETER)
        try:
            point = ec.EllipticCurvePublicNumbers(bytes2int(x), bytes2int(y), ec.SECP256R1()).public_key()
            z = self._ka.exchange(ec.ECDH(), point)
        except ValueError as exc:  # not a point on P-256
            raise CtapFailure(ERR.INVALID_PARAMETER) from exc
        return bytes(protocol.kdf(z))

    def _check_mac(self, protocol: PinProtocolV1, key: bytes, message: bytes, mac: bytes) -> None:
        if not hmac.compare_digest(_authenticate(protocol, key, message), mac):
            raise CtapFailure(ERR.PIN_AUTH_INVALID)

    def _decode_new_pin(self, protocol: PinProtocolV1, shared: bytes, new_pin_enc: bytes) -> bytes:
        expected = 64 if protocol is PROTOCOLS[1] else 80
        if len(new_pin_enc) != expected:
            raise CtapFailure(ERR.INVALID_PARAMETER)
        padded = _decrypt(protocol, shared, new_pin_enc)
        pin = padded.split(b"\0", 1)[0]
        try:
            text = pin.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CtapFailure(ERR.PIN_POLICY_VIOLATION) from exc
        if len(text) < _MIN_PIN_LENGTH or len(pin) > _MAX_PIN_BYTES:
            raise CtapFailure(ERR.PIN_POLICY_VIOLATION)
        return sha256(pin)[:16]

    def _verify_pin(self, protocol: PinProtocolV1, shared: bytes, pin_hash_enc: bytes) -> None:
        """Spend one retry, then compare; the order matters so power loss cannot give free guesses."""
        if self._state.pin_retries <= 0:
            raise CtapFailure(ERR.PIN_BLOCKED)
        if self.auth_blocked:
            raise CtapFailure(ERR.PIN_AUTH_BLOCKED)
        if len(pin_hash_enc) != (16 if protocol is PROTOCOLS[1] else 32):
            raise CtapFailure(ERR.INVALID_PARAMETER)
        self._state.pin_retries -= 1
        self._persist()
        if not self._state.pin_hash_matches(_decrypt(protocol, shared, pin_hash_enc)):
            self._regenerate()
            self._in_a_row += 1
            if self._state.pin_retries <= 0:
                raise CtapFailure(ERR.PIN_BLOCKED)
            if self.auth_blocked:
                raise CtapFailure(ERR.PIN_AUTH_BLOCKED)
            raise CtapFailure(ERR.PIN_INVALID)
        self._state.pin_retries = PIN_RETRIES_MAX
        self._in_a_row = 0
        self._persist()

    def _issue_token(
        self, protocol: PinProtocolV1, shared: bytes, permissions: int, rp_id: str | None
    ) -> bytes:
        self._token = secrets.token_bytes(32)
        self._permissions = permissions
        self._permissions_rp = rp_id
        return _encrypt(protocol, shared, self._token)

    def handle(self, params: Mapping[int, Any]) -> dict[int, Any]:
        sub = param(params, 2, int, required=True)
        if sub == 0x01:  # getPINRetries
            return {3: self._state.pin_retries, 4: self.auth_blocked}
        protocol = protocol_for(params.get(1))
        if sub == 0x02:  # getKeyAgreement
            return {1: self._key_agreement()}
        if sub == 0x03:  # setPIN
            return self._set_pin(protocol, params)
        if sub == 0x04:  # changePIN
            return self._change_pin(protocol, params)
        if sub in (0x05, 0x09):  # getPinToken / getPinUvAuthTokenUsingPinWithPermissions
            return self._get_token(protocol, params, with_permissions=sub == 0x09)
        raise CtapFailure(ERR.INVALID_SUBCOMMAND)

    def _set_pin(self, protocol: PinProtocolV1, params: Mapping[int, Any]) -> dict[int, Any]:
        peer = param(params, 3, Mapping, required=True)
        mac = param(params, 4, bytes, required=True)
        new_pin_enc = param(params, 5, bytes, required=True)
        if self._state.pin_set:
            raise CtapFailure(ERR.NOT_ALLOWED)
        shared = self._shared_secret(protocol, peer)
        self._check_mac(protocol, shared, new_pin_enc, mac)
        self._state.set_pin_hash(self._decode_new_pin(protocol, shared, new_pin_enc))
        self._persist()
        return {}

    def _change_pin(self, protocol: PinProtocolV1, params: Mapping[int, Any]) -> dict[int, Any]:
        peer = param(params, 3, Mapping, required=True)
        mac = param(params, 4, bytes, required=True)
        new_pin_enc = param(params, 5, bytes, required=True)
        pin_hash_enc = param(params, 6, bytes, required=True)
        if not self._state.pin_set:
            raise CtapFailure(ERR.PIN_NOT_SET)
        if self._state.pin_retries <= 0:
            raise CtapFailure(ERR.PIN_BLOCKED)
        if self.auth_blocked:
            raise CtapFailure(ERR.PIN_AUTH_BLOCKED)
        shared = self._shared_secret(protocol, peer)
        self._check_mac(protocol, shared, new_pin_enc + pin_hash_enc, mac)
        self._verify_pin(protocol, shared, pin_hash_enc)
        self._state.set_pin_hash(self._decode_new_pin(protocol, shared, new_pin_enc))
        self._token = None
        self._persist()
        return {}

    def _get_token(
        self, protocol: PinProtocolV1, params: Mapping[int, Any], *, with_permissions: bool
    ) -> dict[int, Any]:
        peer = param(params, 3, Mapping, required=True)
        pin_hash_enc = param(params, 6, bytes, required=True)
        if with_permissions:
            permissions = param(params, 9, int, required=True)
            rp_id = param(params, 10, str, required=False)
            if permissions == 0:
                raise CtapFailure(ERR.INVALID_PARAMETER)
            if permissions & ~_SUPPORTED_PERMISSIONS:
                raise CtapFailure(ERR.UNAUTHORIZED_PERMISSION)
            if rp_id is None:
                raise CtapFailure(ERR.MISSING_PARAMETER)
        else:
            if 9 in params or 10 in params:
                raise CtapFailure(ERR.INVALID_PARAMETER)
            permissions, rp_id = PERM_MC | PERM_GA, None
        if not self._state.pin_set:
            raise CtapFailure(ERR.PIN_NOT_SET)
        shared = self._shared_secret(protocol, peer)
        self._verify_pin(protocol, shared, pin_hash_enc)
        return {2: self._issue_token(protocol, shared, permissions, rp_id)}

    def verify_auth_param(
        self, version: Any, mac: bytes, client_data_hash: bytes, permission: int, rp_id: str
    ) -> None:
        """Check pinUvAuthParam on MakeCredential/GetAssertion and bind the token to the RP."""
        protocol = protocol_for(version)
        if self._token is None:
            raise CtapFailure(ERR.PIN_AUTH_INVALID)
        self._check_mac(protocol, self._token, client_data_hash, mac)
        if not self._permissions & permission:
            raise CtapFailure(ERR.PIN_AUTH_INVALID)
        if self._permissions_rp is not None and self._permissions_rp != rp_id:
            raise CtapFailure(ERR.PIN_AUTH_INVALID)
        self._permissions_rp = rp_id

    def token_used_with_presence(self) -> None:
        """A ceremony completed with a touch: the token may not authorise another one."""
        self._permissions &= ~(PERM_MC | PERM_GA)
