"""The management.azure.com surface: reads of the deployed monitoring, with ARM's auth, RBAC and errors.

Served (GET only): scheduled query rules (one, or a resource group's list), action groups, Entra's
diagnostic settings (`/providers/microsoft.aadiam/diagnosticSettings`), Microsoft.AlertsManagement
alerts of a subscription, Microsoft.Authorization role assignments (list for a scope) and role
definitions, and Microsoft Sentinel's analytics rules on the workspace. Paths are matched
case-insensitively, as ARM does; every request needs a bearer token for the ARM audience, a supported
api-version, and an RBAC read role over the resource's scope (drill/sim/arm/rbac.py), checked before the
resource is looked up, so a caller without the role cannot learn whether it exists. Facts and their
sources: README.md in this folder.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from drill.sim.arm import authorization, diagnostics, errors, ids, rbac, resources, sentinel, writes
from drill.sim.arm.caller import caller
from drill.sim.beliefs import Belief
from drill.sim.state import Fault, SimState

RULES_API = ("2021-08-01", "2023-03-15-preview", "2023-12-01")
ACTION_GROUPS_API = ("2021-09-01", "2022-06-01", "2023-01-01")
AADIAM_API = ("2017-04-01", "2017-04-01-preview")
ALERTS_API = ("2019-05-05-preview", "2023-07-12-preview")
ROLE_ASSIGNMENTS_API = ("2015-07-01", "2018-01-01-preview", "2020-04-01-preview", "2022-04-01")
ROLE_DEFINITIONS_API = ("2015-07-01", "2018-01-01-preview", "2022-04-01")
SENTINEL_API = ("2022-11-01", "2023-02-01", "2024-03-01")
_TIME_RANGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "7d": timedelta(days=7),
                "30d": timedelta(days=30)}  # fmt: skip
# Alert list parameters the simulator applies; the API's others answer 400 here rather than be ignored.
_ALERT_FILTERS = {"api-version", "alertRule", "monitorCondition", "targetResourceGroup", "timeRange",
                  "includeContext", "includeEgressConfig"}  # fmt: skip

_RG = r"subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/"
_WS = r"microsoft\.operationalinsights/workspaces/(?P<ws>[^/]+)"
_SI = r"/providers/microsoft\.securityinsights/alertrules"
_SI_ROOT = r"/providers/microsoft\.securityinsights/"
_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("rules", re.compile(_RG + r"microsoft\.insights/scheduledqueryrules/?$", re.I)),
    ("rule", re.compile(_RG + r"microsoft\.insights/scheduledqueryrules/(?P<name>[^/]+)$", re.I)),
    ("action_group", re.compile(_RG + r"microsoft\.insights/actiongroups/(?P<name>[^/]+)$", re.I)),
    (
        "alerts",
        re.compile(r"subscriptions/(?P<sub>[^/]+)/providers/microsoft\.alertsmanagement/alerts$", re.I),
    ),
    ("diagnostics", re.compile(r"providers/microsoft\.aadiam/diagnosticsettings/?$", re.I)),
    ("sentinel_rules", re.compile(_RG + _WS + _SI + r"/?$", re.I)),
    ("sentinel_rule", re.compile(_RG + _WS + _SI + r"/(?P<name>[^/]+)$", re.I)),
    ("sentinel_incidents", re.compile(_RG + _WS + _SI_ROOT + r"incidents/?$", re.I)),
    ("sentinel_incident", re.compile(_RG + _WS + _SI_ROOT + r"incidents/(?P<name>[^/]+)$", re.I)),
    ("sentinel_automation", re.compile(_RG + _WS + _SI_ROOT + r"automationrules/?$", re.I)),
    ("role_assignments", re.compile(r"(?P<scope>.*?)/?providers/microsoft\.authorization/roleassignments/?$",
                                    re.I)),
    ("role_definition", re.compile(r"(?P<scope>.*?)/?providers/microsoft\.authorization/roledefinitions/"
                                   r"(?P<guid>[^/]+)$", re.I)),
]  # fmt: skip
# The subscription and resource group a scope names (role reads take any scope).
_SCOPE = re.compile(r"subscriptions/(?P<sub>[^/]+)(?:/resourcegroups/(?P<rg>[^/]+))?", re.I)
_INSIGHTS = "microsoft.insights"
_SI_INCIDENTS = "Microsoft.SecurityInsights/incidents"
# route kind -> (resource type, the RBAC action a read needs, api-versions served)
_TYPES = {
    "rules": (f"{_INSIGHTS}/scheduledqueryrules", "Microsoft.Insights/scheduledQueryRules/read", RULES_API),
    "rule": (f"{_INSIGHTS}/scheduledqueryrules", "Microsoft.Insights/scheduledQueryRules/read", RULES_API),
    "action_group": (f"{_INSIGHTS}/actiongroups", "Microsoft.Insights/ActionGroups/Read", ACTION_GROUPS_API),
    "alerts": ("Microsoft.AlertsManagement/alerts", "Microsoft.AlertsManagement/alerts/read", ALERTS_API),
    "diagnostics": ("microsoft.aadiam/diagnosticSettings", "microsoft.aadiam/diagnosticSettings/read",
                    AADIAM_API),
    "sentinel_rules": ("Microsoft.SecurityInsights/alertRules", "Microsoft.SecurityInsights/alertRules/read",
                       SENTINEL_API),
    "sentinel_rule": ("Microsoft.SecurityInsights/alertRules", "Microsoft.SecurityInsights/alertRules/read",
                      SENTINEL_API),
    "sentinel_incidents": (_SI_INCIDENTS, f"{_SI_INCIDENTS}/read", SENTINEL_API),
    "sentinel_incident": (_SI_INCIDENTS, f"{_SI_INCIDENTS}/read", SENTINEL_API),
    "sentinel_automation": ("Microsoft.SecurityInsights/automationRules",
                            "Microsoft.SecurityInsights/automationRules/read", SENTINEL_API),
    "role_assignments": ("Microsoft.Authorization/roleAssignments",
                         "Microsoft.Authorization/roleAssignments/read", ROLE_ASSIGNMENTS_API),
    "role_definition": ("Microsoft.Authorization/roleDefinitions",
                        "Microsoft.Authorization/roleDefinitions/read", ROLE_DEFINITIONS_API),
}  # fmt: skip


def _throttled(state: SimState) -> bool:
    budget = state.fault("arm-throttled")
    if budget is None or int(budget.get("remaining", 0)) <= 0:
        return False
    budget["remaining"] = int(budget["remaining"]) - 1
    return True


def install(state: SimState) -> list[BaseRoute]:
    state.services["arm"] = {"requests": 0}

    async def handle(request: Request) -> Response:
        state.services["arm"]["requests"] += 1
        path = request.url.path.lstrip("/")
        match = next(((kind, m) for kind, pattern in _ROUTES if (m := pattern.match(path))), None)
        if match is None:
            return errors.arm_error(
                404, "InvalidResourceType", f"The resource type could not be found: {path}"
            )
        kind, found = match
        rtype, action, versions = _TYPES[kind]
        claims = caller(state, request)
        if isinstance(claims, Response):
            return claims
        version = request.query_params.get("api-version")
        if not version:
            return errors.missing_api_version()
        if version not in versions:
            return errors.unsupported_api_version(version, rtype, versions, ids.location(state))
        if _throttled(state):
            return errors.arm_error(
                429,
                "TooManyRequests",
                "The request is being throttled; retry after the given seconds.",
                retry_after=1,
            )
        app = state.tenant.application(str(claims.get("appid") or claims.get("azp") or ""))
        scope = "/" + path.rstrip("/")
        readable = rbac.can_read(app, scope, action)
        if not readable and claims.get("idtyp") == "user":  # an administrator's delegated read (drill setup)
            readable = writes.user_can_read(state, claims, kind, scope)
        if kind == "alerts" and not readable and request.query_params.get("targetResourceGroup"):
            group_scope = (
                f"/subscriptions/{found['sub']}/resourceGroups/{request.query_params['targetResourceGroup']}"
            )
            readable = rbac.can_read(app, group_scope, action)
        if kind == "diagnostics" and diagnostics.refuses(state, claims):
            readable = False
        if not readable:
            client = str(claims.get("appid") or claims.get("oid") or "")
            return errors.authorization_failed(client, str(claims.get("oid", "")), action, scope)
        params = {k: v for k, v in found.groupdict().items() if v is not None}
        if "scope" in params and (m := _SCOPE.match(params["scope"].lstrip("/"))):
            params.update({k: v for k, v in m.groupdict().items() if v is not None})
        if "sub" in params and params["sub"].lower() != ids.subscription(state).lower():
            return errors.arm_error(
                404, "SubscriptionNotFound", f"The subscription '{params['sub']}' could not be found."
            )
        if "rg" in params and params["rg"].lower() not in _groups_of(state, kind):
            return errors.arm_error(
                404, "ResourceGroupNotFound", f"Resource group '{params['rg']}' could not be found."
            )
        if "ws" in params and params["ws"].lower() != str(state.tenant.workspace.get("name", "")).lower():
            return errors.not_found("Microsoft.OperationalInsights/workspaces", params["ws"], params["rg"])
        with state.lock:
            return _serve(state, request, kind, params)

    return [
        Route("/subscriptions/{rest:path}", handle, methods=["GET"]),
        Route("/providers/{rest:path}", handle, methods=["GET"]),
    ]


def _group_of(state: SimState, kind: str) -> str:
    """The resource group holding a route's resources: Sentinel lives on the workspace, the rest with the
    rules (one group unless the tenant keeps its logs apart: monitoring-resource-groups=split)."""
    return ids.workspace_resource_group(state) if kind.startswith("sentinel") else ids.resource_group(state)


def _groups_of(state: SimState, kind: str) -> set[str]:
    """Resource groups a route may name: its resources' group, and for scope-based reads (role
    assignments on the workspace) the workspace's group too, which monitoring-resource-groups=split moves."""
    groups = {_group_of(state, kind).lower()}
    if kind.startswith("role"):
        groups.add(ids.workspace_resource_group(state).lower())
    return groups


def _serve(state: SimState, request: Request, kind: str, params: dict[str, Any]) -> Response:
    tenant = state.tenant
    version = request.query_params.get("api-version")
    if kind == "rules":
        return JSONResponse(
            {"value": [resources.rule_resource(state, r, version) for r in tenant.alertRules]}
        )
    if kind == "rule":
        rule = next((r for r in tenant.alertRules if r["name"].lower() == params["name"].lower()), None)
        if rule is None:
            return errors.not_found("Microsoft.Insights/scheduledQueryRules", params["name"], params["rg"])
        return JSONResponse(resources.rule_resource(state, rule, version))
    if kind in ("sentinel_rules", "sentinel_rule"):
        return _sentinel(state, params)
    if kind.startswith("sentinel_"):
        return _sentinel_objects(state, request, kind, params)
    if kind == "role_assignments":
        scope = "/" + params["scope"].strip("/")
        try:
            found = authorization.list_for_scope(state, scope, request.query_params.get("$filter"))
        except authorization.FilterError as exc:
            return errors.arm_error(400, "UnsupportedQuery", f"The filter '{exc}' is not supported.")
        return JSONResponse({"value": found})
    if kind == "role_definition":
        body = authorization.role_definition(state, params["guid"])
        if body is None:
            return errors.arm_error(404, "RoleDefinitionDoesNotExist",
                                    "The specified role definition with ID "
                                    f"'{params['guid']}' does not exist.")  # fmt: skip
        return JSONResponse(body)
    if kind == "action_group":
        group = next(
            (g for g in tenant.actionGroups if str(g["name"]).lower() == params["name"].lower()), None
        )
        if group is None:
            return errors.not_found("microsoft.insights/actiongroups", params["name"], params["rg"])
        return JSONResponse(resources.action_group_resource(state, group))
    if kind == "diagnostics":
        return JSONResponse({"value": diagnostics.listed(state)})
    return _alerts(state, request)


def _sentinel(state: SimState, params: dict[str, Any]) -> Response:
    if not sentinel.onboarded(state):
        return sentinel.not_onboarded(state)
    found = sentinel.rules(state)
    if "name" not in params:
        return JSONResponse({"value": found})
    rule = next((r for r in found if r["name"].lower() == params["name"].lower()), None)
    if rule is None:
        return errors.arm_error(404, "NotFound", f"Alert rule with id '{params['name']}' not found")
    return JSONResponse(rule)


def _sentinel_objects(state: SimState, request: Request, kind: str, params: dict[str, Any]) -> Response:
    """Incidents (list, one) and automation rules (list) of the workspace's Sentinel."""
    if not sentinel.onboarded(state):
        return sentinel.not_onboarded(state)
    from drill.sim.loganalytics.sentinel import automation_rules, engine

    if kind == "sentinel_automation":
        return JSONResponse({"value": [sentinel.automation_rule_resource(state, a)
                                       for a in automation_rules(state)]})  # fmt: skip
    found = engine(state)
    if kind == "sentinel_incident":
        incident = found.incident(params["name"])
        if incident is None:
            return errors.arm_error(404, "NotFound", f"Incident with id '{params['name']}' not found")
        return JSONResponse(sentinel.incident_resource(state, incident))
    unknown = sorted(set(request.query_params) - {"api-version", "$top", "$orderby"})
    if unknown:
        return errors.arm_error(
            400, "BadRequest", f"The simulator does not implement the parameters {unknown}."
        )
    listed = sorted(found.incidents, key=lambda i: i.created, reverse=True)
    top = request.query_params.get("$top")
    if top is not None:
        listed = listed[: max(0, int(top))] if top.isdigit() else listed
    return JSONResponse({"value": [sentinel.incident_resource(state, i) for i in listed]})


def _alerts(state: SimState, request: Request) -> Response:
    query = request.query_params
    unknown = sorted(set(query) - _ALERT_FILTERS)
    if unknown:
        return errors.arm_error(
            400, "BadRequest", f"The simulator does not implement the alert filters {unknown}."
        )
    span = _TIME_RANGES.get(query.get("timeRange", "1d"))
    if span is None:
        return errors.arm_error(400, "BadRequest", f"Invalid timeRange '{query.get('timeRange')}'.")
    since = state.clock.now() - span
    rule, condition, group = (
        query.get("alertRule"),
        query.get("monitorCondition"),
        query.get("targetResourceGroup"),
    )
    with_context = query.get("includeContext", "false").lower() == "true"
    out = []
    for alert, changed in resources.alert_resources(state):
        essentials = alert["properties"]["essentials"]
        if changed < since:
            continue
        if rule and essentials["alertRule"].lower() != rule.lower():
            continue
        if condition and essentials["monitorCondition"] != condition:
            continue
        if group and essentials["targetResourceGroup"].lower() != group.lower():
            continue
        if not with_context:
            alert["properties"]["context"] = {}
        out.append(alert)
    return JSONResponse({"value": out})


def _no_read(state: SimState) -> None:
    for app in state.tenant.applications:
        app["armRoles"] = []


def _other_workspace(state: SimState) -> None:
    for setting in state.tenant.diagnosticSettings:
        setting["workspaceId"] = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
        setting["workspaceResourceId"] = ids.workspace_id(state, "law-central-it")


FAULTS = [
    Fault("arm-observer-no-read", "arm", "the observer holds no Azure RBAC role: ARM answers 403 "
          "AuthorizationFailed to every read of the monitoring", _no_read),
    Fault("diag-other-workspace", "logs", "the Entra diagnostic setting sends the logs to another workspace",
          _other_workspace),
    Fault("arm-throttled", "arm", "ARM answers 429 with Retry-After to the next 4 requests (the SDK retries)",
          lambda state: state.faults.__setitem__("arm-throttled", {"remaining": 4})),
]  # fmt: skip


def _split_groups(state: SimState, form_name: str) -> None:
    """Rules and action group in rg-monitoring, the workspace in rg-logs; the observer reads both groups
    and the rules' identities keep their roles on the (moved) workspace, as a tenant laid out so would."""
    if form_name != "split":
        return
    old_group, old_workspace = ids.resource_group_id(state).lower(), ids.workspace_id(state).lower()
    state.tenant.azure["resourceGroup"] = "rg-monitoring"
    state.tenant.azure["workspaceResourceGroup"] = "rg-logs"
    workspace = ids.workspace_id(state)
    logs = workspace.split("/providers/", 1)[0]
    for app in state.tenant.applications:
        grants = []
        for grant in app.get("armRoles") or []:
            if str(grant.get("scope", "")).lower() == old_group:
                grants += [{**grant, "scope": ids.resource_group_id(state)}, {**grant, "scope": logs}]
            else:
                grants.append(grant)
        app["armRoles"] = grants
    for assignment in state.tenant.azure.get("roleAssignments") or []:
        if str(assignment.get("scope", "")).lower() == old_workspace:
            assignment["scope"] = workspace
    for setting in state.tenant.diagnosticSettings:
        if str(setting.get("workspaceResourceId", "")).lower() == old_workspace:
            setting["workspaceResourceId"] = workspace


BELIEFS = [
    Belief("alert-instance-condition", "where a log alert instance keeps its condition (window, dimensions)",
           {"flat": "properties.context.condition (the common alert schema's alertContext as the context)",
            "nested": "properties.context.context.condition (as Learn's Resource Graph samples read it)"}),
    Belief("alert-instance-rule-ref", "what essentials.alertRule of a Log Alerts V2 instance holds",
           {"arm-id": "the rule's ARM resource id", "rule-name": "the rule's name"}),
    Belief("rule-auto-resolve", "how a scheduledQueryRule shows whether it auto-resolves (stateful)",
           {"autoMitigate": "autoMitigate true or false, always present",
            "omitted-when-default": "autoMitigate absent when true (the documented default), false shown",
            "resolve-configuration": "only ruleResolveConfiguration {autoResolved, timeToResolve}"}),
    Belief("monitoring-resource-groups", "which resource groups hold the rules and the workspace "
           "(the tenant's choice; the alert list filters by the target's group)",
           {"one-group": "rules, action group and workspace in one resource group",
            "split": "rules and action group in rg-monitoring, the workspace in rg-logs"},
           apply=_split_groups),
]  # fmt: skip
