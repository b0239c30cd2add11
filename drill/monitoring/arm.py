"""Azure Resource Manager clients built one way for every cloud, and the reads preflight needs.

Clients are the Azure SDK's own (azure-mgmt-monitor, azure-mgmt-alertsmanagement) on the cloud's ARM
endpoint with its CA bundle and the ARM audience's `.default` scope, as drill/clients.py builds the Log
Analytics client. Entra's diagnostic settings (`/providers/microsoft.aadiam/diagnosticSettings`) have no
SDK operation, so they go through the monitor client's own pipeline (same auth, retries and error format).
Calls are synchronous: callers run them in a thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drill.isotime import parse_duration, parse_utc
from drill.monitoring.deployed import ActionGroup, DeployedRule, DiagnosticSetting, EmailReceiver, FiredAlert

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.clouds import Cloud

RULES_API = "2023-12-01"  # azure-mgmt-monitor 7.0.0's default for scheduledQueryRules
AADIAM_API = "2017-04-01"
SUPPORT_ROLE = "Monitoring Reader"


def missing_role(what: str, scope: str) -> str:
    """The fix for a 403 from ARM: which role the observer needs on which scope (README, least privilege)."""
    if what == "diagnostic settings":
        return (
            "give the observer read access to Entra ID's diagnostic settings at /providers/microsoft.aadiam "
            "(Security Reader in Entra ID)"
        )
    return f"give the observer {SUPPORT_ROLE} on {scope}"


class ArmReader:
    """Reads one subscription's monitoring objects; one instance per drill (clients are reused)."""

    def __init__(self, credential: TokenCredential, cloud: Cloud, subscription_id: str) -> None:
        from azure.mgmt.alertsmanagement import AlertsManagementClient
        from azure.mgmt.monitor import MonitorManagementClient

        kwargs: dict[str, Any] = {"credential_scopes": [cloud.arm_default_scope]}
        if cloud.ca_bundle:
            kwargs["connection_verify"] = cloud.ca_bundle
        base = cloud.arm_endpoint.rstrip("/")
        self.subscription_id = subscription_id
        self.monitor = MonitorManagementClient(credential, subscription_id, base_url=base, **kwargs)
        self.alerts = AlertsManagementClient(credential, subscription_id, base_url=base, **kwargs)
        self.requests = 0

    def rule(self, resource_group: str, name: str) -> DeployedRule | None:
        """The rule, or None when ARM says it does not exist (404)."""
        from azure.core.exceptions import ResourceNotFoundError

        self.requests += 1
        try:
            model = self.monitor.scheduled_query_rules.get(resource_group, name)
        except ResourceNotFoundError:
            return None
        conditions = list(getattr(model.criteria, "all_of", None) or [])
        first = conditions[0] if conditions else None
        actions = model.actions
        return DeployedRule(
            id=str(model.id),
            name=str(model.name),
            enabled=bool(model.enabled),
            query=str(getattr(first, "query", "") or ""),
            evaluation_frequency=parse_duration(model.evaluation_frequency),
            window_size=parse_duration(model.window_size),
            operator=str(getattr(first, "operator", "") or ""),
            threshold=getattr(first, "threshold", None),
            time_aggregation=str(getattr(first, "time_aggregation", "") or ""),
            mute_actions_duration=parse_duration(model.mute_actions_duration),
            auto_mitigate=bool(model.auto_mitigate),
            action_group_ids=tuple(str(g) for g in (getattr(actions, "action_groups", None) or [])),
            scopes=tuple(str(s) for s in model.scopes or []),
            criteria_count=len(conditions),
        )

    def action_group(self, group_id: str) -> ActionGroup | None:
        from azure.core.exceptions import ResourceNotFoundError

        parts = group_id.strip("/").split("/")
        lowered = [p.lower() for p in parts]
        resource_group = parts[lowered.index("resourcegroups") + 1]
        name = parts[-1]
        self.requests += 1
        try:
            model = self.monitor.action_groups.get(resource_group, name)
        except ResourceNotFoundError:
            return None
        return ActionGroup(
            id=str(model.id),
            name=str(model.name),
            enabled=bool(model.enabled),
            email_receivers=tuple(
                EmailReceiver(str(r.name), str(r.email_address), str(r.status) if r.status else None)
                for r in model.email_receivers or []
            ),
        )

    def diagnostic_settings(self) -> list[DiagnosticSetting]:
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat

        self.requests += 1
        request = HttpRequest(
            "GET", f"/providers/microsoft.aadiam/diagnosticSettings?api-version={AADIAM_API}"
        )
        response = self.monitor._send_request(request)
        if response.status_code != 200:
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        out = []
        for item in response.json().get("value") or []:
            props = item.get("properties") or {}
            enabled = frozenset(
                str(log.get("category")) for log in props.get("logs") or [] if log.get("enabled")
            )
            out.append(DiagnosticSetting(str(item.get("name")), str(props.get("workspaceId") or ""), enabled))
        return out

    def fired_alerts(self, resource_group: str, rule_id: str, *, time_range: str = "1d") -> list[FiredAlert]:
        """Alert instances of one rule (any condition) changed within `time_range`, newest first."""
        self.requests += 1
        pages = self.alerts.alerts.get_all(
            target_resource_group=resource_group,
            alert_rule=rule_id,
            include_context=True,
            time_range=time_range,
        )
        out = [_fired(alert) for alert in pages]
        out.sort(key=lambda a: a.fired.timestamp() if a.fired else 0.0, reverse=True)
        return out


def _fired(alert: Any) -> FiredAlert:
    props = alert.properties
    essentials = props.essentials
    context = props.context if isinstance(props.context, dict) else {}
    condition = context.get("condition") or {}

    def instant(value: Any) -> Any:
        try:
            return parse_utc(str(value)) if value else None
        except ValueError:
            return None

    dims: list[tuple[str, str]] = []
    for part in condition.get("allOf") or []:
        for d in part.get("dimensions") or []:
            dims.append((str(d.get("name")), str(d.get("value"))))
    return FiredAlert(
        id=str(alert.id),
        rule_id=str(essentials.alert_rule or ""),
        monitor_condition=str(essentials.monitor_condition or ""),
        fired=essentials.start_date_time,
        resolved=essentials.monitor_condition_resolved_date_time,
        window_start=instant(condition.get("windowStartTime")),
        window_end=instant(condition.get("windowEndTime")),
        dimensions=tuple(dims),
    )
