"""The ARM writes of `--monitoring`, each made only when what it makes is not there already; a rule of the
same name with another query is never overwritten (the plan refused it; here it refuses again, fail closed).
"""

from __future__ import annotations

from typing import Any

from drill.errors import DrillUserError
from drill.setup.api import Api, CallError
from drill.setup.discover import SIGNIN_CATEGORIES


def _get(api: Api, path: str, kind: str) -> Any | None:
    try:
        return api.arm("GET", path, kind)
    except CallError as exc:
        if exc.status == 404:
            return None
        raise


def deploy_diagnostic(api: Api, p: dict[str, Any]) -> bool:
    listed = api.arm("GET", "/providers/microsoft.aadiam/diagnosticSettings", "diagnosticSettings")
    for s in listed.get("value") or []:
        logs = {lg["category"] for lg in s["properties"].get("logs") or [] if lg.get("enabled")}
        if s["name"] == p["name"] and logs >= set(SIGNIN_CATEGORIES):
            return False
    body = {
        "properties": {
            "workspaceId": p["workspace"],
            "logs": [{"category": c, "enabled": True} for c in SIGNIN_CATEGORIES],
        }
    }
    api.arm("PUT", f"/providers/microsoft.aadiam/diagnosticSettings/{p['name']}", "diagnosticSettings", body)
    return True


def deploy_action_group(api: Api, p: dict[str, Any]) -> bool:
    found = _get(api, p["id"], "actionGroups")
    if found and [r["emailAddress"] for r in found["properties"].get("emailReceivers") or []] == [
        p["mailbox"]
    ]:
        return False
    if found:
        raise DrillUserError(f"action group {p['id']} exists and mails others; setup never alters it")
    body = {
        "location": "Global",
        "properties": {
            "groupShortName": "bg-drill",
            "enabled": True,
            "emailReceivers": [
                {"name": "alert mailbox", "emailAddress": p["mailbox"], "useCommonAlertSchema": True}
            ],
        },
    }
    api.arm("PUT", p["id"], "actionGroups", body)
    return True


def _rule_path(p: dict[str, Any]) -> str:
    return f"{p['rg']}/providers/Microsoft.Insights/scheduledQueryRules/{p.get('rule') or p['name']}"


def deploy_rule(api: Api, p: dict[str, Any], note: str) -> bool:
    found = _get(api, _rule_path(p), "scheduledQueryRules")
    if found:
        if found["properties"]["criteria"]["allOf"][0]["query"] == p["query"]:
            return False
        raise DrillUserError(f"alert rule {p['name']} changed since the plan; setup never alters a rule")
    body = {
        "location": p.get("location", "westeurope"),
        "kind": "LogAlert",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "displayName": p["name"],
            "description": note,
            "severity": p["severity"],
            "enabled": True,
            "evaluationFrequency": p["frequency"],
            "windowSize": p["window"],
            "scopes": [p["workspace"]],
            "criteria": {
                "allOf": [
                    {
                        "query": p["query"],
                        "timeAggregation": "Count",
                        "operator": "GreaterThan",
                        "threshold": 0,
                        "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
                    }
                ]
            },
            "autoMitigate": False,
            "actions": {"actionGroups": [p["group"]], "actionProperties": {"Email.Subject": p["subject"]}},
        },
    }
    api.arm("PUT", _rule_path(p), "scheduledQueryRules", body)
    return True


def rule_identity(api: Api, p: dict[str, Any]) -> str:
    found = _get(api, _rule_path(p), "scheduledQueryRules")
    principal = ((found or {}).get("identity") or {}).get("principalId")
    if not principal:
        raise DrillUserError(
            f"alert rule {p['rule']} has no system-assigned identity to grant {p['role']} to"
        )
    return str(principal)
