"""Who has practised: each authorised person's last part, as operator or witness, in a verified PASS drill.

The design asks that the people who may use the accounts know what they are, where they are, and how and
when to use them. A drill names its operator and witness, and its ledger line carries both; a person who
never took part in a drill that passed learns the procedure in the emergency. Only lines that verify
under the pinned key count (the caller passes `LedgerReport.verified` lines, as for BG.PROC.1), so a
forged line cannot make anyone look practised.

Names are compared ignoring case and whitespace ("Alice  Example" is "alice example"): the operator types
their name at the prompt and the playbook lists it; anything more lenient would let a stranger's name
stand for an authorised person. Pure functions over ledger lines and the playbook: the audit check
(BG.PROC.4) and `drill schedule`'s reminders ask the same question of the same code.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from drill.isotime import parse_utc

if TYPE_CHECKING:
    from drill.playbook import Playbook

ROLES = ("operator", "witness")


def normalised(name: str) -> str:
    return " ".join(name.split()).casefold()


def add_months(when: datetime, months: int) -> datetime:
    """`when` moved by whole calendar months (negative: back), the day clamped to the month's end."""
    index = when.year * 12 + when.month - 1 + months
    year, month = divmod(index, 12)
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class Participation:
    drill_id: str
    account: str
    role: str
    at: datetime


@dataclass(frozen=True)
class Practice:
    """One authorised person (as the playbook spells them) and their last part in a verified PASS drill."""

    tenant_id: str
    person: str
    accounts: tuple[str, ...]  # the accounts they are authorised for
    months: int
    last: Participation | None = None

    @property
    def account(self) -> str:
        """The reminder series key (drill.schedule.due): a person's, never an account's."""
        return f"practice:{normalised(self.person)}"

    @property
    def due_at(self) -> datetime | None:
        """When their practice runs out; None: never practised (due now)."""
        return add_months(self.last.at, self.months) if self.last else None

    def current(self, now: datetime) -> bool:
        return self.last is not None and self.last.at >= add_months(now, -self.months)


@dataclass
class _Person:
    spelling: str
    accounts: list[str] = field(default_factory=list)


def passed_drills(entries: Iterable[Mapping[str, Any]], tenant_id: str) -> list[dict[str, Any]]:
    """The PASS drill lines of a tenant, reduced to what the practice check shows as evidence."""
    out = []
    for entry in entries:
        if entry.get("kind") != "drill" or entry.get("verdict") != "PASS":
            continue
        if entry.get("tenant_id") != tenant_id:
            continue
        out.append({k: entry.get(k) for k in ("drill_id", "account", "ended_at", "started_at", *ROLES)})
    return out


def _participations(drills: Iterable[Mapping[str, Any]]) -> dict[str, Participation]:
    """normalised name -> the person's latest participation."""
    latest: dict[str, Participation] = {}
    for drill in drills:
        raw = drill.get("ended_at") or drill.get("started_at")
        if not isinstance(raw, str):
            continue
        try:
            at = parse_utc(raw)
        except ValueError:
            continue
        for role in ROLES:
            name = drill.get(role)
            if not isinstance(name, str) or not name.strip():
                continue
            key = normalised(name)
            if key not in latest or at > latest[key].at:
                latest[key] = Participation(str(drill.get("drill_id")), str(drill.get("account")), role, at)
    return latest


def practice(drills: Iterable[Mapping[str, Any]], playbook: Playbook) -> list[Practice]:
    """Every authorised person of the playbook, once, in playbook order, with their last participation.

    `drills` are verified PASS drill lines of the playbook's tenant (`passed_drills`).
    """
    people: dict[str, _Person] = {}
    for account in playbook.accounts:
        for name in account.authorised_people:
            if not name.strip():
                continue
            person = people.setdefault(normalised(name), _Person(name))
            if account.name not in person.accounts:
                person.accounts.append(account.name)
    latest = _participations(drills)
    tenant, months = str(playbook.tenant.id), playbook.schedule.practice_months
    return [
        Practice(tenant, p.spelling, tuple(p.accounts), months, latest.get(key)) for key, p in people.items()
    ]
