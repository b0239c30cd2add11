"""Which keys are here, and which one is the account's: hardware over HID plus configured software keys.

Selection is by AAGUID (the model the playbook approves), narrowed by serial and by label where the key
can report them. Exactly one key must match: with none the drill cannot run, with several it would be
guessing which key the account is registered on, and a guess could burn PIN retries on the wrong key.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drill.errors import DrillUserError
from drill.keys.base import Authenticator, KeyInfo, OperatorPrompts
from drill.keys.errors import KeyCeremonyError, KeySelectionError
from drill.keys.key_path import KeyPath, choose_key_path

if TYPE_CHECKING:
    from fido2.ctap import CtapDevice

    from drill.clouds import Cloud
    from drill.keys.software import SoftwareKey
    from drill.keys.software_hid import PresenceCallback

SOFTWARE_DIR_ENV = "DRILL_SOFTWARE_KEYS"


def is_builtin_cloud(cloud: Cloud) -> bool:
    """A real Microsoft cloud: a built-in by name, or an endpoint set whose sign-in host is exactly one of
    Microsoft's (the allow-list the playbook's endpoint rule uses, so the two never disagree). A host merely
    under a Microsoft domain (``x.cloudapp.azure.com``, which anyone can rent) is not one; a listed host on
    any port still is (refusing a software key there errs the safe way)."""
    from urllib.parse import urlsplit

    from drill.clouds import BUILTIN
    from drill.playbook.microsoft_hosts import is_sign_in_host

    return cloud.name in BUILTIN or is_sign_in_host(urlsplit(cloud.authority_host).hostname or "")


def refuse_software_keys(cloud: Cloud, software: Path | None) -> None:
    """A live drill on a real Microsoft cloud takes a hardware key only, refused before any PIN is asked.

    A software key claims whatever AAGUID its file says and approves its own touch, so its PASS would prove
    neither the approved key model nor a person at the key. Rehearsals use `drill demo` or a custom cloud.
    """
    if software is not None and is_builtin_cloud(cloud):
        raise DrillUserError(
            f"${SOFTWARE_DIR_ENV} is set ({software}), but tenant.cloud is the Microsoft cloud "
            f"{cloud.name!r}: a live drill on a Microsoft cloud accepts hardware keys only "
            f"(a software key can claim any AAGUID and approves its own touch). "
            f"Unset {SOFTWARE_DIR_ENV}, or rehearse with `drill demo`"
        )


@dataclass(frozen=True)
class FoundKey:
    """A key seen on this machine; `open_device` reaches it again for a ceremony."""

    info: KeyInfo
    open_device: Callable[[], CtapDevice]
    software_key: SoftwareKey | None = None


@dataclass(frozen=True)
class KeyExpectation:
    """What the playbook says the account's key is."""

    aaguids: tuple[uuid.UUID, ...]
    label: str | None = None
    serial: str | None = None

    @classmethod
    def from_account(cls, account: Any) -> KeyExpectation:
        """From a playbook `Account` (`account.key.aaguids`, `.label`, `.serial`)."""
        spec = account.key
        return cls(tuple(spec.aaguids), getattr(spec, "label", None), getattr(spec, "serial", None))


def software_dir(option: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """`--software-dir` if given, else `$DRILL_SOFTWARE_KEYS`, else no software keys."""
    if option is not None:
        return option
    value = (os.environ if env is None else env).get(SOFTWARE_DIR_ENV)
    return Path(value) if value else None


def list_hardware_keys() -> list[FoundKey]:
    """Every FIDO HID device this user can open, described (a key that fails to answer is skipped)."""
    from fido2.hid import CtapHidDevice, open_device  # lazy: picks an OS backend at import

    from drill.keys.authenticator import Fido2Authenticator

    found = []
    for device in CtapHidDevice.list_devices():
        path = device.descriptor.path

        def opener(path: Any = path) -> CtapDevice:
            return open_device(path)

        def already_open(device: CtapDevice = device) -> CtapDevice:
            return device

        adapter = Fido2Authenticator(
            already_open,
            kind="hardware",
            handle=f"hid:{path!r}" if isinstance(path, bytes) else f"hid:{path}",
            prompts=_NoPrompts(),
            related_origins={},
        )
        try:
            info = adapter.describe()  # closes the device afterwards
        except KeyCeremonyError:
            continue
        found.append(FoundKey(info, opener))
    return found


def list_software_keys(directory: Path, presence: PresenceCallback | None = None) -> list[FoundKey]:
    """The software keys in `directory` (`*.json` files that are software key state)."""
    from drill.keys.software import SoftwareKey, auto_approve

    found = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            key = SoftwareKey.open(path, presence=presence or auto_approve)
        except (ValueError, KeyError, TypeError, OSError):
            continue  # not a key file (or not ours): listing must not fail on a stray file
        found.append(FoundKey(key.describe(), key.open_device, key))
    return found


def discover_keys(
    software: Path | None = None, *, include_hardware: bool = True, presence: PresenceCallback | None = None
) -> list[FoundKey]:
    keys = list_hardware_keys() if include_hardware else []
    if software is not None:
        keys += list_software_keys(software, presence)
    return keys


def _describe_candidate(key: KeyInfo) -> str:
    bits = [key.model or "unknown model", f"AAGUID {key.aaguid}", key.kind]
    if key.serial:
        bits.append(f"serial {key.serial}")
    if key.label:
        bits.append(f"label {key.label!r}")
    return ", ".join(bits)


def select_key(found: Sequence[FoundKey], expected: KeyExpectation) -> FoundKey:
    """The one key matching the expectation, or a KeySelectionError that says what was seen."""
    wanted = set(expected.aaguids)
    candidates = [k for k in found if k.info.aaguid in wanted]
    if expected.serial:
        candidates = [k for k in candidates if k.info.serial in (None, expected.serial)]
        if any(k.info.serial == expected.serial for k in candidates):
            candidates = [k for k in candidates if k.info.serial == expected.serial]
    if expected.label:
        want = expected.label.casefold()
        candidates = [k for k in candidates if k.info.label is None or k.info.label.casefold() == want]
    seen = "; ".join(_describe_candidate(k.info) for k in found) or "no keys at all"
    approved = ", ".join(str(a) for a in expected.aaguids)
    if not candidates:
        raise KeySelectionError(
            f"no key matches (approved AAGUIDs: {approved}"
            + (f", serial {expected.serial}" if expected.serial else "")
            + f"). Seen: {seen}. Insert the account's key, or fix the playbook's key section"
        )
    if len(candidates) > 1:
        listed = "; ".join(_describe_candidate(k.info) for k in candidates)
        raise KeySelectionError(
            f"{len(candidates)} keys match ({listed}); remove all but the account's key, or give its serial "
            "in the playbook"
        )
    return candidates[0]


def open_account_authenticator(
    account: Any,
    prompts: OperatorPrompts,
    related_origins: Mapping[str, Sequence[str]],
    *,
    software: Path | None = None,
    include_hardware: bool = True,
    presence: PresenceCallback | None = None,
    touch_timeout: float = 30.0,
    hardware_only: bool = False,
    path: KeyPath | None = None,
) -> Authenticator:
    """The account's key behind the `Authenticator` interface, chosen from what is connected.

    On Windows without administrator rights raw HID is closed to us (`drill.keys.key_path`): the Windows
    WebAuthn API is used instead (its own dialog asks for PIN and touch), and the model is proven after
    the ceremony.
    """
    from drill.keys.authenticator import Fido2Authenticator

    path = path or choose_key_path(software=software, include_hardware=include_hardware)
    if path.hides_key:
        from drill.keys.windows import WindowsAuthenticator

        return WindowsAuthenticator(related_origins, expected_aaguids=tuple(account.key.aaguids))
    chosen = select_key(
        discover_keys(software, include_hardware=include_hardware, presence=presence),
        KeyExpectation.from_account(account),
    )
    if hardware_only and chosen.info.kind != "hardware":
        raise KeySelectionError(
            f"the matching key is a {chosen.info.kind} key ({chosen.info.handle}); "
            "this drill accepts hardware keys only: insert the account's security key"
        )
    return Fido2Authenticator(
        chosen.open_device,
        kind=chosen.info.kind,
        handle=chosen.info.handle,
        prompts=prompts,
        related_origins=related_origins,
        pin_guard=getattr(account, "pin_retry_guard", None),
        label=chosen.info.label,
        serial=chosen.info.serial,
        touch_timeout=touch_timeout,
    )


class _NoPrompts:
    """Describing a key never needs the operator; anything else asking here is a bug, so it declines."""

    def pin(self, key: KeyInfo, retries_left: int | None) -> str | None:
        return None

    def touch(self, key: KeyInfo) -> None:
        return None

    def touch_done(self) -> None:
        return None


OK, FAIL, NOT_OBSERVABLE = "ok", "FAIL", "not observable"


@dataclass(frozen=True)
class KeyCheck:
    """`drill keys check`: is the account's key here and usable, without signing in. A detail this path
    cannot read is `not observable` (with why, and what proves it in the drill), never ok and never FAIL."""

    account: str
    key: KeyInfo | None
    checks: tuple[tuple[str, str, str], ...]

    @property
    def ok(self) -> bool:
        return any(s == OK for _n, s, _d in self.checks) and all(s != FAIL for _n, s, _d in self.checks)


# What proves each unreadable detail in a drill on the Windows path (the check `replaced_by` names).
AFTER_CEREMONY = {
    "present": "signin/webauthn_used",
    "aaguid": "signin/key_identity",
    "pin_set": "signin/key_user_verified",
}


def check_windows_key(account: Any, info: KeyInfo, available: tuple[bool, str]) -> KeyCheck:
    """The Windows WebAuthn path: nothing about the key is readable before the OS dialog; what can be
    checked is that webauthn.dll answers (`available`, from `WindowsAuthenticator.available()`)."""
    name = str(getattr(account, "name", "?"))

    def hidden(detail: str, what: str) -> tuple[str, str, str]:
        later = AFTER_CEREMONY.get(detail)
        proof = f"; the drill proves it after the ceremony ({later})" if later else "; the retry guard is off"
        return (what, NOT_OBSERVABLE, info.unreadable.get(detail, "hidden by the OS dialog") + proof)

    checks = (
        hidden("present", "present"),
        hidden("aaguid", "aaguid"),
        hidden("pin_set", "pin_set"),
        hidden("pin_retries", "pin_retries"),
        ("platform_api", OK if available[0] else FAIL, available[1]),
    )
    return KeyCheck(name, info, checks)


def check_account_key(account: Any, found: Sequence[FoundKey]) -> KeyCheck:
    """Select the account's key among `found` and check AAGUID, PIN set and retries above the guard."""
    from drill.keys.authenticator import effective_guard

    name = str(getattr(account, "name", "?"))
    expected = KeyExpectation.from_account(account)
    try:
        chosen = select_key(found, expected).info
    except KeySelectionError as exc:
        return KeyCheck(name, None, (("present", FAIL, exc.message),))
    guard = effective_guard(getattr(account, "pin_retry_guard", None))
    retries = chosen.pin_retries

    def status(passed: bool) -> str:
        return OK if passed else FAIL

    checks = (
        ("present", OK, f"{chosen.model or 'key'} ({chosen.kind}, {chosen.handle})"),
        (
            "aaguid",
            status(chosen.aaguid in expected.aaguids),
            f"AAGUID {chosen.aaguid} is approved by the playbook",
        ),
        (
            "pin_set",
            status(chosen.pin_set),
            "PIN set" if chosen.pin_set else "no PIN set: set one before the drill",
        ),
        (
            "pin_retries",
            status(retries is not None and retries > guard),
            f"{retries} PIN retries left (guard: more than {guard} needed)"
            if retries is not None
            else "PIN retries unknown",
        ),
    )
    return KeyCheck(name, chosen, checks)
