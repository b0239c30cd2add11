"""Issue 28: `drill schedule` reminds about authorised people whose practice runs out, as it does for due
drills: a reminder at each lead time before, then a daily escalation, each once; a new drill they take part
in starts a new series and silences the old one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from schedule_support import T0, FakeClock, RecordingNotifier, drill_line

from drill.evidence.signing import Signer
from drill.playbook import Playbook
from drill.schedule.scheduler import ScheduleRuntime, Target


def test_practice_reminders_lead_then_escalate_then_stop_after_taking_part(
    make_playbook: Callable[..., Playbook],
    write_ledger: Callable[..., Path],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1",), cycle_days=365, leads=(30, 7))
    pb = pb.model_copy(update={"schedule": pb.schedule.model_copy(update={"practice_months": 2})})
    path = write_ledger(drill_line("bg-1", "PASS", T0))  # Alice operated it: practised until 2026-03-10
    rt = ScheduleRuntime([Target(pb, path, [notifier])], tmp_path / "state", signer, clock=clock)

    def practice_keys() -> list[str]:
        return [n.key.rsplit("/", 1)[-1] for n in notifier.notices if n.account is None]

    end = T0 + timedelta(days=60, hours=12)  # to 2026-03-11 21:00
    while clock.now < end:
        rt.check_reminders(account="bg-1")  # the job of the first account Alice may use
        clock.advance(timedelta(hours=6))
    assert practice_keys() == ["lead-30d", "lead-7d", "overdue-0", "overdue-1"]
    first = next(n for n in notifier.notices if n.account is None)
    assert first.subject == "[breakglass-drill] Alice's break-glass practice runs out in 30 days"
    assert "Last took part: bg-1-202601100900-pass (bg-1) as operator" in first.body
    assert '--witness "Alice"' in first.body
    last = [n for n in notifier.notices if n.account is None][-1]
    assert last.subject == "[breakglass-drill] Alice's break-glass practice is older than 2 months"
    # Alice witnesses a drill today: a new series starts two months out, and nothing more is owed now.
    witnessed = {
        **drill_line("bg-1", "PASS", clock.now, drill_id="witnessed"),
        "operator": "Bob",
        "witness": "alice",
    }
    write_ledger(witnessed, path=path)
    before = len(notifier.notices)
    rt.check_reminders(account="bg-1")
    clock.advance(timedelta(days=2))
    rt.check_reminders(account="bg-1")
    assert [n for n in notifier.notices[before:] if n.account is None] == []


def test_each_person_is_checked_in_one_account_job_only(
    make_playbook: Callable[..., Playbook],
    clock: FakeClock,
    notifier: RecordingNotifier,
    signer: Signer,
    tmp_path: Path,
) -> None:
    pb = make_playbook(accounts=("bg-1", "bg-2"))  # Alice may use both
    rt = ScheduleRuntime(
        [Target(pb, tmp_path / "ledger.jsonl", [notifier])], tmp_path / "state", signer, clock=clock
    )
    rt.check_reminders(account="bg-2")
    assert [n.account for n in notifier.notices] == ["bg-2"]
    rt.check_reminders(account="bg-1")
    assert [n.subject for n in notifier.notices if n.account is None] == [
        "[breakglass-drill] Alice has never practised a break-glass drill"
    ]
