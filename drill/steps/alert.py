"""Step: the alert email reached the watched mailbox, read through Graph by the observer.

A mail proves the alert when it comes from one of Azure's sender addresses with the playbook's subject,
arrives after the sign-in, shows nothing that contradicts this drill (a Resolved condition, another rule,
another account: alert_mail.judge), and Azure Monitor holds an alert instance of a deployed rule whose
evaluation window covers this sign-in's row (alert_instance.py; the mail's alert id, when it shows one,
must be that instance's). Azure's mail template is not public, so the window comes from ARM, never from
the mail. Other mails are recorded with the reason they do not count, and the wait goes on. If the wait
ends empty, the reason says which link most likely broke: an alert already Fired (stateful rules send
nothing new), a Resolved mail only, mail for another account, or a row later than any alert window.
Its latency from the sign-in (both on the tenant's clock) is the number the SOC's SLA is about.
Without this sign-in's SigninLogs row no alert can be shown to cover it, so the step fails at once, naming
the log rows step, instead of waiting out an SLA that could only end in the same FAIL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from drill.evidence.model import StepResult
from drill.fidelity import note_mail
from drill.isotime import parse_utc, utc_z
from drill.steps.alert_instance import (
    InstanceSearch,
    Listing,
    check_instance,
    find_instance,
    list_instances,
    no_instance_reason,
)
from drill.steps.alert_mail import judge, parse_alert_mail, window_covers
from drill.steps.base import StepBuilder, utcnow
from drill.steps.context import DrillContext
from drill.steps.waiting import ServiceRefused, call_within, poll

if TYPE_CHECKING:
    from drill.playbook import Alert

NAME, TITLE = "alert", "The alert email reached the watched mailbox"
SCOPES = (".default",)
LATE_INGESTION_S = 300.0  # a row later than the shortest usual rule window (5 minutes) can be missed
SELECT = ["id", "subject", "receivedDateTime", "from", "sender", "body", "internetMessageId"]
NO_ROW = (
    "not waited for: the log rows step found no SigninLogs row of this sign-in, and an alert mail counts "
    "only when its evaluation window covers that row; fix the log rows step's finding first"
)


def watch(ctx: DrillContext) -> Alert:
    """The playbook's alert mail watch (the orchestrator runs this step only when there is one)."""
    alert = ctx.playbook.alert
    if alert is None:
        raise RuntimeError("the alert step runs only for a playbook with an alert mail watch")
    return alert


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
    alert = watch(ctx)
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
    alert = watch(ctx)
    return {str(s).lower() for s in [*alert.senders, alert.sender]}


@dataclass
class _Found:
    """What ended the wait: a mail and the instance tying it to the row, or ARM's refusal."""

    mail: dict[str, Any] | None = None
    proof: InstanceSearch | None = None
    refused: str | None = None


@dataclass
class _MailWait:
    """The wait's state: where it reads, what it compares with, and every mail judged so far."""

    ctx: DrillContext
    client: Any
    since: datetime
    signed_in: datetime
    row_time: datetime
    senders: set[str]
    rejected: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # mails waiting for their instance
    search: InstanceSearch | None = None
    listing: Listing | None = None

    async def list_messages(self, flt: str) -> list[dict[str, Any]]:
        """Every page (a busy shared mailbox can hold more than 50 mails since the sign-in), up to 20."""
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=flt, orderby=["receivedDateTime desc"], top=50, select=SELECT
        )
        self.ctx.counters["graph_requests"] += 1
        builder = self.client.users.by_user_id(str(watch(self.ctx).mailbox)).messages
        resp = await builder.get(request_configuration=RequestConfiguration(query_parameters=query))
        out = [_message(m) for m in (resp.value if resp else None) or []]
        for _ in range(19):
            link = getattr(resp, "odata_next_link", None)
            if not link:
                break
            self.ctx.counters["graph_requests"] += 1
            resp = await builder.with_url(link).get()
            out.extend(_message(m) for m in (resp.value if resp else None) or [])
        return out

    async def probe(self) -> _Found | None:
        messages = await self.list_messages(f"receivedDateTime ge {utc_z(self.since)}")
        self.listing = None  # ARM is listed at most once per attempt, and only for a mail worth tying
        for mail in candidates(messages, watch(self.ctx).subject_match, self.senders):
            if mail["id"] in self.rejected:
                continue
            note_mail(str(mail["subject"] or ""), str(mail["body"] or ""))
            fields = parse_alert_mail(mail["body"], mail["subject"])
            mail = {**mail, "fields": fields}
            rules = list(watch(self.ctx).rules)
            why = judge(fields, received=mail["receivedDateTime"], signed_in=self.signed_in, rules=rules,
                        account_ids=_account_ids(self.ctx))  # fmt: skip
            if why is None:
                found, why = await self._tie(mail)
                if found is not None:
                    return found
            if why is not None:
                self.pending.pop(mail["id"], None)
                self.rejected[mail["id"]] = _rejection(mail, why)
        return None

    async def _tie(self, mail: dict[str, Any]) -> tuple[_Found | None, str | None]:
        """The instance tying an acceptable mail to the row; (None, None) while it is not listed yet."""
        if not self.ctx.deployed_rules or self.ctx.arm is None:
            why = window_covers(mail["fields"], self.row_time)
            return (_Found(mail=mail), None) if why is None else (None, why)
        if self.listing is None:
            self.listing, refused = await list_instances(self.ctx, 60.0)
            if refused:
                return _Found(refused=refused), None
        alert_id = mail["fields"].get("alert_id")
        search = find_instance(self.ctx, self.listing, alert_id, self.row_time, self.signed_in)
        self.search = search
        if search.other_alert:
            return None, search.other_alert
        if search.found is None:
            self.pending[mail["id"]] = mail
            return None, None
        return _Found(mail=mail, proof=search), None


def _account_ids(ctx: DrillContext) -> set[str]:
    return {str(ctx.account.object_id).lower(), str(ctx.account.upn).lower()}


def _rejection(mail: dict[str, Any], why: str) -> dict[str, Any]:
    fields = mail["fields"]
    return {"subject": mail["subject"], "from": mail["from"],
            "receivedDateTime": mail["receivedDateTime"].isoformat(), "rule": fields.get("rule"),
            "monitorCondition": fields.get("condition"), "alertId": fields.get("alert_id"),
            "dimensions": fields.get("dimensions"), "reason": why}  # fmt: skip


def cannot_wait(ctx: DrillContext) -> str | None:
    """Why no alert can be waited for (no sign-in, or no row of it to tie an alert to)."""
    if ctx.observer is None or ctx.timings.signin_started_at is None:
        return "no sign-in to wait for an alert about"
    if not ctx.signin_row.get("TimeGenerated"):
        return NO_ROW
    return None


def _mail_wait(ctx: DrillContext) -> _MailWait:
    from drill.clients import graph_client, graph_scopes

    # "After the sign-in" on the tenant's clock: the row's CreatedDateTime, else our start shifted by skew.
    started, observer = ctx.timings.signin_started_at, ctx.observer
    assert started is not None  # cannot_wait() said so
    assert observer is not None
    signed_in = ctx.timings.row_created_at or ctx.skew.tenant_time(started)
    return _MailWait(
        ctx=ctx,
        client=graph_client(observer, ctx.cloud, graph_scopes(ctx.cloud, SCOPES)),
        since=signed_in - timedelta(seconds=1),
        signed_in=signed_in,
        row_time=parse_utc(str(ctx.signin_row["TimeGenerated"])),
        senders=_senders(ctx),
    )


async def _why_nothing(wait: _MailWait, waited: str) -> str:
    """The failure reason when the wait ended without proof: an untied mail, or the likeliest link."""
    if wait.pending:
        mail = next(iter(wait.pending.values()))
        return (f"the alert mail {mail['subject']!r} received {mail['receivedDateTime'].isoformat()} "
                f"{waited}, but {no_instance_reason(wait.ctx)}")  # fmt: skip
    earlier = await _earlier_alerts(wait.list_messages, wait.since, watch(wait.ctx).subject_match,
                                    wait.senders)  # fmt: skip
    return timeout_reason(wait.ctx, wait.rejected, earlier, waited)


def record_timings(ctx: DrillContext, received: datetime) -> None:
    """Time to alert (from the row's CreatedDateTime, else the sign-in's end) and our detection lag."""
    seen = ctx.skew.tenant_time(utcnow())
    t = ctx.timings
    t.alert_received_at, t.alert_seen_at = received, seen
    reference = t.row_created_at
    if reference is None and ctx.signin_completed_at is not None:
        reference = ctx.skew.tenant_time(ctx.signin_completed_at)
    if reference:
        t.time_to_alert_s = round((received - reference).total_seconds(), 3)
    t.alert_detection_lag_s = round(max(0.0, (seen - received).total_seconds()), 3)


def check_mail(ctx: DrillContext, sb: StepBuilder, mail: dict[str, Any], rejected: int) -> None:
    fields, received = mail["fields"], mail["receivedDateTime"]
    latency = ctx.timings.time_to_alert_s
    shown = ", ".join(f"{k} {fields[k]!r}" for k in ("rule", "condition", "alert_id") if fields.get(k))
    sb.check(
        "alert_mail",
        "A Fired alert for this sign-in, received after it",
        True,
        f"{mail['subject']!r} from {mail['from']} received {received.isoformat()}"
        + (f", {latency:.0f}s after the sign-in" if latency else "")
        + (f"; the mail shows {shown}" if shown else "; the mail shows no alert field (the instance does)"),
        {
            "subject": mail["subject"],
            "from": mail["from"],
            "receivedDateTime": received.isoformat(),
            "internetMessageId": mail["internetMessageId"],
            "rule": fields.get("rule"),
            "monitorCondition": fields.get("condition"),
            "alertId": fields.get("alert_id"),
            "dimensions": fields.get("dimensions"),
            "links": fields.get("links"),
            "rejected_before": rejected,
        },
    )


def check_mentions(ctx: DrillContext, sb: StepBuilder, mail: dict[str, Any]) -> None:
    body = mail["body"].lower()
    mentions = str(ctx.account.upn).lower() in body or str(ctx.account.object_id).lower() in body
    sb.check("alert_mentions", "The alert names the account", mentions,
             "the mail names the account" if mentions else "the mail does not name the account",
             required=False)  # fmt: skip


def check_sla(ctx: DrillContext, sb: StepBuilder) -> None:
    sla, took = float(ctx.playbook.sla.alert), ctx.timings.time_to_alert_s
    if took is not None and took > sla:
        sb.check("alert_sla", "Alert within the SLA", False, f"{took:.0f}s exceeds {sla:.0f}s")


def _record_wait(sb: StepBuilder, wait: _MailWait, outcome: Any) -> None:
    sb.evidence["attempts"] = outcome.attempts
    sb.evidence["transient_errors"] = outcome.errors[:50]
    sb.evidence["transient_error_count"] = outcome.transient_count
    sb.evidence["rejected_mails"] = list(wait.rejected.values())[:20]
    if wait.search is not None:
        sb.evidence["alert_instances"] = wait.search.seen[:20]


async def run(ctx: DrillContext) -> StepResult:
    sb = StepBuilder(NAME, TITLE)
    if (why := cannot_wait(ctx)) is not None:
        return sb.fail(why)
    wait, deadline = _mail_wait(ctx), float(ctx.playbook.sla.alert)
    sb.evidence.update(accepted_senders=sorted(wait.senders), expected_rules=list(watch(ctx).rules),
                       clock_skew_s=ctx.skew.offset_s)  # fmt: skip
    progress = ctx.progress
    try:
        outcome = await poll(
            wait.probe, deadline, on_attempt=lambda n, s: progress.waiting("the alert email", s, deadline, n)
        )
    except ServiceRefused as exc:
        mailbox = watch(ctx).mailbox
        return sb.fail(f"Graph refused to list {mailbox} (HTTP {exc.status}): {exc.message}")
    _record_wait(sb, wait, outcome)
    found: _Found | None = outcome.value
    if found is not None and found.refused:
        sb.check("alert_instance", "Azure Monitor holds the Fired alert instance for this sign-in", False,
                 found.refused)  # fmt: skip
        return sb.finish("Fired alert for this sign-in received")
    if found is None or found.mail is None:
        waited = f"after {outcome.waited_s:.0f}s (SLA {deadline:.0f}s)"
        if outcome.errors:
            waited += f", {outcome.error_summary()} from Graph absorbed"
        return sb.fail(await _why_nothing(wait, waited))
    record_timings(ctx, found.mail["receivedDateTime"])
    check_mail(ctx, sb, found.mail, len(wait.rejected))
    check_mentions(ctx, sb, found.mail)
    if found.proof is not None and found.proof.found is not None:
        check_instance(ctx, sb, found.proof.found, found.mail["fields"].get("alert_id"), wait.signed_in)
    check_sla(ctx, sb)
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
        {"received": m["receivedDateTime"].isoformat(), "fields": parse_alert_mail(m["body"], m["subject"])}
        for m in candidates(messages, subject_re, senders)
    ]
