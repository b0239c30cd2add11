"""The key adapter: one class that runs a WebAuthn ceremony on any CTAP2 key through python-fido2.

The same `Fido2Authenticator` drives a YubiKey (a `CtapHidDevice` from `fido2.hid`) and the software
key (a `CtapHidDevice` over `SoftwareHidConnection`), so the guard and error handling tested here are
the ones the drill workstation runs. Rules it enforces because a locked key is a lost break-glass
account: read PIN retries before asking for a PIN and refuse at or below the guard; never retry a
wrong PIN; say how many tries are left; hold the PIN only for the call.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import structlog

from drill.keys.aaguids import model_name
from drill.keys.base import KeyInfo, OperatorPrompts
from drill.keys.collector import OriginCollector
from drill.keys.errors import KeyCeremonyError, PinGuardError
from drill.keys.rpid import origin_host

if TYPE_CHECKING:
    from fido2.client import ClientError
    from fido2.ctap import CtapDevice
    from fido2.ctap2.base import Info

_log = structlog.get_logger(__name__)
MIN_PIN_GUARD = 2
DEFAULT_PIN_GUARD = 3


def effective_guard(threshold: int | None) -> int:
    """The playbook's threshold, never below 2 whatever the playbook says."""
    return max(MIN_PIN_GUARD, DEFAULT_PIN_GUARD if threshold is None else threshold)


def format_firmware(value: int) -> str | None:
    return f"{value >> 16}.{(value >> 8) & 0xFF}.{value & 0xFF}" if value else None


class _LinkedEvent(threading.Event):
    """Set when the caller cancels or when our own touch deadline passes; fido2 only polls is_set()."""

    def __init__(self, outer: threading.Event) -> None:
        super().__init__()
        self._outer = outer

    def is_set(self) -> bool:
        return super().is_set() or self._outer.is_set()


def _interaction_class() -> Any:
    """Built on first use: fido2.client is heavy and must not load with the CLI."""
    from fido2.client import UserInteraction

    class _Interaction(UserInteraction):
        """Bridges fido2's prompts to the operator: PIN after the guard, touch with a deadline."""

        def __init__(
            self,
            prompts: OperatorPrompts,
            key: KeyInfo,
            event: threading.Event,
            touch_timeout: float,
            guard: int,
        ) -> None:
            self._prompts = prompts
            self.key = key
            self._event = event
            self._touch_timeout = touch_timeout
            self._guard = guard
            self._timer: threading.Timer | None = None
            self.touched = False
            self.timed_out = False

        def prompt_up(self) -> None:
            self.touched = True
            self._prompts.touch(self.key)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._touch_timeout, self._expire)
            self._timer.daemon = True
            self._timer.start()

        def _expire(self) -> None:
            self.timed_out = True
            self._event.set()

        def request_pin(self, permissions: Any, rp_id: str | None) -> str | None:
            retries = self.key.pin_retries
            if retries is not None and retries <= self._guard:
                raise PinGuardError(_guard_message(retries, self._guard), retries=retries, guard=self._guard)
            _log.info("key.pin_requested", key=self.key.handle, rp_id=rp_id, retries_left=retries)
            return self._prompts.pin(self.key, retries)

        def request_uv(self, permissions: Any, rp_id: str | None) -> bool:
            return True

        def finish(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
            if self.touched:
                self._prompts.touch_done()

    return _Interaction


def _guard_message(retries: int, guard: int) -> str:
    return (
        f"the key has only {retries} PIN tries left (guard: refuse at {guard} or fewer); no PIN was sent. "
        "Sign in with the key's correct PIN on another workstation or replace the key before the drill"
    )


class Fido2Authenticator:
    """A CTAP2 key behind the product's `Authenticator` interface."""

    def __init__(
        self,
        open_device: Callable[[], CtapDevice],
        *,
        kind: Literal["hardware", "software"],
        handle: str,
        prompts: OperatorPrompts,
        related_origins: Mapping[str, Sequence[str]],
        pin_guard: int | None = DEFAULT_PIN_GUARD,
        label: str | None = None,
        serial: str | None = None,
        touch_timeout: float = 30.0,
    ) -> None:
        self._open_device = open_device
        self.kind: Literal["hardware", "software"] = kind
        self.handle = handle
        self._prompts = prompts
        self._related = related_origins
        self.pin_guard = effective_guard(pin_guard)
        self._label = label
        self._serial = serial
        self._touch_timeout = touch_timeout

    # -- description ----------------------------------------------------------------------------------

    def _key_info(self, device: CtapDevice, info: Info, retries: int | None) -> KeyInfo:
        aaguid = uuid.UUID(bytes=bytes(info.aaguid))
        firmware = format_firmware(info.firmware_version)
        if firmware is None and hasattr(device, "device_version"):
            firmware = ".".join(str(part) for part in device.device_version)
        descriptor = getattr(device, "descriptor", None)
        serial = self._serial or getattr(descriptor, "serial_number", None) or None
        return KeyInfo(
            handle=self.handle,
            kind=self.kind,
            aaguid=aaguid,
            # Known AAGUIDs get the vendor's model name; otherwise what the USB descriptor calls itself.
            model=model_name(aaguid) or getattr(descriptor, "product_name", None) or None,
            firmware=firmware,
            versions=tuple(info.versions),
            options={k: bool(v) for k, v in info.options.items()},
            pin_set=bool(info.options.get("clientPin")),
            pin_retries=retries,
            serial=serial,
            label=self._label,  # hardware keys carry no label; the playbook's is for people
        )

    def _open(self) -> CtapDevice:
        try:
            return self._open_device()
        except Exception as exc:  # any failure to open is "no usable key here" for the operator
            raise KeyCeremonyError("NotAllowedError", f"could not open the key {self.handle}: {exc}") from exc

    def _read(self, device: CtapDevice) -> tuple[KeyInfo, Any]:
        from fido2.ctap2.base import Ctap2
        from fido2.ctap2.pin import ClientPin

        try:
            ctap2 = Ctap2(device)
        except Exception as exc:  # U2F-only keys and broken firmware both end here
            raise KeyCeremonyError("NotSupportedError", f"{self.handle} does not speak CTAP2: {exc}") from exc
        retries = None
        if "clientPin" in ctap2.info.options:
            retries = ClientPin(ctap2).get_pin_retries()[0]
        return self._key_info(device, ctap2.info, retries), ctap2

    def describe(self) -> KeyInfo:
        device = self._open()
        try:
            return self._read(device)[0]
        except KeyCeremonyError:
            raise
        except Exception as exc:  # e.g. removed while reading
            raise KeyCeremonyError("NotAllowedError", f"could not read the key {self.handle}: {exc}") from exc
        finally:
            _close(device)

    # -- ceremonies -----------------------------------------------------------------------------------

    def get_assertion(self, options: dict[str, Any], origin: str, cancel: threading.Event) -> dict[str, Any]:
        return self._ceremony(False, options, origin, cancel)

    def make_credential(
        self, options: dict[str, Any], origin: str, cancel: threading.Event
    ) -> dict[str, Any]:
        return self._ceremony(True, options, origin, cancel)

    def _ceremony(
        self, create: bool, options: dict[str, Any], origin: str, cancel: threading.Event
    ) -> dict[str, Any]:
        from fido2.client import ClientError, Fido2Client

        collector = OriginCollector(origin, self._related)
        parsed = parse_options(create, options, collector.origin)
        rp_id = collector.collect_client_data(parsed)[1]  # SecurityError before the key is touched
        if cancel.is_set():
            raise KeyCeremonyError("AbortError", "the ceremony was aborted before it started")
        event = _LinkedEvent(cancel)
        device = self._open()
        interaction: Any = None
        try:
            key, _ctap2 = self._read(device)
            self._check_guard(key)
            interaction = _interaction_class()(self._prompts, key, event, self._touch_timeout, self.pin_guard)
            client = Fido2Client(device, collector, user_interaction=interaction)
            self._check_ctap2(client.info.versions)
            _log.info(
                "key.ceremony",
                kind="create" if create else "get",
                key=self.handle,
                rp_id=rp_id,
                origin=collector.origin,
                aaguid=str(key.aaguid),
            )
            if create:
                result = dict(client.make_credential(parsed, event=event))
            else:
                result = dict(client.get_assertion(parsed, event=event).get_response(0))
            _log.info("key.ceremony_done", key=self.handle, rp_id=rp_id, credential=result.get("id"))
            return result
        except KeyCeremonyError as exc:
            _log.warning("key.ceremony_failed", key=self.handle, error=exc.name, reason=exc.message)
            raise
        except ClientError as exc:
            error = self._translate(exc, interaction, cancel, device, rp_id)
            _log.warning("key.ceremony_failed", key=self.handle, error=error.name, reason=error.message)
            raise error from exc
        except Exception as exc:  # transport failures: the key went away under us
            error = KeyCeremonyError(
                "NotAllowedError",
                f"the key {self.handle} was removed or stopped answering mid-ceremony ({exc})",
            )
            _log.warning("key.ceremony_failed", key=self.handle, error=error.name, reason=error.message)
            raise error from exc
        finally:
            if interaction is not None:
                interaction.finish()  # type: ignore[attr-defined]
            _close(device)

    def _check_guard(self, key: KeyInfo) -> None:
        """Refuse before any PIN is sent when one more wrong PIN could lock the key."""
        if key.pin_set and key.pin_retries is not None and key.pin_retries <= self.pin_guard:
            raise PinGuardError(
                _guard_message(key.pin_retries, self.pin_guard), retries=key.pin_retries, guard=self.pin_guard
            )

    def _check_ctap2(self, versions: Sequence[str]) -> None:
        """Fido2Client silently falls back to U2F when GetInfo fails; a drill must not."""
        if not {"FIDO_2_0", "FIDO_2_1"} & set(versions):
            raise KeyCeremonyError("NotSupportedError", f"{self.handle} fell back to U2F; CTAP2 is required")

    def _retries_now(self, device: CtapDevice) -> int | None:
        from fido2.ctap2.base import Ctap2
        from fido2.ctap2.pin import ClientPin

        try:
            return int(ClientPin(Ctap2(device)).get_pin_retries()[0])
        except Exception:  # noqa: BLE001 - the count is advisory in an error message; the error stands without it
            return None

    def _translate(
        self, exc: ClientError, interaction: Any, cancel: threading.Event, device: CtapDevice, rp_id: str
    ) -> KeyCeremonyError:
        from fido2.client import ClientError, PinRequiredError
        from fido2.ctap import CtapError

        err = CtapError.ERR
        cause = exc.cause if isinstance(exc.cause, CtapError) else None
        code = cause.code if cause is not None else None
        if interaction is not None and interaction.timed_out:
            return KeyCeremonyError(
                "NotAllowedError", f"no touch within {self._touch_timeout:.0f} s; nothing was signed"
            )
        if cancel.is_set():
            return KeyCeremonyError("AbortError", "the ceremony was cancelled")
        if isinstance(exc, PinRequiredError):
            return KeyCeremonyError("NotAllowedError", "no PIN was entered; nothing was sent to the key")
        if code == err.PIN_INVALID:
            left = self._retries_now(device)
            return KeyCeremonyError(
                "NotAllowedError",
                f"wrong PIN; {_count(left)} tries left before the key locks for good. "
                "Not retried automatically",
            )
        if code == err.PIN_AUTH_BLOCKED:
            left = self._retries_now(device)
            return KeyCeremonyError(
                "NotAllowedError",
                "three wrong PINs in a row: remove and re-insert the key before any further try "
                f"({_count(left)} tries left)",
            )
        if code == err.PIN_BLOCKED:
            return KeyCeremonyError(
                "NotAllowedError",
                "the key's PIN is blocked; only a reset unlocks it, and a reset destroys the break-glass "
                "credential",
            )
        if code == err.CREDENTIAL_EXCLUDED:
            return KeyCeremonyError("InvalidStateError", f"this key already holds a credential for {rp_id}")
        if code == err.NO_CREDENTIALS:
            return KeyCeremonyError("NotAllowedError", f"this key holds no credential for {rp_id}")
        if code == err.OPERATION_DENIED:
            return KeyCeremonyError("NotAllowedError", "the touch was refused")
        if code == err.UNSUPPORTED_ALGORITHM:
            return KeyCeremonyError("NotSupportedError", "the key supports none of the requested algorithms")
        if exc.code == ClientError.ERR.CONFIGURATION_UNSUPPORTED:
            return KeyCeremonyError(
                "NotAllowedError",
                f"the key cannot do what was asked (is a PIN set?): {exc.cause or exc.code.name}",
            )
        if exc.code == ClientError.ERR.TIMEOUT:
            return KeyCeremonyError("NotAllowedError", "the ceremony timed out")
        return KeyCeremonyError("NotAllowedError", f"the key refused: {exc.code.name} ({exc.cause})")


def _count(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def _close(device: CtapDevice) -> None:
    try:
        device.close()
    except Exception:  # noqa: BLE001 - closing a removed key may fail; nothing is left to release
        _log.debug("key.close_failed")


def parse_options(create: bool, options: Mapping[str, Any], origin: str) -> Any:
    """WebAuthn-JSON options as the bridge sends them, with the RP ID defaulted to the origin's host."""
    raw = options.get("publicKey", options) if isinstance(options, Mapping) else options
    try:
        if create:
            return _creation_options(raw, origin)
        return _request_options(raw, origin)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise KeyCeremonyError("NotSupportedError", f"malformed WebAuthn options: {exc}") from exc


def _creation_options(raw: Any, origin: str) -> Any:
    from fido2.webauthn import PublicKeyCredentialCreationOptions

    parsed = PublicKeyCredentialCreationOptions.from_dict(raw)
    if parsed is None:
        raise ValueError("no options given")
    if parsed.rp.id is None:
        parsed = dataclasses.replace(parsed, rp=dataclasses.replace(parsed.rp, id=origin_host(origin)))
    return parsed


def _request_options(raw: Any, origin: str) -> Any:
    from fido2.webauthn import PublicKeyCredentialRequestOptions

    parsed = PublicKeyCredentialRequestOptions.from_dict(raw)
    if parsed is None:
        raise ValueError("no options given")
    if parsed.rp_id is None:
        parsed = dataclasses.replace(parsed, rp_id=origin_host(origin))
    return parsed
