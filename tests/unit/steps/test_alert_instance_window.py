"""Issue 13: which alert instance is about the drill's row; which window a deployed query runs over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from drill.monitoring.deployed import FiredAlert
from drill.steps.alert_instance import matches
from drill.steps.log_rows import rule_window

ROW = datetime(2026, 12, 2, 3, 0, 0, tzinfo=UTC)
SIGNED_IN = ROW - timedelta(seconds=3)
ME = {"0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"}


def alert(**kw: object) -> FiredAlert:
    base: dict[str, object] = {
        "id": "/a/1",
        "rule_id": "/r",
        "monitor_condition": "Fired",
        "fired": ROW + timedelta(minutes=1),
        "resolved": None,
        "window_start": ROW - timedelta(minutes=4),
        "window_end": ROW + timedelta(minutes=1),
    }
    base.update(kw)
    return FiredAlert(**base)  # type: ignore[arg-type]


def test_an_instance_whose_window_covers_the_row_is_ours() -> None:
    assert matches(alert(), ROW, SIGNED_IN, ME) is None
    assert matches(alert(dimensions=(("UserId", next(iter(ME))),)), ROW, SIGNED_IN, ME) is None


def test_instances_not_about_this_row_say_why() -> None:
    assert "before the sign-in" in str(matches(alert(fired=ROW - timedelta(minutes=2)), ROW, SIGNED_IN, ME))
    late = alert(window_start=ROW + timedelta(seconds=1), window_end=ROW + timedelta(minutes=5))
    assert "misses the row" in str(matches(late, ROW, SIGNED_IN, ME))
    other = alert(dimensions=(("UserId", "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"),))
    assert "another value" in str(matches(other, ROW, SIGNED_IN, ME))
    assert "no evaluation window" in str(matches(alert(window_start=None), ROW, SIGNED_IN, ME))


def test_rule_window_ends_at_arrival_or_at_the_last_window_holding_the_row() -> None:
    rule = SimpleNamespace(window_size=timedelta(minutes=5))
    assert rule_window(rule, ROW, ROW + timedelta(seconds=5)) == (
        ROW + timedelta(seconds=5) - timedelta(minutes=5),
        ROW + timedelta(seconds=5),
    )
    # Arrived later than the window: the last window that still holds its TimeGenerated.
    assert rule_window(rule, ROW, ROW + timedelta(minutes=30)) == (ROW, ROW + timedelta(minutes=5))


def _ctx() -> object:
    return SimpleNamespace(account=SimpleNamespace(object_id=next(iter(ME)), upn="ea01@contoso.test"))


def test_the_mails_alert_id_must_name_the_instance_that_covers_the_row() -> None:
    """Issue 25: the window is ARM's; a mail naming another alert (an older window) is not this drill's."""
    from drill.steps.alert_instance import find_instance

    rule = SimpleNamespace(id="/r")
    ours = alert(id="/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/aaa")
    old = alert(id="/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/bbb",
                window_start=ROW - timedelta(minutes=20), window_end=ROW - timedelta(minutes=15))  # fmt: skip
    listing = [(rule, old), (rule, ours)]
    found = find_instance(_ctx(), listing, "aaa", ROW, SIGNED_IN)  # type: ignore[arg-type]
    assert found.found == (rule, ours)
    other = find_instance(_ctx(), listing, ours.id.replace("aaa", "bbb"), ROW, SIGNED_IN)  # type: ignore[arg-type]
    assert other.found is None
    assert "misses the row" in str(other.other_alert)
    # A mail without an alert id is tied by any instance covering the row; none listed: nothing yet.
    assert find_instance(_ctx(), listing, None, ROW, SIGNED_IN).found == (rule, ours)  # type: ignore[arg-type]
    assert find_instance(_ctx(), [(rule, old)], None, ROW, SIGNED_IN).found is None  # type: ignore[arg-type]
