"""Preflight's reading of the Sentinel watch from Azure Resource Manager (issue 24), before a key is touched.

The analytics rule the playbook names is read (by id or display name) and judged: enabled (or
auto-disabled, and why that is a different fix), a scheduled rule running within the incident SLA with a
lookback covering its runs, alerting on any result, no suppression, an alert per event, incidents on when
the playbook requires an incident, alert grouping that cannot hide an alert in a closed incident; then
the workspace's automation rules, none of which may close its incidents on creation. A read ARM refuses is
a FAIL naming the role and the scope; a watch the playbook does not require is judged the same way but
never fails the drill. What was read is handed to the incident step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drill.monitoring.arm import ArmReader
from drill.monitoring.sentinel import (
    NotOnboarded,
    closing_automation,
    read_automation_rules,
    read_rule,
    rule_checks,
)
from drill.steps.monitoring_preflight import _read, _Refused

if TYPE_CHECKING:
    from drill.steps.base import StepBuilder
    from drill.steps.context import DrillContext

READER_ROLE = "Microsoft Sentinel Reader"


def _subscription(workspace_id: str) -> str:
    return workspace_id.strip("/").split("/")[1]


async def check_sentinel(
    ctx: DrillContext, sb: StepBuilder, left: Callable[[], float], failure: Callable[[BaseException], str]
) -> None:
    """Add the Sentinel watch's checks to preflight's step; `left` is what remains of preflight's SLA."""
    watch = ctx.playbook.sentinel
    if watch is None:
        return
    required = watch.required

    def check(
        check_id: str,
        title: str,
        ok: bool,
        reason: str,
        evidence: dict[str, Any] | None = None,
        *,
        needed: bool = True,
    ) -> None:
        sb.check(check_id, title, ok, reason, evidence, required=required and needed)

    if not ctx.cloud.arm_endpoint:
        check(
            "sentinel_arm_endpoint",
            "Azure Resource Manager endpoint known",
            False,
            f"the custom cloud {ctx.cloud.name} names no arm_endpoint: add tenant.cloud.custom.arm_endpoint "
            "so preflight can read the analytics rule",
        )
        return
    if ctx.observer is None:
        from drill.auth import observer_credential

        ctx.observer = observer_credential(ctx.playbook, ctx.cloud)
    workspace = str(watch.workspace_resource_id)
    arm = ArmReader(ctx.observer, ctx.cloud, _subscription(workspace))
    title = "The Sentinel analytics rule is deployed"
    try:
        rule = await _read(
            lambda: read_rule(arm, workspace, watch.rule),
            left,
            "the Sentinel analytics rule",
            workspace,
            failure,
        )
        autos = await _read(
            lambda: read_automation_rules(arm, workspace),
            left,
            "Sentinel's automation rules",
            workspace,
            failure,
        )
    except _Refused as exc:
        reason = exc.reason
        if exc.status == 403:
            reason = (
                reason.split(": give the observer", 1)[0]
                + f": give the observer {READER_ROLE} on {workspace}"
            )
        check("sentinel_rule", title, False, reason)
        exc.stop_if_unreachable()
        return
    except NotOnboarded:
        check(
            "sentinel_rule",
            title,
            False,
            f"the workspace {workspace} is not onboarded to Microsoft Sentinel: onboard it, or fix "
            "sentinel.workspace_resource_id",
        )
        return
    if rule is None:
        check(
            "sentinel_rule",
            title,
            False,
            f"no analytics rule {watch.rule!r} in {workspace}: name it in sentinel.rule by display name, "
            "id or resource id",
        )
        return
    props = dict(rule.get("properties") or {})
    check(
        "sentinel_rule",
        title,
        True,
        f"{props.get('displayName')} ({rule.get('name')})",
        {
            "id": rule.get("id"),
            "kind": rule.get("kind"),
            "enabled": props.get("enabled"),
            "queryFrequency": props.get("queryFrequency"),
            "queryPeriod": props.get("queryPeriod"),
            "triggerOperator": props.get("triggerOperator"),
            "triggerThreshold": props.get("triggerThreshold"),
            "eventGrouping": (props.get("eventGroupingSettings") or {}).get("aggregationKind"),
            "suppressionEnabled": props.get("suppressionEnabled"),
            "incidentConfiguration": props.get("incidentConfiguration"),
        },
    )
    ids = {str(ctx.account.object_id), str(ctx.account.upn)}
    for j in rule_checks(
        rule, require=watch.require, sla_s=float(ctx.playbook.sla.incident), account_ids=ids
    ):
        check(j.id, j.title, j.ok, j.reason, needed=j.required)
    closing = closing_automation(autos, rule)
    check(
        "sentinel_automation",
        "No automation rule closes the rule's incidents on creation",
        not closing,
        f"{len(autos)} automation rules, none closes its incidents"
        if not closing
        else f"automation rules close this rule's incidents as they are created: {'; '.join(closing)}; "
        "exclude the break-glass rule from them (a drill can still be closed by its own cleanup)",
        {"automationRules": [a.get("name") for a in autos]},
        needed=watch.require == "incident",
    )
    ctx.sentinel = {"rule": rule, "workspace": workspace, "arm": arm}
