"""One run of the unplanned-use watch for one playbook: read, match, ledger, keep the head; and its notices.

The scheduler (`ScheduleRuntime.watch_unplanned`) runs this and delivers the notices it builds. Fail closed:
a read that failed, a required table no diagnostic setting sends, a ledger rolled back past the head the
scheduler recorded, or a scheduler state that does not verify is each a problem of the run (a critical
notice once a day, and `drill schedule run --once` exits 1), never "no unplanned use".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drill.logs import get_logger
from drill.schedule.due import parse_time
from drill.schedule.notify import SUBJECT_PREFIX, Notice, inert
from drill.schedule.watch import (
    LOOKBACK,
    SETTLE,
    Activity,
    ActivityProbe,
    Coverage,
    find_unplanned,
    unplanned_entry,
    unplanned_uses,
)
from drill.schedule.watch_state import WatchState, load, record_after, rollback, save, state_path

if TYPE_CHECKING:
    from drill.evidence.ledger import LedgerReport
    from drill.evidence.signing import Signer
    from drill.playbook import Playbook

log = get_logger("drill.schedule.scheduler")


@dataclass
class WatchOutcome:
    """What one run found: new uses ledgered, the tables read, the problems that make it untrustworthy."""

    found: list[Activity] = field(default_factory=list)
    coverage: Coverage | None = None
    # (kind, text), kind one of read, blind, rollback, state
    problems: list[tuple[str, str]] = field(default_factory=list)
    to_notify: list[Mapping[str, Any]] = field(default_factory=list)  # uses whose notice may still be owed
    notices: list[Notice] = field(default_factory=list)  # delivered by the scheduler

    @property
    def ok(self) -> bool:
        return not self.found and not self.problems


def run(
    playbook: Playbook,
    ledger_path: Path,
    signer: Signer,
    state_dir: Path,
    probe: Callable[[], ActivityProbe],
    now: datetime,
) -> WatchOutcome:
    from drill.evidence import ledger

    tid = str(playbook.tenant.id)
    out = WatchOutcome()
    pinned = {signer.fingerprint}
    where = state_path(state_dir, tid, ledger_path)
    previous, state_problem = load(where, pinned)
    if state_problem:
        out.problems.append(("state", state_problem))

    def verified() -> LedgerReport | None:
        return ledger.verify(ledger_path, pinned) if ledger_path.exists() else None

    report = verified()
    if previous is not None and (gone := rollback(previous, report)) is not None:
        out.problems.append(("rollback", gone))
    entries = list(report.verified) if report is not None else []
    account_of = {str(a.object_id): a.name for a in playbook.accounts}
    try:
        reading = probe().activity(list(account_of), now - LOOKBACK, now - SETTLE)
    except Exception as exc:  # a watch that cannot look is itself worth a notice
        log.exception("schedule.watch_failed", tenant_id=tid, error=f"{type(exc).__name__}: {exc}")
        out.problems.append(("read", f"{type(exc).__name__}: {str(exc)[:300]}"))
        reading = None
    if reading is not None:
        out.coverage = reading.coverage
        if reading.coverage.blind:
            why = "; ".join(reading.coverage.not_read.get(t, t) for t in reading.coverage.blind)
            out.problems.append(("blind", f"{', '.join(reading.coverage.blind)} not read: {why}"))
        for activity in find_unplanned(reading.rows, entries, tid, account_of):
            line = ledger.append(
                ledger_path, unplanned_entry(tid, activity, account_of.get(activity.user_id), now), signer
            )
            entries.append(line)
            out.found.append(activity)
            log.warning(
                "schedule.unplanned_use", tenant_id=tid, use_id=activity.use_id, table=activity.source
            )
    if state_problem is None:  # a record that does not verify is left for the operator to look at
        coverage = out.coverage.as_dict() if out.coverage else {"error": dict(out.problems).get("read")}
        save(where, record_after(previous, verified(), tid, ledger_path, now, coverage), signer)
    for use in unplanned_uses(entries, tid):
        detected = parse_time(use.get("detected_at"))
        if detected is None or detected >= now - LOOKBACK:  # older ones were notified then
            out.to_notify.append(use)
    return out


def problem_notice(tid: str, kind: str, text: str, ledger_path: Path, day: str) -> Notice:
    """The once-a-day critical notice for a run that cannot be trusted (`text` may quote a service error)."""
    text = inert(text)
    subjects = {
        "read": "The unplanned-use watch could not read the logs",
        "blind": "The unplanned-use watch cannot see every table it needs",
        "rollback": "The drill ledger was rolled back",
        "state": "The scheduler's record of the ledger does not verify",
    }
    bodies = {
        "read": f"Querying the break-glass accounts' sign-in and audit logs failed: {text}\nUntil it works, "
        "an unplanned use would go unseen by this tool; check the observer's access to the workspace.",
        "blind": f"{text}\nUntil an Entra diagnostic setting sends these categories to the workspace, an "
        "unplanned use would go unseen by this tool.",
        "rollback": f"{text}\nLedger: {ledger_path}",
        "state": f"{text}\nThe scheduler cannot tell whether {ledger_path} was rolled back. Look at the "
        "file; remove it only once the ledger is known to be whole (the next check records the head again).",
    }
    return Notice(f"{tid}/watch-{kind}/{day}", "critical", f"{SUBJECT_PREFIX} {subjects[kind]}", bodies[kind])


def unplanned_notice(uses: Sequence[Mapping[str, Any]]) -> Notice:
    """One critical notice for the uses one check found: what, who, when, and how to record each review."""
    # Log-derived text (an app's display name) is hostile input: control characters are shown, not sent.
    clean = [{k: inert(v) if isinstance(v, str) else v for k, v in u.items()} for u in uses]
    accounts = sorted({inert(u.get("account") or u.get("account_object_id")) for u in uses})
    lines = [
        f"- {u.get('use_id')}: {u.get('source')} shows {u.get('what')!r} by "
        f"{inert(u.get('account') or u.get('account_object_id'))} at {u.get('at')} "
        f"(CorrelationId {u.get('correlation_id')})"
        for u in clean
    ]
    first = clean[0]
    return Notice(
        f"{first.get('tenant_id')}/unplanned/{first.get('use_id')}",
        "critical",
        f"{SUBJECT_PREFIX} UNPLANNED USE of break-glass account {', '.join(accounts)}",
        f"No drill in the ledger accounts for {'this use' if len(uses) == 1 else f'these {len(uses)} uses'}"
        ":\n"
        + "\n".join(lines)
        + "\nPreserve the logs and review each now: a planned drill, an actual emergency, or misuse? Then "
        "record the review: drill review USE_ID --classification planned-drill|emergency|misuse --notes TEXT "
        "--playbook PLAYBOOK",
        account=", ".join(accounts),
        facts={
            "use_ids": [u.get("use_id") for u in clean],
            "sources": sorted({str(u.get("source")) for u in clean}),
        },
    )


def coverage_line(state: WatchState | None, problem: str | None, where: Path) -> str:
    """`drill schedule status`'s line about the watch: when it last ran and which tables it read."""
    if problem:
        return f"UNPLANNED-USE WATCH: {problem}"
    if state is None:
        return (
            f"Unplanned-use watch: no record in {where.parent} (the scheduler's watch has not run for this "
            "ledger here)"
        )
    cov = state.coverage
    if "read" not in cov:
        error = cov.get("error")
        return f"Unplanned-use watch, last run {state.checked_at}: the logs could not be read ({error})"
    read = ", ".join(cov.get("read") or []) or "no table"
    gaps = "; ".join(f"{t} NOT covered: {why}" for t, why in (cov.get("not_read") or {}).items())
    return f"Unplanned-use watch, last run {state.checked_at}: covered {read}" + (f"; {gaps}" if gaps else "")
