"""Documentation drift: the emergency cards in the storage locations against today's playbook.

Each drill's signed ledger line records the card code the operator read off the card kept with the key
(`card.status` "current" when it was today's then). The audit takes each account's last confirmed code from
the verified lines (a forged line confirms nothing) and compares it with the code of the card the playbook
makes today (drill/evidence/card.py). When the playbook's accounts, storage locations or authorised people
(or anything else the card prints) change, the code changes, and the card in the safe is stale: the audit
says so in its notes (the report's "notes" section, and the daily audit's notice) with how to reprint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drill.evidence.card import card_codes, reprint_command

if TYPE_CHECKING:
    from drill.playbook import Playbook

NOTE_PREFIX = "emergency card"  # every note this module writes starts so (the scheduler's notice picks them)
STALE = "STALE:"  # in the notes of a card that no longer matches the playbook (the daily notice's trigger)


@dataclass(frozen=True)
class Confirmed:
    code: str
    drill_id: str
    at: str


def last_confirmed(entries: Iterable[Mapping[str, Any]], tenant_id: str) -> dict[str, Confirmed]:
    """account -> the card code last confirmed current at a drill of the tenant (verified lines only)."""
    out: dict[str, Confirmed] = {}
    for entry in entries:
        card = entry.get("card")
        if entry.get("kind") != "drill" or entry.get("tenant_id") != tenant_id or not isinstance(card, dict):
            continue
        account, code = entry.get("account"), card.get("entered")
        when = entry.get("ended_at") or entry.get("started_at")
        if card.get("status") != "current" or not isinstance(code, str) or not isinstance(account, str):
            continue
        if not isinstance(when, str):
            continue
        if account not in out or when >= out[account].at:
            out[account] = Confirmed(code, str(entry.get("drill_id")), when)
    return out


def card_notes(entries: Iterable[Mapping[str, Any]], playbook: Playbook) -> list[str]:
    """One note per account whose card in the storage location is stale or was never confirmed, and per
    confirmed card whose account left the playbook; none when every card is today's."""
    where = playbook.source if playbook.source is not None else "PLAYBOOK"
    today = card_codes(playbook)
    if all(code is None for code in today.values()):
        return [
            f"{NOTE_PREFIX}s: the playbook has no `emergency` section, so no emergency card can be printed "
            "for the storage locations; add it (`drill init DIR` writes an example), then "
            f"`{reprint_command(where, 'NAME')}` for each account"
        ]
    confirmed = last_confirmed(entries, str(playbook.tenant.id))
    notes = []
    for account in playbook.accounts:
        have, want = confirmed.get(account.name), today[account.name]
        reprint = reprint_command(where, account.name)
        if have is None:
            notes.append(
                f"{NOTE_PREFIX} of {account.name}: never confirmed at a drill; print today's card "
                f"(version {want}) with `{reprint}`, keep it with the key, and enter its code at the next "
                "drill"
            )
        elif have.code != want:
            notes.append(
                f"{NOTE_PREFIX} of {account.name}: {STALE} the card last confirmed in the storage location "
                f"is version {have.code} ({have.drill_id}, {have.at}), today's is {want}: the playbook "
                "changed (account, storage location, authorised people or contacts); reprint with "
                f"`{reprint}` and replace it"
            )
    for name in sorted(set(confirmed) - set(today)):
        notes.append(
            f"{NOTE_PREFIX} of {name}: {STALE} {name} is no longer in the playbook, but its card (version "
            f"{confirmed[name].code}) was last confirmed in a storage location; remove it"
        )
    return notes
