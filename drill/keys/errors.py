"""Errors of a key ceremony, named the way a browser names them.

The WebAuthn bridge hands `.name` straight to the page as a `DOMException` name, so a failure here
looks to the relying party exactly like the same failure in a real browser.
"""

from __future__ import annotations

from typing import Literal

DomErrorName = Literal[
    "NotAllowedError", "SecurityError", "InvalidStateError", "AbortError", "NotSupportedError"
]


class KeyCeremonyError(Exception):
    """A ceremony that did not produce a credential; `message` is written for the operator."""

    def __init__(self, name: DomErrorName, message: str) -> None:
        super().__init__(message)
        self.name: DomErrorName = name
        self.message = message

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class PinGuardError(KeyCeremonyError):
    """Refused before any PIN was sent: one more wrong PIN could lock the only break-glass key."""

    def __init__(self, message: str, *, retries: int, guard: int) -> None:
        super().__init__("NotAllowedError", message)
        self.retries = retries
        self.guard = guard


class KeySelectionError(KeyCeremonyError):
    """No key, or more than one key, matches what the playbook expects: we never guess."""

    def __init__(self, message: str) -> None:
        super().__init__("NotAllowedError", message)
