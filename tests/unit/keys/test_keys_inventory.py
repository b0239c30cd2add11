"""Key selection and `drill keys check` logic, with software keys standing in for connected keys."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from keys_support import PIN, RelyingParty

from drill.keys.errors import KeySelectionError
from drill.keys.inventory import (
    KeyExpectation,
    check_account_key,
    list_software_keys,
    open_account_authenticator,
    select_key,
    software_dir,
)
from drill.keys.prompts import ScriptedPrompts
from drill.keys.software import SoftwareKey, provision_software_keys
from drill.keys.vendor import VENDOR_A, VENDOR_B


def _account(
    name: str, aaguids: list[uuid.UUID], *, label: str = "BG", serial: str | None = None, guard: int = 3
):
    return SimpleNamespace(
        name=name, key=SimpleNamespace(aaguids=aaguids, label=label, serial=serial), pin_retry_guard=guard
    )


@pytest.fixture
def folder(tmp_path: Path, vendor_dir: Path) -> Path:
    keys = tmp_path / "keys"
    provision_software_keys(
        [
            _account("bg-1", [VENDOR_A.model.aaguid], label="BG-1 primary"),
            _account("bg-2", [VENDOR_B.model.aaguid], label="BG-2 primary", serial="SER-2"),
        ],
        keys,
        vendor_dir,
        PIN,
    )
    (keys / "notes.json").write_text('{"not": "a key"}')  # a stray file must not break listing
    return keys


def test_software_dir_option_then_environment(tmp_path: Path) -> None:
    assert software_dir(tmp_path, {}) == tmp_path
    assert software_dir(None, {"DRILL_SOFTWARE_KEYS": str(tmp_path)}) == tmp_path
    assert software_dir(None, {}) is None


def test_listing_describes_each_software_key(folder: Path) -> None:
    found = list_software_keys(folder)
    assert [k.info.label for k in found] == ["BG-1 primary", "BG-2 primary"]
    assert found[1].info.serial == "SER-2"
    assert all(k.info.pin_set and k.info.pin_retries == 8 for k in found)


def test_selection_by_aaguid_label_and_serial(folder: Path) -> None:
    found = list_software_keys(folder)
    assert select_key(found, KeyExpectation((VENDOR_A.model.aaguid,))).info.label == "BG-1 primary"
    both = KeyExpectation((VENDOR_A.model.aaguid, VENDOR_B.model.aaguid))
    with pytest.raises(KeySelectionError, match="2 keys match"):
        select_key(found, both)
    assert select_key(found, KeyExpectation(both.aaguids, serial="SER-2")).info.label == "BG-2 primary"
    assert select_key(found, KeyExpectation(both.aaguids, label="bg-1 PRIMARY")).info.label == "BG-1 primary"
    with pytest.raises(KeySelectionError, match="no key matches") as info:
        select_key(found, KeyExpectation((uuid.uuid4(),)))
    assert "Seen:" in info.value.message
    assert str(VENDOR_A.model.aaguid) in info.value.message
    with pytest.raises(KeySelectionError):
        select_key(found, KeyExpectation((VENDOR_B.model.aaguid,), serial="OTHER"))


def test_check_account_key(folder: Path) -> None:
    found = list_software_keys(folder)
    ready = check_account_key(_account("bg-1", [VENDOR_A.model.aaguid], label="BG-1 primary"), found)
    assert ready.ok
    assert [name for name, _ok, _detail in ready.checks] == ["present", "aaguid", "pin_set", "pin_retries"]
    strict = check_account_key(
        _account("bg-1", [VENDOR_A.model.aaguid], label="BG-1 primary", guard=8), found
    )
    assert not strict.ok
    assert "8 PIN retries left" in strict.checks[-1][2]
    missing = check_account_key(_account("bg-3", [uuid.uuid4()]), found)
    assert not missing.ok
    assert missing.key is None


def test_open_account_authenticator_signs_with_the_selected_key(folder: Path) -> None:
    account = _account("bg-2", [VENDOR_B.model.aaguid], label="BG-2 primary")
    auth = open_account_authenticator(
        account, ScriptedPrompts.always(PIN), {}, software=folder, include_hardware=False
    )
    assert auth.describe().aaguid == VENDOR_B.model.aaguid
    rp = RelyingParty()
    rp.register(auth)  # type: ignore[arg-type]
    rp.authenticate(auth, allow_list=True)  # type: ignore[arg-type]


def test_provisioning_refuses_an_account_no_demo_vendor_makes(tmp_path: Path, vendor_dir: Path) -> None:
    with pytest.raises(ValueError, match="no simulated vendor"):
        provision_software_keys([_account("x", [uuid.uuid4()])], tmp_path, vendor_dir, PIN)


def test_create_refuses_to_overwrite(make_key: Callable[..., SoftwareKey]) -> None:
    key = make_key()
    with pytest.raises(FileExistsError):
        SoftwareKey.create(key.path, aaguid=uuid.uuid4(), model="m")
