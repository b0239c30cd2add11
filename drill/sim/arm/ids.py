"""Resource ids of the demo tenant's monitoring objects, in ARM's spelling.

ARM ids are case-insensitive; the casing here follows Microsoft's documented GET examples
(`microsoft.insights/scheduledqueryrules`, `microsoft.insights/actionGroups`), see README.md.
"""

from __future__ import annotations

from typing import Any

from drill.sim.state import SimState

DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "rg-monitoring"


def subscription(state: SimState) -> str:
    return str(state.tenant.azure.get("subscriptionId") or DEFAULT_SUBSCRIPTION)


def resource_group(state: SimState) -> str:
    return str(state.tenant.azure.get("resourceGroup") or DEFAULT_RESOURCE_GROUP)


def workspace_resource_group(state: SimState) -> str:
    """The workspace's group: the rules' unless the tenant keeps its logs apart (variant
    monitoring-resource-groups=split)."""
    return str(state.tenant.azure.get("workspaceResourceGroup") or resource_group(state))


def location(state: SimState) -> str:
    return str(state.tenant.azure.get("location") or "westeurope")


def resource_group_id(state: SimState) -> str:
    return f"/subscriptions/{subscription(state)}/resourceGroups/{resource_group(state)}"


def workspace_id(state: SimState, name: str | None = None) -> str:
    ws = name or str(state.tenant.workspace.get("name", "workspace"))
    group = f"/subscriptions/{subscription(state)}/resourceGroups/{workspace_resource_group(state)}"
    return f"{group}/providers/Microsoft.OperationalInsights/workspaces/{ws}"


def rule_id(state: SimState, name: str) -> str:
    return (
        f"/subscriptions/{subscription(state)}/resourcegroups/{resource_group(state)}"
        f"/providers/microsoft.insights/scheduledqueryrules/{name}"
    )


def action_group_id(state: SimState, name: str) -> str:
    return f"{resource_group_id(state)}/providers/microsoft.insights/actionGroups/{name}"


def alert_id(state: SimState, guid: str) -> str:
    return f"/subscriptions/{subscription(state)}/providers/Microsoft.AlertsManagement/alerts/{guid}"


def diagnostic_workspace(state: SimState, setting: dict[str, Any]) -> str:
    """The ARM id a diagnostic setting sends to: the tenant's workspace when it names its customerId."""
    if setting.get("workspaceResourceId"):
        return str(setting["workspaceResourceId"])
    if str(setting.get("workspaceId")) == str(state.tenant.workspace.get("customerId")):
        return workspace_id(state)
    return workspace_id(state, f"law-{setting.get('workspaceId')}")
