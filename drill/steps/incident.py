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
   the SLA; its number, status, owner and creation time go to the evidence and the timeline;
4. (when the workspace is onboarded to the Defender portal) the same incident read through Microsoft Graph's
   /security/incidents, open, its Graph id, web URL and the link that tied it in the evidence
   (defender_read.py).
Each failure names the link and the fix.
"""

from __future__ import annotations

import time

from drill.evidence.model import StepResult
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext
from drill.steps.defender_read import check_defender
from drill.steps.log_rows import workspace_query
from drill.steps.sentinel_alerts import as_time
from drill.steps.sentinel_checks import check_alert, check_incident, check_query, check_sla, timeout_reason
from drill.steps.sentinel_wait import LOOKBACK, SentinelWait
from drill.steps.waiting import ServiceRefused, poll

NAME, TITLE = "incident", "The Sentinel analytics rule raised an incident for this sign-in"
NO_ROW = (
    "not waited for: the log rows step found no SigninLogs row of this sign-in, and a Sentinel alert counts "
    "only when its window holds that row; fix the log rows step's finding first"
)


def cannot_run(ctx: DrillContext) -> str | None:
    if ctx.observer is None or ctx.timings.signin_started_at is None:
        return "no sign-in to wait for a Sentinel alert about"
    if not ctx.signin_row.get("TimeGenerated"):
        return NO_ROW
    if not ctx.sentinel.get("rule"):
        return "preflight did not read the analytics rule (its Sentinel checks say why): nothing to tie to"
    return None


def prepare(ctx: DrillContext) -> SentinelWait:
    """The wait for this sign-in's alert: the row's time, the sign-in on the tenant's clock, the rule."""
    assert ctx.observer is not None
    row_time = as_time(ctx.signin_row.get("TimeGenerated"))
    started = ctx.timings.signin_started_at
    assert row_time is not None
    assert started is not None
    signed_in = ctx.timings.row_created_at or ctx.skew.tenant_time(started)
    run_query = workspace_query(ctx, ctx.observer, signed_in - LOOKBACK)
    return SentinelWait(ctx, run_query, dict(ctx.sentinel["rule"]), row_time, signed_in)


async def await_proof(ctx: DrillContext, sb: StepBuilder, wait: SentinelWait) -> bool:
    """Poll until the alert (and the settled incident) are there, or the SLA passes: whether they are."""
    deadline = float(ctx.playbook.sla.incident)
    progress = ctx.progress
    outcome = await poll(
        wait.probe,
        deadline,
        on_attempt=lambda n, s: progress.waiting("the Sentinel incident", s, deadline, n),
    )
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
        return False
    return True


async def run(ctx: DrillContext) -> StepResult:
    sb = StepBuilder(NAME, TITLE)
    if (why := cannot_run(ctx)) is not None:
        return sb.fail(why)
    watch = ctx.playbook.sentinel
    assert watch is not None
    wait = prepare(ctx)
    started = time.monotonic()
    sb.evidence.update(rule=wait.rule.get("id"), require=watch.require, clock_skew_s=ctx.skew.offset_s)
    if not await check_query(ctx, sb, wait, min(120.0, float(ctx.playbook.sla.incident))):
        return sb.finish()
    try:
        if not await await_proof(ctx, sb, wait):
            return sb.finish()
    except ServiceRefused as exc:
        return sb.fail(f"Log Analytics refused to read Sentinel's tables (HTTP {exc.status}): {exc.message}")
    if watch.require == "incident":
        check_incident(ctx, sb, wait)
        if watch.defender_onboarded:
            # what is left of the SLA, but never less than a minute: the portal's read gets its own chance
            left = float(ctx.playbook.sla.incident) - (time.monotonic() - started)
            await check_defender(ctx, sb, wait, max(60.0, left))
    check_sla(ctx, sb, watch.require)
    proved = "Sentinel alert and incident" if watch.require == "incident" else "Sentinel alert"
    return sb.finish(f"{proved} for this sign-in")
