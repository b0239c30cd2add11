"""Mailboxes: messages land here shaped as Graph `message` resources, read back through /users/{id}/messages.

A message delivered to an address with no mailbox in the tenant is recorded as dropped, never silently
accepted: a missing mailbox is exactly the kind of broken link a drill must expose.
"""

from __future__ import annotations

import html
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_TAG = re.compile(r"<(script|style|head)\b.*?</\1>|<[^>]+>", re.IGNORECASE | re.DOTALL)


def preview(body: str, content_type: str = "text") -> str:
    """Outlook's bodyPreview: the first 255 characters of the body as text (tags dropped, spaces folded)."""
    text = html.unescape(_TAG.sub(" ", body)) if content_type.lower() == "html" else body
    return " ".join(text.split())[:255]


@dataclass
class MailStore:
    boxes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create_box(self, address: str) -> None:
        with self.lock:
            self.boxes.setdefault(address.lower(), [])

    def deliver(
        self,
        *,
        to: str,
        subject: str,
        body: str,
        sender: str,
        sender_name: str,
        received: datetime,
        content_type: str = "text",
    ) -> dict[str, Any] | None:
        """Put a message in `to`'s box; returns the Graph-shaped message, or None when it was dropped."""
        iso = received.strftime("%Y-%m-%dT%H:%M:%SZ")
        message: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "createdDateTime": iso,
            "receivedDateTime": iso,
            "sentDateTime": iso,
            "lastModifiedDateTime": iso,
            "subject": subject,
            "bodyPreview": preview(body, content_type),
            "body": {"contentType": content_type, "content": body},
            "importance": "high",
            "isRead": False,
            "internetMessageId": f"<{uuid.uuid4().hex}@sim.test>",
            "from": {"emailAddress": {"name": sender_name, "address": sender}},
            "sender": {"emailAddress": {"name": sender_name, "address": sender}},
            "toRecipients": [{"emailAddress": {"name": to, "address": to}}],
        }
        with self.lock:
            box = self.boxes.get(to.lower())
            if box is None:
                self.dropped.append({"to": to, "subject": subject, "at": iso, "reason": "no such mailbox"})
                return None
            box.append(message)
        return message

    def messages(self, address: str) -> list[dict[str, Any]] | None:
        """Newest first, as Graph lists them by default; None when the mailbox does not exist."""
        with self.lock:
            box = self.boxes.get(address.lower())
            return None if box is None else sorted(box, key=lambda m: m["receivedDateTime"], reverse=True)
