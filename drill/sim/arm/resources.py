"""The tenant fixture's monitoring objects in ARM's JSON shapes (documented GET examples: README.md).

Rules and action groups are the alert engine's own (`tenant.alertRules`, `tenant.actionGroups`), so what
ARM shows is what the engine evaluates; fired alerts are the engine's notifications.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drill.sim.arm import ids
from drill.sim.beliefs import form
from drill.sim.loganalytics.alerts import AlertEngine, frequency, resolve_after, rule_query
from drill.sim.loganalytics.schema import iso
from drill.sim.state import SimState

# api-versions of scheduledQueryRules without the resource's managed identity (README.md, BELIEF).
NO_IDENTITY_API = frozenset({"2021-08-01"})


def rule_identity(state: SimState, rule: dict[str, Any]) -> dict[str, Any] | None:
    """The rule's managed identity as ARM shows it: {type, principalId, tenantId} or user-assigned ones."""
    spec = rule.get("identity")
    if not spec:
        return None
    kind = str(spec.get("type", "SystemAssigned"))
    if kind == "SystemAssigned":
        return {"type": kind, "principalId": str(spec["principalId"]), "tenantId": state.tenant.id}
    base = f"{ids.resource_group_id(state)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    assigned = {
        f"{base}/{u['name']}": {"principalId": str(u["principalId"]),
                                "clientId": str(u.get("clientId", u["principalId"]))}
        for u in spec.get("userAssigned") or []
    }  # fmt: skip
    return {"type": kind, "userAssignedIdentities": assigned}


def rule_resource(state: SimState, rule: dict[str, Any], api_version: str | None = None) -> dict[str, Any]:
    """A scheduledQueryRules resource (kind LogAlert), fields of the 2021-08-01 .. 2023-12-01 shape."""
    threshold = rule.get("threshold") or {}
    condition: dict[str, Any] = {
        "query": rule_query(state, rule),
        "timeAggregation": "Count",
        "dimensions": [
            {"name": str(d), "operator": "Include", "values": ["*"]} for d in rule.get("dimensions") or []
        ],
        "operator": str(threshold.get("operator", "GreaterThan")),
        "threshold": float(threshold.get("value", 0)),
        "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
    }
    actions: dict[str, Any] = {
        "actionGroups": [ids.action_group_id(state, str(g)) for g in rule.get("actionGroups") or []],
        "customProperties": {},
    }
    if rule.get("customEmailSubject"):
        actions["actionProperties"] = {"Email.Subject": str(rule["customEmailSubject"])}
    properties: dict[str, Any] = {
        "displayName": rule["name"],
        "description": str(rule.get("description", "")),
        "severity": int(rule.get("severity", 3)),
        "enabled": bool(rule.get("enabled", True)),
        "evaluationFrequency": str(rule.get("evaluationFrequency", "PT5M")),
        "scopes": [str(x) for x in rule.get("scopes") or [ids.workspace_id(state)]],
        "windowSize": str(rule.get("windowSize", "PT5M")),
        "criteria": {"allOf": [condition]},
        **auto_resolve_properties(state, rule),
        "actions": actions,
    }
    if rule.get("muteActionsDuration"):
        properties["muteActionsDuration"] = str(rule["muteActionsDuration"])
    out: dict[str, Any] = {
        "id": ids.rule_id(state, rule["name"]),
        "name": rule["name"],
        "type": "microsoft.insights/scheduledqueryrules",
        "location": ids.location(state),
        "tags": {},
        "kind": "LogAlert",
        "properties": properties,
    }
    identity = rule_identity(state, rule)
    if identity is not None and api_version not in NO_IDENTITY_API:
        out["identity"] = identity
    return out


def auto_resolve_properties(state: SimState, rule: dict[str, Any]) -> dict[str, Any]:
    """Whether the rule auto-resolves, in the form the belief rule-auto-resolve chose (DIFFERENCES.md).

    `autoMitigate`: always shown (2021-08-01's example). `omitted-when-default`: absent when true, the
    documented default of 2023-12-01. `resolve-configuration`: only `ruleResolveConfiguration`, as
    2023-12-01's GET example shows it.
    """
    stateful = bool(rule.get("autoMitigate", False))
    chosen = form(state, "rule-auto-resolve")
    if chosen == "omitted-when-default":
        return {} if stateful else {"autoMitigate": False}
    if chosen == "resolve-configuration":
        minutes = int(resolve_after(frequency(rule)).total_seconds() // 60)
        return {"ruleResolveConfiguration": {"autoResolved": stateful, "timeToResolve": f"PT{minutes}M"}}
    return {"autoMitigate": stateful}


def action_group_resource(state: SimState, group: dict[str, Any]) -> dict[str, Any]:
    """An actionGroups resource (2023-01-01 shape): only email receivers are simulated."""
    return {
        "id": ids.action_group_id(state, str(group["name"])),
        "type": "Microsoft.Insights/ActionGroups",
        "name": group["name"],
        "location": "Global",
        "tags": {},
        "properties": {
            "groupShortName": str(group.get("shortName", str(group["name"])[:12])),
            "enabled": bool(group.get("enabled", True)),
            "emailReceivers": [
                {
                    "name": str(r.get("name", r["emailAddress"])),
                    "emailAddress": str(r["emailAddress"]),
                    "status": str(r.get("status", "Enabled")),
                    "useCommonAlertSchema": bool(r.get("useCommonAlertSchema", True)),
                }
                for r in group.get("emailReceivers") or []
            ],
            "smsReceivers": [],
            "webhookReceivers": [],
            "itsmReceivers": [],
            "azureAppPushReceivers": [],
            "automationRunbookReceivers": [],
            "voiceReceivers": [],
            "logicAppReceivers": [],
            "azureFunctionReceivers": [],
            "armRoleReceivers": [],
            "eventHubReceivers": [],
        },
    }


def diagnostic_setting_resource(state: SimState, setting: dict[str, Any]) -> dict[str, Any]:
    """An Entra (microsoft.aadiam) diagnostic setting, 2017-04-01 shape."""
    return {
        "id": f"providers/Microsoft.Aadiam/diagnosticSettings/{setting['name']}",
        "type": "",
        "name": setting["name"],
        "location": "",
        "properties": {
            "workspaceId": ids.diagnostic_workspace(state, setting),
            "logs": [
                {
                    "category": str(log.get("category")),
                    "enabled": bool(log.get("enabled", True)),
                    "retentionPolicy": {"enabled": False, "days": 0},
                }
                for log in setting.get("logs") or []
            ],
        },
    }


def alert_resources(state: SimState) -> list[tuple[dict[str, Any], datetime]]:
    """Every alert instance the engine fired, newest first, with its last change (for timeRange)."""
    engine: AlertEngine = state.services["alerts"]
    workspace = ids.workspace_id(state)
    out: list[tuple[dict[str, Any], datetime]] = []
    with engine._lock:
        for rule in state.tenant.alertRules:
            rs = engine.rules.get(rule["name"])
            for inst in list(rs.instances.values()) if rs else []:
                changed: datetime = inst.get("resolvedAt") or inst["firedAt"]
                out.append((_alert(state, rule, inst, workspace), changed))
    out.sort(key=lambda pair: pair[1], reverse=True)
    return out


def _alert(state: SimState, rule: dict[str, Any], inst: dict[str, Any], workspace: str) -> dict[str, Any]:
    window = inst["window"]
    threshold = rule.get("threshold") or {}
    essentials: dict[str, Any] = {
        "severity": f"Sev{int(rule.get('severity', 3))}",
        "signalType": "Log",
        "alertState": "New",
        "monitorCondition": inst["condition"],
        "monitorService": "Log Alerts V2",
        "targetResource": workspace.lower(),
        "targetResourceName": str(state.tenant.workspace.get("name", "workspace")).lower(),
        "targetResourceGroup": ids.workspace_resource_group(state).lower(),
        "targetResourceType": "workspaces",
        "sourceCreatedId": inst["alertId"].rsplit("/", 1)[-1],
        # BELIEF alert-instance-rule-ref: the rule's ARM id (the Smart Detector sample's shape) or its name
        # (the common alert schema's essentials.alertRule).
        "alertRule": rule["name"]
        if form(state, "alert-instance-rule-ref") == "rule-name"
        else ids.rule_id(state, rule["name"]),
        "startDateTime": iso(inst["firedAt"]),
        "lastModifiedDateTime": iso(inst.get("resolvedAt") or inst["firedAt"]),
        "lastModifiedUserName": "System",
        "actionStatus": {"isSuppressed": False},
        "description": str(rule.get("description", "")),
    }
    if inst.get("resolvedAt"):
        essentials["monitorConditionResolvedDateTime"] = iso(inst["resolvedAt"])
    # The log alert's context in the common alert schema's alertContext shape (BELIEF: README.md), kept at
    # properties.context.condition or, as Microsoft Learn's Resource Graph samples read it, one level deeper
    # at properties.context.context.condition (belief alert-instance-condition).
    context: dict[str, Any] = {
        "conditionType": "LogQueryCriteria",
        "condition": {
            "windowSize": str(rule.get("windowSize", "PT5M")),
            "allOf": [
                {
                    "searchQuery": rule_query(state, rule),
                    "metricMeasureColumn": None,
                    "targetResourceTypes": "['Microsoft.OperationalInsights/workspaces']",
                    "operator": str(threshold.get("operator", "GreaterThan")),
                    "threshold": str(threshold.get("value", 0)),
                    "timeAggregation": "Count",
                    "dimensions": inst["dimensions"],
                    "metricValue": inst["metricValue"],
                    "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
                }
            ],
            "windowStartTime": iso(window[0]),
            "windowEndTime": iso(window[1]),
        },
    }
    if form(state, "alert-instance-condition") == "nested":
        context = {"context": context}
    return {
        "properties": {"essentials": essentials, "egressConfig": {}, "context": context},
        "id": inst["alertId"],
        "type": "Microsoft.AlertsManagement/alerts",
        "name": rule["name"],
    }
