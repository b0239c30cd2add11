"""Which path reaches the key, and what the Windows WebAuthn path says it cannot read (issue 30)."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from drill.keys.inventory import FAIL, NOT_OBSERVABLE, OK, check_windows_key
from drill.keys.key_path import choose_key_path
from drill.keys.windows import WindowsAuthenticator, windows_api_available
from drill.steps.key_identity import judge_identity, same_credential

APPROVED = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
OTHER = "ee882879-721c-4913-9775-3dfcce97072a"


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"platform": "win32", "elevated": False}, "windows-webauthn"),
        ({"platform": "win32", "elevated": True}, "hid"),
        ({"platform": "linux", "elevated": False}, "hid"),
        ({"platform": "darwin"}, "hid"),
        ({"platform": "win32", "elevated": False, "software": Path("keys")}, "software"),
        ({"platform": "win32", "elevated": False, "include_hardware": False}, "hid"),
    ],
)
def test_one_rule_picks_the_path_and_says_why(kwargs: dict[str, object], name: str) -> None:
    path = choose_key_path(**kwargs)  # type: ignore[arg-type]
    assert path.name == name
    assert path.reason
    assert path.hides_key is (name == "windows-webauthn")


def test_the_windows_path_reason_tells_the_operator_how_to_get_hid_back() -> None:
    reason = choose_key_path(platform="win32", elevated=False).reason
    assert "Windows 10 1903" in reason
    assert "retry guard is off" in reason
    assert "Run elevated for the HID path" in reason


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows, webauthn.dll cannot load")
def test_off_windows_the_api_is_not_available_and_says_why() -> None:
    ok, why = windows_api_available()
    assert ok is False
    assert "cannot be loaded here" in why


def test_windows_authenticator_describes_what_it_cannot_read() -> None:
    info = WindowsAuthenticator({}).describe()
    assert set(info.unreadable) == {"aaguid", "pin_set", "pin_retries"}
    assert "pin_guard_available" not in info.options
    assert info.evidence()["unreadable"] == dict(info.unreadable)
    assert info.evidence()["aaguid"] is None  # never the nil placeholder as if it were read
    assert info.evidence()["pin_set"] is None


@pytest.mark.parametrize(
    ("available", "ready"), [((True, "API version 8"), True), ((False, "no dll"), False)]
)
def test_keys_check_on_the_windows_path(available: tuple[bool, str], ready: bool) -> None:
    account = SimpleNamespace(name="bg-1")
    result = check_windows_key(account, WindowsAuthenticator({}).describe(), available)
    statuses = {name: status for name, status, _ in result.checks}
    assert statuses["aaguid"] == statuses["pin_set"] == statuses["pin_retries"] == NOT_OBSERVABLE
    assert statuses["platform_api"] == (OK if ready else FAIL)
    assert result.ok is ready


def _method(aaguid: str, mid: str = "m", attested: bool = True) -> dict[str, object]:
    level = "attested" if attested else "notAttested"
    return {"id": mid, "aaGuid": aaguid, "model": "Key", "attestationLevel": level}


def test_identity_needs_every_registered_passkey_approved() -> None:
    ok, reason, advisories = judge_identity([_method(APPROVED)], {APPROVED}, None)
    assert ok
    assert "every passkey registered" in reason
    assert advisories == []
    ok, reason, _ = judge_identity([_method(APPROVED), _method(OTHER)], {APPROVED}, None)
    assert not ok
    assert OTHER in reason
    ok, reason, _ = judge_identity([], {APPROVED}, None)
    assert not ok
    assert "no passkey" in reason
    ok, _reason, advisories = judge_identity([_method(APPROVED, attested=False)], {APPROVED}, None)
    assert ok
    assert "without attestation" in advisories[0]


def test_a_matching_method_id_only_names_the_credential() -> None:
    raw = bytes(range(16))
    cred = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert same_credential(cred, cred)
    assert same_credential(cred + "2", cred)  # .NET UrlTokenEncode: padding count as a trailing digit
    assert not same_credential("73ecec75-b546-cd6a-d74d-8bb81e58d4a7", cred)
    assert not same_credential(cred[:-1], cred)
    # A match never turns an unapproved registration into a PASS: the rule is every registered passkey.
    ok, reason, _ = judge_identity([_method(APPROVED, cred), _method(OTHER)], {APPROVED}, cred)
    assert not ok
    assert "the credential that answered is Key" in reason
