"""Log Analytics and alerts as Azure Monitor really behaves (issue 12), at the protocol level.

Several rows per sign-in (interrupts, duplicates), TimeGenerated = event time with arrival in
ingestion_time(), alert windows over TimeGenerated that a late row misses, stateful alerts with one
notification per state change, Azure's three sender addresses, and the 30-second mid-wait bursts.
"""

from __future__ import annotations

from datetime import timedelta

from loganalytics_support import EA01, EA02, MAILBOX, WORKSPACE, observer_token, signin

from drill.sim.faults import apply_fault
from drill.sim.loganalytics.alerts import SENDERS, longest_reach, resolve_after
from drill.sim.loganalytics.workspace import run_query


def _run(sim, seconds: float, hop: float = 30.0) -> None:
    left = seconds
    while left > 0:
        step = min(hop, left)
        sim.state.clock.advance(step)
        sim.state.tick()
        left -= step


def _mail(sim) -> list[dict]:
    return sorted(sim.state.mail.messages(MAILBOX) or [], key=lambda m: m["receivedDateTime"])


def _rows(sim, user: str = EA01) -> list[dict]:
    cols, rows, _ = run_query(
        sim.state,
        f"SigninLogs | where UserId == '{user}' "
        "| project Id, CorrelationId, ResultType, CreatedDateTime, TimeGenerated, Ingested = ingestion_time()"
        " | sort by CreatedDateTime asc",
    )
    names = [c["name"] for c in cols]
    return [dict(zip(names, r, strict=True)) for r in rows]


def test_time_generated_is_the_event_time_and_arrival_is_ingestion_time(sim) -> None:
    event = signin(sim.state)
    sim.state.clock.advance(4)
    assert _rows(sim) == []  # not arrived yet, although TimeGenerated is already past
    sim.state.clock.advance(2)
    (row,) = _rows(sim)
    assert row["TimeGenerated"] == row["CreatedDateTime"] == event.created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert row["Ingested"] > row["TimeGenerated"]


def test_interrupt_row_two_seconds_before_the_success_with_the_same_correlation_id(sim) -> None:
    apply_fault(sim.state, "signin-interrupt-rows")
    event = signin(sim.state)
    sim.state.clock.advance(10)
    rows = _rows(sim)
    assert [r["ResultType"] for r in rows] == ["50140", "0"]
    assert {r["CorrelationId"] for r in rows} == {event.correlation_id}
    assert rows[0]["Id"] != rows[1]["Id"]


def test_duplicate_rows_share_the_id_and_arrive_apart(sim) -> None:
    apply_fault(sim.state, "signin-duplicate-rows")
    event = signin(sim.state)
    sim.state.clock.advance(10)
    assert [r["Id"] for r in _rows(sim)] == [event.id]  # the copy has not arrived yet
    sim.state.clock.advance(30)
    rows = _rows(sim)
    assert [r["Id"] for r in rows] == [event.id, event.id]
    assert rows[0]["Ingested"] != rows[1]["Ingested"]


def test_a_row_later_than_every_window_never_fires_the_rule(sim) -> None:
    apply_fault(sim.state, "ingestion-later-than-window")
    signin(sim.state)
    _run(sim, longest_reach(sim.state) + 600)
    assert len(_rows(sim)) == 1  # the row is there, queryable
    assert _mail(sim) == []  # but no evaluation saw it in a window over its TimeGenerated


def test_a_row_a_little_late_is_caught_by_the_retry(sim) -> None:
    sim.state.tenant.workspace["ingestionDelaySeconds"] = {"fixed": 330}  # past the 5-minute window
    for rule in sim.state.tenant.alertRules[1:]:
        rule["enabled"] = False
    signin(sim.state)
    _run(sim, 600)
    mail = _mail(sim)
    assert len(mail) == 1
    assert "Window start time" in mail[0]["body"]["content"]


def test_stateful_rule_fires_once_then_resolves_with_the_same_custom_subject(sim) -> None:
    for rule in sim.state.tenant.alertRules:
        rule["autoMitigate"] = True
    signin(sim.state)
    _run(sim, 330)  # both rules have evaluated (the 5-minute one at 300 s)
    fired = _mail(sim)
    assert len(fired) == 2  # one per rule, though the 1-minute rule met its condition 5 times
    custom = [m for m in fired if m["subject"] == "[CRITICAL] Emergency Access Activity"]
    assert len(custom) == 1
    assert "Monitor condition Fired" in custom[0]["bodyPreview"]
    _run(sim, resolve_after(timedelta(minutes=1)).total_seconds() + 120)
    custom = [m for m in _mail(sim) if m["subject"] == "[CRITICAL] Emergency Access Activity"]
    assert len(custom) == 2
    assert "Monitor condition Resolved" in custom[1]["bodyPreview"]
    assert custom[1]["from"] == custom[0]["from"]


def test_mail_comes_from_one_of_azures_three_senders_as_html(sim) -> None:
    signin(sim.state)
    _run(sim, 660)
    senders = {m["from"]["emailAddress"]["address"] for m in _mail(sim)}
    assert senders
    assert senders <= set(SENDERS)
    body = _mail(sim)[0]["body"]
    assert body["contentType"] == "html"
    for label in ("Alert rule", "Monitor condition", "Fired time", "Window start time", "Window end time"):
        assert label in body["content"]
    assert "View search results" in body["content"]


def test_already_fired_rule_sends_nothing_for_the_next_sign_in(sim) -> None:
    apply_fault(sim.state, "alert-already-fired")
    before = len(_mail(sim))
    assert before == 2  # the rehearsal's Fired mails, one per rule, sent at once
    signin(sim.state)
    _run(sim, 240)
    assert len(_mail(sim)) == before


def test_resolved_only(sim) -> None:
    apply_fault(sim.state, "alert-resolved-only")
    signin(sim.state)
    _run(sim, 1800)
    after = _mail(sim)[2:]
    assert after
    assert all("Monitor condition Resolved" in m["bodyPreview"] for m in after)


def test_other_account_fault_fires_for_the_other_accounts_row(sim) -> None:
    apply_fault(sim.state, "alert-other-account")
    signin(sim.state)
    _run(sim, 90)
    mail = _mail(sim)
    assert mail
    assert (
        f'Dimension: UserId</td><td class="value" style="padding:4px 0">{EA02}' in mail[0]["body"]["content"]
    )
    assert len(_rows(sim, EA02)) == 1


def test_mid_wait_burst_starts_after_the_wait_began_and_lasts_thirty_seconds(sim, http) -> None:
    apply_fault(sim.state, "burst-429-mid-wait")
    url = f"{sim.base_url}/v1/workspaces/{WORKSPACE}/query"
    headers = {"Authorization": f"Bearer {observer_token(sim)}"}

    def code() -> int:
        return http.post(url, json={"query": "SigninLogs | take 1"}, headers=headers).status_code

    assert code() == 200  # not armed before the sign-in (preflight is clean)
    signin(sim.state)
    assert code() == 200  # the log wait's first query is answered, the burst begins with its second
    resp = http.post(url, json={"query": "SigninLogs | take 1"}, headers=headers)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"]
    sim.state.clock.advance(29)
    assert code() == 429
    sim.state.clock.advance(2)
    # Past 30 s, but a sped-up clock must not make the burst shorter than six refusals (SDKs retry 3 times).
    assert [code() for _ in range(5)] == [429, 429, 429, 429, 200]
