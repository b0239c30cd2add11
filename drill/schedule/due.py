"""When each break-glass account is due, which reminder is owed now, and which were already sent.

Everything here is pure and takes `now` as an argument: the scheduler, `drill schedule status` and the
time-travel tests all ask the same questions of the same code, with whatever clock they hold.

Rules (the why):
- An account is due `cycle_days` after its last PASS (a FAIL or INCOMPLETE drill proves nothing, so it does
  not move the date). An account never drilled to PASS is due now.
- Reminders fire at each lead time before the due instant; escalations fire once per cadence (daily) once
  the due instant has passed. Only the most urgent notice owed is sent: a workstation that was off through
  the 30- and 7-day reminders sends one "7 days" reminder, not both, and an account overdue for a week
  after a long stop gets one escalation, not seven (the rest are recorded as superseded).
- Each notice belongs to a *series* (account + due date) and has a *rank* that grows with urgency. The sent
  record keeps, per series, every key sent and the highest rank sent; a notice is owed only if its key is
  new and its rank is above that high-water mark. So a restart never re-sends, and a clock that jumps back
  (NTP step, VM snapshot restore) never re-sends an earlier, less urgent notice either.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from drill.evidence.model import Verdict
from drill.fsutil import create_private, private_mkdir
from drill.isotime import parse_utc

DAY = timedelta(days=1)
SUPERSEDED_RANK = -(10**9)  # a superseded stage blocks its own key only, never a later stage


def parse_time(value: Any) -> datetime | None:
    """An ISO timestamp from a ledger line as an aware UTC datetime (naive ones are taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_utc(value)
    except ValueError:
        return None


def _drill_time(entry: Mapping[str, Any]) -> datetime | None:
    return parse_time(entry.get("ended_at")) or parse_time(entry.get("started_at"))


@dataclass(frozen=True)
class AccountStatus:
    """What the ledger says about one account, and when it is next due."""

    tenant_id: str
    account: str
    cycle_days: int
    last_drill: Mapping[str, Any] | None = None  # latest drill line of any verdict
    last_pass_at: datetime | None = None
    last_keyless: Mapping[str, Any] | None = None  # latest keyless-check line of the tenant
    last_audit: Mapping[str, Any] | None = None  # latest posture-audit line of the tenant

    @property
    def due_at(self) -> datetime | None:
        """None means never drilled to PASS: due now."""
        if self.last_pass_at is None:
            return None
        return self.last_pass_at + timedelta(days=self.cycle_days)

    def days_left(self, now: datetime) -> int | None:
        """Calendar days (UTC) until the due date, negative when overdue; None when never passed."""
        due = self.due_at
        return None if due is None else (due.date() - now.astimezone(UTC).date()).days

    def overdue(self, now: datetime) -> bool:
        due = self.due_at
        return due is None or now >= due


def account_statuses(
    entries: Iterable[Mapping[str, Any]],
    tenant_id: str,
    accounts: Sequence[str],
    cycle_days: int,
) -> list[AccountStatus]:
    """One status per named account, in the playbook's order, from ledger lines (any order).

    Lines of another tenant are ignored (one ledger may serve several playbooks); lines without a tenant
    id count for every tenant, since older or hand-made ledgers may lack it.
    """
    last: dict[str, tuple[datetime, Mapping[str, Any]]] = {}
    last_pass: dict[str, datetime] = {}
    keyless: tuple[datetime, Mapping[str, Any]] | None = None
    audit: tuple[datetime, Mapping[str, Any]] | None = None
    for entry in entries:
        tid = entry.get("tenant_id")
        if tid not in (None, "", tenant_id):
            continue
        kind = entry.get("kind")
        if kind == "audit":
            at = parse_time(entry.get("ended_at"))
            if at is not None and (audit is None or at >= audit[0]):
                audit = (at, entry)
            continue
        if kind == "keyless-check":
            at = parse_time(entry.get("checked_at"))
            if at is not None and (keyless is None or at >= keyless[0]):
                keyless = (at, entry)
            continue
        if kind != "drill":
            continue
        name, at = entry.get("account"), _drill_time(entry)
        if not isinstance(name, str) or at is None:
            continue
        if name not in last or at >= last[name][0]:
            last[name] = (at, entry)
        if entry.get("verdict") == Verdict.PASS.value and (name not in last_pass or at > last_pass[name]):
            last_pass[name] = at
    return [
        AccountStatus(
            tenant_id=tenant_id,
            account=name,
            cycle_days=cycle_days,
            last_drill=last[name][1] if name in last else None,
            last_pass_at=last_pass.get(name),
            last_keyless=keyless[1] if keyless else None,
            last_audit=audit[1] if audit else None,
        )
        for name in accounts
    ]


class Due(Protocol):
    """What a reminder series is about: an account's next drill, or a person's practice (audit/practice.py).

    `account` names the series (a person's is `practice:<name>`); `due_at` None means due now.
    """

    @property
    def tenant_id(self) -> str: ...

    @property
    def account(self) -> str: ...

    @property
    def due_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class Reminder:
    """One notice owed to the people who drill an account."""

    key: str  # unique forever: series + stage
    series: str  # account + due date: a new PASS starts a new series
    rank: int  # grows with urgency within a series
    kind: Literal["reminder", "overdue"]
    tenant_id: str
    account: str
    due_at: datetime | None
    lead_days: int | None = None
    overdue_days: int | None = None
    superseded: tuple[str, ...] = field(default=())  # earlier stages this one stands in for


def _series(status: Due) -> str:
    due = status.due_at
    return f"{status.tenant_id}/{status.account}/{due.isoformat() if due else 'never-passed'}"


def owed_reminder(
    status: Due,
    lead_days: Sequence[int],
    now: datetime,
    sent: SentView,
    escalate_every: timedelta = DAY,
) -> Reminder | None:
    """The single most urgent notice owed now for this account, or None.

    Stages of a series, least to most urgent: each lead time (largest first), then escalation n = 0, 1, 2
    ... at due + n * cadence. Lead time 0 coincides with escalation 0 and is folded into it. For an account
    never drilled to PASS there is no due instant, so escalations count calendar days (UTC) instead.
    """
    series = _series(status)
    due = status.due_at
    stages: list[tuple[int, str, datetime, Literal["reminder", "overdue"], int]] = []
    if due is None:
        day = now.date().toordinal()
        start = datetime.combine(now.date(), datetime.min.time(), UTC)
        stages.append((day, f"{series}/day-{now.date().isoformat()}", start, "overdue", 0))
    else:
        for lead in sorted({d for d in lead_days if d > 0}, reverse=True):
            stages.append((-lead, f"{series}/lead-{lead}d", due - timedelta(days=lead), "reminder", lead))
        if now >= due:
            n = int((now - due) // escalate_every)
            for i in range(n + 1):
                stages.append((i + 1, f"{series}/overdue-{i}", due + i * escalate_every, "overdue", i))
    reached = [s for s in stages if s[2] <= now]
    if not reached:
        return None
    rank, key, _at, kind, number = max(reached, key=lambda s: s[0])
    if key in sent.keys or rank <= sent.high_water(series):
        return None
    earlier = tuple(s[1] for s in reached if s[0] < rank and s[1] not in sent.keys)
    return Reminder(
        key=key,
        series=series,
        rank=rank,
        kind=kind,
        tenant_id=status.tenant_id,
        account=status.account,
        due_at=due,
        lead_days=number if kind == "reminder" else None,
        overdue_days=(number if due is not None else None) if kind == "overdue" else None,
        superseded=earlier,
    )


class SentView:
    """What has been sent, as `owed_reminder` needs it (an in-memory snapshot of the store)."""

    def __init__(self, keys: Iterable[str] = (), high: Mapping[str, int] | None = None) -> None:
        self.keys = set(keys)
        self._high = dict(high or {})

    def high_water(self, series: str) -> int:
        return self._high.get(series, SUPERSEDED_RANK)

    def add(self, series: str, key: str, rank: int) -> None:
        self.keys.add(key)
        self._high[series] = max(rank, self.high_water(series))


class SentStore:
    """The durable record of notices sent (SQLite in the state folder), so restarts never re-send.

    `claim` records a notice *before* it is delivered and `release` forgets it when delivery failed, so the
    next check retries; a crash between claim and delivery loses that one notice rather than duplicating
    it (the log notifier has already written it by then). Superseded stages are recorded with the claim.
    """

    def __init__(self, path: Path) -> None:
        private_mkdir(path.parent)
        create_private(path)  # SQLite gives its -wal and -shm files the database's mode
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS sent (key TEXT PRIMARY KEY, series TEXT NOT NULL, "
                "rank INTEGER NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    def view(self) -> SentView:
        with self._lock, contextlib.closing(self._connect()) as db:
            rows = db.execute("SELECT key, series, rank FROM sent").fetchall()
        view = SentView()
        for key, series, rank in rows:
            view.add(series, key, int(rank))
        return view

    def claim(self, key: str, series: str, rank: int, at: datetime, superseded: Iterable[str] = ()) -> bool:
        """Atomically record a notice (and the stages it supersedes); False if it, or a more urgent
        stage of its series, is already recorded (another process won, or the clock went back)."""
        with self._lock, contextlib.closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT COUNT(*) FROM sent WHERE series = ? AND (key = ? OR rank >= ?)",
                    (series, key, rank),
                ).fetchone()
                if row[0]:
                    db.execute("ROLLBACK")
                    return False
                db.execute(
                    "INSERT INTO sent VALUES (?, ?, ?, 'sending', ?)", (key, series, rank, at.isoformat())
                )
                db.executemany(
                    "INSERT OR IGNORE INTO sent VALUES (?, ?, ?, 'superseded', ?)",
                    [(k, series, SUPERSEDED_RANK, at.isoformat()) for k in superseded],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return True

    def delivered(self, key: str) -> None:
        with self._lock, contextlib.closing(self._connect()) as db:
            db.execute("UPDATE sent SET state = 'sent' WHERE key = ?", (key,))

    def release(self, key: str) -> None:
        """Delivery failed: forget the claim (superseded stages stay superseded) so the next check retries."""
        with self._lock, contextlib.closing(self._connect()) as db:
            db.execute("DELETE FROM sent WHERE key = ? AND state = 'sending'", (key,))

    def records(self) -> list[tuple[str, str]]:
        """(key, state) of every record, oldest first: for tests and `status`."""
        with self._lock, contextlib.closing(self._connect()) as db:
            return [(k, s) for k, s in db.execute("SELECT key, state FROM sent ORDER BY rowid")]
