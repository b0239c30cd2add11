"""The compliance controls a break-glass drill evidences, and the operator's post-drill confirmations.

The list is fixed (the drill proves the same things every time); it is written into each record when the
drill starts, so a signed report states what it was evidence for, and an old bundle says nothing it did
not say when it was signed. Titles are the frameworks' own control names, shortened.

The confirmations also keep the emergency card honest: with the key back in its storage location, the
operator reads the version code off the card kept there, and a code that is not today's (or none) is a
finding saying how to reprint it, in the report and in the signed ledger line (`card_status`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from drill.evidence.card import CardCheck, normalise_code
from drill.evidence.model import Confirmation, Control, Finding

CONTROLS: tuple[Control, ...] = (
    Control(
        framework="CIS Microsoft 365 Foundations",
        id="1.1.2",
        title="Ensure two emergency access accounts have been defined",
    ),
    Control(
        framework="CIS Microsoft 365 Foundations",
        id="2.2.1",
        title="Ensure emergency access account activity is monitored",
    ),
    Control(framework="NIST SP 800-53", id="AC-2", title="Account Management"),
    Control(framework="NIST SP 800-53", id="CP-4", title="Contingency Plan Testing"),
    Control(framework="ISO/IEC 27001:2022", id="A.5.30", title="ICT readiness for business continuity"),
    Control(framework="SOC 2", id="CC7.5", title="Recovery from identified security incidents"),
)

KEY_RESEALED = "key_returned_resealed"
PIN_ENVELOPE = "pin_envelope_intact"
CARD_CURRENT = "emergency_card_current"
STATEMENTS = {
    KEY_RESEALED: "The security key was returned to its storage location and resealed",
    PIN_ENVELOPE: "The PIN envelope is intact (not opened, tamper seal unbroken)",
    CARD_CURRENT: "The emergency card in the storage location is today's version",
}
CARD_CURRENT_STATUS, CARD_STALE, CARD_MISSING, CARD_UNAVAILABLE = "current", "stale", "missing", "unavailable"

# (question, answer) -> the answer typed, or None when the operator gave none (EOF, Ctrl-C)
Ask = Callable[[str, bool], str | None]


def controls() -> list[Control]:
    return list(CONTROLS)


def confirm(
    ask: Ask, operator: str | None, storage_location: str | None, card: CardCheck | None = None
) -> list[Confirmation]:
    """Ask the operator the post-drill questions; a refused or missing answer is recorded as not confirmed.

    `ask(question, secret=False)` returns text: "y"/"n" for yes-no questions, the seal id for the seal, the
    version code printed on the emergency card (asked when `card` says what today's card is).
    """
    now = datetime.now(UTC)
    where = f" ({storage_location})" if storage_location else ""
    out: list[Confirmation] = []
    returned = _yes(ask(f"Was the key returned to its storage location{where} and resealed? [y/n]", False))
    seal = ask("New seal id on the key's storage (as written on the seal)", False) if returned else None
    out.append(
        Confirmation(
            id=KEY_RESEALED,
            statement=STATEMENTS[KEY_RESEALED],
            confirmed=bool(returned and seal and seal.strip()),
            detail=f"seal id {seal.strip()}" if seal and seal.strip() else "no seal id given",
            by=operator,
            at=now,
        )
    )
    intact = _yes(ask("Is the PIN envelope intact? [y/n]", False))
    out.append(
        Confirmation(
            id=PIN_ENVELOPE,
            statement=STATEMENTS[PIN_ENVELOPE],
            confirmed=intact is True,
            detail=None if intact is not None else "no answer",
            by=operator,
            at=now,
        )
    )
    if card is not None:
        out.append(_card(ask, operator, where, card, now))
    return out


def _card(ask: Ask, operator: str | None, where: str, card: CardCheck, now: datetime) -> Confirmation:
    """The code on the card in the safe against today's card; never asked when no card can be printed."""
    entered = None
    if card.expected is None:
        detail = f"no emergency card can be printed: {card.unavailable}"
    else:
        entered = normalise_code(
            ask(
                f"Version code printed on the emergency card kept with the key{where} "
                "(at the card's foot; leave empty if there is no card)",
                False,
            )
        )
        entered = entered[:32] if entered else None
        if entered == card.expected:
            detail = f"card version {entered} is today's"
        elif entered is None:
            detail = (
                f"no card version given: print today's card (version {card.expected}) with "
                f"`{card.reprint}` and keep it with the key"
            )
        else:
            detail = (
                f"the card in the storage location is version {entered}, today's is {card.expected}: "
                f"reprint it with `{card.reprint}` and replace the old card"
            )
    return Confirmation(
        id=CARD_CURRENT,
        statement=STATEMENTS[CARD_CURRENT],
        confirmed=card.expected is not None and entered == card.expected,
        detail=detail,
        by=operator,
        at=now,
        value=entered,
        expected=card.expected,
    )


def card_status(confirmations: list[Confirmation]) -> dict[str, str | None] | None:
    """The card confirmation as the ledger line carries it, or None when the drill asked no card question."""
    found = next((c for c in confirmations if c.id == CARD_CURRENT), None)
    if found is None:
        return None
    if found.expected is None:
        status = CARD_UNAVAILABLE
    elif found.confirmed:
        status = CARD_CURRENT_STATUS
    else:
        status = CARD_STALE if found.value else CARD_MISSING
    return {"status": status, "entered": found.value, "expected": found.expected}


_CARD_FINDINGS = {
    CARD_STALE: "The emergency card in the storage location is out of date",
    CARD_MISSING: "The emergency card was not confirmed",
    CARD_UNAVAILABLE: "No emergency card can be printed for this account",
}


def findings_for(confirmations: list[Confirmation]) -> list[Finding]:
    """What the confirmations found to act on: a card that is stale, unconfirmed or cannot be printed."""
    status = card_status(confirmations)
    if status is None or status["status"] == CARD_CURRENT_STATUS:
        return []
    card = next(c for c in confirmations if c.id == CARD_CURRENT)
    return [
        Finding(
            severity="warning",
            title=_CARD_FINDINGS[str(status["status"])],
            detail=card.detail or "",
            step="confirmations",
        )
    ]


def _yes(answer: str | None) -> bool | None:
    if answer is None:
        return None
    return answer.strip().lower() in ("y", "yes")
