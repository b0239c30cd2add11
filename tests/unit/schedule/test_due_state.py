"""Pure due-date and reminder logic: due from the last PASS, one notice per stage, high-water marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from schedule_support import OTHER_TENANT, T0, TENANT, drill_line

from drill.schedule.due import AccountStatus, SentStore, SentView, account_statuses, owed_reminder


def test_due_date_is_last_pass_plus_cycle_and_failures_do_not_move_it() -> None:
    entries = [
        drill_line("bg-1", "PASS", T0),
        drill_line("bg-1", "PASS", T0 + timedelta(days=100)),
        drill_line("bg-1", "FAIL", T0 + timedelta(days=150)),  # newer, but proves nothing
        drill_line("bg-2", "INCOMPLETE", T0),
        drill_line("bg-3", "PASS", T0 + timedelta(days=170), tenant=OTHER_TENANT),
        {"kind": "keyless-check", "tenant_id": TENANT, "checked_at": (T0 + timedelta(days=1)).isoformat()},
        {"kind": "keyless-check", "tenant_id": TENANT, "checked_at": T0.isoformat(), "status": "fail"},
    ]
    bg1, bg2, bg3 = account_statuses(entries, TENANT, ["bg-1", "bg-2", "bg-3"], cycle_days=90)
    assert bg1.last_pass_at == T0 + timedelta(days=100)
    assert bg1.due_at == T0 + timedelta(days=190)
    assert bg1.last_drill is not None
    assert bg1.last_drill["verdict"] == "FAIL"
    assert bg1.last_keyless is not None
    assert bg1.last_keyless["checked_at"] == (T0 + timedelta(days=1)).isoformat()
    assert bg2.due_at is None
    assert bg2.last_drill is not None
    assert bg2.overdue(T0)
    assert bg3.last_drill is None
    assert bg3.due_at is None


def test_days_left_counts_calendar_days_and_goes_negative() -> None:
    status = AccountStatus(TENANT, "bg-1", 10, last_pass_at=datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    assert status.days_left(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)) == 10
    assert status.days_left(datetime(2026, 3, 11, 1, 0, tzinfo=UTC)) == 0
    assert status.days_left(datetime(2026, 3, 14, 1, 0, tzinfo=UTC)) == -3
    assert not status.overdue(datetime(2026, 3, 11, 22, 0, tzinfo=UTC))
    assert status.overdue(datetime(2026, 3, 11, 23, 0, tzinfo=UTC))


def _status(days_ago: float = 0) -> AccountStatus:
    return AccountStatus(TENANT, "bg-1", 180, last_pass_at=T0 - timedelta(days=days_ago))


def test_nothing_owed_before_the_first_lead_time() -> None:
    assert owed_reminder(_status(), [30, 7, 1], T0 + timedelta(days=149), SentView()) is None


def test_each_lead_time_then_daily_escalation() -> None:
    status, sent, seen = _status(), SentView(), []
    for hours in range(0, 24 * 184, 2):
        owed = owed_reminder(status, [30, 7, 1], T0 + timedelta(hours=hours), sent)
        if owed:
            sent.add(owed.series, owed.key, owed.rank)
            seen.append((owed.key.rsplit("/", 1)[-1], hours // 24))
    assert seen == [
        ("lead-30d", 150), ("lead-7d", 173), ("lead-1d", 179),
        ("overdue-0", 180), ("overdue-1", 181), ("overdue-2", 182), ("overdue-3", 183),
    ]  # fmt: skip


def test_a_long_stop_coalesces_to_the_most_urgent_notice() -> None:
    owed = owed_reminder(_status(), [30, 7, 1], T0 + timedelta(days=179, hours=5), SentView())
    assert owed is not None
    assert owed.lead_days == 1
    assert [k.rsplit("/", 1)[-1] for k in owed.superseded] == ["lead-30d", "lead-7d"]
    late = owed_reminder(_status(), [30, 7, 1], T0 + timedelta(days=200, hours=3), SentView())
    assert late is not None
    assert late.kind == "overdue"
    assert late.overdue_days == 20
    assert len(late.superseded) == 3 + 20


def test_clock_going_back_does_not_resend_an_earlier_stage() -> None:
    sent = SentView()
    owed = owed_reminder(_status(), [30, 7, 1], T0 + timedelta(days=185), sent)
    assert owed is not None
    assert owed.overdue_days == 5
    sent.add(owed.series, owed.key, owed.rank)  # superseded keys are not even needed for this
    for back in (184, 181, 180, 179, 173, 150):
        assert owed_reminder(_status(), [30, 7, 1], T0 + timedelta(days=back), sent) is None


def test_a_new_pass_starts_a_new_series() -> None:
    sent = SentView()
    first = owed_reminder(_status(), [30], T0 + timedelta(days=151), sent)
    assert first is not None
    sent.add(first.series, first.key, first.rank)
    renewed = AccountStatus(TENANT, "bg-1", 180, last_pass_at=T0 + timedelta(days=160))
    assert owed_reminder(renewed, [30], T0 + timedelta(days=161), sent) is None
    again = owed_reminder(renewed, [30], T0 + timedelta(days=311), sent)
    assert again is not None
    assert again.series != first.series


def test_never_passed_escalates_once_per_calendar_day() -> None:
    status, sent = AccountStatus(TENANT, "bg-2", 180), SentView()
    first = owed_reminder(status, [30], T0, sent)
    assert first is not None
    assert first.kind == "overdue"
    assert first.due_at is None
    sent.add(first.series, first.key, first.rank)
    assert owed_reminder(status, [30], T0 + timedelta(hours=14), sent) is None  # 23:00 the same day
    assert owed_reminder(status, [30], T0 - timedelta(days=2), sent) is None  # clock went back
    assert owed_reminder(status, [30], T0 + timedelta(hours=15), sent) is not None  # next day


def test_sent_store_claims_once_and_survives_reopening(tmp_path: Path) -> None:
    owed = owed_reminder(_status(), [30, 7], T0 + timedelta(days=175), SentView())
    assert owed is not None
    store = SentStore(tmp_path / "sent.sqlite")
    assert store.claim(owed.key, owed.series, owed.rank, T0, owed.superseded)
    assert not store.claim(owed.key, owed.series, owed.rank, T0)
    store.delivered(owed.key)
    reopened = SentStore(tmp_path / "sent.sqlite")
    assert owed_reminder(_status(), [30, 7], T0 + timedelta(days=175), reopened.view()) is None
    assert [s for _, s in reopened.records()] == ["sent", "superseded"]
    # a less urgent stage of the same series is refused at claim time too (another process, old clock)
    assert not reopened.claim(owed.series + "/lead-30d", owed.series, -30, T0)


def test_released_claim_is_owed_again(tmp_path: Path) -> None:
    store = SentStore(tmp_path / "sent.sqlite")
    owed = owed_reminder(_status(), [30], T0 + timedelta(days=151), store.view())
    assert owed is not None
    assert store.claim(owed.key, owed.series, owed.rank, T0)
    store.release(owed.key)
    again = owed_reminder(_status(), [30], T0 + timedelta(days=151), store.view())
    assert again == owed
