"""Properties of the reminder rules over arbitrary clocks: checks at any times, in any order (a clock that
jumps back and forth), with restarts in between, never send a key twice and never send a less urgent notice
after a more urgent one of the same series."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_support import T0, TENANT

from drill.schedule.due import AccountStatus, SentStore, owed_reminder

offsets = st.lists(st.integers(min_value=0, max_value=220 * 24), min_size=1, max_size=40)  # hours after T0


@settings(max_examples=60, deadline=None)
@given(
    hours=offsets,
    leads=st.sets(st.integers(min_value=0, max_value=60), max_size=4),
    restart=st.integers(0, 40),
)
def test_any_clock_sends_each_key_once_and_urgency_only_grows(
    hours: list[int], leads: set[int], restart: int
) -> None:
    status = AccountStatus(TENANT, "bg-1", 90, last_pass_at=T0)
    sent: list[tuple[str, int]] = []
    with TemporaryDirectory() as tmp:
        store = SentStore(Path(tmp) / "sent.sqlite")
        for i, hour in enumerate(hours):
            if i == restart:
                store = SentStore(Path(tmp) / "sent.sqlite")  # the process restarted
            now = T0 + timedelta(hours=hour)
            owed = owed_reminder(status, sorted(leads), now, store.view())
            if owed is None:
                continue
            assert store.claim(owed.key, owed.series, owed.rank, now, owed.superseded)
            store.delivered(owed.key)
            sent.append((owed.key, owed.rank))
    keys = [k for k, _ in sent]
    assert len(keys) == len(set(keys))
    ranks = [r for _, r in sent]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)
    # the latest time checked owes nothing more once it was checked
    if hours:
        latest = T0 + timedelta(hours=max(hours))
        with TemporaryDirectory() as tmp:
            fresh = SentStore(Path(tmp) / "sent.sqlite")
            assert (owed_reminder(status, sorted(leads), latest, fresh.view()) is None) == (
                latest < T0 + timedelta(days=90 - max([d for d in leads if d > 0], default=0))
            )
