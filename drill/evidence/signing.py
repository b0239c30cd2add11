"""Ed25519 signing of bundle manifests and ledger lines.

The key is either the playbook's (a PEM path the operator controls) or one generated once per workstation
into a private state directory (0600). The public key and its fingerprint travel in every bundle so an
auditor can verify without the workstation, and pin the fingerprint they expect (`drill verify --trust FP`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from drill.errors import DrillUserError
from drill.fsutil import private_mkdir

KEY_FILE = "evidence-signing-key.pem"
STATE_ENV = "DRILL_STATE_DIR"
FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def default_state_dir() -> Path:
    """Per-user state: $DRILL_STATE_DIR, else $XDG_STATE_HOME/breakglass-drill, else ~/.local/state/..."""
    explicit = os.environ.get(STATE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "breakglass-drill"


def fingerprint(public_raw: bytes) -> str:
    """`SHA256:<base64>` of the raw 32-byte public key, the way ssh-keygen prints fingerprints."""
    digest = hashlib.sha256(public_raw).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def parse_trust(value: str) -> str:
    """A `--trust` value as a fingerprint: `SHA256:...` as printed, or the path of a PEM key.

    A typo must not silently pin nothing (every signature would then read "not a trusted key" and hide
    the real mistake), so anything else is a usage error naming the value and the fix.
    """
    text = value.strip()
    if FINGERPRINT.fullmatch(text):
        return text
    path = Path(text)
    if not text.startswith("SHA256:") and path.is_file():
        return _pem_fingerprint(path)
    raise DrillUserError(
        f"--trust {text!r}: not a key fingerprint; give it as printed at the end of a drill "
        "(SHA256: and 43 base64 characters) or the path of the signer's PEM key"
    )


def _pem_fingerprint(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DrillUserError(f"{path}: cannot read the key ({exc.strerror})") from exc
    key: object
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise DrillUserError(f"{path}: not a PEM Ed25519 key; give the signer's public_key.pem") from exc
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise DrillUserError(f"{path}: the evidence signing key must be Ed25519, not {type(key).__name__}")
    return fingerprint(public_raw(key))


def anchor_fingerprint(key_path: Path | None = None, state_dir: Path | None = None) -> str | None:
    """The fingerprint drills here sign with (the playbook's key, else the workstation's), or None.

    This is the trust anchor of everything that reads the ledger on this workstation (the scheduler,
    `drill schedule status`): only lines signed by it count. Unlike `Signer.load` it never creates a
    key, since a reader that minted a fresh key would "trust" a key nothing was ever signed with.
    """
    if key_path is not None:
        return fingerprint(public_raw(_read_key(key_path).public_key()))
    path = (state_dir if state_dir is not None else default_state_dir()) / KEY_FILE
    if not path.exists():
        return None
    return fingerprint(public_raw(_read_key(path).public_key()))


def public_key_from_b64(value: str) -> Ed25519PublicKey:
    """Parse a base64 raw public key (as stored in manifests and ledger lines); ValueError if malformed."""
    raw = base64.b64decode(value, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_signature(public_b64: str, data: bytes, signature_b64: str) -> bool:
    """True only for a well-formed key, a well-formed signature and a match."""
    try:
        key = public_key_from_b64(public_b64)
        key.verify(base64.b64decode(signature_b64.strip(), validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key with the facts a bundle needs about it."""

    private_key: Ed25519PrivateKey
    source: str  # where the key came from, for the operator

    @property
    def public_raw(self) -> bytes:
        return public_raw(self.private_key.public_key())

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_raw)

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> str:
        """Base64 signature over exactly these bytes."""
        return base64.b64encode(self.private_key.sign(data)).decode()

    @classmethod
    def generate(cls) -> Signer:
        """An ephemeral key (tests, one-off demos that must not touch the workstation's state)."""
        return cls(Ed25519PrivateKey.generate(), "ephemeral")

    @classmethod
    def load(cls, key_path: Path | None = None, state_dir: Path | None = None) -> Signer:
        """The playbook's key when given, else the workstation key (created on first use, mode 0600)."""
        if key_path is not None:
            return cls(_read_key(key_path), str(key_path))
        directory = state_dir if state_dir is not None else default_state_dir()
        path = directory / KEY_FILE
        if path.exists():
            return cls(_read_key(path), str(path))
        private_mkdir(directory)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race: use its key
            return cls(_read_key(path), str(path))
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        return cls(key, str(path))


def _read_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DrillUserError(
            f"{path}: cannot read the evidence signing key ({exc.strerror}); fix the path"
        ) from exc
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise DrillUserError(f"{path}: the signing key is readable by others; run `chmod 600 {path}`")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise DrillUserError(
            f"{path}: not an unencrypted PEM private key; generate one with "
            "`openssl genpkey -algorithm ed25519 -out KEY.pem`"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise DrillUserError(f"{path}: the evidence signing key must be Ed25519, not {type(key).__name__}")
    return key
