"""Time travel through the scheduler's checks: ledger -> due dates -> notices, with a hand-moved clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from schedule_support import T0, FakeClock, RecordingNotifier, drill_line

from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.playbook import Playbook
from drill.schedule.keyless import ProbeResult
from drill.schedule.scheduler import ScheduleRuntime, Target
from drill.testing import capture_logs


def _runtime(
    pb: Playbook,
    ledger_path: Path,
    state: Path,
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
) -> ScheduleRuntime:
    return ScheduleRuntime([Target(pb, ledger_path, [notifier])], state, signer, clock=clock)


def _sweep(rt: ScheduleRuntime, clock: FakeClock, days: int, step: timedelta = timedelta(hours=6)) -> None:
    end = clock.now + timedelta(days=days)
    while clock.now < end:
        rt.check_reminders()
        clock.advance(step)


def test_reminders_at_each_lead_time_exactly_once_then_daily_escalation(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1",), cycle_days=90, leads=(14, 3))
    path = write_ledger(drill_line("bg-1", "PASS", T0))
    rt = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)
    _sweep(rt, clock, 94)
    assert notifier.keys == ["lead-14d", "lead-3d", "overdue-0", "overdue-1", "overdue-2", "overdue-3"]
    first = notifier.notices[0]
    assert first.subject == "[breakglass-drill] Break-glass drill for bg-1 due in 14 days"
    assert "2026-04-10 09:00 UTC" in first.body  # T0 + 90 days
    assert "drill run PLAYBOOK --account bg-1" in first.body
    assert notifier.notices[-1].severity == "critical"
    assert "was due 3 days ago" in notifier.notices[-1].subject


def test_new_pass_moves_the_due_date_and_silences_escalation(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1",), cycle_days=90, leads=(7,))
    path = write_ledger(drill_line("bg-1", "PASS", T0))
    rt = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)
    clock.advance(timedelta(days=91))
    assert [n.key.rsplit("/", 1)[-1] for n in rt.check_reminders()] == ["overdue-1"]
    write_ledger(drill_line("bg-1", "FAIL", clock.now))  # a failed drill does not count
    clock.advance(timedelta(days=1))
    assert [n.key.rsplit("/", 1)[-1] for n in rt.check_reminders()] == ["overdue-2"]
    write_ledger(drill_line("bg-1", "PASS", clock.now))
    clock.advance(timedelta(days=1))
    assert rt.check_reminders() == []
    clock.advance(timedelta(days=83))  # 7 days before the new due date
    assert [n.key.rsplit("/", 1)[-1] for n in rt.check_reminders()] == ["lead-7d"]


def test_restart_on_the_same_state_does_not_resend(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1", "bg-2"), cycle_days=60, leads=(10,))
    path = write_ledger(drill_line("bg-1", "PASS", T0), drill_line("bg-2", "PASS", T0 + timedelta(days=5)))
    clock.advance(timedelta(days=51))
    first = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)
    assert [n.account for n in first.check_reminders()] == ["bg-1"]
    second = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)  # the process restarted
    assert second.check_reminders() == []
    clock.advance(timedelta(days=5))
    assert [n.account for n in second.check_reminders()] == ["bg-2"]
    assert [n.account for n in notifier.notices] == ["bg-1", "bg-2"]


def test_catch_up_after_a_long_stop_sends_one_notice_per_account(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1", "bg-2"), cycle_days=180, leads=(30, 7, 1))
    path = write_ledger(drill_line("bg-1", "PASS", T0), drill_line("bg-2", "PASS", T0 + timedelta(days=20)))
    rt = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)
    assert rt.check_reminders() == []
    clock.advance(timedelta(days=186))  # the workstation was off for six months
    sent = rt.check_reminders()
    assert [(n.account, n.key.rsplit("/", 1)[-1]) for n in sent] == [
        ("bg-1", "overdue-6"),
        ("bg-2", "lead-30d"),
    ]
    assert len(sent[0].facts["superseded"]) == 3 + 6
    assert rt.check_reminders() == []


def test_clock_going_backwards_does_not_double_send(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1",), cycle_days=90, leads=(14, 3))
    path = write_ledger(drill_line("bg-1", "PASS", T0))
    rt = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)
    clock.advance(timedelta(days=88))
    _sweep(rt, clock, 4)  # lead-3d, overdue-0, overdue-1
    assert notifier.keys == ["lead-3d", "overdue-0", "overdue-1"]
    clock.advance(timedelta(days=-30))  # NTP step / snapshot restore back before every reminder
    _sweep(rt, clock, 30)  # and forward again, checking every 6 hours, to where it was
    assert notifier.keys == ["lead-3d", "overdue-0", "overdue-1"]
    rt.check_reminders()  # day 92: the next escalation is new
    assert notifier.keys == ["lead-3d", "overdue-0", "overdue-1", "overdue-2"]


def test_failed_delivery_is_retried_at_the_next_check(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1",), cycle_days=90, leads=(7,))
    path = write_ledger(drill_line("bg-1", "PASS", T0))
    rt = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)
    clock.advance(timedelta(days=84))
    notifier.fail = True
    with capture_logs() as logs:
        assert rt.check_reminders() == []
    assert any(e["event"] == "schedule.notice_failed" for e in logs)
    notifier.fail = False
    clock.advance(timedelta(hours=1))
    assert notifier.keys == []
    assert [n.key.rsplit("/", 1)[-1] for n in rt.check_reminders()] == ["lead-7d"]


def test_never_drilled_account_escalates_daily(
    make_playbook: Callable[..., Playbook],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1",))
    rt = _runtime(pb, tmp_path / "reports" / "ledger.jsonl", tmp_path / "state", clock, notifier, signer)
    _sweep(rt, clock, 3)  # 09:00 on the 10th to 03:00 on the 13th: four calendar days
    days = [f"day-2026-01-{d}" for d in (10, 11, 12, 13)]
    drills = [n for n in notifier.notices if n.account == "bg-1"]
    assert [n.key.rsplit("/", 1)[-1] for n in drills] == days
    assert all("has no passing break-glass drill" in n.subject for n in drills)
    # Nobody drilled, so Alice (authorised) never practised either: her reminder escalates daily as well.
    practice = [n for n in notifier.notices if n.account is None]
    assert [n.key.rsplit("/", 1)[-1] for n in practice] == days
    assert all(
        n.subject == "[breakglass-drill] Alice has never practised a break-glass drill" for n in practice
    )


def test_a_tampered_ledger_is_reported_once_a_day(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1",), cycle_days=90, leads=(7,))
    path = write_ledger(drill_line("bg-1", "PASS", T0), drill_line("bg-1", "PASS", T0 + timedelta(days=1)))
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[1] + lines[0])  # reordered
    assert not ledger.verify(path).ok
    rt = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)
    rt.check_reminders()
    rt.check_reminders()
    # Neither reordered line verifies, so neither counts as a drill: the account escalates too (it used to
    # be taken as passed, on the word of a ledger that had just failed verification).
    assert [n.subject for n in notifier.notices] == [
        "[breakglass-drill] The drill ledger does not verify",
        "[breakglass-drill] OVERDUE: bg-1 has no passing break-glass drill",
        "[breakglass-drill] Alice has never practised a break-glass drill",  # nor is her practice counted
    ]


class _Probes:
    def __init__(self, ga: dict[str, bool]) -> None:
        self.ga = ga

    def observer_logs(self) -> ProbeResult:
        return ProbeResult(True, "query ran")

    def observer_mailbox(self) -> ProbeResult:
        raise PermissionError("403 ErrorAccessDenied")

    def alert_query(self) -> ProbeResult:
        return ProbeResult(True, "parsed")

    def account(self, account: object) -> ProbeResult:
        name = getattr(account, "name", "")
        return ProbeResult(self.ga[name], "holds GA" if self.ga[name] else "no active GA assignment")


def test_keyless_check_is_ledgered_and_a_failure_is_notified_once_a_day(
    make_playbook: Callable[..., Playbook],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1", "bg-2"))
    path = tmp_path / "reports" / "ledger.jsonl"
    rt = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)
    rt.probes_for = lambda _pb: _Probes({"bg-1": True, "bg-2": False})
    result = rt.run_keyless(str(pb.tenant.id))
    assert result is not None
    assert not result.ok
    assert [c.id for c in result.failed] == ["observer_mailbox", "account_bg-2"]
    assert result.failed[0].reason == "PermissionError: 403 ErrorAccessDenied"
    clock.advance(timedelta(hours=2))
    rt.run_keyless(str(pb.tenant.id))
    report = ledger.verify(path)
    assert report.ok, report.problems
    assert [e["kind"] for e in report.entries] == ["keyless-check", "keyless-check"]
    assert report.entries[0]["status"] == "fail"
    assert report.entries[0]["checks"][4] == {
        "id": "account_bg-2",
        "title": "bg-2 exists and holds Global Administrator",
        "status": "fail",
        "reason": "no active GA assignment",
    }
    assert [n.subject for n in notifier.notices] == ["[breakglass-drill] Keyless check failed: 2 problem(s)"]
    assert "no active GA assignment" in notifier.notices[0].body


def test_keyless_check_without_an_observer_is_a_failed_line_not_a_crash(
    make_playbook: Callable[..., Playbook],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1",))
    path = tmp_path / "reports" / "ledger.jsonl"
    rt = _runtime(pb, path, tmp_path / "state", clock, notifier, signer)

    def no_observer(_pb: Playbook) -> _Probes:
        raise KeyError("DRILL_OBSERVER_SECRET is not set")

    rt.probes_for = no_observer
    result = rt.run_keyless(str(pb.tenant.id))
    assert result is not None
    assert [(c.id, c.reason) for c in result.checks] == [
        ("observer", "KeyError: 'DRILL_OBSERVER_SECRET is not set'")
    ]
    assert [e["status"] for e in ledger.read_entries(path)] == ["fail"]
