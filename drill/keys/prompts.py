"""Operator prompts: the console for a real drill, a script for tests and the unattended demo."""

from __future__ import annotations

import getpass
import sys
import threading
from collections.abc import Iterable
from typing import TextIO

from drill.keys.base import KeyInfo
from drill.secrets import register_secret


def _name(key: KeyInfo) -> str:
    parts = [key.model or "security key", f"AAGUID {key.aaguid}"]
    if key.serial:
        parts.append(f"serial {key.serial}")
    return ", ".join(parts)


class ConsolePrompts:
    """Hidden PIN entry (getpass) and touch messages on the terminal; the PIN is returned, never kept."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr

    def pin(self, key: KeyInfo, retries_left: int | None) -> str | None:
        left = f" ({retries_left} tries left)" if retries_left is not None else ""
        entered = getpass.getpass(f"PIN for {_name(key)}{left}: ", stream=self._stream)
        register_secret(entered)  # redacted everywhere from the moment it exists; forgotten at the end
        return entered or None

    def touch(self, key: KeyInfo) -> None:
        print(f"Touch the key now: {_name(key)}", file=self._stream, flush=True)

    def touch_done(self) -> None:
        print("Key done.", file=self._stream, flush=True)


class ScriptedPrompts:
    """Answers PIN prompts from a list (one PIN per prompt; None declines) and records touch requests.

    For tests and the unattended demo only; it holds the demo PIN in memory, never on disk or in logs.
    """

    def __init__(self, pins: Iterable[str | None] = ()) -> None:
        self._pins = list(pins)
        self.pin_requests: list[int | None] = []
        self.touches = 0
        self.touches_done = 0

    @classmethod
    def always(cls, pin: str, times: int = 1000) -> ScriptedPrompts:
        return cls([pin] * times)

    def pin(self, key: KeyInfo, retries_left: int | None) -> str | None:
        self.pin_requests.append(retries_left)
        pin = self._pins.pop(0) if self._pins else None
        register_secret(pin)
        return pin

    def touch(self, key: KeyInfo) -> None:
        self.touches += 1

    def touch_done(self) -> None:
        self.touches_done += 1

    def __repr__(self) -> str:  # never show the scripted PINs
        return f"ScriptedPrompts(remaining={len(self._pins)}, touches={self.touches})"


def console_presence(stop: threading.Event, stream: TextIO | None = None) -> bool:
    """Presence callback for a software key in a rehearsal: Enter is the touch.

    Returns False when the wait is cancelled (the host sent CANCEL or the touch deadline passed).
    """
    out = stream or sys.stderr
    print("Software key: press Enter to touch it.", file=out, flush=True)
    pressed = threading.Event()

    def wait_for_enter() -> None:
        try:
            sys.stdin.readline()
        except (OSError, ValueError):
            return
        pressed.set()

    threading.Thread(target=wait_for_enter, daemon=True, name="software-key-touch").start()
    while not stop.is_set():
        if pressed.wait(0.1):
            return True
    return False
