"""The alert step's second proof (issue 13): Azure Monitor's own record of the alert that fired.

A mail can be forwarded, replayed or sent by another rule with the same subject; the alert instance in
Microsoft.AlertsManagement cannot. So with the deployed rules known (preflight read them from ARM), the step
also finds the instance of one of those rules whose evaluation window covers this sign-in's row, fired after
the sign-in, and, for a rule split by dimensions, naming this account. It records the rule id, the fired
time (essentials.startDateTime) and the latency from the sign-in.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drill.steps.waiting import ServiceRefused, call_within

if TYPE_CHECKING:
    from drill.monitoring.deployed import DeployedRule, FiredAlert
    from drill.steps.base import StepBuilder
    from drill.steps.context import DrillContext

TITLE = "Azure Monitor holds the Fired alert instance for this sign-in"


def _resource_group(rule_id: str) -> str:
    parts = rule_id.strip("/").split("/")
    return parts[[p.lower() for p in parts].index("resourcegroups") + 1]


def matches(alert: FiredAlert, row_time: datetime, signed_in: datetime, account_ids: set[str]) -> str | None:
    """Why this instance is not about the drill's row, or None when it is."""
    if alert.fired is None or alert.fired < signed_in - timedelta(seconds=1):
        return "fired before the sign-in"
    if alert.window_start is None or alert.window_end is None:
        return "its context carries no evaluation window"
    if not alert.window_start <= row_time <= alert.window_end:
        return f"its window {alert.window_start.isoformat()} to {alert.window_end.isoformat()} misses the row"
    values = {value.lower() for _name, value in alert.dimensions}
    if values and not values & account_ids:
        return f"it is split by {', '.join(n for n, _v in alert.dimensions)} for another value"
    return None


async def prove_instance(
    ctx: DrillContext, sb: StepBuilder, mail_alert_id: str | None, row_time: datetime, signed_in: datetime,
    budget: float,
) -> None:  # fmt: skip
    """Add the required `alert_instance` check (only when preflight read the deployed rules)."""
    if not ctx.deployed_rules or ctx.arm is None:
        return
    account_ids = {str(ctx.account.object_id).lower(), str(ctx.account.upn).lower()}
    found: list[tuple[DeployedRule, FiredAlert]] = []
    seen: list[dict[str, Any]] = []
    arm = ctx.arm
    for rule in ctx.deployed_rules.values():

        async def listed(rule_id: str = rule.id) -> list[FiredAlert]:
            result: list[FiredAlert] = await asyncio.to_thread(
                arm.fired_alerts, _resource_group(rule_id), rule_id
            )
            return result

        try:
            alerts, _errors = await call_within(listed, budget)
        except ServiceRefused as exc:
            sb.check("alert_instance", TITLE, False,
                     f"ARM refused listing the alerts of {rule.id} (HTTP {exc.status}): "
                     f"{exc.message}")  # fmt: skip
            return
        for alert in alerts:
            why = matches(alert, row_time, signed_in, account_ids)
            fired = alert.fired.isoformat() if alert.fired else None
            seen.append({"id": alert.id, "rule": rule.id, "condition": alert.monitor_condition,
                         "fired": fired, "rejected": why})  # fmt: skip
            if why is None:
                found.append((rule, alert))
    sb.evidence["alert_instances"] = seen[:20]
    if not found:
        sb.check("alert_instance", TITLE, False,
                 f"no alert instance of {', '.join(r.id for r in ctx.deployed_rules.values())} covers this "
                 "sign-in's row: the mail cannot be tied to this sign-in in Azure Monitor; see "
                 "evidence.alert_instances for what was listed and why each does not count")  # fmt: skip
        return
    same = [pair for pair in found if mail_alert_id and pair[1].id.lower() == mail_alert_id.lower()]
    rule, alert = (same or found)[0]
    reference = ctx.timings.row_created_at or signed_in
    latency = round((alert.fired - reference).total_seconds(), 3) if alert.fired else None
    sb.check("alert_instance", TITLE, True,
             f"alert {alert.id} of rule {rule.id} fired at {alert.fired.isoformat() if alert.fired else '?'}"
             + (f", {latency:.0f}s after the sign-in" if latency is not None else "")
             + ("; the mail names the same alert id" if same else ""),
             {"rule": rule.id, "alertId": alert.id, "firedDateTime": alert.fired.isoformat() if alert.fired
              else None, "monitorCondition": alert.monitor_condition, "latency_s": latency,
              "window": [alert.window_start.isoformat() if alert.window_start else None,
                         alert.window_end.isoformat() if alert.window_end else None],
              "mail_alert_id_matches": bool(same)})  # fmt: skip
