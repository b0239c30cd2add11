"""Which way this process reaches the account's key, and why: raw HID, or the Windows WebAuthn API.

Since Windows 10 1903 only elevated processes may open FIDO keys over HID; the others must go through
webauthn.dll, whose own dialog asks for the PIN and the touch (drill/sim/DIFFERENCES.md, "The Windows key
path"). That path hides the key until the dialog: its model, PIN state and PIN retries cannot be read before
the ceremony, and the model is proven after it instead (drill/steps/key_identity.py). Run elevated to get the
HID path back, with everything checked before the ceremony as on Linux and macOS.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HID, WINDOWS_WEBAUTHN, SOFTWARE = "hid", "windows-webauthn", "software"

# What the Windows WebAuthn API never shows before its dialog, and why (KeyInfo.unreadable).
WINDOWS_UNREADABLE = {
    "aaguid": "the Windows WebAuthn API shows no key before its dialog, and an assertion carries no AAGUID",
    "pin_set": "the Windows dialog asks for the PIN itself; whether one is set is not readable",
    "pin_retries": "the Windows WebAuthn API has no call that reads a key's PIN retries",
}


@dataclass(frozen=True)
class KeyPath:
    """The path in use (`hid`, `windows-webauthn` or `software`) and the reason, as the operator reads it."""

    name: Literal["hid", "windows-webauthn", "software"]
    reason: str

    @property
    def hides_key(self) -> bool:
        """True when the key's details can only be proven after the ceremony."""
        return self.name == WINDOWS_WEBAUTHN


def choose_key_path(
    *,
    software: Path | None = None,
    include_hardware: bool = True,
    platform: str | None = None,
    elevated: bool | None = None,
) -> KeyPath:
    """The one rule for the path; `platform` and `elevated` default to this process's."""
    if software is not None:
        return KeyPath("software", f"software keys from {software} (rehearsals on a custom cloud only)")
    platform = sys.platform if platform is None else platform
    if include_hardware and platform == "win32":
        if not (is_elevated() if elevated is None else elevated):
            return KeyPath(
                "windows-webauthn",
                "Windows without administrator rights: since Windows 10 1903 only elevated "
                "processes may open FIDO keys over HID, so the Windows WebAuthn API (its own dialog "
                "asks for PIN and touch) is used. The key's model is proven after the ceremony; its "
                "PIN retries cannot be read, so the retry guard is off. Run elevated for the HID path",
            )
        return KeyPath("hid", "Windows, elevated: raw HID, the key read before the ceremony")
    return KeyPath("hid", "raw HID (CTAP2): the key's model, PIN and retries read before the ceremony")


def is_elevated() -> bool:
    """An elevated (administrator) process on Windows; anything unknown counts as not elevated."""
    import ctypes

    try:
        return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return False
