"""The one small interface the rest of the product uses for keys, hardware or software alike."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable


@dataclass(frozen=True)
class KeyInfo:
    """What a key says about itself; recorded as evidence, so it never holds the PIN."""

    handle: str
    kind: Literal["hardware", "software"]
    aaguid: uuid.UUID
    model: str | None
    firmware: str | None
    versions: tuple[str, ...]
    options: Mapping[str, bool] = field(default_factory=dict)
    pin_set: bool = False
    pin_retries: int | None = None
    serial: str | None = None
    label: str | None = None
    # What this path cannot read before the ceremony, and why (the Windows WebAuthn API hides the key).
    unreadable: Mapping[str, str] = field(default_factory=dict)

    def evidence(self) -> dict[str, Any]:
        """A JSON-friendly copy for the drill record; an unreadable detail is null, never its placeholder."""
        facts = {
            "handle": self.handle,
            "kind": self.kind,
            "aaguid": str(self.aaguid),
            "model": self.model,
            "firmware": self.firmware,
            "versions": list(self.versions),
            "options": dict(self.options),
            "pin_set": self.pin_set,
            "pin_retries": self.pin_retries,
            "serial": self.serial,
            "label": self.label,
            "unreadable": dict(self.unreadable),
        }
        return {k: (None if k in self.unreadable else v) for k, v in facts.items()}


class OperatorPrompts(Protocol):
    """The human at the key: the console in a drill, a script in tests and the demo."""

    def pin(self, key: KeyInfo, retries_left: int | None) -> str | None:
        """Ask for the PIN; None means the operator declined."""
        ...

    def touch(self, key: KeyInfo) -> None:
        """Tell the operator the key is waiting for a touch."""
        ...

    def touch_done(self) -> None:
        """The touch wait is over (touched, cancelled or timed out)."""
        ...


@runtime_checkable
class Authenticator(Protocol):
    """A key the browser bridge can use; calls block, so the bridge runs them in a thread."""

    def describe(self) -> KeyInfo: ...

    def get_assertion(
        self, options: dict[str, Any], origin: str, cancel: threading.Event
    ) -> dict[str, Any]: ...

    def make_credential(
        self, options: dict[str, Any], origin: str, cancel: threading.Event
    ) -> dict[str, Any]: ...
