"""Several rows per sign-in, and which alert mails prove this drill (issue 12): pure decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drill.sim.mail.alert_mail import render_html
from drill.steps.alert_mail import judge, parse_alert_mail, window_covers
from drill.steps.log_rows import failure_reason, fold, pick_success

USER, OTHER = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01", "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _row(rid: str, code: str, created: int, ingested: int, corr: str = "c1") -> dict:
    return {
        "Id": rid,
        "CorrelationId": corr,
        "ResultType": code,
        "CreatedDateTime": (T0 + timedelta(seconds=created)).isoformat(),
        "Ingested": (T0 + timedelta(seconds=ingested)).isoformat(),
    }


def test_interrupt_row_before_success_and_duplicates_fold_to_the_first_arrival() -> None:
    rows = [_row("s", "0", 2, 90), _row("k", "50140", 0, 80), _row("s", "0", 2, 60)]
    folded, dropped = fold(rows)
    assert dropped == 1
    assert [r["Id"] for r in folded] == ["k", "s"]
    success = pick_success(folded)
    assert success is not None
    assert success["Ingested"] == (T0 + timedelta(seconds=60)).isoformat()
    assert success["_copies"] == 2


def test_failure_row_without_success_names_its_code_and_meaning() -> None:
    folded, _ = fold([_row("k", "50140", 0, 5), _row("f", "53003", 1, 6)])
    assert pick_success(folded) is None
    reason = failure_reason(folded)
    assert reason is not None
    assert "AADSTS53003" in reason
    assert "blocked by Conditional Access" in reason
    assert failure_reason([]) is None


def _essentials(condition: str = "Fired", rule: str = "Break-glass account sign-in", end: int = 60) -> dict:
    return {
        "alertId": "/alerts/1",
        "alertRule": rule,
        "severity": "Sev0",
        "signalType": "Log",
        "monitorCondition": condition,
        "monitoringService": "Log Alerts V2",
        "alertTargetIDs": ["/subscriptions/x/workspaces/law"],
        "firedDateTime": (T0 + timedelta(seconds=end)).isoformat(),
        "resolvedDateTime": None,
    }


def _condition(start: int = -300, end: int = 60, dims: list | None = None) -> dict:
    return {
        "windowSize": "PT5M",
        "windowStartTime": (T0 + timedelta(seconds=start)).isoformat(),
        "windowEndTime": (T0 + timedelta(seconds=end)).isoformat(),
        "searchQuery": "SigninLogs",
        "operator": "GreaterThan",
        "threshold": "0",
        "metricValue": 1,
        "dimensions": dims or [],
        "linkToSearchResultsUI": "https://portal.azure.com#@t/blade/Microsoft_Azure_Monitoring_Logs/LogsBlade/x",
    }


def _mail(condition: str = "Fired", start: int = -300, end: int = 60, dims: list | None = None,
          rule: str = "Break-glass account sign-in") -> dict:  # fmt: skip
    return parse_alert_mail(
        render_html(_essentials(condition, rule, end), _condition(start, end, dims), [], [])
    )


def _judge(fields: dict, received: int = 70) -> str | None:
    at = T0 + timedelta(seconds=received)
    return judge(fields, received=at, signed_in=T0, rules=["Break-glass account sign-in"], account_ids={USER})


def test_a_fired_mail_of_an_expected_rule_after_the_sign_in_is_accepted() -> None:
    fields = _mail()
    assert fields["condition"] == "Fired"
    assert fields["rule"] == "Break-glass account sign-in"
    assert fields["alert_id"] == "/alerts/1"
    assert _judge(fields) is None
    assert _judge(_mail(dims=[{"name": "UserId", "value": USER}])) is None
    # The mail's window is not documented content: an older one does not refuse the mail (ARM decides).
    assert _judge(_mail(start=-600, end=-10)) is None


@pytest.mark.parametrize(
    ("fields", "received", "expect"),
    [
        (lambda: _mail("Resolved"), 70, "Resolved notification"),
        (lambda: _mail(), -5, "before the sign-in"),
        (lambda: _mail(rule="Some other rule"), 70, "not one of the playbook"),
        (lambda: _mail(dims=[{"name": "UserId", "value": OTHER}]), 70, "another account"),
        (lambda: {**_mail(), "condition": "Deactivated"}, 70, "not Fired"),
    ],
)
def test_mails_that_show_another_alert_are_rejected_with_a_reason(fields, received: int, expect: str) -> None:
    reason = _judge(fields(), received=received)
    assert reason is not None
    assert expect in reason


SUBJECT = "Fired:Sev0 Azure Monitor Alert Break-glass account sign-in on law-security-contoso " \
    "( microsoft.operationalinsights/workspaces ) at 12/1/2026 12:01:00 PM"  # fmt: skip


@pytest.mark.parametrize(
    ("template", "subject", "shows"),
    [
        ("table", "[CRITICAL] Emergency Access Activity", {"rule", "condition", "alert_id"}),
        ("no-window", "[CRITICAL] Emergency Access Activity", {"rule", "condition", "alert_id"}),
        ("subject-only", SUBJECT, {"rule", "condition"}),
        ("custom-minimal", "[CRITICAL] Emergency Access Activity", set()),
    ],
)
def test_each_mail_template_is_read_for_what_it_shows_and_accepted(template: str, subject: str,
                                                                   shows: set[str]) -> None:  # fmt: skip
    """Every template the simulator believes Azure may send passes the mail judge when it is the drill's
    (the alert instance then ties it to the row); what it shows is read from the body or the subject."""
    from drill.sim.mail.alert_mail import render_mail

    html = render_mail(template, _essentials("Fired"), _condition(), [], [])
    fields = parse_alert_mail(html, subject)
    assert {k for k in ("rule", "condition", "alert_id") if fields.get(k)} == shows
    assert (fields["window_start"] is not None) is (template == "table")
    assert _judge(fields) is None
    resolved = parse_alert_mail(render_mail(template, _essentials("Resolved"), _condition(), [], []),
                                subject.replace("Fired:", "Resolved:"))  # fmt: skip
    if "condition" in shows:
        assert "Resolved notification" in str(_judge(resolved))
    else:  # a custom subject and a bare body cannot say Resolved: only the alert instance can refuse it
        assert _judge(resolved) is None


def test_without_an_alert_instance_only_a_shown_window_ties_the_mail_to_the_row() -> None:
    assert window_covers(_mail(), T0) is None
    assert "does not cover" in str(window_covers(_mail(start=-600, end=-10), T0))
    assert "monitoring:" in str(window_covers({**_mail(), "window_start": None}, T0))


def test_the_common_alert_schema_as_json_is_read_too() -> None:
    body = (
        '{"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {"alertRule": "R", '
        '"monitorCondition": "Fired", "firedDateTime": "2026-12-01T12:01:00Z"}, '
        '"alertContext": {"condition": {"windowStartTime": "2026-12-01T11:56:00Z", '
        '"windowEndTime": "2026-12-01T12:01:00Z", '
        '"allOf": [{"dimensions": [{"name": "UserId", "value": "' + OTHER + '"}]}]}}}}'
    )
    fields = parse_alert_mail(body)
    assert fields["condition"] == "Fired"
    assert fields["dimensions"] == {"UserId": OTHER}


def _timeout_ctx(latency: float | None = 5.0) -> object:
    from types import SimpleNamespace

    alert = SimpleNamespace(
        subject_match="Emergency", mailbox="soc@contoso.test", senders=[], sender="a@b.test"
    )
    return SimpleNamespace(
        playbook=SimpleNamespace(alert=alert),
        account=SimpleNamespace(upn="ea01@contoso.onmicrosoft.com", object_id=USER),
        timings=SimpleNamespace(ingestion_latency_s=latency),
    )


@pytest.mark.parametrize(
    ("rejected", "earlier", "latency", "says"),
    [
        ([{"reason": "a Resolved notification of rule 'R' (fired x): it says"}], [], 5.0, "only a Resolved"),
        ([{"reason": "it fired for UserId=x, another account's row, not this account's"}], [], 5.0,
         "another account's row"),
        ([], [{"received": "t", "fields": {"condition": "Fired", "rule": "R"}}], 5.0, "Automatically"),
        ([], [], 900.0, "Widen the rule's window"),
        ([], [], 5.0, "check the alert rule is enabled"),
    ],
)  # fmt: skip
def test_an_empty_wait_names_the_likeliest_broken_link(rejected, earlier, latency, says: str) -> None:
    from drill.steps.alert import timeout_reason

    reason = timeout_reason(_timeout_ctx(latency), {str(i): r for i, r in enumerate(rejected)}, earlier,  # type: ignore[arg-type]
                            "after 60s")  # fmt: skip
    assert says in reason
