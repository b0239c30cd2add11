"""The CTAP2.1 command layer of the software key: what a security key does with one CBOR request.

Behaviour follows the CTAP 2.1 specification where python-fido2's client depends on it: the pre-flight
GetAssertion (up=false) does not move the counter, a zero-length pinUvAuthParam is a touch probe,
MakeCredential with a PIN set and no token answers PUAT_REQUIRED, and every response is canonical CBOR.
`process` never raises: anything unexpected becomes CTAP2_ERR_OTHER, as firmware would answer.
"""

from __future__ import annotations

import enum
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cbor
from fido2.cose import ES256
from fido2.ctap import CtapError
from fido2.utils import sha256
from fido2.webauthn import AttestedCredentialData, AuthenticatorData

from drill.keys.software_pin import PERM_GA, PERM_MC, CtapFailure, PinAuthority, param, protocol_for
from drill.keys.software_state import KeyState, StoredCredential

ERR = CtapError.ERR
FLAG = AuthenticatorData.FLAG
_log = logging.getLogger(__name__)

CMD_MAKE_CREDENTIAL = 0x01
CMD_GET_ASSERTION = 0x02
CMD_GET_INFO = 0x04
CMD_CLIENT_PIN = 0x06
CMD_RESET = 0x07
CMD_GET_NEXT_ASSERTION = 0x08
CMD_SELECTION = 0x0B

MAX_DISCOVERABLE = 25
_RESET_WINDOW_S = 10.0
_NEXT_ASSERTION_WINDOW_S = 30.0


class Presence(enum.Enum):
    """How a wait for a touch ended."""

    APPROVED = "approved"
    DENIED = "denied"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"


PresenceWait = Callable[[], Presence]


@dataclass
class _PendingAssertions:
    credentials: list[StoredCredential]
    rp_id: str
    client_data_hash: bytes
    up: bool
    uv: bool
    started: float


def _decode_params(body: bytes) -> Mapping[Any, Any]:
    if not body:
        return {}
    try:
        decoded = cbor.decode(body)
    except Exception as exc:
        raise CtapFailure(ERR.INVALID_CBOR) from exc
    if not isinstance(decoded, Mapping):
        raise CtapFailure(ERR.CBOR_UNEXPECTED_TYPE)
    return decoded


def _require_presence(wait: PresenceWait) -> None:
    outcome = wait()
    if outcome is Presence.CANCELLED:
        raise CtapFailure(ERR.KEEPALIVE_CANCEL)
    if outcome is Presence.TIMEOUT:
        raise CtapFailure(ERR.USER_ACTION_TIMEOUT)
    if outcome is Presence.DENIED:
        raise CtapFailure(ERR.OPERATION_DENIED)


def _bool_options(options: Mapping[Any, Any] | None) -> dict[str, bool]:
    result: dict[str, bool] = {}
    for name, value in (options or {}).items():
        if not isinstance(name, str) or not isinstance(value, bool):
            raise CtapFailure(ERR.CBOR_UNEXPECTED_TYPE)
        result[name] = value
    return result


def _descriptor_ids(items: list[Any] | None) -> list[bytes]:
    ids: list[bytes] = []
    for item in items or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), bytes):
            raise CtapFailure(ERR.CBOR_UNEXPECTED_TYPE)
        if item.get("type") == "public-key":
            ids.append(item["id"])
    return ids


class SoftwareCtap2:
    """One authenticator: persistent `KeyState` plus what lives only until the next power cycle."""

    def __init__(
        self, state: KeyState, persist: Callable[[], None], clock: Callable[[], float] = time.monotonic
    ):
        self.state = state
        self._persist = persist
        self._clock = clock
        self.pin = PinAuthority(state, persist)
        self.power_cycle()

    def power_cycle(self) -> None:
        self.pin.power_cycle()
        self._pending: _PendingAssertions | None = None
        self._powered_at = self._clock()

    def process(self, request: bytes, wait: PresenceWait) -> bytes:
        """One CTAPHID_CBOR payload in, status byte plus canonical CBOR out."""
        try:
            result = self._dispatch(request, wait)
            return b"\x00" + (cbor.encode(result) if result else b"")
        except CtapFailure as failure:
            return bytes([failure.code])
        except Exception:  # noqa: BLE001 - a bug in the key must look like a failing key, not crash the host
            _log.exception("software key: internal error")
            return bytes([ERR.OTHER])

    def _dispatch(self, request: bytes, wait: PresenceWait) -> dict[Any, Any] | None:
        if not request:
            raise CtapFailure(ERR.INVALID_LENGTH)
        command, body = request[0], request[1:]
        if command != CMD_GET_NEXT_ASSERTION:
            self._pending = None
        handler = self._handlers().get(command)
        if handler is None:
            raise CtapFailure(ERR.INVALID_COMMAND)
        return handler(_decode_params(body), wait)

    def _handlers(self) -> dict[int, Callable[[Mapping[Any, Any], PresenceWait], dict[Any, Any] | None]]:
        return {
            CMD_GET_INFO: self._get_info,
            CMD_MAKE_CREDENTIAL: self._make_credential,
            CMD_GET_ASSERTION: self._get_assertion,
            CMD_GET_NEXT_ASSERTION: self._get_next_assertion,
            CMD_CLIENT_PIN: lambda params, _wait: self.pin.handle(params),
            CMD_RESET: self._reset,
            CMD_SELECTION: self._selection,
        }

    def info(self) -> dict[int, Any]:
        discoverable = sum(1 for c in self.state.credentials if c.discoverable)
        return {
            0x01: ["FIDO_2_0", "FIDO_2_1"],
            0x03: self.state.aaguid.bytes,
            0x04: {"rk": True, "up": True, "clientPin": self.state.pin_set, "pinUvAuthToken": True},
            0x05: 1200,
            0x06: [2, 1],
            0x07: 8,
            0x08: 64,
            0x09: ["usb"],
            0x0A: [{"alg": -7, "type": "public-key"}],
            0x0D: 4,
            0x0E: self.state.firmware,
            0x14: max(0, MAX_DISCOVERABLE - discoverable),
        }

    def _get_info(self, _params: Mapping[Any, Any], _wait: PresenceWait) -> dict[Any, Any]:
        return self.info()

    def _touch_probe(self, wait: PresenceWait) -> None:
        """A zero-length pinUvAuthParam: the platform asks which key the user touches."""
        _require_presence(wait)
        raise CtapFailure(ERR.PIN_AUTH_INVALID if self.state.pin_set else ERR.PIN_NOT_SET)

    def _make_credential(self, params: Mapping[Any, Any], wait: PresenceWait) -> dict[Any, Any]:
        client_data_hash = param(params, 1, bytes, required=True)
        rp = param(params, 2, Mapping, required=True)
        user = param(params, 3, Mapping, required=True)
        algorithms = param(params, 4, list, required=True)
        exclude = param(params, 5, list, required=False)
        param(params, 6, Mapping, required=False)  # extensions: none supported, ignored as the spec allows
        options = _bool_options(param(params, 7, Mapping, required=False))
        auth_param = param(params, 8, bytes, required=False)
        auth_protocol = params.get(9)
        rp_id, user_id = rp.get("id"), user.get("id")
        if not isinstance(rp_id, str) or not isinstance(user_id, bytes):
            raise CtapFailure(
                ERR.MISSING_PARAMETER if rp_id is None or user_id is None else ERR.CBOR_UNEXPECTED_TYPE
            )
        if len(client_data_hash) != 32 or len(user_id) > 64:
            raise CtapFailure(ERR.INVALID_PARAMETER)
        if auth_param is not None and len(auth_param) == 0:
            self._touch_probe(wait)
        if auth_param is not None:
            protocol_for(auth_protocol)
        if not any(
            isinstance(a, Mapping) and a.get("alg") == -7 and a.get("type") == "public-key"
            for a in algorithms
        ):
            raise CtapFailure(ERR.UNSUPPORTED_ALGORITHM)
        if options.get("up") is False or options.get("uv") is True:
            raise CtapFailure(ERR.INVALID_OPTION)
        if 10 in params:
            raise CtapFailure(ERR.INVALID_PARAMETER)  # no enterprise attestation on this model
        if self.state.pin_set and auth_param is None:
            raise CtapFailure(ERR.PUAT_REQUIRED)
        uv = False
        if auth_param is not None:
            self.pin.verify_auth_param(auth_protocol, auth_param, client_data_hash, PERM_MC, rp_id)
            uv = True
        excluded = set(_descriptor_ids(exclude))
        if any(c.rp_id == rp_id and c.credential_id in excluded for c in self.state.credentials):
            _require_presence(wait)
            raise CtapFailure(ERR.CREDENTIAL_EXCLUDED)
        discoverable = options.get("rk", False)
        if discoverable and self.info()[0x14] == 0:
            raise CtapFailure(ERR.KEY_STORE_FULL)
        _require_presence(wait)
        if uv:
            self.pin.token_used_with_presence()

        private_key = ec.generate_private_key(ec.SECP256R1())
        credential = StoredCredential(
            credential_id=secrets.token_bytes(48),
            rp_id=rp_id,
            user_id=user_id,
            private_key_der=private_key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            discoverable=discoverable,
            rp_name=rp.get("name") if isinstance(rp.get("name"), str) else None,
            user_name=user.get("name") if isinstance(user.get("name"), str) else None,
            user_display_name=user.get("displayName") if isinstance(user.get("displayName"), str) else None,
        )
        if discoverable:
            self.state.credentials = [
                c
                for c in self.state.credentials
                if not (c.discoverable and c.rp_id == rp_id and c.user_id == user_id)
            ]
        self.state.credentials.append(credential)
        self.state.counter += 1
        self._persist()

        attested = AttestedCredentialData.create(
            self.state.aaguid.bytes,
            credential.credential_id,
            ES256.from_cryptography_key(private_key.public_key()),  # type: ignore[no-untyped-call]
        )
        flags = FLAG.UP | FLAG.AT | (FLAG.UV if uv else 0)
        auth_data = AuthenticatorData.create(
            sha256(rp_id.encode()), FLAG(flags), self.state.counter, attested
        )
        return self._attestation_response(bytes(auth_data), client_data_hash)

    def _attestation_response(self, auth_data: bytes, client_data_hash: bytes) -> dict[int, Any]:
        if self.state.attestation_key_der is None:
            return {1: "none", 2: auth_data, 3: {}}
        key = serialization.load_der_private_key(self.state.attestation_key_der, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CtapFailure(ERR.OTHER)
        signature = key.sign(auth_data + client_data_hash, ec.ECDSA(hashes.SHA256()))
        statement = {"alg": -7, "sig": signature, "x5c": list(self.state.attestation_chain_der)}
        return {1: "packed", 2: auth_data, 3: statement}

    def _get_assertion(self, params: Mapping[Any, Any], wait: PresenceWait) -> dict[Any, Any]:
        rp_id = param(params, 1, str, required=True)
        client_data_hash = param(params, 2, bytes, required=True)
        allow = param(params, 3, list, required=False)
        param(params, 4, Mapping, required=False)
        options = _bool_options(param(params, 5, Mapping, required=False))
        auth_param = param(params, 6, bytes, required=False)
        auth_protocol = params.get(7)
        if len(client_data_hash) != 32:
            raise CtapFailure(ERR.INVALID_PARAMETER)
        if auth_param is not None and len(auth_param) == 0:
            self._touch_probe(wait)
        if auth_param is not None:
            protocol_for(auth_protocol)
        if "rk" in options:
            raise CtapFailure(ERR.UNSUPPORTED_OPTION)
        if options.get("uv") is True:
            raise CtapFailure(ERR.INVALID_OPTION)
        up = options.get("up", True)
        uv = False
        if auth_param is not None:
            self.pin.verify_auth_param(auth_protocol, auth_param, client_data_hash, PERM_GA, rp_id)
            uv = True

        if allow:
            wanted = _descriptor_ids(allow)
            by_id = {c.credential_id: c for c in self.state.credentials if c.rp_id == rp_id}
            matches = [by_id[i] for i in wanted if i in by_id][:1]
        else:
            matches = [c for c in reversed(self.state.credentials) if c.discoverable and c.rp_id == rp_id]
        if up:
            _require_presence(wait)  # touch first, so an empty key cannot be probed silently
        if not matches:
            raise CtapFailure(ERR.NO_CREDENTIALS)
        if up and uv:
            self.pin.token_used_with_presence()
        response = self._sign(matches[0], rp_id, client_data_hash, up=up, uv=uv, discoverable_flow=not allow)
        if not allow and len(matches) > 1:
            response[5] = len(matches)
            self._pending = _PendingAssertions(matches[1:], rp_id, client_data_hash, up, uv, self._clock())
        return response

    def _get_next_assertion(self, _params: Mapping[Any, Any], _wait: PresenceWait) -> dict[Any, Any]:
        pending = self._pending
        if pending is None or not pending.credentials:
            raise CtapFailure(ERR.NOT_ALLOWED)
        if self._clock() - pending.started > _NEXT_ASSERTION_WINDOW_S:
            self._pending = None
            raise CtapFailure(ERR.NOT_ALLOWED)
        credential = pending.credentials.pop(0)
        pending.started = self._clock()
        return self._sign(
            credential,
            pending.rp_id,
            pending.client_data_hash,
            up=pending.up,
            uv=pending.uv,
            discoverable_flow=True,
        )

    def _sign(
        self,
        credential: StoredCredential,
        rp_id: str,
        client_data_hash: bytes,
        *,
        up: bool,
        uv: bool,
        discoverable_flow: bool,
    ) -> dict[int, Any]:
        if up:
            self.state.counter += 1
            self._persist()
        flags = (FLAG.UP if up else 0) | (FLAG.UV if uv else 0)
        auth_data = bytes(AuthenticatorData.create(sha256(rp_id.encode()), FLAG(flags), self.state.counter))
        key = serialization.load_der_private_key(credential.private_key_der, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CtapFailure(ERR.OTHER)
        response: dict[int, Any] = {
            1: {"id": credential.credential_id, "type": "public-key"},
            2: auth_data,
            3: key.sign(auth_data + client_data_hash, ec.ECDSA(hashes.SHA256())),
        }
        if credential.discoverable:
            user: dict[str, Any] = {"id": credential.user_id}
            if uv and discoverable_flow:
                if credential.user_name is not None:
                    user["name"] = credential.user_name
                if credential.user_display_name is not None:
                    user["displayName"] = credential.user_display_name
            response[4] = user
        return response

    def _reset(self, _params: Mapping[Any, Any], wait: PresenceWait) -> None:
        if self._clock() - self._powered_at > _RESET_WINDOW_S:
            raise CtapFailure(ERR.NOT_ALLOWED)
        _require_presence(wait)
        self.state.wipe()
        self._persist()
        self.pin.power_cycle()
        return

    def _selection(self, _params: Mapping[Any, Any], wait: PresenceWait) -> None:
        _require_presence(wait)
        return
