"""The ARM writes `drill setup` makes, each as an idempotent PUT the way Azure Resource Manager serves them:
role assignments, log search alert rules, action groups, and Entra's diagnostic settings.

Each lands in the tenant record the read side and the alert engine already use (`azure.roleAssignments` or an
app's `armRoles`/`workspaceRoles`, `alertRules` with an inline `query`, `actionGroups`, `diagnosticSettings`),
so a rule deployed here is evaluated and mails like a fixture rule. The caller needs the documented Azure role
at the scope, else 403 AuthorizationFailed naming the action (DIFFERENCES.md, "Setup write APIs").
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from drill.sim.arm import authorization, errors, ids, resources
from drill.sim.arm.caller import caller
from drill.sim.arm.rbac import READ_ROLES, covers
from drill.sim.state import SimState

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
SECURITY_ADMIN = "194ae4cb-b126-40b2-bd5b-6091b380977d"
# Global Administrator, Security Administrator, Security Reader, Global Reader (BELIEF: DIFFERENCES.md)
ENTRA_READERS = frozenset(
    {
        GLOBAL_ADMIN,
        SECURITY_ADMIN,
        "5d6b6bb7-de71-4623-b4af-96380a352509",
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
    }
)
ASSIGNERS = frozenset({"Owner", "User Access Administrator"})
MONITORING_WRITERS = frozenset({"Owner", "Contributor", "Monitoring Contributor"})
_RG = r"subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/microsoft\.insights/"
_ROUTES = [
    (
        "role_assignment",
        re.compile(
            r"(?P<scope>.*?)/?providers/microsoft\.authorization/roleassignments/"
            r"(?P<name>[0-9a-f-]{36})$",
            re.I,
        ),
        "Microsoft.Authorization/roleAssignments/write",
        ("2020-04-01-preview", "2022-04-01"),
    ),
    (
        "rule",
        re.compile(_RG + r"scheduledqueryrules/(?P<name>[^/]+)$", re.I),
        "Microsoft.Insights/scheduledQueryRules/write",
        ("2021-08-01", "2023-03-15-preview", "2023-12-01"),
    ),
    (
        "action_group",
        re.compile(_RG + r"actiongroups/(?P<name>[^/]+)$", re.I),
        "Microsoft.Insights/ActionGroups/Write",
        ("2021-09-01", "2022-06-01", "2023-01-01"),
    ),
    (
        "diagnostics",
        re.compile(r"providers/microsoft\.aadiam/diagnosticsettings/(?P<name>[^/]+)$", re.I),
        "microsoft.aadiam/diagnosticSettings/write",
        ("2017-04-01", "2017-04-01-preview"),
    ),
]


def _user_roles(state: SimState, principal: str, scope: str) -> set[str]:
    """The caller's Azure roles that reach `scope` (assigned at it or above)."""
    return {
        str(g["role"])
        for g in state.tenant.azure.get("roleAssignments") or []
        if str(g["principalId"]).lower() == principal.lower() and covers(str(g["scope"]), scope)
    }


def user_can_read(state: SimState, claims: dict[str, Any], kind: str, scope: str) -> bool:
    """A signed-in administrator reads with their own Azure roles (an Entra role for Entra's settings)."""
    if kind == "diagnostics":
        return bool(ENTRA_READERS & set(claims.get("wids") or []))
    return bool(_user_roles(state, str(claims.get("oid", "")), scope) & READ_ROLES)


def _allowed(state: SimState, kind: str, claims: dict[str, Any], scope: str) -> bool:
    if kind == "diagnostics":  # Entra's own settings: an Entra role, not an Azure one (BELIEF)
        return bool({GLOBAL_ADMIN, SECURITY_ADMIN} & set(claims.get("wids") or []))
    roles = _user_roles(state, str(claims.get("oid", "")), scope)
    return bool(roles & (ASSIGNERS if kind == "role_assignment" else MONITORING_WRITERS))


def _principal_app(state: SimState, principal: str) -> dict[str, Any] | None:
    for app in state.tenant.applications:
        sp = str(app.get("servicePrincipalId") or uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{app['appId']}"))
        if sp.lower() == principal.lower():
            return app
    return None


def _put_role_assignment(state: SimState, scope: str, name: str, body: dict[str, Any]) -> Response:
    props = body.get("properties") or {}
    guid = str(props.get("roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1]
    found = authorization.definition_by_guid(guid)
    principal = str(props.get("principalId", ""))
    if found is None or not principal:
        return errors.arm_error(400, "InvalidRoleDefinitionId", "The role definition ID is not valid.")
    role = found[0]
    grant = {
        "principalId": principal,
        "role": role,
        "scope": scope,
        "id": name,
        "principalType": str(props.get("principalType", "ServicePrincipal")),
        "description": props.get("description"),
    }
    existing = [*(state.tenant.azure.get("roleAssignments") or []), *authorization.app_grants(state)]
    same = [
        g
        for g in existing
        if str(g["principalId"]).lower() == principal.lower()
        and g["role"] == role
        and str(g["scope"]).lower() == scope.lower()
    ]
    if same:
        return errors.arm_error(409, "RoleAssignmentExists", "The role assignment already exists.")
    app = _principal_app(state, principal)
    if (
        app is not None
        and role == "Log Analytics Reader"
        and scope.lower() == ids.workspace_id(state).lower()
    ):
        app.setdefault("workspaceRoles", []).append(role)
    elif app is not None:
        app.setdefault("armRoles", []).append({"role": role, "scope": scope})
    else:
        state.tenant.azure.setdefault("roleAssignments", []).append(grant)
    out = authorization.assignment_resource(state, grant)
    out["properties"]["description"] = props.get("description")
    return JSONResponse(out, status_code=201)


def _put_rule(state: SimState, name: str, body: dict[str, Any]) -> Response:
    props = body.get("properties") or {}
    cond = ((props.get("criteria") or {}).get("allOf") or [{}])[0]
    actions = props.get("actions") or {}
    rule = {
        "name": name,
        "enabled": bool(props.get("enabled", True)),
        "severity": int(props.get("severity", 3)),
        "query": str(cond.get("query", "")),
        "description": props.get("description", ""),
        "evaluationFrequency": str(props.get("evaluationFrequency", "PT5M")),
        "windowSize": str(props.get("windowSize", "PT5M")),
        "threshold": {"operator": cond.get("operator", "GreaterThan"), "value": cond.get("threshold", 0)},
        "autoMitigate": bool(props.get("autoMitigate", False)),
        "actionGroups": [str(a).rsplit("/", 1)[-1] for a in actions.get("actionGroups") or []],
        "customEmailSubject": (actions.get("actionProperties") or {}).get("Email.Subject"),
    }
    if (body.get("identity") or {}).get("type") == "SystemAssigned":
        rule["identity"] = {"type": "SystemAssigned", "principalId": str(uuid.uuid4())}
    rules = state.tenant.alertRules
    created = not any(r["name"].lower() == name.lower() for r in rules)
    state.tenant.alertRules = [r for r in rules if r["name"].lower() != name.lower()] + [rule]
    return JSONResponse(resources.rule_resource(state, rule), status_code=201 if created else 200)


def _put_action_group(state: SimState, name: str, body: dict[str, Any]) -> Response:
    props = body.get("properties") or {}
    group = {
        "name": name,
        "shortName": props.get("groupShortName", name[:12]),
        "enabled": props.get("enabled", True),
        "emailReceivers": [
            {
                "name": r.get("name"),
                "emailAddress": r.get("emailAddress"),
                "useCommonAlertSchema": r.get("useCommonAlertSchema", True),
            }
            for r in props.get("emailReceivers") or []
        ],
    }
    created = not any(g["name"].lower() == name.lower() for g in state.tenant.actionGroups)
    state.tenant.actionGroups = [g for g in state.tenant.actionGroups if g["name"].lower() != name.lower()]
    state.tenant.actionGroups.append(group)
    return JSONResponse(resources.action_group_resource(state, group), status_code=201 if created else 200)


def _put_diagnostics(state: SimState, name: str, body: dict[str, Any]) -> Response:
    props = body.get("properties") or {}
    setting: dict[str, Any] = {
        "name": name,
        "workspaceResourceId": str(props.get("workspaceId", "")),
        "logs": [
            {"category": lg.get("category"), "enabled": bool(lg.get("enabled", True))}
            for lg in props.get("logs") or []
        ],
    }
    if str(setting["workspaceResourceId"]).lower() == ids.workspace_id(state).lower():
        setting["workspaceId"] = state.tenant.workspace.get("customerId")
    state.tenant.diagnosticSettings = [s for s in state.tenant.diagnosticSettings if s["name"] != name]
    state.tenant.diagnosticSettings.append(setting)
    return JSONResponse(resources.diagnostic_setting_resource(state, setting))


def install(state: SimState) -> list[BaseRoute]:
    async def handle(request: Request) -> Response:
        path = request.url.path.lstrip("/")
        match = next(((k, m, a, v) for k, pattern, a, v in _ROUTES if (m := pattern.match(path))), None)
        if match is None:
            return errors.arm_error(
                404, "InvalidResourceType", f"The resource type could not be found: {path}"
            )
        kind, found, action, versions = match
        claims = caller(state, request)
        if isinstance(claims, Response):
            return claims
        version = request.query_params.get("api-version")
        if version not in versions:
            return errors.unsupported_api_version(
                str(version), action.rsplit("/", 1)[0], versions, ids.location(state)
            )
        params = found.groupdict()
        scope = "/" + path.rsplit("/providers/", 1)[0] if kind == "role_assignment" else "/" + path
        if not _allowed(state, kind, claims, scope):
            return errors.authorization_failed(
                str(claims.get("oid", "")), str(claims.get("oid", "")), action, scope
            )
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return errors.arm_error(400, "InvalidRequestContent", "The request content was invalid.")
        with state.lock:
            if kind == "role_assignment":
                return _put_role_assignment(state, scope.rstrip("/"), params["name"], body)
            if kind == "rule":
                return _put_rule(state, params["name"], body)
            if kind == "action_group":
                return _put_action_group(state, params["name"], body)
            return _put_diagnostics(state, params["name"], body)

    return [
        Route("/subscriptions/{rest:path}", handle, methods=["PUT"]),
        Route("/providers/{rest:path}", handle, methods=["PUT"]),
    ]
