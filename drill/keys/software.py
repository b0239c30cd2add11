"""A software FIDO2 security key that python-fido2 drives exactly as it drives a hardware one.

Stack, top to bottom: `Fido2Client` -> `Ctap2` -> `fido2.hid.CtapHidDevice` -> `SoftwareHidConnection`
(64-byte CTAPHID reports) -> `SoftwareCtap2` (CTAP2.1 commands) -> `KeyState` (a 0600 JSON file).
Everything above the connection is python-fido2's unchanged code, so a ceremony that passes here
exercises the same client path the drill workstation runs against a YubiKey.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fido2.hid.base import HidDescriptor
from fido2.utils import sha256

from drill.fsutil import private_mkdir
from drill.keys.base import KeyInfo, OperatorPrompts
from drill.keys.software_ctap import SoftwareCtap2
from drill.keys.software_hid import PresenceCallback, SoftwareHidConnection, SoftwareHidEngine
from drill.keys.software_state import KeyState
from drill.keys.vendor import AttestationMaterial, VendorAuthority, VendorSpec

if TYPE_CHECKING:
    from fido2.hid import CtapHidDevice

    from drill.keys.authenticator import Fido2Authenticator

SOFTWARE_VID, SOFTWARE_PID = 0x1209, 0xB6D1  # pid.codes test range: never a real vendor's id
STATE_SUFFIX = ".key.json"


def auto_approve(_cancel: threading.Event) -> bool:
    """Presence callback for tests and unattended demos: every touch request is approved at once."""
    return True


class SoftwareKey:
    """One software key backed by its state file; `power_cycle()` is removing and re-inserting it."""

    def __init__(
        self,
        path: Path,
        state: KeyState,
        presence: PresenceCallback = auto_approve,
        *,
        up_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self._state = state
        self._save_lock = threading.Lock()
        self._core = SoftwareCtap2(state, self._persist)
        self._engine = SoftwareHidEngine(
            self._core,
            presence,
            up_timeout=up_timeout,
            device_version=(
                (state.firmware >> 16) & 0xFF,
                (state.firmware >> 8) & 0xFF,
                state.firmware & 0xFF,
            ),
        )

    def _persist(self) -> None:
        with self._save_lock:
            self._state.save(self.path)

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        aaguid: uuid.UUID,
        model: str,
        firmware: int = 0,
        serial: str | None = None,
        label: str | None = None,
        attestation: AttestationMaterial | None = None,
        pin: str | None = None,
        presence: PresenceCallback = auto_approve,
        overwrite: bool = False,
    ) -> SoftwareKey:
        """Make a new key file. A `pin` is stored only as a salted hash, as a real key would keep it."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path}: a software key already exists here")
        state = KeyState(
            aaguid=aaguid,
            model=model,
            firmware=firmware,
            serial=serial,
            label=label,
            attestation_key_der=attestation.private_key_der if attestation else None,
            attestation_chain_der=attestation.chain_der if attestation else (),
        )
        if pin is not None:
            if len(pin) < 4 or len(pin.encode()) > 63:
                raise ValueError("a PIN must be 4 to 63 bytes long")
            state.set_pin_hash(sha256(pin.encode())[:16])
        private_mkdir(path.parent)
        state.save(path)
        return cls(path, state, presence)

    @classmethod
    def create_for_vendor(
        cls,
        path: Path,
        vendor: VendorSpec,
        vendor_dir: Path,
        *,
        pin: str | None = None,
        serial: str | None = None,
        label: str | None = None,
        attestation: bool = True,
        presence: PresenceCallback = auto_approve,
        overwrite: bool = False,
    ) -> SoftwareKey:
        """A key of the vendor's model, with packed attestation chained to the vendor root (or none)."""
        material = None
        if attestation:
            material = VendorAuthority.load_or_create(vendor_dir, vendor).model_attestation(vendor_dir)
        return cls.create(
            path,
            aaguid=vendor.model.aaguid,
            model=vendor.model.name,
            firmware=vendor.model.firmware,
            serial=serial,
            label=label,
            attestation=material,
            pin=pin,
            presence=presence,
            overwrite=overwrite,
        )

    @classmethod
    def open(
        cls, path: Path, *, presence: PresenceCallback = auto_approve, up_timeout: float = 30.0
    ) -> SoftwareKey:
        """Open an existing key file. Two `SoftwareKey`s on one file do not share state: open it once."""
        return cls(Path(path), KeyState.load(Path(path)), presence, up_timeout=up_timeout)

    @property
    def aaguid(self) -> uuid.UUID:
        return self._state.aaguid

    @property
    def model(self) -> str:
        return self._state.model

    @property
    def label(self) -> str | None:
        return self._state.label

    @property
    def serial(self) -> str | None:
        return self._state.serial

    @property
    def handle(self) -> str:
        return f"software:{self.path}"

    @property
    def descriptor(self) -> HidDescriptor:
        return HidDescriptor(
            path=self.handle,
            vid=SOFTWARE_VID,
            pid=SOFTWARE_PID,
            report_size_in=64,
            report_size_out=64,
            product_name=self._state.model,
            serial_number=self._state.serial,
        )

    def connect(self, read_timeout: float = 60.0) -> SoftwareHidConnection:
        """A raw CTAPHID connection for frame-level work; reads fail after `read_timeout` s of silence."""
        return self._engine.connect(read_timeout)

    def open_device(self) -> CtapHidDevice:
        """python-fido2's own HID device class over this key (runs CTAPHID_INIT like on hardware)."""
        from fido2.hid import CtapHidDevice  # lazy: fido2.hid picks an OS backend at import

        return CtapHidDevice(self.descriptor, self.connect())

    def power_cycle(self) -> None:
        """Remove and re-insert: open connections fail; PIN lock-out in a row and tokens are cleared."""
        self._engine.unplug()
        self._core.power_cycle()

    def unplug(self) -> None:
        """Pull the key out mid-ceremony (tests of the 'key removed' path); `connect` plugs it back."""
        self._engine.unplug()

    def describe(self) -> KeyInfo:
        """Read straight from the state, without a ceremony (used by listings)."""
        info = self._core.info()
        firmware = self._state.firmware
        return KeyInfo(
            handle=self.handle,
            kind="software",
            aaguid=self._state.aaguid,
            model=self._state.model,
            firmware=f"{firmware >> 16}.{(firmware >> 8) & 0xFF}.{firmware & 0xFF}" if firmware else None,
            versions=tuple(info[0x01]),
            options=dict(info[0x04]),
            pin_set=self._state.pin_set,
            pin_retries=self._state.pin_retries,
            serial=self._state.serial,
            label=self._state.label,
        )


def open_software_authenticator(
    state_path: Path | str,
    prompts: OperatorPrompts,
    related_origins: Mapping[str, Sequence[str]],
    pin_guard: int = 3,
    *,
    presence: PresenceCallback = auto_approve,
    touch_timeout: float = 30.0,
) -> Fido2Authenticator:
    """The software key behind the same adapter as hardware keys: CtapHidDevice + Fido2Client."""
    from drill.keys.authenticator import Fido2Authenticator

    key = SoftwareKey.open(Path(state_path), presence=presence, up_timeout=touch_timeout)
    return Fido2Authenticator(
        key.open_device,
        kind="software",
        handle=key.handle,
        prompts=prompts,
        related_origins=related_origins,
        pin_guard=pin_guard,
        label=key.label,
        serial=key.serial,
        touch_timeout=touch_timeout,
    )


def create_demo_keys(
    directory: Path,
    vendor_dir: Path,
    pin: str,
    *,
    vendors: Sequence[VendorSpec] | None = None,
    attestation: bool = True,
) -> list[Path]:
    """One key per demo vendor (two vendors: two accounts), all with the same PIN; returns the files."""
    from drill.keys.vendor import DEMO_VENDORS

    paths = []
    for index, vendor in enumerate(vendors or DEMO_VENDORS, start=1):
        path = Path(directory) / f"{vendor.slug}{STATE_SUFFIX}"
        SoftwareKey.create_for_vendor(
            path,
            vendor,
            vendor_dir,
            pin=pin,
            serial=f"SIM{index:04d}{vendor.slug[-1].upper()}",
            label=f"{vendor.model.name} (software)",
            attestation=attestation,
            overwrite=True,
        )
        paths.append(path)
    return paths


def provision_software_keys(
    accounts: Sequence[Any],
    directory: Path,
    vendor_dir: Path,
    pin: str,
    *,
    vendors: Sequence[VendorSpec] | None = None,
    attestation: bool = True,
) -> dict[str, Path]:
    """A software key for each playbook account, of the demo vendor whose AAGUID the account approves.

    The key carries the account's `key.label` (and `key.serial` if given), so `drill keys check` and
    key selection treat it exactly as they would the account's real key. Returns account name -> file.
    """
    from drill.keys.vendor import DEMO_VENDORS

    paths: dict[str, Path] = {}
    for index, account in enumerate(accounts, start=1):
        approved = set(account.key.aaguids)
        vendor = next((v for v in vendors or DEMO_VENDORS if v.model.aaguid in approved), None)
        if vendor is None:
            raise ValueError(f"account {account.name}: no simulated vendor makes a model it approves")
        path = Path(directory) / f"{account.name}{STATE_SUFFIX}"
        SoftwareKey.create_for_vendor(
            path,
            vendor,
            vendor_dir,
            pin=pin,
            serial=getattr(account.key, "serial", None) or f"SIM{index:04d}{vendor.slug[-1].upper()}",
            label=getattr(account.key, "label", None),
            attestation=attestation,
            overwrite=True,
        )
        paths[str(account.name)] = path
    return paths
