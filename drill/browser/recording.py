"""What the sign-in leaves for the auditor: a screenshot per page, console and network notes, all redacted.

The auth code travels in a URL query and tokens can appear in page text, so nothing reaches the recorder
with a query string: URLs are cut to scheme://host/path, free text goes through the house redaction, and
screenshot names are made here from the page kind, never from the URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

Save = Callable[[str, bytes], "str | None"]  # (name, png bytes) -> path relative to the bundle, or None
MAX_NOTES = 200
_UNSAFE = re.compile(r"[^a-z0-9-]+")


def bare(url: str) -> str:
    """scheme://host/path: the query (code, state, login_hint) and fragment (tokens) are dropped."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path


def safe_name(name: str) -> str:
    return _UNSAFE.sub("-", name.lower()).strip("-")[:60] or "page"


def redact_note(text: str) -> str:
    from drill.secrets import redact_text

    # Cut every URL in free text to its bare form before the pattern-based redaction runs.
    return redact_text(re.sub(r"https?://[^\s\"'<>]+", lambda m: bare(m.group(0)), text))[:500]


class Recorder:
    """Collects screenshots (through `save`) and notes for one sign-in; `notes` is safe to write as is."""

    def __init__(self, save: Save | None = None) -> None:
        self._save = save
        self.screenshots: list[str] = []
        self.notes: list[dict[str, Any]] = []

    def screenshot(self, name: str, png: bytes) -> str | None:
        if self._save is None:
            return None
        path = self._save(safe_name(name), png)
        if path:
            self.screenshots.append(path)
        return path

    def note(self, kind: str, text: str, url: str = "", **extra: Any) -> None:
        if len(self.notes) >= MAX_NOTES:
            return
        entry: dict[str, Any] = {"kind": kind, "text": redact_note(text)}
        if url:
            entry["url"] = bare(url)
        entry.update({k: redact_note(str(v)) if isinstance(v, str) else v for k, v in extra.items()})
        self.notes.append(entry)

    def attach(self, context: Any) -> None:
        """Listen to the context's pages: console warnings/errors, page errors, failed and 4xx/5xx loads."""
        for page in context.pages:
            self._attach_page(page)
        context.on("page", self._attach_page)

    def _attach_page(self, page: Any) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.note("pageerror", str(error)))
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)

    def _on_console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.note("console", message.text, url=str((message.location or {}).get("url") or ""))

    def _on_failed(self, request: Any) -> None:
        self.note("requestfailed", str(request.failure or ""), url=request.url, method=request.method)

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.note("http", f"HTTP {response.status}", url=response.url)

    def evidence(self) -> dict[str, Any]:
        return {"screenshots": list(self.screenshots), "notes": list(self.notes)}


def as_recorder(recorder: Recorder | Save | None) -> Recorder:
    """sign_in accepts a Recorder, or a bare save function (name, png) -> path, or None."""
    if isinstance(recorder, Recorder):
        return recorder
    return Recorder(recorder)
