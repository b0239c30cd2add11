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
                    "enabled": False,
                    "reopenClosedIncident": False,
                    "lookbackDuration": "PT5H",
                    "matchingMethod": "AllEntities",
                    "groupByEntities": [],
                    "groupByAlertDetails": [],
                    "groupByCustomDetails": [],
                },
            },
            "alertRuleTemplateName": None,
            "templateVersion": None,
        },
    }
