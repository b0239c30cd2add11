"""`drill schedule run`: APScheduler keeps every account on its cycle, reminds people, checks drift daily.

The scheduler never signs in by itself: a live drill needs the operator and the key, so all it can do is
remind (hourly check per account: `due.owed_reminder`) and run the daily keyless check.

Why these APScheduler settings:
- Jobs live in a SQLAlchemy job store on SQLite in the state folder, so a restart keeps each job's next run
  time. On start, jobs already in the store are kept as they are (``add_job(replace_existing=True)`` would
  recompute the next run and lose a missed one); only new jobs are added, due at once.
- ``coalesce=True`` and ``misfire_grace_time=None``: a workstation that was off for a month runs each job
  once when it comes back (one catch-up run), however late. A grace limit would silently drop that run.
- One worker thread: the checks are short, and serial runs keep the ledger and the sent record simple.

Jobs are stored as text references to `reminder_job` / `keyless_job` with plain string arguments; what they
act on (playbooks, notifiers, clock, probes) is the `ScheduleRuntime` of the scheduler running in this
process, so nothing unpicklable or secret is written to the job store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drill.fsutil import private_mkdir
from drill.logs import get_logger
from drill.schedule.due import SentStore, account_statuses, owed_reminder
from drill.schedule.keyless import (
    KeylessCheck,
    KeylessProbes,
    KeylessResult,
    keyless_check,
    record_keyless,
)
from drill.schedule.notify import (
    SUBJECT_PREFIX,
    Notice,
    Notifier,
    inert,
    practice_notice,
    reminder_notice,
)
from drill.schedule.watch import ActivityProbe
from drill.schedule.watch_check import WatchOutcome, problem_notice, unplanned_notice
from drill.schedule.watch_check import run as run_watch

if TYPE_CHECKING:
    from drill.audit.run import AuditRun, FactReader
    from drill.evidence.audit_bundle import PdfRenderer
    from drill.evidence.signing import Signer
    from drill.playbook import Playbook

JOBS_DB = "jobs.sqlite"
SENT_DB = "sent.sqlite"
log = get_logger("drill.schedule.scheduler")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Target:
    """One playbook the scheduler watches: its ledger and how to reach its people."""

    playbook: Playbook
    ledger_path: Path
    notifiers: Sequence[Notifier]
    signer: Signer | None = None  # the playbook's evidence key; default: the runtime's

    @property
    def tenant_id(self) -> str:
        return str(self.playbook.tenant.id)


@dataclass
class ScheduleRuntime:
    """Everything the jobs act on; one per scheduler process."""

    targets: list[Target]
    state_dir: Path
    signer: Signer
    clock: Callable[[], datetime] = system_clock
    probes_for: Callable[[Playbook], KeylessProbes] | None = None
    # Reads the break-glass accounts' activity for the unplanned-use watch (drill.schedule.watch).
    activity_for: Callable[[Playbook], ActivityProbe] | None = None
    # The daily posture audit's readers for a playbook (drill.audit.run.default_readers on the observer).
    # When set, the daily job runs the whole audit in place of the narrower keyless check.
    audit_readers_for: Callable[[Playbook], list[FactReader]] | None = None
    audit_pdf: PdfRenderer | None = None
    # The permission self-check for a playbook's scheduler features: one line per missing grant.
    permissions_for: Callable[[Playbook], list[str]] | None = None
    blocked: dict[str, list[str]] = field(default_factory=dict)  # tenant -> missing grants, last check
    sent: SentStore = field(init=False)

    def __post_init__(self) -> None:
        self.sent = SentStore(self.state_dir / SENT_DB)

    def target(self, tenant_id: str) -> Target | None:
        return next((t for t in self.targets if t.tenant_id == tenant_id), None)

    # --- reminders ------------------------------------------------------------------------------------
    def check_reminders(self, tenant_id: str | None = None, account: str | None = None) -> list[Notice]:
        """Send what is owed now (at most one notice per account); returns the notices delivered."""
        from drill.evidence import ledger

        now = self.clock()
        delivered: list[Notice] = []
        for target in self.targets:
            if tenant_id is not None and target.tenant_id != tenant_id:
                continue
            pb = target.playbook
            # Due dates come only from lines signed by the key this target's drills sign with: a line
            # signed by any other key, unsigned or edited is tampering and counts as no drill (escalates).
            pinned = {(target.signer or self.signer).fingerprint}
            report = ledger.verify(target.ledger_path, pinned) if target.ledger_path.exists() else None
            if report is not None and not report.ok:
                delivered += self._ledger_broken(target, report.problems, now)
            names = [a.name for a in pb.accounts if account is None or a.name == account]
            entries = report.verified if report is not None else []
            for status in account_statuses(entries, target.tenant_id, names, pb.schedule.cycle_days):
                owed = owed_reminder(status, pb.schedule.reminder_lead_days, now, self.sent.view())
                if owed is None:
                    continue
                notice = reminder_notice(owed, status, now)
                if self._deliver(target, notice, owed.series, owed.rank, now, owed.superseded):
                    delivered.append(notice)
            delivered += self._practice(target, entries, account, now)
        return delivered

    def _practice(
        self, target: Target, entries: list[Any], account: str | None, now: datetime
    ) -> list[Notice]:
        """Remind about each authorised person whose practice ran out (BG.PROC.4's question, verified lines
        only). Each person is checked in the reminder job of the first account they may use."""
        from drill.audit.practice import passed_drills, practice

        pb, out = target.playbook, []
        for person in practice(passed_drills(entries, target.tenant_id), pb):
            if account is not None and person.accounts[0] != account:
                continue
            owed = owed_reminder(person, pb.schedule.reminder_lead_days, now, self.sent.view())
            if owed is None:
                continue
            notice = practice_notice(owed, person, now)
            if self._deliver(target, notice, owed.series, owed.rank, now, owed.superseded):
                out.append(notice)
        return out

    def _ledger_broken(self, target: Target, problems: list[str], now: datetime) -> list[Notice]:
        """A ledger that does not verify may have been tampered with: say so, once a day."""
        day = now.date()
        notice = Notice(
            f"{target.tenant_id}/ledger-broken/{day.isoformat()}",
            "critical",
            f"{SUBJECT_PREFIX} The drill ledger does not verify",
            f"{target.ledger_path} failed verification (tampering?). Lines that do not verify, or are not "
            "signed by this workstation's evidence key, count as no drill, so the accounts they name are "
            "treated as due.\n"
            + "\n".join(inert(p) for p in problems[:10])
            + f"\nRun `drill verify --ledger {target.ledger_path}`.",
        )
        series = f"{target.tenant_id}/ledger-broken"
        sent = self._deliver(target, notice, series, day.toordinal(), now)
        return [notice] if sent else []

    def _deliver(
        self,
        target: Target,
        notice: Notice,
        series: str,
        rank: int,
        now: datetime,
        superseded: Sequence[str] = (),
    ) -> bool:
        if not self.sent.claim(notice.key, series, rank, now, superseded):
            return False
        try:
            for notifier in target.notifiers:
                notifier.send(notice)
        except Exception as exc:  # a failed mail is retried at the next check
            self.sent.release(notice.key)
            log.exception(
                "schedule.notice_failed", notice_key=notice.key, error=f"{type(exc).__name__}: {exc}"
            )
            return False
        self.sent.delivered(notice.key)
        return True

    # --- keyless checks -------------------------------------------------------------------------------
    def run_keyless(self, tenant_id: str) -> KeylessResult | None:
        """Run and ledger the keyless check of one playbook; a failure is also a notice (once a day)."""
        target = self.target(tenant_id)
        if target is None or self.probes_for is None or not target.playbook.schedule.daily_keyless_check:
            return None
        now = self.clock()
        try:
            probes = self.probes_for(target.playbook)
        except Exception as exc:  # noqa: BLE001 - no observer is itself the drift to record
            check = KeylessCheck("observer", "Observer credential", False, f"{type(exc).__name__}: {exc}")
            result = KeylessResult(tenant_id, now, [check])
        else:
            result = keyless_check(target.playbook, probes, now)
        record_keyless(target.ledger_path, result, target.signer or self.signer)
        log.info("schedule.keyless_check", tenant_id=tenant_id, status="pass" if result.ok else "fail")
        if not result.ok:
            day = now.date()
            failed = "\n".join(f"- {inert(c.title)}: {inert(c.reason)}" for c in result.failed)
            notice = Notice(
                f"{tenant_id}/keyless/{day.isoformat()}",
                "critical",
                f"{SUBJECT_PREFIX} Keyless check failed: {len(result.failed)} problem(s)",
                f"The daily keyless check found drift that would fail the next drill:\n{failed}\n"
                "Fix it before the next drill; `drill preflight PLAYBOOK` shows the details.",
                facts={"failed": [c.id for c in result.failed]},
            )
            self._deliver(target, notice, f"{tenant_id}/keyless", day.toordinal(), now)
        return result

    # --- the daily posture audit -------------------------------------------------------------------------
    def run_audit(self, tenant_id: str) -> AuditRun | None:
        """Audit one playbook's tenant, sign the bundle beside its ledger, and ledger the drift.

        The audit line carries every check's status and what changed since the previous verified audit
        line, so the ledger shows the day a control drifted. A failing audit or any drift is a notice.
        """
        from drill.audit.cards import NOTE_PREFIX as CARD_NOTE
        from drill.audit.cards import STALE
        from drill.audit.run import audit, write

        target = self.target(tenant_id)
        if (
            target is None
            or self.audit_readers_for is None
            or not target.playbook.schedule.daily_keyless_check
        ):
            return None
        signer = target.signer or self.signer
        if self.permissions_missing(tenant_id):
            return None
        try:
            readers = self.audit_readers_for(target.playbook)
        except Exception as exc:  # noqa: BLE001 - no observer is itself the drift to record
            reason = f"{type(exc).__name__}: {str(exc)[:300]}"

            def observer(facts: Any, _pb: Any) -> None:
                raise RuntimeError(f"no observer credential: {reason}")

            readers = [observer]
        run = audit(
            target.playbook,
            readers,
            ledger_path=target.ledger_path,
            pinned={signer.fingerprint},
            now=self.clock,
        )
        write(run, target.ledger_path.parent, signer, pdf=self.audit_pdf, ledger_path=target.ledger_path)
        record = run.record
        log.info("schedule.audit", tenant_id=tenant_id, verdict=record.verdict.value, drift=len(record.drift))
        cards = [n for n in record.notes if n.startswith(CARD_NOTE)]
        stale = [n for n in cards if STALE in n]
        if record.failing or record.drift or stale:
            day = self.clock().date()
            failed = "\n".join(
                f"- {inert(c.id)} {inert(c.title)}: {inert(c.summary)}" for c in record.failing[:20]
            )
            changed = "\n".join(
                f"- {inert(d.id)} {inert(d.title)}: {inert(d.before)} -> {inert(d.after)}"
                for d in record.drift[:20]
            )
            bundle = run.finished.path if run.finished else "(not written)"
            notice = Notice(
                f"{tenant_id}/audit/{day.isoformat()}",
                "critical" if record.failing else "warning",
                f"{SUBJECT_PREFIX} Posture audit: {len(record.failing)} failed, {len(record.drift)} changed"
                + (f", {len(stale)} emergency card(s) stale" if stale else ""),
                (f"Failed checks:\n{failed}\n" if failed else "")
                + (f"Changed since the previous audit:\n{changed}\n" if changed else "")
                + (
                    "Emergency cards:\n" + "\n".join(f"- {inert(n)}" for n in cards[:20]) + "\n"
                    if cards
                    else ""
                )
                + f"Evidence: {bundle}\nRe-run by hand: drill audit PLAYBOOK",
                facts={
                    "failed": [c.id for c in record.failing],
                    "drift": [d.id for d in record.drift],
                    "stale_cards": len(stale),
                },
            )
            self._deliver(target, notice, f"{tenant_id}/audit", day.toordinal(), self.clock())
        return run

    def permissions_missing(self, tenant_id: str) -> list[str]:
        """Run the self-check; each missing grant is one line of one notice (once a day), and the job that
        needs it does not run (its errors would only repeat the missing grant, check by check)."""
        target = self.target(tenant_id)
        if target is None or self.permissions_for is None:
            return []
        lines = self.permissions_for(target.playbook)
        self.blocked[tenant_id] = lines
        if lines:
            now = self.clock()
            day = now.date()
            log.error("schedule.permissions_missing", tenant_id=tenant_id, missing=len(lines))
            notice = Notice(
                f"{tenant_id}/permissions/{day.isoformat()}",
                "critical",
                f"{SUBJECT_PREFIX} Missing permission: {len(lines)} grant(s) the scheduler needs",
                "\n".join(f"- {inert(line)}" for line in lines)
                + "\nThe daily audit did not run. `drill preflight PLAYBOOK` shows the same lines.",
                facts={"missing": lines},
            )
            self._deliver(target, notice, f"{tenant_id}/permissions", day.toordinal(), now)
        return lines

    # --- the unplanned-use watch --------------------------------------------------------------------
    def watch_unplanned(self, tenant_id: str) -> WatchOutcome:
        """Ledger every break-glass activity that matches no drill; one notice for the uses not yet told.

        The ledger is the state: a use already in it (verified) is not ledgered again after a restart, and
        its notice goes out only if the sent store has not delivered it (a failed mail is retried). What
        makes the run untrustworthy (`drill.schedule.watch_check`) is a critical notice once a day per kind.
        """
        target = self.target(tenant_id)
        if target is None or self.activity_for is None:
            return WatchOutcome()
        now, probe_for = self.clock(), self.activity_for
        signer = target.signer or self.signer
        outcome = run_watch(target.playbook, target.ledger_path, signer, self.state_dir,
                            lambda: probe_for(target.playbook), now)  # fmt: skip
        day = now.date()
        for kind, text in outcome.problems:
            notice = problem_notice(tenant_id, kind, text, target.ledger_path, day.isoformat())
            if self._deliver(target, notice, f"{tenant_id}/watch-{kind}", day.toordinal(), now):
                outcome.notices.append(notice)
        # Each use is claimed under its own key (so it is told once, whatever the grouping), then the
        # claimed ones go out as one notice: an attacker's sign-in and role change are one incident.
        keys = {str(u.get("use_id")): f"{tenant_id}/unplanned/{u.get('use_id')}" for u in outcome.to_notify}
        claimed = []
        for use in outcome.to_notify:
            key = keys[str(use.get("use_id"))]
            if self.sent.claim(key, key, 1, now):
                claimed.append(use)
        if claimed:
            notice = unplanned_notice(claimed)
            try:
                for notifier in target.notifiers:
                    notifier.send(notice)
            except Exception as exc:  # a failed mail is retried at the next check
                for use in claimed:
                    self.sent.release(keys[str(use.get("use_id"))])
                error = f"{type(exc).__name__}: {exc}"
                log.exception("schedule.notice_failed", notice_key=notice.key, error=error)
            else:
                for use in claimed:
                    self.sent.delivered(keys[str(use.get("use_id"))])
                outcome.notices.append(notice)
        return outcome


# --- the jobs APScheduler stores (text references, string arguments) ------------------------------------
_runtime: ScheduleRuntime | None = None
_runtime_lock = threading.Lock()


def _current() -> ScheduleRuntime:
    if _runtime is None:
        raise RuntimeError("no schedule runtime in this process: start a DrillScheduler first")
    return _runtime


def reminder_job(tenant_id: str, account: str) -> None:
    _current().check_reminders(tenant_id, account)


def keyless_job(tenant_id: str) -> None:
    """The daily job (its stored name predates the audit): the posture audit, else the keyless check."""
    runtime = _current()
    if runtime.audit_readers_for is not None:
        runtime.run_audit(tenant_id)
    else:
        runtime.run_keyless(tenant_id)
    runtime.watch_unplanned(tenant_id)


def reminder_job_id(tenant_id: str, account: str) -> str:
    return f"reminder:{tenant_id}:{account}"


def keyless_job_id(tenant_id: str) -> str:
    return f"keyless:{tenant_id}"


class DrillScheduler:
    """A BackgroundScheduler on a persistent SQLite job store, with the jobs of the runtime's playbooks."""

    def __init__(
        self,
        runtime: ScheduleRuntime,
        *,
        reminder_every: timedelta = timedelta(hours=1),
        keyless_every: timedelta = timedelta(days=1),
    ) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        private_mkdir(runtime.state_dir)
        self.runtime = runtime
        self.reminder_every = reminder_every
        self.keyless_every = keyless_every
        self.jobs_url = f"sqlite:///{(runtime.state_dir / JOBS_DB).resolve()}"
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=self.jobs_url)},
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=UTC,
        )

    def desired_jobs(self) -> dict[str, tuple[Callable[..., None], list[str], timedelta]]:
        jobs: dict[str, tuple[Callable[..., None], list[str], timedelta]] = {}
        for target in self.runtime.targets:
            for account in target.playbook.accounts:
                jobs[reminder_job_id(target.tenant_id, account.name)] = (
                    reminder_job,
                    [target.tenant_id, account.name],
                    self.reminder_every,
                )
            daily = (
                self.runtime.probes_for is not None
                or self.runtime.activity_for is not None
                or self.runtime.audit_readers_for is not None
            )
            if target.playbook.schedule.daily_keyless_check and daily:
                jobs[keyless_job_id(target.tenant_id)] = (keyless_job, [target.tenant_id], self.keyless_every)
        return jobs

    def start(self) -> None:
        """Install the runtime, start the scheduler, and reconcile the stored jobs with the playbooks."""
        global _runtime
        with _runtime_lock:
            if _runtime is not None and _runtime is not self.runtime:
                raise RuntimeError("another DrillScheduler is running in this process")
            _runtime = self.runtime
        # Paused first: stored jobs are reconciled before any of them runs.
        self.scheduler.start(paused=True)
        wanted = self.desired_jobs()
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                log.info("schedule.job_removed", job_id=job.id)
                job.remove()
        now = datetime.now(UTC)
        for job_id, (func, args, every) in wanted.items():
            if self.scheduler.get_job(job_id) is not None:
                continue  # keep its stored next run time: a missed run is the catch-up
            self.scheduler.add_job(
                func,
                "interval",
                seconds=int(every.total_seconds()),
                args=args,
                id=job_id,
                name=job_id,
                next_run_time=now,
            )
        self.scheduler.resume()

    def jobs(self) -> list[Any]:
        return list(self.scheduler.get_jobs())

    def shutdown(self, wait: bool = True) -> None:
        global _runtime
        try:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=wait)
        finally:
            with _runtime_lock:
                if _runtime is self.runtime:
                    _runtime = None
