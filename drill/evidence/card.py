"""The emergency card: the one page kept with each key, and the short code that says which version it is.

The design asks each storage location to hold everything needed to use its account (the key, the PIN in its
sealed envelope, "any additional necessary information") so nobody relies on online documentation in an
emergency, and that this documentation is kept up to date. The card is that information, built only from
the playbook: the account, where to sign in and what to expect, what the account is for and not for, whom
to call, the storage location and the authorised people. It never holds a secret: the PIN stays in its
envelope, and a playbook cannot hold one (the loader refuses it).

The version code is a hash of exactly what the card prints (`Card.content`, canonical JSON), so it changes
when, and only when, the printed content changes; the date printed on the card is not part of it. The
drill asks the operator for the code on the card in the safe (`controls.confirm`) and the daily audit
compares the last confirmed code with today's, so a card left behind by a playbook change is noticed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from drill.clouds import CHINA, PUBLIC, USGOV
from drill.errors import DrillUserError
from drill.playbook.model import CustomCloud

if TYPE_CHECKING:
    from drill.playbook import Account, Playbook

# Crockford's base32: no I, L, O or U, so a code copied by hand off paper reads back unambiguously.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_CHARS = 8  # 40 bits: two cards of one account never collide by chance

# The Microsoft Entra admin center of each named cloud, and the host its sign-in page is served from.
# Admin centers: Maester's Get-MtAdminPortalUrl.ps1 (PowerShell Gallery, Maester 1.1.x); sign-in hosts:
# drill/clouds.py (azure-identity's AzureAuthorityHosts).
ADMIN_CENTERS = {
    "public": ("https://entra.microsoft.com", PUBLIC.authority_host),
    "usgov": ("https://entra.microsoft.us", USGOV.authority_host),
    "china": ("https://entra.microsoft.cn", CHINA.authority_host),
}

WATCHED = (
    "Every sign-in and every action of this account raises an alert to the security team, and every use "
    "is reviewed afterwards. Call before you use it, and say why."
)


class CardUnavailable(DrillUserError):
    """The playbook lacks what a card needs (the `emergency` section)."""


@dataclass(frozen=True)
class Card:
    """Everything one card prints, as text: the HTML shows these fields and nothing else but the date."""

    account: str
    upn: str
    tenant: str
    sign_in_url: str
    steps: tuple[str, ...]
    use_for: tuple[str, ...]
    never_for: tuple[str, ...]
    contacts: tuple[str, ...]
    watched: str
    storage_location: str
    authorised_people: tuple[str, ...]

    @property
    def content(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def code(self) -> str:
        """`XXXX-XXXX`: the first 40 bits of SHA-256 over the canonical content, in Crockford base32."""
        blob = json.dumps(self.content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
        number = int.from_bytes(hashlib.sha256(blob).digest()[:5], "big")
        chars = "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(CODE_CHARS)))
        return f"{chars[:4]}-{chars[4:]}"


def normalise_code(text: str | None) -> str | None:
    """A code as an operator may type it (lower case, spaces, O for 0) in its printed form; None if empty."""
    if text is None:
        return None
    raw = "".join(ch for ch in text.upper() if ch.isalnum()).translate(_READ_AS)
    if not raw:
        return None
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == CODE_CHARS else raw


def _sign_in(pb: Playbook) -> tuple[str, str | None]:
    """(where to go, the sign-in host to expect or None) for the playbook's cloud."""
    cloud = pb.tenant.cloud
    chosen = pb.emergency.sign_in_url if pb.emergency else None
    if isinstance(cloud, CustomCloud):  # no admin center we know of, and its hosts may change per run
        return chosen or cloud.custom.authority_host, None
    admin, host = ADMIN_CENTERS[cloud.value]
    return chosen or admin, host.removeprefix("https://")


def _steps(account: Account, url: str, host: str | None, storage: str) -> tuple[str, ...]:
    key = f"“{account.key.label}” ({account.key.vendor}"
    key += f", serial {account.key.serial})" if account.key.serial else ")"
    page = f" (the sign-in page is {host})" if host else ""
    return (
        f"On a trusted computer, open a private browser window at {url}{page}.",
        f"Sign in as {account.upn}. If a password is asked for, choose “Sign-in options”, then "
        "“Face, fingerprint, PIN, or security key”.",
        f"Insert the security key {key} when the browser asks for it.",
        "Enter the key's PIN from the sealed PIN envelope kept with it, then touch the key.",
        "Do only what the emergency needs, then sign out and close the browser.",
        f"Return the key to {storage}, seal it and the PIN envelope again, and tell the people above.",
    )


def _contact(contact: Any) -> str:
    parts = [contact.name]
    if contact.role:
        parts[0] += f" ({contact.role})"
    parts += [p for p in (contact.phone, contact.email) if p]
    return " · ".join(parts)


def build_card(pb: Playbook, account: Account) -> Card:
    """The card of one account; CardUnavailable (naming the file and the fix) without `emergency`."""
    if pb.emergency is None:
        where = f"{pb.source}:1:1: " if pb.source is not None else ""
        raise CardUnavailable(
            f"{where}emergency: the playbook has no `emergency` section, and the card needs it (what the "
            "account may and may not be used for, whom to call); add `emergency:` with use_for, never_for "
            "and contacts (`drill init DIR` writes an example)"
        )
    url, host = _sign_in(pb)
    em = pb.emergency
    return Card(
        account=account.name,
        upn=account.upn,
        tenant=pb.tenant.primary_domain,
        sign_in_url=url,
        steps=_steps(account, url, host, account.storage_location),
        use_for=tuple(em.use_for),
        never_for=tuple(em.never_for),
        contacts=tuple(_contact(c) for c in em.contacts),
        watched=WATCHED,
        storage_location=account.storage_location,
        authorised_people=tuple(account.authorised_people),
    )


def card_codes(pb: Playbook) -> dict[str, str | None]:
    """Each account's card code today; None for every account when the playbook cannot make cards."""
    if pb.emergency is None:
        return {a.name: None for a in pb.accounts}
    return {a.name: build_card(pb, a).code for a in pb.accounts}


def reprint_command(playbook_path: object, account: str) -> str:
    return f"drill card {playbook_path} --account {account}"


@dataclass(frozen=True)
class CardCheck:
    """What the post-drill confirmation compares the card in the safe with."""

    expected: str | None  # today's code; None when no card can be printed
    reprint: str  # the command that prints today's card
    unavailable: str | None = None  # why no card can be printed


def card_check(pb: Playbook, account: str, playbook_path: object) -> CardCheck:
    """Today's card of `account` as the drill's confirmation needs it (never raises for a missing section)."""
    reprint = reprint_command(playbook_path, account)
    try:
        return CardCheck(build_card(pb, pb.account(account)).code, reprint)
    except CardUnavailable as exc:
        return CardCheck(None, reprint, str(exc))
