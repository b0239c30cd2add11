"""Microsoft Sentinel's analytics rules (Microsoft.SecurityInsights/alertRules) on the tenant's workspace.

The fixture's `azure.sentinel: {alertRules: [...]}` onboards the workspace; without it the service answers
400 BadRequest with the "not onboarded" message nested as a JSON string, as Azure does (README.md). Each
rule is a Scheduled rule: {name, displayName, enabled, query | queryFile, queryFrequency, queryPeriod,
triggerOperator, triggerThreshold, aggregationKind, createIncident, severity}.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

from drill.sim.arm import errors, ids
from drill.sim.loganalytics.alerts import rule_query
from drill.sim.state import SimState


def onboarded(state: SimState) -> bool:
    return isinstance(state.tenant.azure.get("sentinel"), dict)


def not_onboarded(state: SimState) -> JSONResponse:
    name = str(state.tenant.workspace.get("name", "workspace"))
    inner = {"error": {"code": "BadRequest", "message": (
        f"Workspace '{name}' is not onboarded to Microsoft Sentinel. Please onboard through the portal "
        "(https://learn.microsoft.com/en-us/azure/sentinel/quickstart-onboard) or use the OnboardingStates "
        "ARM api to onboard to Sentinel (https://learn.microsoft.com/en-us/rest/api/securityinsights/"
        "sentinel-onboarding-states/create?view=rest-securityinsights-2024-03-01).")}}  # fmt: skip
    return errors.arm_error(400, "BadRequest", json.dumps(inner))


def rules(state: SimState) -> list[dict[str, Any]]:
    sentinel = state.tenant.azure.get("sentinel") or {}
    return [rule_resource(state, r) for r in sentinel.get("alertRules") or []]


def rule_resource(state: SimState, rule: dict[str, Any]) -> dict[str, Any]:
    """A Scheduled alert rule (2023-02-01 .. 2024-03-01 shape)."""
    name = str(rule["name"])
    grouping = rule.get("grouping") or {}
    return {
        "id": f"{ids.workspace_id(state)}/providers/Microsoft.SecurityInsights/alertRules/{name}",
        "name": name,
        "type": "Microsoft.SecurityInsights/alertRules",
        "kind": "Scheduled",
        "etag": '"0300bf09-0000-0000-0000-5c37296e0000"',
        "properties": {
            "displayName": str(rule.get("displayName", name)),
            "description": str(rule.get("description", "")),
            "severity": str(rule.get("severity", "High")),
            "enabled": bool(rule.get("enabled", True)),
            "tactics": list(rule.get("tactics") or ["InitialAccess"]),
            "techniques": list(rule.get("techniques") or ["T1078"]),
            "query": rule_query(state, rule),
            "queryFrequency": str(rule.get("queryFrequency", "PT5M")),
            "queryPeriod": str(rule.get("queryPeriod", "PT5M")),
            "triggerOperator": str(rule.get("triggerOperator", "GreaterThan")),
            "triggerThreshold": int(rule.get("triggerThreshold", 0)),
            "suppressionDuration": str(rule.get("suppressionDuration", "PT5H")),
            "suppressionEnabled": bool(rule.get("suppressionEnabled", False)),
            "lastModifiedUtc": "2026-01-05T09:00:00.0000000Z",
            "eventGroupingSettings": {"aggregationKind": str(rule.get("aggregationKind", "AlertPerResult"))},
            "incidentConfiguration": {
                "createIncident": bool(rule.get("createIncident", True)),
                "groupingConfiguration": {
                    "enabled": bool(grouping.get("enabled", False)),
                    "reopenClosedIncident": bool(grouping.get("reopenClosedIncident", False)),
                    "lookbackDuration": str(grouping.get("lookbackDuration", "PT5H")),
                    "matchingMethod": str(grouping.get("matchingMethod", "AllEntities")),
                    "groupByEntities": [],
                    "groupByAlertDetails": [],
                    "groupByCustomDetails": [],
                },
            },
            "entityMappings": rule.get("entityMappings"),
            "alertRuleTemplateName": None,
            "templateVersion": None,
        },
    }


def incident_resource(state: SimState, incident: Any) -> dict[str, Any]:
    """An incident (Microsoft.SecurityInsights/incidents, 2024-03-01 shape), from the Sentinel engine."""
    from drill.sim.loganalytics.schema import iso
    from drill.sim.loganalytics.sentinel import PRODUCT, incident_url

    return {
        "id": f"{ids.workspace_id(state)}/providers/Microsoft.SecurityInsights/Incidents/{incident.name}",
        "name": incident.name,
        "etag": f'"{abs(hash((incident.name, incident.modified))) % 10**12:012d}"',
        "type": "Microsoft.SecurityInsights/Incidents",
        "properties": {
            "title": incident.title,
            "description": "",
            "severity": incident.severity,
            "status": incident.status,
            "classification": incident.classification or None,
            "classificationReason": incident.classification_reason or None,
            "classificationComment": incident.classification_comment or None,
            "owner": {**incident.owner, "ownerType": "Unknown"},
            "labels": list(incident.labels),
            "firstActivityTimeUtc": iso(incident.first_activity),
            "lastActivityTimeUtc": iso(incident.last_activity),
            "lastModifiedTimeUtc": iso(incident.modified or incident.created),
            "createdTimeUtc": iso(incident.created),
            "incidentNumber": incident.number,
            "additionalData": {
                "alertsCount": len(incident.alert_ids),
                "bookmarksCount": 0,
                "commentsCount": len(incident.comments),
                "alertProductNames": [PRODUCT],
                "tactics": ["InitialAccess"],
                "techniques": ["T1078"],
            },
            "relatedAnalyticRuleIds": list(incident.rule_ids),
            "incidentUrl": incident_url(state, incident),
            "providerName": PRODUCT,
            "providerIncidentId": str(incident.number),
        },
    }


def automation_rule_resource(state: SimState, auto: dict[str, Any]) -> dict[str, Any]:
    """An automation rule (Microsoft.SecurityInsights/automationRules, 2024-03-01 shape)."""
    conditions = [
        {"conditionType": "Property", "conditionProperties": {
            "propertyName": "IncidentRelatedAnalyticRuleIds", "operator": "Contains",
            "propertyValues": list(auto.get("analyticRuleIds") or [])}}
    ] if auto.get("analyticRuleIds") else []  # fmt: skip
    actions = []
    for i, action in enumerate(auto.get("actions") or [], start=1):
        settings = {k: action.get(k) for k in ("severity", "status", "classification", "classificationReason",
                                                "classificationComment", "owner", "labels")}  # fmt: skip
        actions.append({"order": i, "actionType": str(action.get("actionType", "ModifyProperties")),
                        "actionConfiguration": settings})  # fmt: skip
    return {
        "id": f"{ids.workspace_id(state)}/providers/Microsoft.SecurityInsights/automationRules/{auto['name']}",  # noqa: E501
        "name": str(auto["name"]),
        "type": "Microsoft.SecurityInsights/automationRules",
        "etag": '"0a00c0a9-0000-0100-0000-5e2f8a9b0000"',
        "properties": {
            "displayName": str(auto.get("displayName", auto["name"])),
            "order": int(auto.get("order", 1)),
            "triggeringLogic": {
                "isEnabled": bool(auto.get("enabled", True)),
                "expirationTimeUtc": None,
                "triggersOn": str(auto.get("triggersOn", "Incidents")),
                "triggersWhen": str(auto.get("triggersWhen", "Created")),
                "conditions": conditions,
            },
            "actions": actions,
            "lastModifiedTimeUtc": "2026-01-05T09:00:00.0000000Z",
            "createdTimeUtc": "2026-01-05T09:00:00.0000000Z",
            "lastModifiedBy": {"objectId": None, "email": None, "name": None},
            "createdBy": {"objectId": None, "email": None, "name": None},
        },
    }
