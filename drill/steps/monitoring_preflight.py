"""Preflight's reading of the deployed monitoring from Azure Resource Manager (issue 13), keyless.

Before any key is touched: the Entra diagnostic setting feeds the playbook's workspace, each break-glass
rule exists, is enabled, runs at least every 5 minutes with "greater than 0", is not muted, mails the
watched mailbox through an enabled receiver, and (if stateful) is not already Fired; the observer can read
all of it. A read ARM refuses is a FAIL naming the role to grant and its scope, never a skip. A deployed
query that differs from the playbook's copy is a warning with the diff: the rule in Azure is what runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from drill.monitoring import checks
from drill.monitoring.arm import ArmReader, missing_role, target_resource_groups
from drill.playbook.advice import MONITORING_MISSING
from drill.playbook.monitoring import rule_coordinates
from drill.steps.waiting import HostUnreachable, ServiceRefused, call_within

if TYPE_CHECKING:
    from drill.monitoring.deployed import ActionGroup, DeployedRule
    from drill.steps.base import StepBuilder
    from drill.steps.context import DrillContext

NAME = "preflight"
T = TypeVar("T")


class _Refused(Exception):
    """An ARM read that failed for good; `reason` is the check's reason (what to grant or fix)."""

    def __init__(self, reason: str, gone: HostUnreachable | None = None, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.gone = gone  # ARM (or the token's authority) cannot be reached: no further read is tried
        self.status = status

    def stop_if_unreachable(self) -> None:
        if self.gone is not None:
            raise self.gone


async def _read(
    call: Callable[[], T],
    left: Callable[[], float],
    what: str,
    scope: str,
    failure: Callable[[BaseException], str],
) -> T:
    try:
        result, _errors = await call_within(lambda: asyncio.to_thread(call), left())
    except ServiceRefused as exc:
        if exc.status == 403:
            raise _Refused(
                f"the observer cannot read {what} ({exc.message}): {missing_role(what, scope)}", status=403
            ) from exc
        raise _Refused(f"reading {what} was refused (HTTP {exc.status}: {exc.message})") from exc
    except HostUnreachable as exc:
        raise _Refused(exc.line, exc) from exc
    except Exception as exc:
        raise _Refused(f"reading {what} failed: {failure(exc)}") from exc
    return result


async def check_monitoring(
    ctx: DrillContext, sb: StepBuilder, left: Callable[[], float], failure: Callable[[BaseException], str]
) -> None:
    """Add the ARM checks to preflight's step; `left` is what remains of preflight's SLA."""
    pb = ctx.playbook
    mon = pb.monitoring
    if mon is None:
        if pb.alert is not None:  # `monitoring:` describes the mail watch's alert rules
            ctx.finding("warning", "Deployed monitoring not checked", MONITORING_MISSING, NAME)
        return
    if not ctx.cloud.arm_endpoint:
        sb.check("arm_endpoint", "Azure Resource Manager endpoint known", False,
                 f"the custom cloud {ctx.cloud.name} names no arm_endpoint: add "
                 "tenant.cloud.custom.arm_endpoint (and arm_audience) so preflight can read the deployed "
                 "rules")  # fmt: skip
        return
    if ctx.observer is None:
        from drill.auth import observer_credential

        ctx.observer = observer_credential(pb, ctx.cloud)
    observer = ctx.observer
    readers: dict[str, ArmReader] = {}

    def reader(subscription: str) -> ArmReader:
        if subscription.lower() not in readers:
            readers[subscription.lower()] = ArmReader(observer, ctx.cloud, subscription)
        return readers[subscription.lower()]

    ctx.arm = reader(str(mon.subscription_id))
    await _diagnostic_setting(ctx, sb, left, failure)
    refs = list(mon.rules) or (list(pb.alert.rules) if pb.alert else [])
    if not refs:
        sb.check("arm_rules_named", "The playbook names the break-glass alert rules", False,
                 "neither monitoring.rules nor alert.rules names a rule: list the break-glass rules' names "
                 "or resource ids")  # fmt: skip
        return
    drifts: list[tuple[str, str]] = []
    in_step: list[bool] = []
    for ref in refs:
        sub, group, name = rule_coordinates(mon, ref)
        rule = await _rule_checks(ctx, sb, reader(sub), ref, sub, group, name, left, failure)
        if rule is None:
            continue
        ctx.deployed_rules[ref] = rule
        try:
            local = pb.alert_query()
        except OSError:
            continue
        diff = checks.query_drift(rule.query, local, rule.id, str(pb.log_analytics.alert_query_file))
        in_step.append(diff is None)
        if diff:
            drifts.append((ref, diff))
    if drifts and not any(in_step):
        sb.evidence["query_drift"] = dict(drifts)
        ref, diff = drifts[0]
        ctx.finding("warning", f"Deployed query of rule {ref} differs from the playbook's copy",
                    "the rule in Azure is what alerts; update log_analytics.alert_query_file or the rule:\n"
                    + diff, NAME)  # fmt: skip
    sb.evidence["monitoring"] = {
        "rules": {ref: rule.id for ref, rule in ctx.deployed_rules.items()},
        "arm_requests": sum(r.requests for r in readers.values()),
    }


async def _diagnostic_setting(
    ctx: DrillContext, sb: StepBuilder, left: Callable[[], float], failure: Callable[[BaseException], str]
) -> None:
    """Judge Entra's diagnostic settings when ARM lets the observer read them.

    Applications are often refused here whatever their roles (DIFFERENCES.md, belief
    entra-diagnostic-settings-app-read): a 403 is then a finding, not a blocker, and the drill's own rows
    become the proof. `ctx.diagnostic_setting_unread` tells log_rows and admin_task that their SigninLogs
    and AuditLogs rows are what shows the logs reach the workspace, so neither may be skipped.
    """
    mon = ctx.playbook.monitoring
    assert mon is not None
    assert ctx.arm is not None
    try:
        settings = await _read(ctx.arm.diagnostic_settings, left, "diagnostic settings",
                               "/providers/microsoft.aadiam", failure)  # fmt: skip
    except _Refused as exc:
        if exc.status != 403:
            sb.check("arm_diagnostic_setting", checks.DIAG_TITLE, False, exc.reason)
            exc.stop_if_unreachable()
            return
        ctx.diagnostic_setting_unread = exc.reason
        sb.evidence["diagnostic_setting"] = {"readable": False, "reason": exc.reason,
                                             "proof": "the drill's SigninLogs row and the admin task's "
                                                      "AuditLogs row"}  # fmt: skip
        ctx.finding("warning", "Entra diagnostic settings not readable: the drill's own rows are the proof",
                    f"{exc.reason}. Until then the drill proves SignInLogs and AuditLogs reach the "
                    "workspace by its own sign-in row and the admin task's audit row (both required).",
                    NAME)  # fmt: skip
        return
    sb.evidence["diagnostic_setting"] = {"readable": True}
    _add(sb, checks.diagnostic_setting(settings, mon.workspace_resource_id))


async def _rule_checks(
    ctx: DrillContext,
    sb: StepBuilder,
    arm: ArmReader,
    ref: str,
    sub: str,
    group: str,
    name: str,
    left: Callable[[], float],
    failure: Callable[[BaseException], str],
) -> DeployedRule | None:
    scope = f"/subscriptions/{sub}/resourceGroups/{group}"
    rule_id = f"{scope}/providers/Microsoft.Insights/scheduledQueryRules/{name}"
    try:
        rule = await _read(lambda: arm.rule(group, name), left, f"alert rule {rule_id}", scope, failure)
    except _Refused as exc:
        sb.check(f"arm_rule_exists:{ref}", f"Alert rule {ref} exists and is enabled", False, exc.reason)
        exc.stop_if_unreachable()
        return None
    verdict = checks.rule_enabled(ref, rule_id, rule)
    _add(sb, verdict)
    if rule is None or not verdict.ok:
        return rule
    monitoring = ctx.playbook.monitoring
    if monitoring is not None:
        _add(sb, checks.rule_scope(ref, rule, monitoring.workspace_resource_id))
    _add(sb, checks.rule_cadence(ref, rule))
    groups: dict[str, ActionGroup | None] = {}
    try:
        for group_id in rule.action_group_ids:
            group_scope = group_id.split("/providers/", 1)[0]
            groups[group_id] = await _read(lambda g=group_id: arm.action_group(g), left,  # type: ignore[misc]
                                           f"action group {group_id}", group_scope, failure)  # fmt: skip
        if ctx.playbook.alert is not None:  # the rule mails the SOC only when the mail watch is declared
            _add(sb, checks.rule_notifies(ref, rule, groups, str(ctx.playbook.alert.mailbox)))
    except _Refused as exc:
        sb.check(f"arm_rule_notifies:{ref}", f"Alert rule {ref} is not muted and mails the mailbox", False,
                 exc.reason)  # fmt: skip
        exc.stop_if_unreachable()
    try:
        # 30 days, the longest range the alerts API offers: a stateful alert stays Fired until it resolves.
        # Listed by the group of the alert's target (the workspace): the role is needed there.
        targets = [f"/subscriptions/{sub}/resourceGroups/{g}" if g else f"/subscriptions/{sub}"
                   for g in target_resource_groups(rule.scopes)]  # fmt: skip
        alerts = await _read(lambda: arm.fired_alerts(rule, time_range="30d"), left,
                             f"the fired alerts of {rule.id}",
                             " and ".join(targets), failure)  # fmt: skip
        _add(sb, checks.rule_not_fired(ref, rule, alerts, ctx.skew.tenant_time(datetime.now(UTC))))
    except _Refused as exc:
        sb.check(f"arm_rule_not_fired:{ref}", f"Alert rule {ref} is not already in Fired state", False,
                 exc.reason)  # fmt: skip
        exc.stop_if_unreachable()
    return rule


def _add(sb: StepBuilder, verdict: checks.Verdict) -> Any:
    return sb.check(verdict.id, verdict.title, verdict.ok, verdict.reason, verdict.evidence)
