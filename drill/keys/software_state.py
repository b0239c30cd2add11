"""What a software key remembers across runs, in one file only its owner can read.

The file holds the device's secrets (credential keys, attestation key) because a real key holds them
too, but never the PIN: only a slow salted hash of LEFT(SHA-256(PIN), 16), the value CTAP compares.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from drill.fsutil import PRIVATE_FILE, atomic_write

PIN_RETRIES_MAX = 8
_PIN_KDF_ROUNDS = 20_000


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass
class StoredCredential:
    """One credential; `discoverable` ones answer an empty allow list."""

    credential_id: bytes
    rp_id: str
    user_id: bytes
    private_key_der: bytes
    discoverable: bool
    rp_name: str | None = None
    user_name: str | None = None
    user_display_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("credential_id", "user_id", "private_key_der"):
            data[name] = _b64(data[name])
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredCredential:
        data = dict(data)
        for name in ("credential_id", "user_id", "private_key_der"):
            data[name] = _unb64(data[name])
        return cls(**data)


@dataclass
class KeyState:
    """The persistent part of a software key; transient state (tokens, channels) lives in the CTAP core."""

    aaguid: uuid.UUID
    model: str
    firmware: int = 0
    serial: str | None = None
    label: str | None = None
    attestation_key_der: bytes | None = None
    attestation_chain_der: tuple[bytes, ...] = ()
    counter: int = 0
    pin_salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    pin_verifier: bytes | None = None
    pin_retries: int = PIN_RETRIES_MAX
    credentials: list[StoredCredential] = field(default_factory=list)

    @property
    def pin_set(self) -> bool:
        return self.pin_verifier is not None

    def _verifier(self, pin_hash16: bytes) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", pin_hash16, self.pin_salt, _PIN_KDF_ROUNDS)

    def set_pin_hash(self, pin_hash16: bytes) -> None:
        """Store a new PIN, given as the LEFT(SHA-256(PIN), 16) that CTAP transports."""
        self.pin_salt = secrets.token_bytes(16)
        self.pin_verifier = self._verifier(pin_hash16)
        self.pin_retries = PIN_RETRIES_MAX

    def pin_hash_matches(self, pin_hash16: bytes) -> bool:
        if self.pin_verifier is None:
            return False
        return hmac.compare_digest(self._verifier(pin_hash16), self.pin_verifier)

    def wipe(self) -> None:
        """authenticatorReset: credentials and PIN go, identity and attestation stay."""
        self.credentials.clear()
        self.pin_verifier = None
        self.pin_retries = PIN_RETRIES_MAX

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "breakglass-drill software key",
            "version": 1,
            "aaguid": str(self.aaguid),
            "model": self.model,
            "firmware": self.firmware,
            "serial": self.serial,
            "label": self.label,
            "attestation_key_der": _b64(self.attestation_key_der) if self.attestation_key_der else None,
            "attestation_chain_der": [_b64(c) for c in self.attestation_chain_der],
            "counter": self.counter,
            "pin_salt": _b64(self.pin_salt),
            "pin_verifier": _b64(self.pin_verifier) if self.pin_verifier else None,
            "pin_retries": self.pin_retries,
            "credentials": [c.to_json() for c in self.credentials],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyState:
        if data.get("version") != 1:
            raise ValueError("unsupported software key state version")
        att_key = data.get("attestation_key_der")
        verifier = data.get("pin_verifier")
        return cls(
            aaguid=uuid.UUID(data["aaguid"]),
            model=str(data["model"]),
            firmware=int(data.get("firmware", 0)),
            serial=data.get("serial"),
            label=data.get("label"),
            attestation_key_der=_unb64(att_key) if att_key else None,
            attestation_chain_der=tuple(_unb64(c) for c in data.get("attestation_chain_der", [])),
            counter=int(data["counter"]),
            pin_salt=_unb64(data["pin_salt"]),
            pin_verifier=_unb64(verifier) if verifier else None,
            pin_retries=int(data["pin_retries"]),
            credentials=[StoredCredential.from_json(c) for c in data.get("credentials", [])],
        )

    def save(self, path: Path) -> None:
        """Write atomically with mode 0600: a half-written key must not lose its credentials.

        `atomic_write` never writes through a link planted in the key's folder: a predictable temp name
        would let one receive the key's secrets or clobber another file.
        """
        atomic_write(path, json.dumps(self.to_json(), indent=1).encode("utf-8"), PRIVATE_FILE)

    @classmethod
    def load(cls, path: Path) -> KeyState:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
