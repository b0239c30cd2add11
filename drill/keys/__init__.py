"""Security keys: hardware through python-fido2, and a software CTAP2 key on the very same path.

Importing this package is cheap (no fido2, no cryptography): the heavy modules load on first use of
the names below, so `drill --help` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from drill.keys.base import Authenticator, KeyInfo, OperatorPrompts
from drill.keys.errors import KeyCeremonyError, KeySelectionError, PinGuardError

_LAZY = {
    "check_rp_id": "drill.keys.rpid",
    "fetch_related_origins": "drill.keys.rpid",
    "Fido2Authenticator": "drill.keys.hardware",
    "SoftwareKey": "drill.keys.software",
    "open_software_authenticator": "drill.keys.software",
    "create_demo_keys": "drill.keys.software",
    "provision_software_keys": "drill.keys.software",
    "check_account_key": "drill.keys.inventory",
    "auto_approve": "drill.keys.software",
    "VendorAuthority": "drill.keys.vendor",
    "DEMO_VENDORS": "drill.keys.vendor",
    "vendor_root_pems": "drill.keys.vendor",
    "ConsolePrompts": "drill.keys.prompts",
    "ScriptedPrompts": "drill.keys.prompts",
    "console_presence": "drill.keys.prompts",
    "discover_keys": "drill.keys.inventory",
    "select_key": "drill.keys.inventory",
    "open_account_authenticator": "drill.keys.inventory",
}

__all__ = [
    "Authenticator",
    "KeyCeremonyError",
    "KeyInfo",
    "KeySelectionError",
    "OperatorPrompts",
    "PinGuardError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'drill.keys' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
