"""Windows without administrator rights: the Windows WebAuthn API instead of raw HID.

Since Windows 10 1903 only elevated processes may talk to FIDO keys directly; everyone else goes
through the OS dialog, which asks for PIN and touch itself. We keep what we can: the origin and RP ID
check (ours, before the dialog opens), cancellation, WebAuthn-JSON in and out, and an AAGUID check on
registration. What we lose, and say so in `describe()` (`KeyInfo.unreadable`): the key's model, PIN state
and PIN retries before the ceremony, so the retry guard too. The drill proves the model after the ceremony
(drill/steps/key_identity.py). The client is built by `client_factory`, the seam the tests use
(`drill.testing.windows_dialog_factory` answers through a software key as the OS dialog would).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from drill.keys.authenticator import parse_options
from drill.keys.base import KeyInfo
from drill.keys.collector import OriginCollector
from drill.keys.errors import KeyCeremonyError
from drill.keys.key_path import WINDOWS_UNREADABLE, WINDOWS_WEBAUTHN

_log = structlog.get_logger(__name__)
ClientFactory = Callable[[OriginCollector], Any]


def _windows_client(collector: OriginCollector) -> Any:
    from fido2.client.windows import WindowsClient  # Windows only: imported when used

    return WindowsClient(collector)


def windows_api_available() -> tuple[bool, str]:
    """Whether webauthn.dll answers here (python-fido2's `WindowsClient.is_available`), and what it said."""
    try:
        from fido2.client.win_api import WEBAUTHN_API_VERSION
        from fido2.client.windows import WindowsClient
    except (ImportError, OSError, AttributeError) as exc:  # not Windows, or no webauthn.dll
        return False, f"the Windows WebAuthn API cannot be loaded here ({type(exc).__name__}: {exc})"
    if not WindowsClient.is_available():
        return False, "webauthn.dll reports no API version: Windows 10 1903 or later is needed"
    return True, f"webauthn.dll API version {WEBAUTHN_API_VERSION}"


class WindowsAuthenticator:
    """The `Authenticator` interface over `fido2.client.windows.WindowsClient`."""

    def __init__(
        self,
        related_origins: Mapping[str, Sequence[str]],
        *,
        expected_aaguids: Sequence[uuid.UUID] = (),
        client_factory: ClientFactory = _windows_client,
        api_check: Callable[[], tuple[bool, str]] | None = None,
    ) -> None:
        self._related = related_origins
        self._expected = tuple(expected_aaguids)
        self._factory = client_factory
        self._api_check = api_check

    def available(self) -> tuple[bool, str]:
        """Whether the API answers here; the only thing about this path checkable before the ceremony."""
        return (self._api_check or windows_api_available)()

    def describe(self) -> KeyInfo:
        # The OS owns the key until the dialog runs: nothing about it can be read beforehand. The nil AAGUID
        # and pin_set False are placeholders `unreadable` marks as such; no check may read them as facts.
        return KeyInfo(
            handle=WINDOWS_WEBAUTHN,
            kind="hardware",
            aaguid=uuid.UUID(int=0),
            model="chosen in the Windows security dialog",
            firmware=None,
            versions=(),
            pin_set=False,
            pin_retries=None,
            serial=None,
            label=None,
            unreadable=dict(WINDOWS_UNREADABLE),
        )

    def get_assertion(self, options: dict[str, Any], origin: str, cancel: threading.Event) -> dict[str, Any]:
        return self._run(False, options, origin, cancel)

    def make_credential(
        self, options: dict[str, Any], origin: str, cancel: threading.Event
    ) -> dict[str, Any]:
        return self._run(True, options, origin, cancel)

    def _run(
        self, create: bool, options: dict[str, Any], origin: str, cancel: threading.Event
    ) -> dict[str, Any]:
        from fido2.client import ClientError

        collector = OriginCollector(origin, self._related)
        parsed = parse_options(create, options, collector.origin)
        rp_id = collector.collect_client_data(parsed)[1]  # SecurityError before the OS dialog opens
        if cancel.is_set():
            raise KeyCeremonyError("AbortError", "the ceremony was aborted before it started")
        client = self._factory(collector)
        _log.info("key.ceremony", kind="create" if create else "get", key="windows-webauthn", rp_id=rp_id)
        try:
            if create:
                response = client.make_credential(parsed, event=cancel)
                self._check_aaguid(response)
                return dict(response)
            return dict(client.get_assertion(parsed, event=cancel).get_response(0))
        except ClientError as exc:
            if cancel.is_set():
                raise KeyCeremonyError("AbortError", "the ceremony was cancelled") from exc
            if getattr(exc.cause, "code", None) == 0x19:  # CTAP2_ERR_CREDENTIAL_EXCLUDED
                raise KeyCeremonyError(
                    "InvalidStateError", "this key already holds a credential here"
                ) from exc
            if exc.code == ClientError.ERR.TIMEOUT:
                raise KeyCeremonyError("NotAllowedError", "the Windows dialog timed out") from exc
            raise KeyCeremonyError(
                "NotAllowedError", f"the Windows WebAuthn API refused: {exc.code.name} ({exc.cause})"
            ) from exc

    def _check_aaguid(self, response: Any) -> None:
        if not self._expected:
            return
        data = response.response.attestation_object.auth_data.credential_data
        aaguid = uuid.UUID(bytes=bytes(data.aaguid)) if data is not None else None
        if aaguid not in self._expected:
            raise KeyCeremonyError(
                "NotAllowedError",
                f"the key used in the Windows dialog has AAGUID {aaguid}, not one the playbook approves",
            )
