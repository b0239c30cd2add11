"""Step: the alert email reached the watched mailbox, read through Graph by the observer.

The mail must be received after the sign-in started, come from the expected sender and match the subject
pattern; its latency from the sign-in is the number the SOC's SLA is about.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from drill.evidence.model import StepResult
from drill.isotime import utc_z
from drill.steps.base import StepBuilder, utcnow
from drill.steps.context import DrillContext
from drill.steps.waiting import poll

NAME, TITLE = "alert", "The alert email reached the watched mailbox"
SCOPES = (".default",)


def _addr(recipient: Any) -> str:
    email = getattr(recipient, "email_address", None)
    return str(getattr(email, "address", "") or "").lower()


def pick_alert(
    messages: list[dict[str, Any]], subject_re: str, sender: str, since: datetime
) -> dict[str, Any] | None:
    """The earliest message received after `since` whose subject matches and sender is the expected one."""
    pattern = re.compile(subject_re)
    hits = [
        m
        for m in messages
        if m["receivedDateTime"]
        and m["receivedDateTime"] >= since
        and pattern.search(m.get("subject") or "")
        and m.get("from", "").lower() == sender.lower()
    ]
    return min(hits, key=lambda m: m["receivedDateTime"]) if hits else None


async def run(ctx: DrillContext) -> StepResult:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

    from drill.clients import graph_client, graph_scopes

    sb = StepBuilder(NAME, TITLE)
    if ctx.observer is None or ctx.timings.signin_started_at is None:
        return sb.fail("no sign-in to wait for an alert about")
    alert = ctx.playbook.alert
    client = graph_client(ctx.observer, ctx.cloud, graph_scopes(ctx.cloud, SCOPES))
    since = ctx.timings.signin_started_at - timedelta(seconds=1)
    stamp = utc_z(since)
    cfg = RequestConfiguration(
        query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"receivedDateTime ge {stamp}",
            orderby=["receivedDateTime desc"],
            top=50,
            select=[
                "id",
                "subject",
                "receivedDateTime",
                "from",
                "sender",
                "bodyPreview",
                "internetMessageId",
            ],
        )
    )
    deadline = float(ctx.playbook.sla.alert)

    async def probe() -> dict[str, Any] | None:
        ctx.counters["graph_requests"] += 1
        resp = await client.users.by_user_id(str(alert.mailbox)).messages.get(request_configuration=cfg)
        messages = [
            {
                "id": m.id,
                "subject": m.subject,
                "receivedDateTime": m.received_date_time.astimezone(UTC) if m.received_date_time else None,
                "from": _addr(m.from_),
                "sender": _addr(m.sender),
                "bodyPreview": (m.body_preview or "")[:500],
                "internetMessageId": m.internet_message_id,
            }
            for m in (resp.value if resp else None) or []
        ]
        return pick_alert(messages, alert.subject_match, str(alert.sender), since)

    outcome = await poll(
        probe, deadline, on_attempt=lambda n, el: ctx.progress.waiting("the alert email", el, deadline, n)
    )
    sb.evidence["attempts"] = outcome.attempts
    mail = outcome.value
    if mail is None:
        return sb.fail(
            f"no alert email matching /{alert.subject_match}/ from {alert.sender} in {alert.mailbox} after "
            f"{outcome.waited_s:.0f}s (SLA {deadline:.0f}s): check the alert rule is enabled and not muted, "
            "its "
            "query, its frequency, and that its action group mails this mailbox"
        )
    seen = utcnow()
    received: datetime = mail["receivedDateTime"]
    t = ctx.timings
    t.alert_received_at, t.alert_seen_at = received, seen
    reference = t.row_created_at or ctx.signin_completed_at
    if reference:
        t.time_to_alert_s = round((received - reference).total_seconds(), 3)
    t.alert_detection_lag_s = round(max(0.0, (seen - received).total_seconds()), 3)
    upn = str(ctx.account.upn).lower()
    preview = str(mail.get("bodyPreview") or "").lower()
    mentions = upn in preview or str(ctx.account.object_id) in preview
    sb.check(
        "alert_mail",
        "Alert email received after the sign-in",
        True,
        f"received {received.isoformat()}"
        + (f", {t.time_to_alert_s:.0f}s after the sign-in" if t.time_to_alert_s else ""),
        {
            "subject": mail["subject"],
            "from": mail["from"],
            "receivedDateTime": received.isoformat(),
            "internetMessageId": mail["internetMessageId"],
        },
    )
    sb.check(
        "alert_mentions",
        "The alert names the account",
        mentions,
        "the mail names the account" if mentions else "the mail preview does not name the account",
        required=False,
    )
    sla = float(ctx.playbook.sla.alert)
    if t.time_to_alert_s is not None and t.time_to_alert_s > sla:
        sb.check("alert_sla", "Alert within the SLA", False, f"{t.time_to_alert_s:.0f}s exceeds {sla:.0f}s")
    return sb.finish("alert email received")
