"""The compliance controls a break-glass drill evidences, and the operator's post-drill confirmations.

The list is fixed (the drill proves the same things every time); it is written into each record when the
drill starts, so a signed report states what it was evidence for, and an old bundle says nothing it did
not say when it was signed. Titles are the frameworks' own control names, shortened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from drill.evidence.model import Confirmation, Control

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
STATEMENTS = {
    KEY_RESEALED: "The security key was returned to its storage location and resealed",
    PIN_ENVELOPE: "The PIN envelope is intact (not opened, tamper seal unbroken)",
}

# (question, answer) -> the answer typed, or None when the operator gave none (EOF, Ctrl-C)
Ask = Callable[[str, bool], str | None]


def controls() -> list[Control]:
    return list(CONTROLS)


def confirm(ask: Ask, operator: str | None, storage_location: str | None) -> list[Confirmation]:
    """Ask the operator the post-drill questions; a refused or missing answer is recorded as not confirmed.

    `ask(question, secret=False)` returns text: "y"/"n" for yes-no questions, the seal id for the seal.
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
    return out


def _yes(answer: str | None) -> bool | None:
    if answer is None:
        return None
    return answer.strip().lower() in ("y", "yes")
