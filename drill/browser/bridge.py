"""The WebAuthn bridge: the page's navigator.credentials calls answered by the drill's key.

Playwright cannot operate Chromium's security-key dialogs, so an init script (bridge.js) forwards
`get`/`create` with `publicKey` to Python through a context binding. The origin is taken from the frame
that called, never from page data; the key adapter checks the RP ID against the cloud's allow-list. The
ceremony blocks (PIN, touch), so it runs in a thread while the page can still abort it.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog

from drill.keys.base import Authenticator

log = structlog.get_logger("drill.browser.bridge")
SCRIPT = (Path(__file__).with_name("bridge.js")).read_text(encoding="utf-8")


def frame_origin(url: str) -> str:
    """scheme://host[:port] of a frame URL (default ports dropped), as WebAuthn's clientData records it."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"no origin in {url!r}")
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def with_default_rp_id(kind: str, options: dict[str, Any], origin: str) -> dict[str, Any]:
    """The options with the RP ID WebAuthn implies when the page gives none: the calling origin's host.

    python-fido2 sends `rpId` as given and the key refuses a missing one, so we fill it in here, from the
    frame origin and nothing else; the key adapter still checks whatever RP ID results.
    """
    host = urlsplit(origin).hostname or ""
    if kind == "get":
        return options if options.get("rpId") else {**options, "rpId": host}
    given = options.get("rp")
    rp: dict[str, Any] = given if isinstance(given, dict) else {}
    return options if rp.get("id") else {**options, "rp": {**rp, "id": host}}


class WebAuthnBridge:
    """Install once per BrowserContext; `ceremonies` records what was asked (no secrets) for the evidence."""

    def __init__(
        self, authenticator: Authenticator, on_ceremony: Callable[[dict[str, Any]], None] | None = None
    ):
        self._auth = authenticator
        self._pending: dict[str, threading.Event] = {}
        self._aborted: set[str] = set()  # aborts that arrived before (or without) their request
        self._on_ceremony = on_ceremony
        self.ceremonies: list[dict[str, Any]] = []

    async def install(self, context: Any) -> None:
        await context.expose_binding("__drillWebAuthn", self._handle)
        await context.expose_binding("__drillWebAuthnAbort", self._abort)
        await context.add_init_script(script=SCRIPT)
        # A closing browser (deadline, Ctrl-C) must release the key: a ceremony thread waiting for a touch
        # would otherwise outlive the drill and hold asyncio.run's shutdown until the key times out.
        context.on("close", lambda _context: self.cancel_all())

    @property
    def in_progress(self) -> bool:
        """True while a ceremony waits for the key (PIN, touch): the driver's page timers stop meanwhile."""
        return bool(self._pending)

    def cancel_all(self) -> None:
        """Cancel every ceremony in flight (the key answers KEEPALIVE_CANCEL)."""
        for event in list(self._pending.values()):
            event.set()

    def _abort(self, source: dict[str, Any], request_id: str) -> None:
        event = self._pending.get(str(request_id))
        if event is not None:
            event.set()
        else:
            self._aborted.add(str(request_id))

    async def _handle(
        self, source: dict[str, Any], kind: str, request_id: str, options: dict[str, Any]
    ) -> Any:
        from drill.keys.errors import KeyCeremonyError

        frame = source.get("frame")
        try:
            origin = frame_origin(frame.url if frame is not None else "")
        except ValueError as exc:
            return {"error": {"name": "SecurityError", "message": str(exc)}}
        if not isinstance(options, dict) or kind not in ("get", "create"):
            return {"error": {"name": "NotSupportedError", "message": "malformed WebAuthn request"}}
        options = with_default_rp_id(kind, options, origin)
        cancel = threading.Event()
        if str(request_id) in self._aborted:
            self._aborted.discard(str(request_id))
            cancel.set()
        self._pending[str(request_id)] = cancel
        note = {
            "kind": kind,
            "origin": origin,
            "rpId": options.get("rpId") if kind == "get" else options["rp"].get("id"),
        }
        log.info("webauthn.request", **note)
        fn = self._auth.get_assertion if kind == "get" else self._auth.make_credential
        try:
            try:
                result = await asyncio.to_thread(fn, options, origin, cancel)
            except asyncio.CancelledError:
                cancel.set()  # the awaiting task is gone; the thread must stop too
                note["result"] = "AbortError"
                raise
            note["result"] = "ok"
            note.update(assertion_facts(kind, result))
            return result
        except KeyCeremonyError as exc:
            note["result"] = exc.name
            note["message"] = exc.message
            return {"error": {"name": exc.name, "message": exc.message}}
        except Exception as exc:  # the page gets NotAllowedError; the log keeps the cause
            log.exception("webauthn.failed", **note)
            note["result"] = "NotAllowedError"
            note["message"] = f"{type(exc).__name__}: {exc}"
            return {
                "error": {"name": "NotAllowedError", "message": "The key could not complete the request."}
            }
        finally:
            self._pending.pop(str(request_id), None)
            self.ceremonies.append(note)
            if self._on_ceremony is not None:
                self._on_ceremony(note)


def assertion_facts(kind: str, result: Any) -> dict[str, Any]:
    """What an answered `get` proves about the key, for the record: the credential id that answered and the
    UV flag of its authenticator data (no AAGUID: an assertion has none). Nothing secret."""
    if kind != "get" or not isinstance(result, Mapping):
        return {}
    found = result.get("response")
    response: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    data = str(response.get("authenticatorData") or "")
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (ValueError, TypeError):
        raw = b""
    return {
        "credentialId": str(result.get("id") or result.get("rawId") or "") or None,
        "userVerified": bool(len(raw) > 32 and raw[32] & 0x04),
    }
