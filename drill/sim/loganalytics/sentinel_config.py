"""The fixture's `azure.sentinel` section, read by the Sentinel engine and its incidents: the analytics rules,
the automation rules, and each rule's ARM id on the tenant's workspace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drill.sim.arm import ids
from drill.sim.loganalytics.isotime import parse_duration
from drill.sim.state import SimState

PRODUCT = "Azure Sentinel"


def config(state: SimState) -> dict[str, Any] | None:
    sentinel = state.tenant.azure.get("sentinel")
    return sentinel if isinstance(sentinel, dict) else None


def alert_rules(state: SimState) -> list[dict[str, Any]]:
    return list((config(state) or {}).get("alertRules") or [])


def automation_rules(state: SimState) -> list[dict[str, Any]]:
    return list((config(state) or {}).get("automationRules") or [])


def rule_arm_id(state: SimState, rule: dict[str, Any]) -> str:
    return f"{ids.workspace_id(state)}/providers/Microsoft.SecurityInsights/alertRules/{rule['name']}"


def duration(text: Any, default: str) -> timedelta:
    try:
        return parse_duration(str(text or default))
    except ValueError:
        return parse_duration(default)
