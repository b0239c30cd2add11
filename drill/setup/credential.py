"""The observer's certificate: its private key is generated here and written owner-only (0600) beside the
playbook, and never sent anywhere; only the certificate (the public key) goes to Entra.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from drill.fsutil import atomic_write

LIFETIME = dt.timedelta(days=365)


def ensure_key(path: Path, subject: str) -> tuple[bytes, bool]:
    """(the certificate's DER, made now?): an existing key file is reused, never overwritten."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    if path.exists():
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        return cert.public_bytes(serialization.Encoding.DER), False
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + LIFETIME)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ) + cert.public_bytes(serialization.Encoding.PEM)
    atomic_write(path, pem)  # owner-only (0600) by default
    return cert.public_bytes(serialization.Encoding.DER), True


def key_credential(der: bytes) -> dict[str, str]:
    """Graph's keyCredential for the certificate: the DER, base64 (Edm.Binary)."""
    return {
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "displayName": "drill setup: observer certificate",
        "key": base64.b64encode(der).decode(),
    }
