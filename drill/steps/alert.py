"""Step: the alert email reached the watched mailbox, read through Graph by the observer.

Only a Fired notification of an expected rule, from one of Azure's sender addresses, whose evaluation window
covers this sign-in's row and which arrived after the sign-in proves the alert worked (alert_mail.judge).
Other mails are recorded with the reason they do not count, and the wait goes on. If the wait ends empty,
the reason says which link most likely broke: an alert already Fired (stateful rules send nothing new), a
Resolved mail only, mail for another account, or a row that arrived later than any alert window.
Its latency from the sign-in (both on the tenant's clock) is the number the SOC's SLA is about.
Without this sign-in's SigninLogs row no mail can be shown to cover it, so the step fails at once, naming
the log rows step, instead of waiting out an SLA that could only end in the same FAIL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from drill.evidence.model import StepResult
from drill.fidelity import note_mail
from drill.isotime import parse_utc, utc_z
from drill.steps.alert_instance import prove_instance
from drill.steps.alert_mail import judge, parse_alert_mail
from drill.steps.base import StepBuilder, utcnow
from drill.steps.context import DrillContext
from drill.steps.waiting import ServiceRefused, call_within, poll

NAME, TITLE = "alert", "The alert email reached the watched mailbox"
SCOPES = (".default",)
LATE_INGESTION_S = 300.0  # a row later than the shortest usual rule window (5 minutes) can be missed
SELECT = ["id", "subject", "receivedDateTime", "from", "sender", "body", "internetMessageId"]
NO_ROW = (
    "not waited for: the log rows step found no SigninLogs row of this sign-in, and an alert mail counts "
    "only when its evaluation window covers that row; fix the log rows step's finding first"
)


def _addr(recipient: Any) -> str:
    email = getattr(recipient, "email_address", None)
    return str(getattr(email, "address", "") or "").lower()


def _message(m: Any) -> dict[str, Any]:
    body = getattr(m, "body", None)
    return {
        "id": m.id,
        "subject": m.subject or "",
        "receivedDateTime": m.received_date_time.astimezone(UTC) if m.received_date_time else None,
        "from": _addr(m.from_),
        "sender": _addr(m.sender),
        "body": str(getattr(body, "content", "") or ""),
        "internetMessageId": m.internet_message_id,
    }


def candidates(messages: list[dict[str, Any]], subject_re: str, senders: set[str]) -> list[dict[str, Any]]:
    """Mails that look like the alert (accepted sender, subject matching), oldest first."""
    pattern = re.compile(subject_re)
    hits = [
        m
        for m in messages
        if m["receivedDateTime"] and pattern.search(m["subject"]) and m["from"].lower() in senders
    ]
    return sorted(hits, key=lambda m: m["receivedDateTime"])


def timeout_reason(ctx: DrillContext, rejected: dict[str, dict[str, Any]], earlier: list[dict[str, Any]],
                   waited: str) -> str:  # fmt: skip
    """The likeliest broken link when no mail proved the alert, with what to fix."""
    reasons = [r["reason"] for r in rejected.values()]
    alert = ctx.playbook.alert
    fired_before = [e for e in earlier if str(e["fields"].get("condition", "")).lower() == "fired"]
    resolved_since = [e for e in earlier if str(e["fields"].get("condition", "")).lower() == "resolved"]
    if reasons and all(r.startswith("a Resolved notification") for r in reasons):
        return (
            f"only a Resolved notification arrived {waited}: the rule was already Fired before this "
            "sign-in and is stateful ('Automatically resolve alerts'), so Azure sent no Fired mail for the "
            "drill; break-glass rules should not auto-resolve (or resolve the open alert before a drill)"
        )
    if any("another account's row" in r for r in reasons):
        return (
            f"only alert mail for another account's row arrived {waited}: the rule does not fire for "
            f"{ctx.account.upn} ({ctx.account.object_id}); fix its query to match every break-glass "
            "account's object id"
        )
    if fired_before and len(fired_before) > len(resolved_since):
        last = fired_before[-1]
        return (
            f"no Fired mail for this sign-in {waited}, and rule {last['fields'].get('rule')!r} has been "
            f"Fired since {last['received']} with no Resolved mail: a stateful rule sends nothing while "
            "Fired; resolve the open alert and turn off 'Automatically resolve alerts' for break-glass rules"
        )
    latency = ctx.timings.ingestion_latency_s
    if latency is not None and latency > LATE_INGESTION_S:
        return (
            f"no alert mail {waited}; the sign-in row arrived {latency:.0f}s after its TimeGenerated "
            "(ingestion_time()), and a log search alert only evaluates windows over TimeGenerated: "
            "a row later than the rule's window (plus Azure's retries) is never seen. Widen the rule's "
            "window (windowSize) beyond the ingestion latency, and check ingestion health"
        )
    tail = f"; rejected: {'; '.join(sorted(set(reasons)))[:400]}" if reasons else ""
    return (
        f"no alert email matching /{alert.subject_match}/ from {sorted(_senders(ctx))} in {alert.mailbox} "
        f"{waited}: check the alert rule is enabled and not muted, its query, its frequency, and that its "
        f"action group mails this mailbox{tail}"
    )


def _senders(ctx: DrillContext) -> set[str]:
    alert = ctx.playbook.alert
    return {str(s).lower() for s in [*alert.senders, alert.sender]}


async def run(ctx: DrillContext) -> StepResult:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

    from drill.clients import graph_client, graph_scopes

    sb = StepBuilder(NAME, TITLE)
    if ctx.observer is None or ctx.timings.signin_started_at is None:
        return sb.fail("no sign-in to wait for an alert about")
    if not ctx.signin_row.get("TimeGenerated"):
        # judge() refuses every mail without the row, so waiting out the SLA could only end the same way.
        return sb.fail(NO_ROW)
    alert = ctx.playbook.alert
    client = graph_client(ctx.observer, ctx.cloud, graph_scopes(ctx.cloud, SCOPES))
    # "After the sign-in" on the tenant's clock: the row's CreatedDateTime, else our start shifted by skew.
    row_created = ctx.timings.row_created_at
    signed_in = row_created or ctx.skew.tenant_time(ctx.timings.signin_started_at)
    row_time_text = ctx.signin_row.get("TimeGenerated")
    row_time = parse_utc(str(row_time_text)) if row_time_text else None
    since = signed_in - timedelta(seconds=1)
    senders = _senders(ctx)
    account_ids = {str(ctx.account.object_id).lower(), str(ctx.account.upn).lower()}

    def config(flt: str) -> Any:
        return RequestConfiguration(
            query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
                filter=flt, orderby=["receivedDateTime desc"], top=50, select=SELECT
            )
        )

    async def list_messages(flt: str) -> list[dict[str, Any]]:
        """Every page (a busy shared mailbox can hold more than 50 mails since the sign-in), up to 20."""
        ctx.counters["graph_requests"] += 1
        builder = client.users.by_user_id(str(alert.mailbox)).messages
        resp = await builder.get(request_configuration=config(flt))
        out = [_message(m) for m in (resp.value if resp else None) or []]
        for _ in range(19):
            link = getattr(resp, "odata_next_link", None)
            if not link:
                break
            ctx.counters["graph_requests"] += 1
            resp = await builder.with_url(link).get()
            out.extend(_message(m) for m in (resp.value if resp else None) or [])
        return out

    deadline = float(ctx.playbook.sla.alert)
    rejected: dict[str, dict[str, Any]] = {}

    async def probe() -> dict[str, Any] | None:
        messages = await list_messages(f"receivedDateTime ge {utc_z(since)}")
        for mail in candidates(messages, alert.subject_match, senders):
            if mail["id"] in rejected:
                continue
            note_mail(str(mail["subject"] or ""), str(mail["body"] or ""))
            fields = parse_alert_mail(mail["body"])
            why = judge(fields, received=mail["receivedDateTime"], signed_in=signed_in, row_time=row_time,
                        rules=list(alert.rules), account_ids=account_ids)  # fmt: skip
            if why is None:
                return {**mail, "fields": fields}
            rejected[mail["id"]] = {
                "subject": mail["subject"],
                "from": mail["from"],
                "receivedDateTime": mail["receivedDateTime"].isoformat(),
                "rule": fields.get("rule"),
                "monitorCondition": fields.get("condition"),
                "window": [fields.get("window_start"), fields.get("window_end")],
                "dimensions": fields.get("dimensions"),
                "reason": why,
            }
        return None

    sb.evidence["accepted_senders"] = sorted(senders)
    sb.evidence["expected_rules"] = list(alert.rules)
    sb.evidence["clock_skew_s"] = ctx.skew.offset_s
    try:
        outcome = await poll(
            probe, deadline, on_attempt=lambda n, el: ctx.progress.waiting("the alert email", el, deadline, n)
        )
    except ServiceRefused as exc:
        return sb.fail(f"Graph refused to list {alert.mailbox} (HTTP {exc.status}): {exc.message}")
    sb.evidence["attempts"] = outcome.attempts
    sb.evidence["transient_errors"] = outcome.errors[:50]
    sb.evidence["transient_error_count"] = outcome.transient_count
    sb.evidence["rejected_mails"] = list(rejected.values())[:20]
    mail = outcome.value
    if mail is None:
        earlier = await _earlier_alerts(list_messages, since, alert.subject_match, senders)
        sb.evidence["earlier_alert_mails"] = [
            {
                "received": e["received"],
                "rule": e["fields"].get("rule"),
                "condition": e["fields"].get("condition"),
            }
            for e in earlier[:10]
        ]
        waited = f"after {outcome.waited_s:.0f}s (SLA {deadline:.0f}s)"
        if outcome.errors:
            waited += f", {outcome.error_summary()} from Graph absorbed"
        return sb.fail(timeout_reason(ctx, rejected, earlier, waited))
    seen = ctx.skew.tenant_time(utcnow())
    received: datetime = mail["receivedDateTime"]
    t = ctx.timings
    t.alert_received_at, t.alert_seen_at = received, seen
    reference = row_created
    if reference is None and ctx.signin_completed_at is not None:
        reference = ctx.skew.tenant_time(ctx.signin_completed_at)
    if reference:
        t.time_to_alert_s = round((received - reference).total_seconds(), 3)
    t.alert_detection_lag_s = round(max(0.0, (seen - received).total_seconds()), 3)
    fields = mail["fields"]
    sb.check(
        "alert_mail",
        "A Fired alert for this sign-in, received after it",
        True,
        f"rule {fields.get('rule')!r} fired, window {fields.get('window_start')} to "
        f"{fields.get('window_end')} covers the sign-in row; received {received.isoformat()}"
        + (f", {t.time_to_alert_s:.0f}s after the sign-in" if t.time_to_alert_s else ""),
        {
            "subject": mail["subject"],
            "from": mail["from"],
            "receivedDateTime": received.isoformat(),
            "internetMessageId": mail["internetMessageId"],
            "rule": fields.get("rule"),
            "monitorCondition": fields.get("condition"),
            "firedDateTime": fields.get("fired"),
            "window": [fields.get("window_start"), fields.get("window_end")],
            "dimensions": fields.get("dimensions"),
            "links": fields.get("links"),
            "rejected_before": len(rejected),
        },
    )
    body = mail["body"].lower()
    mentions = str(ctx.account.upn).lower() in body or str(ctx.account.object_id).lower() in body
    sb.check(
        "alert_mentions",
        "The alert names the account",
        mentions,
        "the mail names the account" if mentions else "the mail does not name the account",
        required=False,
    )
    if row_time is not None:
        await prove_instance(ctx, sb, fields.get("alert_id"), row_time, signed_in, 60.0)
    sla = float(ctx.playbook.sla.alert)
    if t.time_to_alert_s is not None and t.time_to_alert_s > sla:
        sb.check("alert_sla", "Alert within the SLA", False, f"{t.time_to_alert_s:.0f}s exceeds {sla:.0f}s")
    return sb.finish("Fired alert for this sign-in received")


async def _earlier_alerts(
    list_messages: Any, since: datetime, subject_re: str, senders: set[str]
) -> list[dict[str, Any]]:
    """Alert mails of the day before the sign-in, oldest first: is a stateful alert still Fired?"""
    flt = f"receivedDateTime ge {utc_z(since - timedelta(days=1))} and receivedDateTime lt {utc_z(since)}"
    try:
        messages, _errors = await call_within(lambda: list_messages(flt), 30.0)
    except Exception:  # noqa: BLE001 - a diagnosis only: the step fails either way
        return []
    return [
        {"received": m["receivedDateTime"].isoformat(), "fields": parse_alert_mail(m["body"])}
        for m in candidates(messages, subject_re, senders)
    ]
