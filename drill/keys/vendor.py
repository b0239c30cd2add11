"""Simulated key vendors: a root CA per vendor and a packed-attestation certificate per model.

Real keys carry a batch certificate chained to their vendor's root, and a tenant that enforces
attestation trusts only listed roots. The simulator trusts `VendorAuthority.root_pem`, so attestation
enforcement can be rehearsed with software keys. Material is generated once and persisted, so the
simulator and the keys agree across runs.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drill.fsutil import atomic_write, private_mkdir

# id-fido-gen-ce-aaguid: binds the attestation certificate to the model's AAGUID.
OID_FIDO_AAGUID = x509.ObjectIdentifier("1.3.6.1.4.1.45724.1.1.4")
_VALIDITY = dt.timedelta(days=365 * 20)


@dataclass(frozen=True)
class ModelSpec:
    """One key model: its AAGUID is what an attestation policy lists."""

    name: str
    aaguid: uuid.UUID
    firmware: int = 0x050702


@dataclass(frozen=True)
class VendorSpec:
    """A vendor: `slug` names its directory, `organisation` goes into certificates."""

    slug: str
    organisation: str
    country: str
    model: ModelSpec


# The two demo vendors; their AAGUIDs are the ones the demo playbook (drill/assets/demo/demo.yaml)
# approves for ea01 and ea02.
VENDOR_A = VendorSpec(
    slug="vendor-a",
    organisation="Simulated Vendor A",
    country="GB",
    model=ModelSpec("Vendor A KeyGuard 2", uuid.UUID("d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001"), 0x050702),
)
VENDOR_B = VendorSpec(
    slug="vendor-b",
    organisation="Simulated Vendor B",
    country="CH",
    model=ModelSpec("Vendor B SecureTouch N", uuid.UUID("d8a1c3e2-0002-4b1d-a5e1-5a1d0000b002"), 0x020300),
)
DEMO_VENDORS: tuple[VendorSpec, ...] = (VENDOR_A, VENDOR_B)


@dataclass(frozen=True)
class AttestationMaterial:
    """What a key model holds to sign packed attestation: its key and its chain (leaf first, no root)."""

    private_key_der: bytes
    chain_der: tuple[bytes, ...]


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class VendorAuthority:
    """A vendor's root CA on disk (`<dir>/<slug>/root.pem`, `root.key.pem`) and its model certificate."""

    def __init__(
        self, spec: VendorSpec, root_key: ec.EllipticCurvePrivateKey, root: x509.Certificate
    ) -> None:
        self.spec = spec
        self._root_key = root_key
        self.root = root

    @property
    def root_pem(self) -> bytes:
        """The PEM the simulator (or any relying party) trusts for this vendor's keys."""
        return self.root.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def load_or_create(cls, directory: Path, spec: VendorSpec) -> VendorAuthority:
        """Open the vendor's root, creating it on first use."""
        home = directory / spec.slug
        private_mkdir(home)  # it holds the vendor's root and batch private keys
        key_path, cert_path = home / "root.key.pem", home / "root.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path}: not an EC private key")
            return cls(spec, key, x509.load_pem_x509_certificate(cert_path.read_bytes()))
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, spec.country),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organisation),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{spec.organisation} FIDO Root CA"),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        root = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(key, hashes.SHA256())
        )
        atomic_write(key_path, _pem_key(key))
        cert_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
        return cls(spec, key, root)

    def model_attestation(self, directory: Path) -> AttestationMaterial:
        """The model's batch key and certificate (persisted beside the root, created on first use)."""
        model = self.spec.model
        home = directory / self.spec.slug
        key_path, cert_path = home / f"{model.aaguid}.key.pem", home / f"{model.aaguid}.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        else:
            key = ec.generate_private_key(ec.SECP256R1())
            now = dt.datetime.now(dt.UTC)
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, self.spec.country),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.spec.organisation),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Authenticator Attestation"),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{model.name} Attestation"),
                ]
            )
            cert = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(self.root.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + _VALIDITY)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    x509.UnrecognizedExtension(OID_FIDO_AAGUID, b"\x04\x10" + model.aaguid.bytes),
                    critical=False,
                )
                .sign(self._root_key, hashes.SHA256())
            )
            atomic_write(key_path, _pem_key(key))
            cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError(f"{key_path}: not an EC private key")
        der_key = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return AttestationMaterial(der_key, (cert.public_bytes(serialization.Encoding.DER),))


def vendor_root_pems(directory: Path, vendors: tuple[VendorSpec, ...] = DEMO_VENDORS) -> dict[str, bytes]:
    """Each vendor's root PEM by slug (created on first use): what the simulator's attestation policy trusts.

    The same files sit at `<directory>/<slug>/root.pem` for anyone who would rather read them directly.
    """
    return {spec.slug: VendorAuthority.load_or_create(directory, spec).root_pem for spec in vendors}
