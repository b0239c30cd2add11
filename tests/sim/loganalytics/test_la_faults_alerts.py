"""Alert rules and every Log Analytics / alert fault, at the protocol level (rows, HTTP codes, mail)."""

from __future__ import annotations

import pytest
from loganalytics_support import EA01, MAILBOX, WORKSPACE, advance, observer_token, signin

from drill.sim.faults import apply_fault
from drill.sim.loganalytics.alerts import SENDERS
from drill.sim.loganalytics.workspace import run_query


def _rows(sim) -> int:
    return len(run_query(sim.state, f"SigninLogs | where UserId == '{EA01}'")[1])


def _alert_mail(sim) -> list[dict]:
    return [
        m for m in sim.state.mail.messages(MAILBOX) or [] if m["from"]["emailAddress"]["address"] in SENDERS
    ]


def test_healthy_alert_mails_the_soc_once_with_the_custom_subject(sim) -> None:
    signin(sim.state)
    advance(sim, 70)  # the one-minute rule's first evaluation after the row is ingested
    mail = _alert_mail(sim)
    assert len(mail) == 1
    assert mail[0]["subject"] == "[CRITICAL] Emergency Access Activity"
    assert mail[0]["body"]["contentType"] == "html"
    assert EA01 in mail[0]["body"]["content"]  # the search results table
    assert "Monitor condition Fired" in mail[0]["bodyPreview"]
    rules = {r["name"]: r for r in sim.state.services["alerts"].status()}
    assert rules["Break-glass account sign-in"]["error"] is None


def test_unmuted_rule_fires_at_every_evaluation_while_the_row_is_in_its_window(sim) -> None:
    signin(sim.state)
    advance(sim, 250)  # evaluations at 60, 120, 180, 240 s; the 5-minute window holds the row for all four
    assert len(_alert_mail(sim)) == 4


def test_one_minute_rule_with_union_is_refused(sim) -> None:
    rule = sim.state.tenant.alertRules[0]
    rule.pop("queryFile", None)
    rule["query"] = "union SigninLogs, AuditLogs | where UserId == 'x'"
    advance(sim, 61)
    status = {r["name"]: r for r in sim.state.services["alerts"].status()}
    assert "union" in status[rule["name"]]["error"]


@pytest.mark.parametrize("fault", ["diag-missing", "diag-no-signinlogs", "ingestion-stopped"])
def test_no_signin_row_ever(sim, fault: str) -> None:
    apply_fault(sim.state, fault)
    signin(sim.state)
    advance(sim, 600)
    assert _rows(sim) == 0


def test_diag_no_signinlogs_still_sends_audit_logs(sim) -> None:
    from loganalytics_support import audit

    apply_fault(sim.state, "diag-no-signinlogs")
    audit(sim.state, "Add member to role", EA01, EA01)
    advance(sim, 10)
    assert len(run_query(sim.state, "AuditLogs")[1]) == 1


def test_ingestion_slow_rows_arrive_after_thirty_minutes(sim) -> None:
    apply_fault(sim.state, "ingestion-slow")
    signin(sim.state)
    sim.state.clock.advance(600)
    assert _rows(sim) == 0
    sim.state.clock.advance(1300)
    assert _rows(sim) == 1


@pytest.mark.parametrize(("fault", "status"), [("la-throttled", 429), ("la-5xx-burst", 503)])
def test_burst_faults_then_recovery(sim, http, fault: str, status: int) -> None:
    apply_fault(sim.state, fault)
    url = f"{sim.base_url}/v1/workspaces/{WORKSPACE}/query"
    headers = {"Authorization": f"Bearer {observer_token(sim)}"}
    codes = [
        http.post(url, json={"query": "SigninLogs | take 1"}, headers=headers).status_code for _ in range(7)
    ]
    assert codes[:6] == [status] * 6  # past the SDK's own three retries
    assert codes[6] == 200


@pytest.mark.parametrize(
    "fault", ["alert-disabled", "alert-wrong-query", "alert-frequency-too-slow", "action-group-no-mailbox"]
)
def test_alert_faults_send_no_mail(sim, fault: str) -> None:
    apply_fault(sim.state, fault)
    signin(sim.state)
    advance(sim, 600)
    assert _rows(sim) == 1  # the row is there: only the alert link is broken
    assert _alert_mail(sim) == []


def test_alert_muted_fires_but_sends_nothing(sim) -> None:
    apply_fault(sim.state, "alert-muted")
    signin(sim.state)
    advance(sim, 300)
    assert _alert_mail(sim) == []
    status = sim.state.services["alerts"].status()
    assert all(r["mutedUntil"] for r in status)


def test_mail_dropped_is_recorded_not_delivered(sim) -> None:
    apply_fault(sim.state, "mail-dropped")
    signin(sim.state)
    advance(sim, 130)
    assert _alert_mail(sim) == []
    assert any(d["reason"] == "delivery dropped (fault)" for d in sim.state.mail.dropped)


def test_a_rule_scoped_to_another_workspace_never_sees_the_rows(sim) -> None:
    """posture-alert-other-workspace: the activity rule watches a sandbox workspace; only the sign-in rule,
    still scoped to ours, mails."""
    apply_fault(sim.state, "posture-alert-other-workspace")
    signin(sim.state)
    advance(sim, 400)  # the five-minute activity rule evaluates at least once over the row
    assert _rows(sim) == 1
    subjects = {m["subject"] for m in _alert_mail(sim)}
    assert subjects == {"[CRITICAL] Emergency Access Activity"}  # the one-minute sign-in rule's subject
