"""The alert step's proof that the alert covered *this* sign-in: Azure Monitor's own alert instance.

A mail can be forwarded, replayed or sent by another rule with the same subject, and its template is not
public; the alert instance in Microsoft.AlertsManagement is neither. So with the deployed rules known
(preflight read them from ARM), an alert mail counts only with an instance of one of those rules whose
evaluation window (ARM's, not the mail's) covers this sign-in's row, fired after the sign-in, and, for a
rule split by dimensions, naming this account. When the mail carries its alert id, it must be that
instance's. The check records the rule id, the fired time (essentials.startDateTime) and the latency.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from drill.steps.waiting import ServiceRefused, call_within

if TYPE_CHECKING:
    from drill.monitoring.deployed import DeployedRule, FiredAlert
    from drill.steps.base import StepBuilder
    from drill.steps.context import DrillContext

TITLE = "Azure Monitor holds the Fired alert instance for this sign-in"


@dataclass
class InstanceSearch:
    """What one listing found: the instance tying the mail to the row, or why none does."""

    found: tuple[DeployedRule, FiredAlert] | None = None
    seen: list[dict[str, Any]] = field(default_factory=list)
    other_alert: str | None = None  # the mail names an alert that is listed but not about this row


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


def _same_alert(mail_alert_id: str, alert_id: str) -> bool:
    """The mail may show the full ARM id or only its last segment."""
    a, b = mail_alert_id.strip().rstrip("/").lower(), alert_id.strip().rstrip("/").lower()
    return a == b or a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1]


Listing = list[tuple["DeployedRule", "FiredAlert"]]


async def list_instances(ctx: DrillContext, budget: float) -> tuple[Listing, str | None]:
    """Every deployed rule's alert instances (ARM), or the reason ARM refused to list them."""
    out: Listing = []
    arm = ctx.arm
    for rule in ctx.deployed_rules.values():

        async def listed(rule: DeployedRule = rule) -> list[FiredAlert]:
            result: list[FiredAlert] = await asyncio.to_thread(arm.fired_alerts, rule)
            return result

        try:
            alerts, _errors = await call_within(listed, budget)
        except ServiceRefused as exc:
            return [], f"ARM refused listing the alerts of {rule.id} (HTTP {exc.status}): {exc.message}"
        out.extend((rule, alert) for alert in alerts)
    return out, None


def find_instance(
    ctx: DrillContext, listing: Listing, mail_alert_id: str | None, row_time: datetime, signed_in: datetime
) -> InstanceSearch:
    """The listed instance about this row (and the mail's alert id, when it shows one)."""
    out = InstanceSearch()
    account_ids = {str(ctx.account.object_id).lower(), str(ctx.account.upn).lower()}
    for rule, alert in listing:
        why = matches(alert, row_time, signed_in, account_ids)
        named = bool(mail_alert_id) and _same_alert(str(mail_alert_id), alert.id)
        if named and why is not None:
            out.other_alert = f"the mail names alert {alert.id}, which {why}"
        fired = alert.fired.isoformat() if alert.fired else None
        out.seen.append({"id": alert.id, "rule": rule.id, "condition": alert.monitor_condition,
                         "fired": fired, "rejected": why})  # fmt: skip
        if why is None and (not mail_alert_id or named) and out.found is None:
            out.found = (rule, alert)
    return out


def no_instance_reason(ctx: DrillContext) -> str:
    rules = ", ".join(r.id for r in ctx.deployed_rules.values())
    return (
        f"no alert instance of {rules} covers this sign-in's row: the mail cannot be tied to this sign-in "
        "in Azure Monitor; see evidence.alert_instances for what was listed and why each does not count"
    )


def check_instance(
    ctx: DrillContext, sb: StepBuilder, found: tuple[DeployedRule, FiredAlert], mail_alert_id: str | None,
    signed_in: datetime,
) -> None:  # fmt: skip
    """Add the passing `alert_instance` check: which instance, its window (ARM's) and its latency."""
    rule, alert = found
    same = bool(mail_alert_id)
    reference = ctx.timings.row_created_at or signed_in
    latency = round((alert.fired - reference).total_seconds(), 3) if alert.fired else None
    fired = alert.fired.isoformat() if alert.fired else None
    window = [alert.window_start.isoformat() if alert.window_start else None,
              alert.window_end.isoformat() if alert.window_end else None]  # fmt: skip
    sb.check("alert_instance", TITLE, True,
             f"alert {alert.id} of rule {rule.id} fired at {fired}, "
             f"window {window[0]} to {window[1]} covers the sign-in row"
             + (f", {latency:.0f}s after the sign-in" if latency is not None else "")
             + ("; the mail names the same alert id" if same else ""),
             {"rule": rule.id, "alertId": alert.id, "firedDateTime": fired,
              "monitorCondition": alert.monitor_condition, "latency_s": latency,
              "window": window, "mail_alert_id_matches": same})  # fmt: skip
