"""Microsoft Sentinel's analytics rule and automation rules, read through Azure Resource Manager, and the
judgements preflight makes of them before any key is touched (issue 24).

Reads go through the monitor client's pipeline (drill/monitoring/arm.py `_get_json`), as the audit's read of
the analytics rules does: `azure-mgmt-securityinsight` 1.0.0 (2022) is not a dependency, and two GETs of the
stable 2024-03-01 API need none. Judgements are pure functions over the ARM JSON, each naming the fix.
Sources (Microsoft Learn, sentinel/): detect-threats-custom.md (query scheduling, the alert threshold,
event grouping, suppression, incident settings, alert grouping and "Re-open closed matching incidents"),
automate-incident-handling-with-automation-rules.md (triggers "When incident is created", conditions on
the analytics rule, the "Change status" action that closes incidents, run in order), and
troubleshoot-analytics-rules.md (a rule failing repeatedly is disabled with "AUTO DISABLED" prefixed to its
name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from drill.isotime import parse_duration, parse_utc
from drill.monitoring.arm import NOT_ONBOARDED, SENTINEL_API

if TYPE_CHECKING:
    from drill.monitoring.arm import ArmReader

AUTO_DISABLED = "AUTO DISABLED"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class NotOnboarded(Exception):
    """The workspace answers that it is not onboarded to Microsoft Sentinel."""


@dataclass(frozen=True)
class Judgement:
    """One preflight check on the Sentinel watch: pass or fail, why, and whether the verdict needs it."""

    id: str
    title: str
    ok: bool
    reason: str
    required: bool = True


def _base(workspace_id: str) -> str:
    return f"{workspace_id.rstrip('/')}/providers/Microsoft.SecurityInsights"


def _get(arm: ArmReader, url: str) -> dict[str, Any] | None:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        return arm._get_json(url)
    except ResourceNotFoundError:
        return None
    except HttpResponseError as exc:
        if exc.status_code == 404:
            return None
        if exc.status_code == 400 and NOT_ONBOARDED in str(exc):
            raise NotOnboarded(str(exc)) from exc
        raise


def read_rule(arm: ArmReader, workspace_id: str, ref: str) -> dict[str, Any] | None:
    """The analytics rule by id (a GUID, or a full id's last segment) or by display name, as ARM JSON.

    A display name also matches the name Sentinel gives a rule it disabled ("AUTO DISABLED" added to it),
    so an auto-disabled rule is found and judged, not reported missing.
    """
    name = ref.rstrip("/").rsplit("/", 1)[-1] if ref.startswith("/") else ref
    if _GUID.match(name):
        return _get(arm, f"{_base(workspace_id)}/alertRules/{name}?api-version={SENTINEL_API}")
    listed = _get(arm, f"{_base(workspace_id)}/alertRules?api-version={SENTINEL_API}") or {}
    for rule in listed.get("value") or []:
        shown = str((rule.get("properties") or {}).get("displayName") or "")
        if shown == ref or shown.replace(AUTO_DISABLED, "").strip() == ref or rule.get("name") == ref:
            return dict(rule)
    return None


def read_automation_rules(arm: ArmReader, workspace_id: str) -> list[dict[str, Any]]:
    body = _get(arm, f"{_base(workspace_id)}/automationRules?api-version={SENTINEL_API}") or {}
    return list(body.get("value") or [])


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(resource.get("properties") or {})


def rule_checks(
    rule: dict[str, Any], *, require: str, sla_s: float, account_ids: set[str]
) -> list[Judgement]:
    """Every judgement of the analytics rule's configuration, in the order a reader fixes them."""
    p = props(rule)
    label = str(p.get("displayName") or rule.get("name"))
    out = [_enabled(p, label)]
    out.append(_kind(rule, label))
    out.extend(_schedule(p, label, sla_s))
    out.append(_threshold(p, label))
    out.extend(_grouping(p, label))
    incidents = (p.get("incidentConfiguration") or {}).get("createIncident") is True
    out.append(
        Judgement(
            "sentinel_incident_creation",
            "The rule creates incidents",
            incidents or require == "alert",
            "incident creation is on"
            if incidents
            else f"incident creation is off on {label!r}: turn on 'Create incidents from alerts triggered "
            "by this analytics rule' (or set sentinel.require: alert if an alert suffices)",
            required=require == "incident",
        )
    )
    query = str(p.get("query") or "").lower()
    named = sorted(i for i in account_ids if i.lower() in query)
    out.append(
        Judgement(
            "sentinel_query_names_account",
            "The rule's query names this account",
            bool(named),
            f"the query names {', '.join(named)}"
            if named
            else "the query names neither this account's object id nor its UPN (it may match another way: "
            "the incident step runs it over this sign-in's row)",
            required=False,
        )
    )
    return out


def _enabled(p: dict[str, Any], label: str) -> Judgement:
    if p.get("enabled") is True:
        return Judgement("sentinel_rule_enabled", "The analytics rule is enabled", True, "enabled")
    # "AUTO DISABLED" is added to the name (Microsoft's Sentinel blog does not say before or after it)
    if AUTO_DISABLED in label or AUTO_DISABLED in str(p.get("description") or ""):
        return Judgement(
            "sentinel_rule_enabled",
            "The analytics rule is enabled",
            False,
            f"Sentinel auto-disabled {label!r} after it failed repeatedly: read the failure in its "
            "description (or the SentinelHealth table), fix the query or its permissions, then "
            "re-enable the rule",
        )
    return Judgement(
        "sentinel_rule_enabled",
        "The analytics rule is enabled",
        False,
        f"{label!r} is disabled: enable it in Sentinel > Analytics",
    )


def _kind(rule: dict[str, Any], label: str) -> Judgement:
    kind = str(rule.get("kind") or "")
    ok = kind in ("Scheduled", "NRT")
    return Judgement(
        "sentinel_rule_kind",
        "The rule is a scheduled (or near-real-time) rule",
        ok,
        f"kind {kind}"
        if ok
        else f"{label!r} is of kind {kind or 'unknown'}: the drill proves a "
        "Scheduled or NRT rule over SigninLogs",
    )


def _schedule(p: dict[str, Any], label: str, sla_s: float) -> list[Judgement]:
    freq, period = parse_duration(p.get("queryFrequency")), parse_duration(p.get("queryPeriod"))
    if freq is None:  # NRT rules have no schedule: Microsoft runs them every minute
        return []
    runs = Judgement(
        "sentinel_rule_frequency",
        "The rule runs well within the incident SLA",
        freq.total_seconds() < sla_s,
        f"runs every {p.get('queryFrequency')} (SLA {sla_s:.0f}s)"
        if freq.total_seconds() < sla_s
        else f"{label!r} runs every {p.get('queryFrequency')}, not within the incident SLA of {sla_s:.0f}s: "
        "run it every 5 minutes (PT5M)",
    )
    covered = period is not None and period >= freq
    gaps = Judgement(
        "sentinel_rule_period",
        "The rule's lookback covers the time between runs",
        covered,
        f"looks back {p.get('queryPeriod')} every {p.get('queryFrequency')}"
        if covered
        else f"{label!r} looks back {p.get('queryPeriod')} but runs every {p.get('queryFrequency')}: "
        "events between its windows are never seen; set queryPeriod at least queryFrequency",
    )
    return [runs, gaps]


def _threshold(p: dict[str, Any], label: str) -> Judgement:
    op, value = str(p.get("triggerOperator") or ""), p.get("triggerThreshold")
    ok = (op == "GreaterThan" and value == 0) or (op == "GreaterThanOrEqual" and value == 1)
    return Judgement(
        "sentinel_rule_threshold",
        "The rule alerts on any result",
        ok,
        f"{op} {value}"
        if ok
        else f"{label!r} alerts when results are {op} {value}: one break-glass event must alert; "
        "set 'Generate alert when number of query results' to is greater than 0",
    )


def _grouping(p: dict[str, Any], label: str) -> list[Judgement]:
    aggregation = str((p.get("eventGroupingSettings") or {}).get("aggregationKind") or "SingleAlert")
    per_event = aggregation == "AlertPerResult"
    out = [
        Judgement(
            "sentinel_event_grouping",
            "Event grouping raises an alert for each event",
            per_event,
            "an alert for each event"
            if per_event
            else f"{label!r} groups all events into a single alert: a sign-in can fold into an alert about "
            "another event; set event grouping to 'Trigger an alert for each event'",
            required=False,
        )
    ]
    suppressed = p.get("suppressionEnabled") is True
    out.append(
        Judgement(
            "sentinel_suppression",
            "Alert suppression is off",
            not suppressed,
            "suppression off"
            if not suppressed
            else f"{label!r} stops running for {p.get('suppressionDuration')} after each alert: a drill "
            "after an earlier alert raises nothing; turn 'Suppression' off",
        )
    )
    grouping = (p.get("incidentConfiguration") or {}).get("groupingConfiguration") or {}
    risky = grouping.get("enabled") is True and grouping.get("reopenClosedIncident") is not True
    out.append(
        Judgement(
            "sentinel_alert_grouping",
            "Alert grouping cannot hide an alert in a closed incident",
            not risky,
            "alert grouping off, or closed matches reopened"
            if not risky
            else f"{label!r} groups alerts into incidents for {grouping.get('lookbackDuration')} without "
            "reopening closed ones; the incident step checks where this alert lands (turn on "
            "'Re-open closed matching incidents', or turn alert grouping off)",
            required=False,
        )
    )
    return out


def closing_automation(
    autos: list[dict[str, Any]], rule: dict[str, Any], now: datetime | None = None
) -> list[str]:
    """Automation rules closing (or suppressing) this rule's incidents as they are created, by name."""
    now = now or datetime.now(UTC)
    rule_id = str(rule.get("id") or "").lower()
    rule_name = str(rule.get("name") or "").lower()
    out = []
    for auto in autos:
        p = props(auto)
        logic = p.get("triggeringLogic") or {}
        expires = logic.get("expirationTimeUtc")
        if logic.get("isEnabled") is False or (expires and parse_utc(str(expires)) < now):
            continue
        if (
            str(logic.get("triggersOn", "Incidents")) != "Incidents"
            or str(logic.get("triggersWhen")) != "Created"
        ):
            continue
        if not _applies(logic.get("conditions") or [], rule_id, rule_name):
            continue
        for action in p.get("actions") or []:
            config = action.get("actionConfiguration") or {}
            if action.get("actionType") == "ModifyProperties" and config.get("status") == "Closed":
                reason = config.get("classificationReason") or config.get("classification") or "closed"
                out.append(f"{p.get('displayName') or auto.get('name')} (closes as {reason})")
    return out


def _applies(conditions: list[dict[str, Any]], rule_id: str, rule_name: str) -> bool:
    """Whether the automation rule's conditions can match this rule's incidents (unknown conditions: yes)."""
    for condition in conditions:
        cp = condition.get("conditionProperties") or {}
        if cp.get("propertyName") != "IncidentRelatedAnalyticRuleIds":
            continue  # other conditions (severity, title ...) may well hold for a break-glass incident
        values = [str(v).lower() for v in cp.get("propertyValues") or []]
        named = any(v == rule_id or v.rsplit("/", 1)[-1] == rule_name for v in values)
        if (cp.get("operator", "Contains") == "Contains") != named:
            return False
    return True
