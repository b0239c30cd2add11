"""The Windows (non-admin) path at its seam: the client factory. A Fido2Client over the software key
stands in for WindowsClient, which has the same make_credential/get_assertion shape."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fido2.client import ClientError, Fido2Client, UserInteraction
from keys_support import ORIGIN, PIN, RelyingParty

from drill.keys.collector import OriginCollector
from drill.keys.errors import KeyCeremonyError
from drill.keys.software import SoftwareKey
from drill.keys.vendor import VENDOR_A
from drill.keys.windows import WindowsAuthenticator


class _OsDialog(UserInteraction):
    """What the Windows security dialog does for us: it asks for the PIN itself."""

    def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
        return PIN


def _factory(key: SoftwareKey, calls: list[OriginCollector]) -> Any:
    def make(collector: OriginCollector) -> Fido2Client:
        calls.append(collector)
        return Fido2Client(key.open_device(), collector, user_interaction=_OsDialog())

    return make


def test_windows_path_round_trip_and_aaguid_check(key: SoftwareKey) -> None:
    calls: list[OriginCollector] = []
    auth = WindowsAuthenticator(
        {}, expected_aaguids=[VENDOR_A.model.aaguid], client_factory=_factory(key, calls)
    )
    rp = RelyingParty()
    rp.register(auth)  # type: ignore[arg-type]
    rp.authenticate(auth, allow_list=False)  # type: ignore[arg-type]
    assert [c.origin for c in calls] == [ORIGIN, ORIGIN]
    with pytest.raises(KeyCeremonyError) as info:
        rp.register(auth)  # type: ignore[arg-type]  # already registered: excluded
    assert info.value.name == "InvalidStateError"
    assert auth.describe().pin_retries is None  # the OS owns the PIN: no guard possible, and we say so
    wrong = WindowsAuthenticator({}, expected_aaguids=[uuid.uuid4()], client_factory=_factory(key, []))
    with pytest.raises(KeyCeremonyError, match="not one the playbook approves"):
        RelyingParty().register(wrong)  # type: ignore[arg-type]


def test_windows_path_checks_the_origin_before_opening_the_dialog(key: SoftwareKey) -> None:
    calls: list[OriginCollector] = []
    auth = WindowsAuthenticator({}, client_factory=_factory(key, calls))
    options, _state = RelyingParty("login.microsoft.com").server.authenticate_begin()
    with pytest.raises(KeyCeremonyError) as info:
        auth.get_assertion(dict(options)["publicKey"], "https://login.microsoftonline.com", threading.Event())
    assert info.value.name == "SecurityError"
    assert calls == []


def test_windows_cancel_is_an_abort() -> None:
    cancel = threading.Event()

    class _Cancelled:
        def get_assertion(self, options: Any, event: threading.Event) -> Any:
            cancel.set()
            raise ClientError(ClientError.ERR.TIMEOUT)

    auth = WindowsAuthenticator({}, client_factory=lambda _collector: _Cancelled())
    options, _state = RelyingParty().server.authenticate_begin()
    with pytest.raises(KeyCeremonyError) as info:
        auth.get_assertion(dict(options)["publicKey"], ORIGIN, cancel)
    assert info.value.name == "AbortError"
