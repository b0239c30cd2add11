"""Azure Resource Manager clients built one way for every cloud, and the reads preflight needs.

Clients are the Azure SDK's own (azure-mgmt-monitor, azure-mgmt-alertsmanagement) on the cloud's ARM
endpoint with its CA bundle and the ARM audience's `.default` scope, as drill/clients.py builds the Log
Analytics client. Entra's diagnostic settings (`/providers/microsoft.aadiam/diagnosticSettings`) have no
SDK operation, so they go through the monitor client's own pipeline (same auth, retries and error format).
Calls are synchronous: callers run them in a thread.

The posture audit reads the same objects as ARM REST JSON (the `*_json` methods: the SDK model's own
`serialize()`, so property names are ARM's camelCase), plus Azure RBAC through azure-mgmt-authorization
and Microsoft Sentinel's analytics rules (no SDK in our dependencies: a GET through the monitor client's
pipeline, like the aadiam settings).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drill.fidelity import note_arm
from drill.isotime import parse_duration, parse_utc
from drill.monitoring.deployed import (
    ActionGroup,
    DeployedRule,
    DiagnosticSetting,
    EmailReceiver,
    FiredAlert,
    setting_from_json,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.clouds import Cloud

RULES_API = "2023-12-01"  # azure-mgmt-monitor 7.0.0's default for scheduledQueryRules
AADIAM_API = "2017-04-01"
SENTINEL_API = "2024-03-01"  # Microsoft.SecurityInsights stable
SUPPORT_ROLE = "Monitoring Reader"
# How Microsoft.SecurityInsights answers a workspace without Sentinel (400 BadRequest, this text inside).
NOT_ONBOARDED = "is not onboarded to Microsoft Sentinel"


# Entra's diagnostic settings are Azure RBAC at the tenant's /providers/Microsoft.aadiam scope: no directory
# role reaches them for an application, and Azure's Security Reader has no microsoft.aadiam action. The
# workaround reported publicly (azure-rest-api-specs #11085, terraform-provider-azurerm #12986) is a role
# assignment at that scope, which only a Global Administrator with elevated access can create.
AADIAM_GRANT = (
    "a Global Administrator with elevated access (User Access Administrator at root scope) assigns the "
    "observer Reader at scope /providers/Microsoft.aadiam (az role assignment create --assignee "
    "<observer app id> --role Reader --scope /providers/Microsoft.aadiam), then removes the elevation; "
    "some tenants refuse applications here whatever their roles"
)


def missing_role(what: str, scope: str) -> str:
    """The fix for a 403 from ARM: which role the observer needs on which scope (README, least privilege)."""
    if what == "diagnostic settings":
        return f"to let the observer read Entra's diagnostic settings, {AADIAM_GRANT}"
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
        self._credential, self._base, self._kwargs = credential, base, kwargs
        self._authorization: Any = None
        self._role_names: dict[str, str] = {}
        self.requests = 0

    @property
    def authorization(self) -> Any:
        """azure-mgmt-authorization's client, built on first use (only the audit reads RBAC)."""
        if self._authorization is None:
            from azure.mgmt.authorization import AuthorizationManagementClient

            self._authorization = AuthorizationManagementClient(
                self._credential, self.subscription_id, base_url=self._base, **self._kwargs
            )
        return self._authorization

    def rule_json(self, resource_group: str, name: str) -> dict[str, Any] | None:
        """The scheduledQueryRule as ARM REST JSON (with "identity"), or None on 404."""
        from azure.core.exceptions import ResourceNotFoundError

        self.requests += 1
        try:
            model = self.monitor.scheduled_query_rules.get(resource_group, name)
        except ResourceNotFoundError:
            return None
        return dict(model.serialize(keep_readonly=True))

    def action_group_json(self, group_id: str) -> dict[str, Any] | None:
        from azure.core.exceptions import ResourceNotFoundError

        resource_group, name = _group_and_name(group_id)
        self.requests += 1
        try:
            model = self.monitor.action_groups.get(resource_group, name)
        except ResourceNotFoundError:
            return None
        return dict(model.serialize(keep_readonly=True))

    def diagnostic_settings_json(self) -> list[dict[str, Any]]:
        """Entra's diagnostic settings as ARM lists them (`value`)."""
        return list(self._get_json(f"/providers/microsoft.aadiam/diagnosticSettings?api-version={AADIAM_API}")
                    .get("value") or [])  # fmt: skip

    def role_assignments(self, scope: str, principal_id: str) -> list[dict[str, Any]]:
        """The principal's role assignments that apply to `scope` (at it or above it), as REST JSON.

        `principalId eq` returns assignments at, above or below the scope (the SDK's docstring); one
        below the scope does not grant access to it, so those are dropped here.
        """
        self.requests += 1
        pages = self.authorization.role_assignments.list_for_scope(
            scope, filter=f"principalId eq '{principal_id}'"
        )
        out = []
        for model in pages:
            body = dict(model.serialize(keep_readonly=True))
            at = str((body.get("properties") or {}).get("scope") or "")
            if _covers(at, scope):
                out.append(body)
        return out

    def role_name(self, scope: str, role_definition_id: str) -> str:
        """The roleName of a role definition, read at `scope` (cached: built-in ids repeat)."""
        guid = role_definition_id.rstrip("/").rsplit("/", 1)[-1]
        if guid not in self._role_names:
            self.requests += 1
            model = self.authorization.role_definitions.get(scope, guid)
            self._role_names[guid] = str(model.role_name or "")
        return self._role_names[guid]

    def sentinel_rules(self, workspace_id: str) -> list[dict[str, Any]] | None:
        """Sentinel analytics rules on the workspace; None when the workspace has no Sentinel."""
        from azure.core.exceptions import HttpResponseError

        try:
            body = self._get_json(
                f"{workspace_id.rstrip('/')}/providers/Microsoft.SecurityInsights/alertRules"
                f"?api-version={SENTINEL_API}"
            )
        except HttpResponseError as exc:
            if exc.status_code == 400 and NOT_ONBOARDED in str(exc):
                return None
            raise
        return list(body.get("value") or [])

    def _get_json(self, url: str) -> dict[str, Any]:
        """One GET through the monitor client's pipeline (auth, retries, ARM error format), every page."""
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat

        out: dict[str, Any] = {}
        next_url: str | None = url
        while next_url:
            self.requests += 1
            response = self.monitor._send_request(HttpRequest("GET", next_url))
            if response.status_code != 200:
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            page = response.json()
            if "value" in page:
                out.setdefault("value", []).extend(page.get("value") or [])
            else:
                out.update(page)
            next_url = page.get("nextLink")
        return out

    def rule(self, resource_group: str, name: str) -> DeployedRule | None:
        """The rule, or None when ARM says it does not exist (404).

        The SDK model is read for what it models; whether the rule auto-resolves is read from the raw
        JSON too (`auto_resolves`): azure-mgmt-monitor 7.0 has no model for `ruleResolveConfiguration`.
        """
        from azure.core.exceptions import ResourceNotFoundError

        self.requests += 1
        try:
            pair: Any = self.monitor.scheduled_query_rules.get(resource_group, name, cls=_with_raw_json)
        except ResourceNotFoundError:
            return None
        model, raw = pair
        note_arm("scheduledQueryRule", raw)
        conditions = list(getattr(model.criteria, "all_of", None) or [])
        first = conditions[0] if conditions else None
        actions = model.actions
        stateful, stateful_from = auto_resolves((raw or {}).get("properties") or {})
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
            auto_mitigate=stateful,
            action_group_ids=tuple(str(g) for g in (getattr(actions, "action_groups", None) or [])),
            scopes=tuple(str(s) for s in model.scopes or []),
            criteria_count=len(conditions),
            auto_mitigate_from=stateful_from,
        )

    def action_group(self, group_id: str) -> ActionGroup | None:
        from azure.core.exceptions import ResourceNotFoundError

        resource_group, name = _group_and_name(group_id)
        self.requests += 1
        try:
            model = self.monitor.action_groups.get(
                resource_group, name, raw_response_hook=_shapes("actionGroup")
            )
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
            note_arm("diagnosticSetting", item)
            out.append(setting_from_json(item))
        return out

    def fired_alerts(self, rule: DeployedRule, *, time_range: str = "1d") -> list[FiredAlert]:
        """Alert instances of one rule (any condition) changed within `time_range`, newest first.

        `targetResourceGroup` is the group of the alert's *target* (AlertsManagement: "Filter by target
        resource group name"), and a log search alert's target is the resource it queries (the rule's
        scope, the workspace), which may sit in another group than the rule. The rule is matched here, by
        its ARM id or its name, rather than with the `alertRule` filter, whose value format for Log Alerts
        V2 no public example shows (DIFFERENCES.md, belief alert-instance-rule-ref).
        """
        out: dict[str, FiredAlert] = {}
        for group in target_resource_groups(rule.scopes):
            self.requests += 1
            kwargs: dict[str, Any] = {
                "include_context": True,
                "time_range": time_range,
                "raw_response_hook": _shapes("alertInstance", listed=True),
            }
            if group is not None:
                kwargs["target_resource_group"] = group
            for alert in self.alerts.alerts.get_all(**kwargs):
                fired = _fired(alert)
                if _same_rule(fired.rule_id, rule):
                    out[fired.id.lower()] = fired
        listed = list(out.values())
        listed.sort(key=lambda a: a.fired.timestamp() if a.fired else 0.0, reverse=True)
        return listed


def _with_raw_json(response: Any, model: Any, _headers: Any) -> tuple[Any, dict[str, Any]]:
    """The SDK's `cls` hook: the model and the body it was read from (which keeps unmodelled properties)."""
    return model, dict(response.http_response.json() or {})


def auto_resolves(properties: dict[str, Any]) -> tuple[bool, str]:
    """Whether a log search alert rule is stateful, and which property said so.

    scheduledQueryRules 2023-12-01: `autoMitigate` "The default is true" (azure-mgmt-monitor 7.0.0
    docstring); Microsoft's 2023-12-01 GET example shows `ruleResolveConfiguration.autoResolved` and no
    `autoMitigate`. Absent both, the documented default holds: stateful.
    """
    if properties.get("autoMitigate") is not None:
        return bool(properties["autoMitigate"]), "autoMitigate"
    resolve = properties.get("ruleResolveConfiguration")
    if isinstance(resolve, dict) and resolve.get("autoResolved") is not None:
        return bool(resolve["autoResolved"]), "ruleResolveConfiguration.autoResolved"
    return True, "absent (the documented default: true)"


def target_resource_groups(scopes: tuple[str, ...]) -> list[str | None]:
    """The resource groups of a rule's targets (its scopes); None lists the whole subscription."""
    groups: list[str | None] = []
    for scope in scopes or ("",):
        parts = scope.strip("/").split("/")
        lowered = [p.lower() for p in parts]
        group = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else None
        if group is None:
            return [None]
        if group.lower() not in {g.lower() for g in groups if g}:
            groups.append(group)
    return groups


def _same_rule(listed: str, rule: DeployedRule) -> bool:
    value = listed.strip().rstrip("/").lower()
    return value in {rule.id.rstrip("/").lower(), rule.name.lower()}


def _shapes(kind: str, *, listed: bool = False) -> Any:
    """An azure-core `raw_response_hook` handing the raw JSON ARM sent (before the SDK's model drops what it
    does not know) to a fidelity pack, when one is being written."""

    def hook(pipeline_response: Any) -> None:
        if pipeline_response.http_response.status_code != 200:
            return
        try:
            body = pipeline_response.http_response.json()
        except ValueError:
            return
        items = (body.get("value") or []) if listed and isinstance(body, dict) else [body]
        for item in items:
            note_arm(kind, item)

    return hook


def _group_and_name(resource_id: str) -> tuple[str, str]:
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1], parts[-1]


def _covers(scope: str, resource: str) -> bool:
    """Whether an assignment at `scope` reaches `resource` (ARM ids compare case-insensitively)."""
    s, r = scope.lower().rstrip("/"), resource.lower().rstrip("/")
    return s == "" or r == s or r.startswith(s + "/")


def _fired(alert: Any) -> FiredAlert:
    props = alert.properties
    essentials = props.essentials
    condition = _condition(props.context)

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


def _condition(context: Any) -> dict[str, Any]:
    """The log alert's condition from an instance's context, wherever it is kept.

    Our simulator's default puts it at `properties.context.condition`; Microsoft Learn's Resource Graph
    samples read `properties.context.context.condition` (DIFFERENCES.md, belief alert-instance-condition).
    """
    if not isinstance(context, dict):
        return {}
    for holder in (context, context.get("context")):
        if isinstance(holder, dict) and isinstance(holder.get("condition"), dict):
            return dict(holder["condition"])
    return {}
