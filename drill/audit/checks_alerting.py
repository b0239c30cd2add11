"""Posture checks: diagnostic settings and alerting (BG.DIAG.1, BG.AL.1-6), over ARM's own JSON; BG.AL.1 and
what the checks share about coverage and the logs' reach live in checks_coverage.py.

Coverage (BG.AL.1) is what the deployed queries returned over synthetic rows, never a reading of the query
text: `has_any`, a typo in an object id or a split across rules all fool a pattern match. The other alerting
checks judge only the rules that contribute coverage, because those are the rules the emergency depends
on: an unrelated slow rule in the playbook's list must not fail the audit, and a fast rule that covers
nothing must not make it pass.

Shapes (VERIFIED against azure-mgmt-monitor 7.0.0 models, api-version 2023-12-01, and the simulator's
drill/sim/arm/resources.py): scheduledQueryRules `properties.enabled`, `evaluationFrequency` (ISO 8601),
`criteria.allOf[].operator/threshold/timeAggregation`, `actions.actionGroups[]` and
`actions.actionProperties["Email.Subject"]` (the custom e-mail subject, Azure Monitor's
alerts-customize-email-subject-how-to); the resource's `identity` {type, principalId, userAssignedIdentities}.
Sentinel Scheduled rules (Microsoft.SecurityInsights alertRules, kind Scheduled): `displayName`, `enabled`,
`queryFrequency`, `queryPeriod`, `triggerOperator`, `triggerThreshold`, `suppressionEnabled`,
`eventGroupingSettings.aggregationKind` (SingleAlert | AlertPerResult),
`incidentConfiguration.createIncident` (learn.microsoft.com
azure/templates/microsoft.securityinsights/alertrules; the Az.SecurityInsights and
@azure/arm-securityinsight references give the serialized names). NRT rules (kind NRT) have no
queryFrequency or trigger at all (@azure/arm-securityinsight NrtAlertRule); BELIEF (not re-read here):
Sentinel runs them every minute and alerts on any result, so those two tests do not apply.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from drill.audit.checks_common import unread
from drill.audit.checks_coverage import (
    DIAG_CATEGORIES,
    arm_props,
    coverage_of,
    log_reach,
    rule_label,
    rule_reaches,
    rules_cover_accounts,
)
from drill.audit.checks_procedures import last_pass_within_cycle
from drill.audit.model import CheckFn, Obj, Outcome, Status
from drill.isotime import parse_duration
from drill.monitoring.deployed import sending_to, setting_from_json

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook

MAX_FREQUENCY = timedelta(minutes=5)
RULE_ROLES = ("Log Analytics Reader", "Reader")
SUBJECT_KEY = "Email.Subject"


def _covering_rules(facts: Facts, playbook: Playbook) -> list[Obj]:
    """Enabled rules whose query returned at least one synthetic row of a playbook account, and whose scope
    reaches a workspace the Entra logs reach."""
    names = {a.name for a in playbook.accounts}
    reached, _ = log_reach(facts, playbook)
    anywhere = set().union(*reached.values())
    out = []
    for rule in facts.alert_rules:
        if arm_props(rule).get("enabled") is not True or not rule_reaches(rule, anywhere):
            continue
        coverage = coverage_of(facts, rule)
        if any(any(kinds.values()) for name, kinds in coverage.items() if name in names):
            out.append(rule)
    return out


def _covering_or_outcome(facts: Facts, playbook: Playbook, *needed: str) -> list[Obj] | Outcome:
    """The covering rules BG.AL.2-4 judge; ERROR when a needed fact is unread, FAILED when none covers."""
    if (err := unread(facts, "alert_rules", "coverage", *needed)) is not None:
        return err
    rules = _covering_rules(facts, playbook)
    if not rules:
        return Outcome.failed(
            "no enabled alert rule returns any break-glass account's sign-in or audit row (see BG.AL.1)",
            offenders=["no covering rule"],
        )
    return rules


# -- BG.DIAG.1 -------------------------------------------------------------------------------------


def diagnostic_setting(facts: Facts, playbook: Playbook) -> Outcome:
    """Entra's diagnostic settings, together, send all three categories, enabled, to the playbook's workspace.

    Categories are united over every setting that targets the workspace (one may send SignInLogs, another
    AuditLogs). When ARM refuses the observer the read (403, which applications often meet whatever their
    roles), the setting is not judged: WARNING when every account's last PASS drill is within the cycle
    (each drill proved its own SigninLogs row and, with the admin task, an AuditLogs row reached the
    workspace), ERROR otherwise. Never PASS: the setting itself was not seen; never FAILED: nothing wrong
    was seen either.
    """
    if facts.diagnostic_settings_forbidden and "diagnostic_settings" in facts.unread:
        return _diagnostics_unreadable(facts, playbook)
    if (err := unread(facts, "diagnostic_settings")) is not None:
        return err
    if playbook.monitoring is None:
        return Outcome.failed(
            "the playbook has no monitoring.workspace_resource_id: which workspace the logs must reach "
            "is unknown",
            offenders=["playbook: monitoring section missing"],
        )
    target = playbook.monitoring.workspace_resource_id
    settings = [setting_from_json(item) for item in facts.diagnostic_settings]
    evidence = [
        {
            "name": d.name,
            "workspaceId": d.workspace_id or None,
            "enabledCategories": sorted(d.enabled_categories),
        }
        for d in settings
    ]
    reaching = sending_to(settings, target)
    ours = [d.name for d in reaching]
    sent = {c.lower() for d in reaching for c in d.enabled_categories}
    missing = [c for c in DIAG_CATEGORIES if c.lower() not in sent]
    names = ", ".join(ours)
    if ours and not missing:
        who = f"diagnostic setting {names} sends" if len(ours) == 1 else f"diagnostic settings {names} send"
        return Outcome.passed(
            f"{who} {', '.join(DIAG_CATEGORIES)} to the workspace", evidence, workspace=target
        )
    if ours:
        return Outcome.failed(
            f"diagnostic setting(s) {names} send to the workspace but not {', '.join(missing)}",
            evidence,
            [f"{names}: {c} not enabled" for c in missing],
            workspace=target,
        )
    if facts.diagnostic_settings:
        return Outcome.failed(
            f"no Entra diagnostic setting sends to {target}",
            evidence,
            [f"{e['name']} -> {e['workspaceId'] or 'no workspace'}" for e in evidence],
            workspace=target,
        )
    return Outcome.failed(
        "Entra ID has no diagnostic setting: no sign-in or audit log reaches any workspace",
        evidence,
        ["no diagnostic setting"],
        workspace=target,
    )


def _diagnostics_unreadable(facts: Facts, playbook: Playbook) -> Outcome:
    why = facts.unread["diagnostic_settings"]
    drills = last_pass_within_cycle(facts, playbook)
    details = {"readable": False, "reason": why, "drills": drills.summary}
    if drills.status is Status.PASSED:
        return Outcome(
            Status.WARNING,
            "not judged: the observer may not read Entra's diagnostic settings; every account's last PASS "
            "drill (within the cycle) proved its sign-in and audit rows reach the workspace",
            drills.evidence,
            [f"diagnostic settings unreadable: {why}"],
            details,
        )
    return Outcome.error(
        f"could not judge: diagnostic_settings: {why}; and no PASS drill within the cycle proves the logs "
        f"arrive ({drills.summary})",
        unread={"diagnostic_settings": why},
    )


# -- BG.AL.2 ---------------------------------------------------------------------------------------


def _threshold_fires_on_one_row(condition: Obj) -> bool:
    operator = condition.get("operator")
    try:
        threshold = float(condition.get("threshold"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return (operator == "GreaterThan" and threshold == 0) or (
        operator == "GreaterThanOrEqual" and threshold == 1
    )


def _lookback_problems(
    label: str, props: Obj, conditions: list[Obj], frequency: timedelta | None
) -> list[str]:
    """A rule sees one row only if every row falls in some evaluation's look-back, and alerts on the first
    failing evaluation. ARM: the query time range is overrideQueryTimeRange, else windowSize times
    failingPeriods.numberOfEvaluationPeriods; minFailingPeriodsToAlert (default 1) failing periods raise
    the alert (scheduledQueryRules properties, learn.microsoft.com LogAlertRuleProperties /
    ConditionFailingPeriods)."""
    problems = []
    window = parse_duration(props.get("windowSize"))
    override = parse_duration(props.get("overrideQueryTimeRange"))
    for condition in conditions:
        periods = condition.get("failingPeriods") or {}
        count = periods.get("numberOfEvaluationPeriods") or 1
        needed = periods.get("minFailingPeriodsToAlert") or 1
        if needed != 1:
            problems.append(
                f"{label}: alerts after {needed} failing periods of {count}: one sign-in alone may never "
                "alert (use minFailingPeriodsToAlert 1)"
            )
        lookback = override or (window * count if window is not None and isinstance(count, int) else None)
        if frequency is not None and (lookback is None or lookback < frequency):
            problems.append(
                f"{label}: each evaluation looks back {props.get('windowSize') or 'unknown'} but runs every "
                f"{props.get('evaluationFrequency')}: rows between evaluations are never queried"
            )
    return problems


def rules_cadence(facts: Facts, playbook: Playbook) -> Outcome:
    """Each covering rule is evaluated at most every 5 minutes and fires on one row (count > 0)."""
    rules = _covering_or_outcome(facts, playbook)
    if isinstance(rules, Outcome):
        return rules
    offenders = []
    evidence = []
    for rule in rules:
        props = arm_props(rule)
        label = rule_label(rule)
        raw_frequency = props.get("evaluationFrequency")
        conditions = [c for c in (props.get("criteria") or {}).get("allOf") or [] if isinstance(c, dict)]
        evidence.append(
            {
                "rule": rule.get("id"),
                "evaluationFrequency": raw_frequency,
                "windowSize": props.get("windowSize"),
                "conditions": [
                    {k: c.get(k) for k in ("operator", "threshold", "timeAggregation", "failingPeriods")}
                    for c in conditions
                ],
            }
        )
        frequency = parse_duration(raw_frequency)
        if frequency is None or frequency > MAX_FREQUENCY:
            offenders.append(f"{label}: evaluated every {raw_frequency or 'unknown'} (at most PT5M)")
        if not conditions:
            offenders.append(f"{label}: no condition in criteria.allOf")
        for condition in conditions:
            if not _threshold_fires_on_one_row(condition):
                offenders.append(
                    f"{label}: threshold {condition.get('operator')} {condition.get('threshold')} "
                    "(use GreaterThan 0)"
                )
            aggregation = condition.get("timeAggregation")
            if aggregation is not None and aggregation != "Count":
                offenders.append(f"{label}: aggregates by {aggregation}, not Count of rows")
        offenders.extend(_lookback_problems(label, props, conditions, frequency))
    if offenders:
        return Outcome.failed(f"{len(offenders)} cadence problems in the covering rules", evidence, offenders)
    return Outcome.passed(
        f"{len(rules)} covering rules run at most every 5 minutes and fire on more than 0 rows", evidence
    )


# -- BG.AL.3 ---------------------------------------------------------------------------------------


def _principal_ids(identity: Obj) -> list[str]:
    ids = []
    if identity.get("principalId"):
        ids.append(str(identity["principalId"]))
    for assigned in (identity.get("userAssignedIdentities") or {}).values():
        if isinstance(assigned, dict) and assigned.get("principalId"):
            ids.append(str(assigned["principalId"]))
    return ids


def _role_name(assignment: Obj) -> str:
    return str(assignment.get("roleName") or arm_props(assignment).get("roleName") or "")


def rules_identity(facts: Facts, playbook: Playbook) -> Outcome:
    """Each covering rule runs as a managed identity holding Log Analytics Reader and Reader."""
    rules = _covering_or_outcome(facts, playbook, "identity_roles")
    if isinstance(rules, Outcome):
        return rules
    offenders = []
    evidence = []
    for rule in rules:
        label = rule_label(rule)
        raw_identity = rule.get("identity")
        identity: Obj = raw_identity if isinstance(raw_identity, dict) else {}
        kind = str(identity.get("type") or "None")
        principals = _principal_ids(identity)
        held = {p: sorted({_role_name(a) for a in facts.identity_roles.get(p, [])}) for p in principals}
        evidence.append({"rule": rule.get("id"), "identity": identity, "roles": held})
        if not any(t in kind for t in ("SystemAssigned", "UserAssigned")) or not principals:
            offenders.append(f"{label}: no managed identity (identity.type {kind})")
            continue
        if not any(all(role in roles for role in RULE_ROLES) for roles in held.values()):
            best = max(held.values(), key=len)
            missing = [role for role in RULE_ROLES if role not in best]
            offenders.append(f"{label}: identity lacks {', '.join(missing)}")
    if offenders:
        return Outcome.failed(
            f"{len(offenders)} covering rules cannot read the workspace", evidence, offenders
        )
    return Outcome.passed(
        f"{len(rules)} covering rules run as managed identities with {' and '.join(RULE_ROLES)}", evidence
    )


# -- BG.AL.4 ---------------------------------------------------------------------------------------


def _group_mails(group: Obj, mailbox: str) -> bool:
    props = arm_props(group)
    if props.get("enabled") is not True:
        return False
    return any(
        isinstance(r, dict)
        and str(r.get("emailAddress", "")).lower() == mailbox.lower()
        and r.get("status") == "Enabled"
        for r in props.get("emailReceivers") or []
    )


def rules_notify(facts: Facts, playbook: Playbook) -> Outcome:
    """Each covering rule's action group mails the watched mailbox, and the rule sets a custom subject."""
    rules = _covering_or_outcome(facts, playbook, "action_groups")
    if isinstance(rules, Outcome):
        return rules
    if playbook.alert is None:
        return Outcome(Status.NOT_APPLICABLE, "the playbook declares no alert mail watch (alert:)")
    mailbox = str(playbook.alert.mailbox)
    offenders = []
    evidence = []
    for rule in rules:
        label = rule_label(rule)
        actions = arm_props(rule).get("actions") or {}
        group_ids = [str(g) for g in actions.get("actionGroups") or []]
        subject = (actions.get("actionProperties") or {}).get(SUBJECT_KEY)
        groups = {g: facts.action_groups.get(g.lower()) for g in group_ids}
        evidence.append(
            {
                "rule": rule.get("id"),
                "actionGroups": group_ids,
                "actionProperties": actions.get("actionProperties") or {},
                "groups": [g for g in groups.values() if g is not None],
            }
        )
        if not group_ids:
            offenders.append(f"{label}: no action group")
        else:
            missing = [g for g, found in groups.items() if found is None]
            offenders.extend(f"{label}: action group {g} does not exist" for g in missing)
            if not any(g is not None and _group_mails(g, mailbox) for g in groups.values()):
                offenders.append(
                    f"{label}: no enabled action group with an enabled e-mail receiver for {mailbox}"
                )
        if not isinstance(subject, str) or not subject.strip():
            offenders.append(f"{label}: no custom e-mail subject (actions.actionProperties['{SUBJECT_KEY}'])")
    if offenders:
        return Outcome.failed(
            f"{len(offenders)} notification problems in the covering rules",
            evidence,
            offenders,
            mailbox=mailbox,
        )
    return Outcome.passed(
        f"{len(rules)} covering rules mail {mailbox} with a custom subject", evidence, mailbox=mailbox
    )


# -- BG.AL.6 ---------------------------------------------------------------------------------------


def rules_not_muted(facts: Facts, playbook: Playbook) -> Outcome:
    """scheduledQueryRules properties.muteActionsDuration (ISO 8601; absent, null or zero: actions not
    muted). Any mute period fails: a second use inside it sends nothing."""
    rules = _covering_or_outcome(facts, playbook)
    if isinstance(rules, Outcome):
        return rules
    offenders = []
    evidence = []
    for rule in rules:
        raw = arm_props(rule).get("muteActionsDuration")
        evidence.append({"rule": rule.get("id"), "muteActionsDuration": raw})
        if raw in (None, ""):
            continue
        mute = parse_duration(raw)
        if mute is None:
            offenders.append(f"{rule_label(rule)}: muteActionsDuration {raw!r} is not a duration")
        elif mute > timedelta(0):
            offenders.append(f"{rule_label(rule)}: actions muted for {raw} after each alert")
    if offenders:
        return Outcome.failed(f"{len(offenders)} covering rules mute their actions", evidence, offenders)
    return Outcome.passed(f"{len(rules)} covering rules send their actions on every alert", evidence)


# -- BG.AL.5 ---------------------------------------------------------------------------------------


def _sentinel_problems(rule: Obj) -> list[str]:
    props = arm_props(rule)
    problems = []
    if props.get("enabled") is not True:
        problems.append("disabled")
    kind = str(rule.get("kind") or "")
    if kind == "Scheduled":
        frequency = parse_duration(props.get("queryFrequency"))
        period = parse_duration(props.get("queryPeriod"))
        if frequency is None or frequency > MAX_FREQUENCY:
            problems.append(f"queryFrequency {props.get('queryFrequency')} (at most PT5M)")
        if frequency is not None and (period is None or period < frequency):
            problems.append(
                f"queryPeriod {props.get('queryPeriod')} shorter than queryFrequency: events are skipped"
            )
        if props.get("triggerOperator") != "GreaterThan" or props.get("triggerThreshold") != 0:
            problems.append(
                f"trigger {props.get('triggerOperator')} {props.get('triggerThreshold')} (use GreaterThan 0)"
            )
    elif kind != "NRT":
        # NRT rules have no frequency or threshold to set (Microsoft: they run every minute on any result).
        problems.append(f"kind {kind or 'unknown'} (expected Scheduled or NRT)")
    if props.get("suppressionEnabled") is True:
        problems.append(f"suppression on for {props.get('suppressionDuration')}: later events raise no alert")
    aggregation = (props.get("eventGroupingSettings") or {}).get("aggregationKind")
    if aggregation != "AlertPerResult":
        problems.append(f"event grouping {aggregation or 'unset (SingleAlert)'} (use AlertPerResult)")
    if (props.get("incidentConfiguration") or {}).get("createIncident") is not True:
        problems.append("incident creation off")
    return problems


def sentinel_rule(facts: Facts, playbook: Playbook) -> Outcome:
    """Each Sentinel analytics rule the playbook names exists and alerts on every event, at once."""
    wanted = list(playbook.audit.sentinel_rules)
    if not wanted:
        return Outcome(
            Status.NOT_APPLICABLE,
            "the playbook names no Sentinel analytics rule (audit.sentinel_rules is empty)",
        )
    if (err := unread(facts, "sentinel_rules")) is not None:
        return err
    if facts.sentinel_rules is None:
        return Outcome.failed(
            "the workspace has no Microsoft Sentinel, but the playbook names Sentinel rules",
            offenders=[f"{name}: Sentinel not onboarded" for name in wanted],
        )
    offenders = []
    evidence = []
    for name in wanted:
        found = [r for r in facts.sentinel_rules if arm_props(r).get("displayName") == name]
        if not found:
            offenders.append(f"{name}: no such analytics rule")
            continue
        evidence.extend(found)
        for rule in found:
            offenders.extend(f"{name}: {p}" for p in _sentinel_problems(rule))
    if offenders:
        return Outcome.failed(f"{len(offenders)} problems in the Sentinel rules", evidence, offenders)
    return Outcome.passed(f"{len(wanted)} Sentinel rules alert on every event within 5 minutes", evidence)


CHECKS: dict[str, CheckFn] = {
    "BG.DIAG.1": diagnostic_setting,
    "BG.AL.1": rules_cover_accounts,
    "BG.AL.2": rules_cadence,
    "BG.AL.3": rules_identity,
    "BG.AL.4": rules_notify,
    "BG.AL.5": sentinel_rule,
    "BG.AL.6": rules_not_muted,
}
