"""Step: the Sentinel analytics rule raised an alert, and an incident someone will see, for this sign-in.

Read through the Log Analytics query API, because SecurityAlert and SecurityIncident live in the drill's own
workspace and the observer already holds Log Analytics Reader there (the SecurityInsights API would add
Microsoft Sentinel Reader and, for the alerts of an incident, a POST per incident). The analytics rule's
configuration and its automation rules were read through ARM in preflight; this step proves the run:
1. the rule's deployed query, run over its own window around this sign-in's row, returns the row;
2. a SecurityAlert of that rule names this account (UPN or object id: which is recorded) and its window
   holds the row's TimeGenerated;
3. (when the playbook requires an incident) the SecurityIncident the alert was grouped into, read once it
   has settled: open (not closed by an automation rule, not a closed incident the alert joined), within
   the SLA; its number, status, owner and creation time go to the evidence and the timeline.
Each failure names the link and the fix.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drill.evidence.model import StepResult
from drill.isotime import parse_duration
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext
from drill.steps.log_rows import _hits, _rows, workspace_query
from drill.steps.sentinel_alerts import (
    AlertSearch,
    alerts_query,
    as_time,
    incident_of,
    incidents_query,
    owner_text,
    search_alerts,
)
from drill.steps.waiting import ServiceRefused, call_within, poll

NAME, TITLE = "incident", "The Sentinel analytics rule raised an incident for this sign-in"
SETTLE_S = 60.0  # tenant seconds an incident is left to its automation rules before its state is judged
LOOKBACK = timedelta(
    days=1
)  # how far back an older alert (folded events) or a grouped incident is looked for
NO_ROW = (
    "not waited for: the log rows step found no SigninLogs row of this sign-in, and a Sentinel alert counts "
    "only when its window holds that row; fix the log rows step's finding first"
)


@dataclass
class _Wait:
    ctx: DrillContext
    run: Any
    rule: dict[str, Any]
    row_time: datetime
    signed_in: datetime
    search: AlertSearch = field(default_factory=AlertSearch)
    incident: tuple[list[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def rule_name(self) -> str:
        return str(self.rule.get("name") or "")

    def query(self, kql: str) -> list[dict[str, Any]]:
        from azure.monitor.query import LogsQueryStatus

        result = self.run(kql)
        if result.status == LogsQueryStatus.FAILURE:
            raise RuntimeError(f"query failed: {getattr(result, 'error', '')}")
        return _rows(result)

    async def probe(self) -> bool | None:
        """True once the proof is complete (alert, and the settled incident when one is required)."""
        acct = self.ctx.account
        if self.search.found is None:
            alerts = await asyncio.to_thread(self.query, alerts_query(self.signed_in - LOOKBACK))
            self.search = search_alerts(
                alerts, self.rule_name, str(acct.upn), str(acct.object_id), self.row_time
            )
            if self.search.found is None:
                return None
        watch = self.ctx.playbook.sentinel
        if watch is None or watch.require == "alert":
            return True
        alert_id = str(self.search.found["SystemAlertId"])
        since = (as_time(self.search.found.get("TimeGenerated")) or self.signed_in) - timedelta(minutes=1)
        rows = await asyncio.to_thread(self.query, incidents_query(since))
        self.incident = incident_of(rows, alert_id)
        if self.incident is None:
            return None
        joined_at = as_time(self.incident[1].get("TimeGenerated")) or self.signed_in
        # The workspace's own clock (a sped-up simulator's too), not ours shifted by the measured skew.
        now = await asyncio.to_thread(self.query, "print Now = now()")
        service_now = as_time(now[0].get("Now")) if now else None
        settled = service_now is not None and service_now >= joined_at + timedelta(seconds=SETTLE_S)
        return True if settled else None


def cannot_run(ctx: DrillContext) -> str | None:
    if ctx.observer is None or ctx.timings.signin_started_at is None:
        return "no sign-in to wait for a Sentinel alert about"
    if not ctx.signin_row.get("TimeGenerated"):
        return NO_ROW
    if not ctx.sentinel.get("rule"):
        return "preflight did not read the analytics rule (its Sentinel checks say why): nothing to tie to"
    return None


async def check_query(ctx: DrillContext, sb: StepBuilder, wait: _Wait, budget: float) -> bool:
    """The rule's deployed query, over its own lookback ending when the row arrived, returns this sign-in."""
    props = dict(wait.rule.get("properties") or {})
    period = parse_duration(props.get("queryPeriod")) or timedelta(minutes=5)
    arrived = ctx.timings.row_ingested_at or wait.row_time
    end = min(max(arrived, wait.row_time), wait.row_time + period)
    span = (end - period, end)
    try:
        result, _errors = await call_within(
            lambda: asyncio.to_thread(wait.run, str(props.get("query")), span), budget
        )
    except ServiceRefused as exc:
        return sb.check(
            "sentinel_query",
            "The analytics rule's query returns this sign-in",
            False,
            f"Log Analytics refused the rule's query (HTTP {exc.status}): {exc.message}",
        )
    rows = _rows(result)
    hits = _hits(ctx, rows)
    window = f"{span[0].isoformat()} to {span[1].isoformat()}"
    return sb.check(
        "sentinel_query",
        "The analytics rule's query returns this sign-in",
        bool(hits),
        f"{len(hits)} of {len(rows)} rows over the rule's window {window} name this sign-in"
        if hits
        else f"the analytics rule {props.get('displayName')!r}, run over its own window {window}, returned "
        f"{len(rows)} rows, none for {ctx.account.upn} ({ctx.account.object_id}) or this sign-in: it cannot "
        "alert on it; make the query match every break-glass account's object id (UserId), not only the UPN",
        {"window": [span[0].isoformat(), span[1].isoformat()], "rows": len(rows), "matching_rows": len(hits)},
    )


def check_alert(ctx: DrillContext, sb: StepBuilder, wait: _Wait) -> None:
    alert, seen = wait.search.found, wait.search.seen
    assert alert is not None
    assert seen is not None
    at = as_time(alert.get("TimeGenerated"))
    t = ctx.timings
    t.sentinel_alert_at = at
    reference = t.row_created_at or wait.signed_in
    if at is not None:
        t.time_to_sentinel_alert_s = round((at - reference).total_seconds(), 3)
    sb.check(
        "sentinel_alert",
        "A SecurityAlert of the rule names this account and covers this sign-in",
        True,
        f"alert {alert.get('SystemAlertId')} ({alert.get('AlertName')!r}) at {alert.get('TimeGenerated')}, "
        f"{t.time_to_sentinel_alert_s}s after the sign-in; the account entity shows the {seen.kind} "
        f"({seen.field})",
        {
            "systemAlertId": alert.get("SystemAlertId"),
            "alertName": alert.get("AlertName"),
            "timeGenerated": str(alert.get("TimeGenerated")),
            "startTime": str(alert.get("StartTime")),
            "endTime": str(alert.get("EndTime")),
            "status": alert.get("Status"),
            "account_identifier": seen.kind,
            "account_field": seen.field,
            "account_value": seen.value,
        },
    )


def check_incident(ctx: DrillContext, sb: StepBuilder, wait: _Wait) -> None:
    assert wait.incident is not None
    assert wait.search.found is not None
    history, joined = wait.incident
    latest = history[-1]
    number, status = int(latest.get("IncidentNumber") or 0), str(latest.get("Status") or "")
    joined_at = as_time(joined.get("TimeGenerated"))
    alert_at = ctx.timings.sentinel_alert_at
    t = ctx.timings
    t.incident_number, t.incident_created_at = number, joined_at
    reference = t.row_created_at or wait.signed_in
    if joined_at is not None:
        t.time_to_incident_s = round((joined_at - reference).total_seconds(), 3)
    evidence = {
        "incidentNumber": number,
        "incidentName": latest.get("IncidentName"),
        "title": latest.get("Title"),
        "status": status,
        "owner": owner_text(latest.get("Owner")),
        "createdTime": str(latest.get("CreatedTime")),
        "alertJoinedAt": str(joined.get("TimeGenerated")),
        "modifiedBy": latest.get("ModifiedBy"),
        "classification": latest.get("Classification"),
        "incidentUrl": latest.get("IncidentUrl"),
        "alert_to_incident_s": round((joined_at - alert_at).total_seconds(), 3)
        if joined_at and alert_at
        else None,
        "history": [
            {"at": str(r.get("TimeGenerated")), "status": r.get("Status"), "modifiedBy": r.get("ModifiedBy")}
            for r in history
        ][-10:],
    }
    at = history.index(joined)
    closed_before = (
        at > 0 and str(history[at - 1].get("Status")) == "Closed" and str(joined.get("Status")) == "Closed"
    )
    if status != "Closed":
        why = f"incident #{number} ({status}, owner {evidence['owner']}) created {latest.get('CreatedTime')}"
        sb.check("sentinel_incident", "The alert's incident is open for the SOC", True, why, evidence)
    elif closed_before:
        sb.check(
            "sentinel_incident",
            "The alert's incident is open for the SOC",
            False,
            f"the alert was grouped into incident #{number}, already Closed ({latest.get('Classification')}) "
            f"before this sign-in: nobody will look at it; turn on 'Re-open closed matching incidents' in "
            "the "
            "rule's alert grouping, or turn alert grouping off",
            evidence,
        )
    elif str(latest.get("ModifiedBy") or "").startswith("Automation rule"):
        sb.check(
            "sentinel_incident",
            "The alert's incident is open for the SOC",
            False,
            f"incident #{number} was closed as it was created by {latest.get('ModifiedBy')!r} "
            f"({latest.get('ClassificationReason') or latest.get('Classification')}): exclude the "
            "break-glass "
            "analytics rule from that automation rule",
            evidence,
        )
    else:
        sb.check(
            "sentinel_incident",
            "The alert's incident is open for the SOC",
            False,
            f"incident #{number} is Closed (by {latest.get('ModifiedBy')}) within {SETTLE_S:.0f}s of the "
            "alert: "
            "find who closes break-glass incidents and stop it",
            evidence,
        )
    owned = owner_text(latest.get("Owner")) != "unassigned"
    sb.check(
        "sentinel_incident_owner",
        "The incident has an owner",
        owned,
        f"owner {evidence['owner']}"
        if owned
        else "unassigned: an automation rule assigning break-glass "
        "incidents to the on-call analyst shortens the response",
        required=False,
    )


def check_sla(ctx: DrillContext, sb: StepBuilder, require: str) -> None:
    sla = float(ctx.playbook.sla.incident)
    took = ctx.timings.time_to_incident_s if require == "incident" else ctx.timings.time_to_sentinel_alert_s
    what = "incident" if require == "incident" else "alert"
    if took is not None and took > sla:
        sb.check(
            "sentinel_sla",
            f"The {what} within the SLA",
            False,
            f"the {what} came {took:.0f}s after the sign-in, over the SLA of {sla:.0f}s: run the rule every "
            "5 minutes and check Sentinel's health (SentinelHealth) for delayed runs",
        )


def timeout_reason(wait: _Wait, waited: str) -> str:
    """The likeliest broken link when the wait ended without proof, with the fix."""
    label = str((wait.rule.get("properties") or {}).get("displayName") or wait.rule_name)
    acct = wait.ctx.account
    if wait.search.found is not None:
        alert = wait.search.found
        if wait.incident is None:
            return (
                f"alert {alert.get('SystemAlertId')} of {label!r} came at {alert.get('TimeGenerated')}, but "
                f"no incident holds it {waited}: turn on incident creation for the rule (or set "
                "sentinel.require: "
                "alert if an alert suffices)"
            )
        return f"incident #{wait.incident[1].get('IncidentNumber')} did not settle {waited}"
    if wait.search.older is not None:
        older = wait.search.older
        return (
            f"the only alert of {label!r} naming {acct.upn} is {older.get('SystemAlertId')} at "
            f"{older.get('TimeGenerated')}, whose window ({older.get('StartTime')} to "
            f"{older.get('EndTime')}) "
            f"does not hold this sign-in: the sign-in was folded into that older alert (event grouping 'all "
            "events into a single alert', or suppression after it); set 'Trigger an alert for each event' "
            "and "
            "turn suppression off"
        )
    others = f" ({wait.search.others} alerts of the rule for other accounts)" if wait.search.others else ""
    return (
        f"no SecurityAlert of {label!r} naming {acct.upn} or {acct.object_id} {waited}{others}: the rule's "
        "query returns this sign-in (checked), so the rule did not run in time; check it is enabled, its "
        "schedule, and Sentinel's health (SentinelHealth), and the SLA"
    )


async def run(ctx: DrillContext) -> StepResult:
    sb = StepBuilder(NAME, TITLE)
    if (why := cannot_run(ctx)) is not None:
        return sb.fail(why)
    watch = ctx.playbook.sentinel
    assert watch is not None
    assert ctx.observer is not None
    row_time = as_time(ctx.signin_row.get("TimeGenerated"))
    assert row_time is not None
    started = ctx.timings.signin_started_at
    assert started is not None
    signed_in = ctx.timings.row_created_at or ctx.skew.tenant_time(started)
    run_query = workspace_query(ctx, ctx.observer, signed_in - LOOKBACK)
    wait = _Wait(ctx, run_query, dict(ctx.sentinel["rule"]), row_time, signed_in)
    deadline = float(ctx.playbook.sla.incident)
    sb.evidence.update(rule=wait.rule.get("id"), require=watch.require, clock_skew_s=ctx.skew.offset_s)
    if not await check_query(ctx, sb, wait, min(120.0, deadline)):
        return sb.finish()
    progress = ctx.progress
    try:
        outcome = await poll(
            wait.probe,
            deadline,
            on_attempt=lambda n, s: progress.waiting("the Sentinel incident", s, deadline, n),
        )
    except ServiceRefused as exc:
        return sb.fail(f"Log Analytics refused to read Sentinel's tables (HTTP {exc.status}): {exc.message}")
    sb.evidence.update(
        attempts=outcome.attempts,
        transient_error_count=outcome.transient_count,
        transient_errors=outcome.errors[:20],
    )
    if wait.search.found is not None:
        check_alert(ctx, sb, wait)
    if outcome.value is not True:
        waited = f"after {outcome.waited_s:.0f}s (SLA {deadline:.0f}s)"
        sb.check("sentinel_proof", "Sentinel proved this sign-in", False, timeout_reason(wait, waited))
        return sb.finish()
    if watch.require == "incident":
        check_incident(ctx, sb, wait)
    check_sla(ctx, sb, watch.require)
    return sb.finish(
        "Sentinel alert and incident for this sign-in"
        if watch.require == "incident"
        else "Sentinel alert for this sign-in"
    )
