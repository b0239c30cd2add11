"""The demo's emergency cards: printed into the demo state folder (where the demo keys are kept, their
"storage location"), and read back by the demo's scripted operator at the post-drill confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["DEMO_CARDS", "card_in_storage", "print_demo_cards"]

DEMO_CARDS = "cards"  # in the demo state folder: the demo keys' storage location


def print_demo_cards(playbook: Any, accounts: Sequence[str], state_dir: Path) -> None:
    """Put each demo account's emergency card where its software key is kept, as `drill card` prints it
    (HTML only: the demo reads it back, nobody prints it)."""
    from drill.evidence.card_print import write_card

    for account in accounts:
        write_card(playbook, account, state_dir / DEMO_CARDS, datetime.now(UTC).date(), pdf=None)


def card_in_storage(state_dir: Path, account: str) -> str | None:
    """The version code the demo operator reads off the account's card in the state folder; None when
    there is no card there (or more than one: a person would not know which to read)."""
    from drill.evidence.card_print import CARD_FILE, code_on

    found = [
        p
        for p in sorted((state_dir / DEMO_CARDS).glob("card-*.html"))
        if (m := CARD_FILE.fullmatch(p.name)) and m["account"] == account
    ]
    return code_on(found[0].read_text(encoding="utf-8")) if len(found) == 1 else None
