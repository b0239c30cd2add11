"""What preflight and the alert step need to know of the deployed objects, free of SDK model classes.

The readers (arm.py) turn azure-mgmt-monitor / azure-mgmt-alertsmanagement models and the aadiam JSON into
these, so the checks (checks.py) are plain functions over plain data and are tested without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class DeployedRule:
    """A scheduled query rule (log search alert) as ARM returns it."""

    id: str
    name: str
    enabled: bool
    query: str
    evaluation_frequency: timedelta | None
    window_size: timedelta | None
    operator: str
    threshold: float | None
    time_aggregation: str
    mute_actions_duration: timedelta | None
    auto_mitigate: bool
    action_group_ids: tuple[str, ...]
    scopes: tuple[str, ...]
    criteria_count: int = 1
    auto_mitigate_from: str = "autoMitigate"  # the property auto_mitigate was read from (evidence)


@dataclass(frozen=True)
class EmailReceiver:
    name: str
    email_address: str
    status: str | None


@dataclass(frozen=True)
class ActionGroup:
    id: str
    name: str
    enabled: bool
    email_receivers: tuple[EmailReceiver, ...]


@dataclass(frozen=True)
class DiagnosticSetting:
    """An Entra ID (microsoft.aadiam) diagnostic setting."""

    name: str
    workspace_id: str
    enabled_categories: frozenset[str]


def setting_from_json(item: dict[str, object]) -> DiagnosticSetting:
    """One aadiam diagnostic setting from ARM's JSON: the categories whose `enabled` is true."""
    props = item.get("properties")
    props = props if isinstance(props, dict) else {}
    logs = props.get("logs")
    enabled = frozenset(
        str(log.get("category"))
        for log in (logs if isinstance(logs, list) else [])
        if isinstance(log, dict) and log.get("enabled") is True
    )
    return DiagnosticSetting(str(item.get("name")), str(props.get("workspaceId") or ""), enabled)


def sending_to(settings: list[DiagnosticSetting], workspace_resource_id: str) -> list[DiagnosticSetting]:
    """The settings that send to this workspace: their categories together are what arrives there (one
    setting may send SignInLogs and another AuditLogs)."""
    target = workspace_resource_id.lower().rstrip("/")
    return [s for s in settings if s.workspace_id.lower().rstrip("/") == target]


@dataclass(frozen=True)
class FiredAlert:
    """One alert instance of Microsoft.AlertsManagement."""

    id: str
    rule_id: str
    monitor_condition: str
    fired: datetime | None
    resolved: datetime | None
    window_start: datetime | None = None
    window_end: datetime | None = None
    dimensions: tuple[tuple[str, str], ...] = field(default_factory=tuple)
