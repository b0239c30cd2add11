"""Verdicts over the deployed monitoring: each function takes what ARM returned and says PASS or why not.

Kept free of I/O so every rule of the issue-13 preflight is tested on plain data. A verdict's reason names
the object (its ARM id) and what to change, as the operator will read it in the report.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drill.monitoring.deployed import ActionGroup, DeployedRule, DiagnosticSetting, FiredAlert, sending_to

MAX_FREQUENCY = timedelta(minutes=5)
REQUIRED_CATEGORIES = ("SignInLogs", "AuditLogs")
DIAG_TITLE = "Entra diagnostic setting sends SignInLogs and AuditLogs to the workspace"


@dataclass(frozen=True)
class Verdict:
    id: str
    title: str
    ok: bool
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


def resolve_after(frequency: timedelta) -> timedelta:
    """How long a stateful log alert's condition must stay unmet before it resolves (alerts-types.md)."""
    if frequency <= timedelta(minutes=1):
        return timedelta(minutes=10)
    if frequency <= timedelta(minutes=15):
        return 3 * frequency
    if frequency <= timedelta(hours=11):
        return 2 * frequency
    return frequency


def _minutes(value: timedelta | None) -> str:
    if value is None:
        return "unknown"
    total = value.total_seconds()
    return f"{total / 60:g} minutes" if total % 60 == 0 else f"{total:g} seconds"


def diagnostic_setting(settings: list[DiagnosticSetting], workspace_resource_id: str) -> Verdict:
    """Entra's diagnostic settings, together, send SignInLogs and AuditLogs to the playbook's workspace.

    Categories are united over every setting that targets the workspace: one setting may send SignInLogs
    and another AuditLogs, and both tables arrive.
    """
    title = DIAG_TITLE
    evidence = {
        "settings": [
            {"name": s.name, "workspaceId": s.workspace_id, "categories": sorted(s.enabled_categories)}
            for s in settings
        ],
        "workspace": workspace_resource_id,
    }
    ours = sending_to(settings, workspace_resource_id)
    sent = frozenset().union(*(s.enabled_categories for s in ours))
    missing = [c for c in REQUIRED_CATEGORIES if c not in sent]
    names = ", ".join(s.name for s in ours)
    if ours and not missing:
        how = f"{names} sends both" if len(ours) == 1 else f"together {names} send both"
        return Verdict("arm_diagnostic_setting", title, True, how, evidence)
    if ours:
        return Verdict("arm_diagnostic_setting", title, False,
                       f"Entra diagnostic setting(s) {names} send to {workspace_resource_id} but not "
                       f"{', '.join(missing)}: enable those categories in Entra ID > Monitoring > Diagnostic "
                       "settings", evidence)  # fmt: skip
    if settings:
        where = "; ".join(f"{s.name} -> {s.workspace_id or 'no workspace'}" for s in settings)
        return Verdict("arm_diagnostic_setting", title, False,
                       f"no Entra diagnostic setting sends to {workspace_resource_id} ({where}): point one "
                       "at this workspace with SignInLogs and AuditLogs, or fix "
                       "monitoring.workspace_resource_id",
                       evidence)  # fmt: skip
    return Verdict("arm_diagnostic_setting", title, False,
                   "Entra ID has no diagnostic setting: no sign-in reaches any workspace; add one sending "
                   f"SignInLogs and AuditLogs to {workspace_resource_id}", evidence)  # fmt: skip


def rule_enabled(ref: str, rule_id: str, rule: DeployedRule | None) -> Verdict:
    title = f"Alert rule {ref} exists and is enabled"
    if rule is None:
        return Verdict(f"arm_rule_exists:{ref}", title, False,
                       f"no scheduled query rule {rule_id}: fix monitoring.rules or deploy the rule"
                       )  # fmt: skip
    if not rule.enabled:
        return Verdict(f"arm_rule_exists:{ref}", title, False,
                       f"rule {rule.id} is disabled: enable it (Azure Monitor > Alerts > Alert rules)",
                       {"rule": rule.id})  # fmt: skip
    return Verdict(f"arm_rule_exists:{ref}", title, True, f"enabled: {rule.id}", {"rule": rule.id})


def rule_scope(ref: str, rule: DeployedRule, workspace_resource_id: str) -> Verdict:
    """The rule queries the playbook's workspace: one watching another workspace never sees these rows."""
    title = f"Alert rule {ref} queries the playbook's workspace"
    target = workspace_resource_id.lower().rstrip("/")
    evidence = {"rule": rule.id, "scopes": list(rule.scopes), "workspace": workspace_resource_id}
    if any(scope.lower().rstrip("/") == target for scope in rule.scopes):
        return Verdict(f"arm_rule_scope:{ref}", title, True, f"scope {workspace_resource_id}", evidence)
    return Verdict(f"arm_rule_scope:{ref}", title, False,
                   f"rule {rule.id} queries {', '.join(rule.scopes) or 'no workspace'}, not "
                   f"{workspace_resource_id}: set the rule's scope to that workspace, or fix "
                   "monitoring.workspace_resource_id", evidence)  # fmt: skip


def rule_cadence(ref: str, rule: DeployedRule) -> Verdict:
    """Evaluated at most every 5 minutes, threshold "count greater than 0" on its one condition."""
    title = f"Alert rule {ref} runs at least every 5 minutes with threshold greater than 0"
    evidence = {"rule": rule.id, "evaluationFrequency": _minutes(rule.evaluation_frequency),
                "windowSize": _minutes(rule.window_size), "operator": rule.operator,
                "threshold": rule.threshold, "timeAggregation": rule.time_aggregation}  # fmt: skip
    problems = []
    freq = rule.evaluation_frequency
    if freq is None or freq > MAX_FREQUENCY:
        problems.append(
            f"it is evaluated every {_minutes(freq)}: set the frequency to 1 minute (at most 5 minutes)"
        )
    if rule.criteria_count != 1:
        problems.append(f"it has {rule.criteria_count} conditions: keep one")
    if rule.operator != "GreaterThan" or rule.threshold is None or float(rule.threshold) != 0.0:
        problems.append(f'its threshold is {rule.operator} {rule.threshold}: use "Greater than 0"')
    if rule.time_aggregation and rule.time_aggregation != "Count":
        problems.append(f"it aggregates by {rule.time_aggregation}: use Count (of result rows)")
    if problems:
        return Verdict(f"arm_rule_cadence:{ref}", title, False, f"rule {rule.id}: " + "; ".join(problems),
                       evidence)  # fmt: skip
    note = "" if freq and freq <= timedelta(minutes=1) else " (1 minute is recommended)"
    return Verdict(f"arm_rule_cadence:{ref}", title, True,
                   f"every {_minutes(freq)}, count greater than 0{note}", evidence)  # fmt: skip


def rule_notifies(
    ref: str, rule: DeployedRule, groups: dict[str, ActionGroup | None], mailbox: str
) -> Verdict:
    """Not muted, and one of its action groups mails the watched mailbox through an enabled receiver."""
    title = f"Alert rule {ref} is not muted and mails {mailbox}"
    evidence: dict[str, Any] = {"rule": rule.id, "actionGroups": list(rule.action_group_ids)}
    mute = rule.mute_actions_duration
    if mute is not None and mute > timedelta(0):
        return Verdict(f"arm_rule_notifies:{ref}", title, False,
                       f"rule {rule.id} mutes its actions for {_minutes(mute)} after each fire: a second "
                       "break-glass sign-in in that time mails nobody; clear \"Mute actions\" "
                       "(muteActionsDuration)", evidence)  # fmt: skip
    if not rule.action_group_ids:
        return Verdict(f"arm_rule_notifies:{ref}", title, False,
                       f"rule {rule.id} has no action group: add one that mails {mailbox}",
                       evidence)  # fmt: skip
    problems = []
    for group_id in rule.action_group_ids:
        group = groups.get(group_id)
        if group is None:
            problems.append(f"action group {group_id} does not exist")
            continue
        receivers = [r for r in group.email_receivers if r.email_address.lower() == mailbox.lower()]
        if not group.enabled:
            problems.append(f"action group {group.id} is disabled")
        elif not receivers:
            problems.append(f"action group {group.id} has no email receiver for {mailbox}")
        elif not any(r.status == "Enabled" for r in receivers):
            status = ", ".join(f"{r.name}: {r.status or 'unknown'}" for r in receivers)
            problems.append(f"action group {group.id}'s receiver for {mailbox} is not enabled ({status})")
        else:
            return Verdict(f"arm_rule_notifies:{ref}", title, True,
                           f"action group {group.name} mails {mailbox}", evidence)  # fmt: skip
    return Verdict(f"arm_rule_notifies:{ref}", title, False,
                   "; ".join(problems) + f": add an enabled email receiver for {mailbox} to the rule's "
                   "action group", evidence)  # fmt: skip


def rule_not_fired(ref: str, rule: DeployedRule, alerts: list[FiredAlert], now: datetime) -> Verdict:
    """A stateful rule (autoMitigate, or its documented default) already Fired would not notify again."""
    title = f"Alert rule {ref} is not already in Fired state"
    fired = [a for a in alerts if a.monitor_condition == "Fired"]
    evidence = {"rule": rule.id, "autoMitigate": rule.auto_mitigate, "statefulFrom": rule.auto_mitigate_from,
                "fired": [{"id": a.id, "fired": a.fired.isoformat() if a.fired else None}
                          for a in fired]}  # fmt: skip
    if not rule.auto_mitigate:
        return Verdict(f"arm_rule_not_fired:{ref}", title, True,
                       f"stateless rule ({rule.auto_mitigate_from} is false): every evaluation that finds "
                       "rows notifies", evidence)  # fmt: skip
    if not fired:
        return Verdict(f"arm_rule_not_fired:{ref}", title, True, "no Fired alert of this rule", evidence)
    wait = resolve_after(rule.evaluation_frequency or MAX_FREQUENCY)
    since = min((a.fired for a in fired if a.fired), default=None)
    when = f" since {since.isoformat()}" if since else ""
    earliest = (now + wait).strftime("%H:%M UTC")
    return Verdict(f"arm_rule_not_fired:{ref}", title, False,
                   f"rule {rule.id} is stateful and already Fired{when} (alert {fired[0].id}): a new fire "
                   f"would not notify until it resolves, which takes {_minutes(wait)} without break-glass "
                   f"activity (not before {earliest}); wait that long and rerun, or turn off "
                   "\"Automatically resolve alerts\" so every evaluation notifies", evidence)  # fmt: skip


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def query_drift(deployed: str, local: str, rule_id: str, local_name: str) -> str | None:
    """A unified diff of the playbook's copy against the deployed query, or None when they agree."""
    a, b = _lines(local), _lines(deployed)
    if a == b:
        return None
    diff = difflib.unified_diff(a, b, fromfile=local_name, tofile=rule_id, lineterm="", n=2)
    return "\n".join(diff)
