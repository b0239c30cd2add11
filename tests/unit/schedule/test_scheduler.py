"""The APScheduler layer: jobs persist in SQLite, a restart keeps them, a long stop is one catch-up run.

APScheduler reads the wall clock itself, so these tests move the *stored* next run times into the past (as
a long stop would leave them) and move the checks' own clock forward; they wait for job events, never sleep.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from schedule_support import T0, FakeClock, RecordingNotifier, drill_line

from drill.evidence.signing import Signer
from drill.playbook import Playbook
from drill.schedule.keyless import ProbeResult
from drill.schedule.scheduler import DrillScheduler, ScheduleRuntime, Target


class _HealthyProbes:
    def observer_logs(self) -> ProbeResult:
        return ProbeResult(True, "ok")

    observer_mailbox = alert_query = observer_logs

    def account(self, account: Any) -> ProbeResult:
        return ProbeResult(True, f"{account.name} holds GA")


class Runs:
    """Counts finished job runs by job id; `wait` blocks until the expected set has run."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.errors: list[Any] = []
        self.cond = threading.Condition()

    def listener(self, event: Any) -> None:
        with self.cond:
            self.count[event.job_id] += 1
            if getattr(event, "exception", None) is not None:
                self.errors.append(event.exception)
            self.cond.notify_all()

    def wait(self, job_ids: set[str]) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: job_ids <= set(self.count), timeout=30), self.count


@pytest.fixture
def started() -> Iterator[Callable[[ScheduleRuntime], tuple[DrillScheduler, Runs]]]:
    running: list[DrillScheduler] = []

    def start(runtime: ScheduleRuntime) -> tuple[DrillScheduler, Runs]:
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

        sched = DrillScheduler(runtime)
        runs = Runs()
        sched.scheduler.add_listener(runs.listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        sched.start()
        running.append(sched)
        return sched, runs

    yield start
    for sched in running:
        sched.shutdown()


def _move_stored_runs_back(state: Path, by: timedelta) -> None:
    """What a month with the workstation off leaves in the job store: every next run long past."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    store = SQLAlchemyJobStore(url=f"sqlite:///{(state / 'jobs.sqlite').resolve()}")
    store.start(BackgroundScheduler(timezone=UTC), "default")  # never started: it only decodes jobs
    try:
        for job in store.get_all_jobs():
            job.next_run_time -= by
            store.update_job(job)
    finally:
        store.shutdown()


def test_jobs_persist_restart_keeps_them_and_a_long_stop_is_one_catch_up_run(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    started: Callable[[ScheduleRuntime], tuple[DrillScheduler, Runs]],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1", "bg-2"), cycle_days=180, leads=(30, 7, 1))
    tid = str(pb.tenant.id)
    path = write_ledger(drill_line("bg-1", "PASS", T0), drill_line("bg-2", "PASS", T0 + timedelta(days=60)))
    state = tmp_path / "state"
    clock.advance(timedelta(days=151))

    def runtime() -> ScheduleRuntime:
        return ScheduleRuntime(
            [Target(pb, path, [notifier])], state, signer, clock=clock, probes_for=lambda _: _HealthyProbes()
        )

    ids = {f"reminder:{tid}:bg-1", f"reminder:{tid}:bg-2", f"keyless:{tid}"}
    first, runs = started(runtime())
    assert {j.id for j in first.jobs()} == ids
    runs.wait(ids)  # new jobs run at once
    assert runs.errors == []
    assert [(n.account, n.key.rsplit("/", 1)[-1]) for n in notifier.notices] == [("bg-1", "lead-30d")]
    first.shutdown()

    # restart on the same state: the stored jobs are kept (next run still an hour out), nothing runs
    second, runs = started(runtime())
    now = datetime.now(UTC)
    assert {j.id: j.next_run_time > now + timedelta(minutes=50) for j in second.jobs()} == dict.fromkeys(
        ids, True
    )
    second.shutdown()
    assert runs.count == Counter()

    # a month off: stored runs 30 days late, ~720 missed hourly runs each, coalesced into one
    _move_stored_runs_back(state, timedelta(days=30))
    clock.advance(timedelta(days=30))
    third, runs = started(runtime())
    runs.wait(ids)
    now = datetime.now(UTC)
    assert all(j.next_run_time > now for j in third.jobs())  # rescheduled: no second catch-up run is owed
    assert runs.count == Counter(dict.fromkeys(ids, 1))
    # day 181: bg-1 one day overdue (its 7- and 1-day reminders superseded, not sent late); bg-2 (due on
    # day 240) owes nothing yet
    assert [(n.account, n.key.rsplit("/", 1)[-1]) for n in notifier.notices] == [
        ("bg-1", "lead-30d"),
        ("bg-1", "overdue-1"),
    ]
    assert len(notifier.notices[1].facts["superseded"]) == 3
    third.shutdown()


def test_removed_accounts_lose_their_jobs(
    make_playbook: Callable[..., Playbook],
    started: Callable[[ScheduleRuntime], tuple[DrillScheduler, Runs]],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    state, ledger_path = tmp_path / "state", tmp_path / "reports" / "ledger.jsonl"
    both = make_playbook(accounts=("bg-1", "bg-2"))
    sched, runs = started(
        ScheduleRuntime([Target(both, ledger_path, [notifier])], state, signer, clock=clock)
    )
    tid = str(both.tenant.id)
    runs.wait({f"reminder:{tid}:bg-1", f"reminder:{tid}:bg-2"})
    sched.shutdown()
    one = make_playbook(accounts=("bg-1",), name="one.yaml")
    sched, _ = started(ScheduleRuntime([Target(one, ledger_path, [notifier])], state, signer, clock=clock))
    assert [j.id for j in sched.jobs()] == [f"reminder:{tid}:bg-1"]  # no probes: no keyless job


def test_a_job_store_written_before_the_package_layout_loads_and_runs(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    started: Callable[[ScheduleRuntime], tuple[DrillScheduler, Runs]],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    """fixtures/jobs-layout-0.4.sqlite was written by the code of commit 045169e (drill/schedule.py a module).

    Its jobs say `drill.schedule:reminder_job` and `drill.schedule:keyless_job`; they must still resolve,
    be kept (not replaced) and run.
    """
    import shutil
    import sqlite3

    pb = make_playbook(accounts=("bg-1", "bg-2"), cycle_days=180, leads=(30, 7, 1))
    tid = str(pb.tenant.id)
    path = write_ledger(drill_line("bg-1", "PASS", T0), drill_line("bg-2", "PASS", T0))
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(Path(__file__).with_name("fixtures") / "jobs-layout-0.4.sqlite", state / "jobs.sqlite")
    with sqlite3.connect(state / "jobs.sqlite") as db:
        stored = {row[0] for row in db.execute("SELECT id FROM apscheduler_jobs")}
    ids = {f"reminder:{tid}:bg-1", f"reminder:{tid}:bg-2", f"keyless:{tid}"}
    assert stored == ids  # the fixture's tenant is the test playbook's
    _move_stored_runs_back(state, timedelta(days=400))  # due now, whatever today's date is
    clock.advance(timedelta(days=151))
    runtime = ScheduleRuntime(
        [Target(pb, path, [notifier])], state, signer, clock=clock, probes_for=lambda _: _HealthyProbes()
    )
    sched, runs = started(runtime)
    assert {(j.id, j.func_ref) for j in sched.jobs()} == {
        (f"reminder:{tid}:bg-1", "drill.schedule:reminder_job"),
        (f"reminder:{tid}:bg-2", "drill.schedule:reminder_job"),
        (f"keyless:{tid}", "drill.schedule:keyless_job"),
    }
    runs.wait(ids)
    assert runs.errors == []
    assert sorted(n.account for n in notifier.notices) == ["bg-1", "bg-2"]
