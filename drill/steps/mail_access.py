"""Whether the observer can read the alert mail's *body*, not just list the mailbox (issue 25, case 7).

Microsoft Graph's Mail.ReadBasic.All "Includes all properties except body, previewBody, attachments and
any extended properties" (its appRole description): an observer granted it lists the mailbox fine, and
every mail then arrives without the text the alert step reads. Preflight looks at the newest messages'
bodies; with an empty mailbox it falls back to the app roles in the observer's own Graph token (an
Exchange RBAC for Applications grant does not show there, so a token without mail roles proves nothing
either way and passes on the listing alone).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

FULL_READ = frozenset({"Mail.Read", "Mail.ReadWrite"})
BASIC_READ = frozenset({"Mail.ReadBasic.All", "Mail.ReadBasic"})
FIX = (
    "grant the observer app the Microsoft Graph application permission Mail.Read (admin consent), scoped "
    "to the alert mailbox (an Exchange application access policy or RBAC for Applications); "
    "Mail.ReadBasic.All reads no body, previewBody or attachments"
)
SAMPLE = 5  # the newest messages looked at: one mail may legitimately have no text


def token_roles(access_token: str) -> set[str]:
    """The `roles` claim of our own access token (read, not verified: it only chooses the message)."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return set()
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return {str(r) for r in roles} if isinstance(roles, list) else set()


def body_access(bodies: Iterable[Any], roles: set[str]) -> tuple[bool, str]:
    """(ok, reason) from the newest messages' `body` (ItemBody-like or None) and the token's roles."""
    seen = list(bodies)
    if seen:
        if any(str(getattr(b, "content", None) or "").strip() for b in seen):
            return True, f"message bodies readable ({len(seen)} newest looked at)"
        return False, f"the newest {len(seen)} message(s) came without a body: {FIX}"
    if roles & BASIC_READ and not roles & FULL_READ:
        held = ", ".join(sorted(roles & BASIC_READ))
        return False, f"the observer's token holds {held} and no Mail.Read: {FIX}"
    return True, "the mailbox is empty: body access not shown by a message (no basic-only mail role held)"
