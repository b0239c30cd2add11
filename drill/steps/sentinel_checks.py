"""The incident step's checks, each a named function over what the wait found: the rule's query returns
this sign-in, the alert names this account and covers the sign-in, the incident holding it is open for the
SOC, and all of it within the SLA; and, when the wait ran out, which link most likely broke and its fix.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from drill.isotime import parse_duration
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext
from drill.steps.log_rows import _hits, result_rows
from drill.steps.sentinel_alerts import as_time, owner_text
from drill.steps.sentinel_wait import SETTLE_S, SentinelWait
from drill.steps.waiting import ServiceRefused, call_within


async def check_query(ctx: DrillContext, sb: StepBuilder, wait: SentinelWait, budget: float) -> bool:
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
    rows = result_rows(result)
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


def check_alert(ctx: DrillContext, sb: StepBuilder, wait: SentinelWait) -> None:
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


def check_incident(ctx: DrillContext, sb: StepBuilder, wait: SentinelWait) -> None:
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
    # The row that first lists the alert already says Closed, and the incident is older than the alert: the
    # alert joined an incident someone had closed (its earlier rows may be older than the query's reach).
    created = as_time(latest.get("CreatedTime"))
    closed_before = str(joined.get("Status")) == "Closed" and (
        created is None or alert_at is None or created < alert_at
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


def timeout_reason(wait: SentinelWait, waited: str) -> str:
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
