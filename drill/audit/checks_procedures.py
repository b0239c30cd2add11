"""Posture checks: procedures (BG.PROC.*), judged from the ledger and the playbook's own records.

No service can tell whether a key was tested or who may fetch it: the ledger (drills that passed) and the
playbook (where each key lives, who may use it) are the only records, so these checks read them and hold
them to the same standard as a tenant setting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from drill.audit.model import CheckFn, Outcome
from drill.audit.practice import practice
from drill.isotime import parse_utc

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook


def _normalised(text: str) -> str:
    """Case and whitespace do not make two places different ("Safe A" and " safe  a " are one safe)."""
    return " ".join(text.split()).casefold()


def last_pass_within_cycle(facts: Facts, playbook: Playbook) -> Outcome:
    """BG.PROC.1: each account's last PASS drill is at most `schedule.cycle_days` before the audit."""
    if "last_pass" in facts.unread:
        return Outcome.error(f"the ledger could not be read (last_pass): {facts.unread['last_pass']}")
    cycle = timedelta(days=playbook.schedule.cycle_days)
    offenders: list[str] = []
    evidence = []
    for account in playbook.accounts:
        raw = facts.last_pass.get(account.name)
        entry: dict[str, object] = {
            "account": account.name,
            "lastPass": raw,
            "cycleDays": playbook.schedule.cycle_days,
        }
        evidence.append(entry)
        if raw is None:
            offenders.append(f"{account.name}: never passed a drill")
            continue
        try:
            when = parse_utc(raw)
        except ValueError:
            offenders.append(
                f"{account.name}: the ledger's last PASS time {raw!r} is not an ISO 8601 instant"
            )
            continue
        age = facts.read_at - when
        entry["ageDays"] = round(age.total_seconds() / 86400, 1)
        if age > cycle:
            offenders.append(
                f"{account.name}: last PASS {raw}, {age.days} days ago "
                f"(cycle {playbook.schedule.cycle_days} days)"
            )
    if offenders:
        return Outcome.failed(
            f"{len(offenders)} of {len(playbook.accounts)} accounts have no PASS drill within "
            f"{playbook.schedule.cycle_days} days",
            evidence,
            offenders,
        )
    return Outcome.passed(
        f"every account passed a drill within {playbook.schedule.cycle_days} days", evidence
    )


def distinct_storage(facts: Facts, playbook: Playbook) -> Outcome:
    """BG.PROC.2: no two accounts' keys share a place (compared ignoring case and whitespace)."""
    by_place: dict[str, list[str]] = {}
    for account in playbook.accounts:
        by_place.setdefault(_normalised(account.storage_location), []).append(account.name)
    evidence = [{"account": a.name, "storage_location": a.storage_location} for a in playbook.accounts]
    shared = {place: names for place, names in by_place.items() if len(names) > 1}
    if shared:
        offenders = [
            f"{', '.join(names)} share the storage location {place!r}"
            for place, names in sorted(shared.items())
        ]
        return Outcome.failed(
            f"{sum(len(n) for n in shared.values())} keys share a storage location", evidence, offenders
        )
    return Outcome.passed(f"{len(playbook.accounts)} keys in {len(by_place)} distinct locations", evidence)


def two_people_per_key(facts: Facts, playbook: Playbook) -> Outcome:
    """BG.PROC.3: at least two distinct authorised people per account (duplicates counted once)."""
    offenders: list[str] = []
    evidence = []
    for account in playbook.accounts:
        people = {_normalised(p) for p in account.authorised_people if p.strip()}
        evidence.append({"account": account.name, "authorised_people": list(account.authorised_people)})
        if len(people) < 2:
            offenders.append(f"{account.name}: {len(people)} authorised person(s)")
    if offenders:
        return Outcome.failed(
            f"{len(offenders)} keys have fewer than two authorised people", evidence, offenders
        )
    return Outcome.passed("every key has at least two authorised people", evidence)


def people_practised(facts: Facts, playbook: Playbook) -> Outcome:
    """BG.PROC.4: every authorised person took part, as operator or witness, in a verified PASS drill within
    `schedule.practice_months` of the audit (the ledger's verified lines only, as for BG.PROC.1)."""
    if "passed_drills" in facts.unread:
        return Outcome.error(f"the ledger could not be read (passed_drills): {facts.unread['passed_drills']}")
    months = playbook.schedule.practice_months
    offenders: list[str] = []
    evidence = []
    people = practice(facts.passed_drills, playbook)
    for person in people:
        last = person.last
        entry: dict[str, object] = {"person": person.person, "accounts": list(person.accounts)}
        if last is not None:
            entry.update(
                lastDrill=last.drill_id, account=last.account, role=last.role, at=last.at.isoformat()
            )
        evidence.append(entry)
        if last is None:
            offenders.append(f"{person.person}: never took part in a verified PASS drill")
        elif not person.current(facts.read_at):
            offenders.append(
                f"{person.person}: last took part {last.at.date().isoformat()} ({last.role} of "
                f"{last.drill_id}), more than {months} months ago"
            )
    if offenders:
        return Outcome.failed(
            f"{len(offenders)} of {len(people)} authorised people have not practised in a PASS drill within "
            f"{months} months",
            evidence,
            offenders,
        )
    return Outcome.passed(
        f"all {len(people)} authorised people took part in a PASS drill within {months} months", evidence
    )


CHECKS: dict[str, CheckFn] = {
    "BG.PROC.1": last_pass_within_cycle,
    "BG.PROC.2": distinct_storage,
    "BG.PROC.3": two_people_per_key,
    "BG.PROC.4": people_practised,
}
