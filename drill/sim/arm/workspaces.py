"""`GET` of the Log Analytics workspace resource: where a caller learns its customer id (the id the query API
takes) from the ARM id a diagnostic setting or a rule's scope names.

Shape (2022-10-01 / 2023-09-01): `properties.customerId`, `provisioningState`, `retentionInDays`, `sku`
(azure-rest-api-specs, operationalinsights Workspaces_Get example). Reads need a role with `*/read` over the
workspace (the administrator's own, or an app's `armRoles`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from drill.sim.arm import errors, ids, rbac, writes
from drill.sim.arm.caller import caller
from drill.sim.state import SimState

API = ("2022-10-01", "2023-09-01")
ACTION = "Microsoft.OperationalInsights/workspaces/read"


def install(state: SimState) -> list[BaseRoute]:
    async def get(request: Request) -> Response:
        claims = caller(state, request)
        if isinstance(claims, Response):
            return claims
        version = request.query_params.get("api-version")
        if version not in API:
            return errors.unsupported_api_version(str(version), "workspaces", API, ids.location(state))
        scope = request.url.path.rstrip("/")
        app = state.tenant.application(str(claims.get("appid") or ""))
        readable = rbac.can_read(app, scope, ACTION) or (
            claims.get("idtyp") == "user" and writes.user_can_read(state, claims, "workspace", scope)
        )
        if not readable:
            oid = str(claims.get("oid", ""))
            return errors.authorization_failed(oid, oid, ACTION, scope)
        if scope.lower() != ids.workspace_id(state).lower():
            p = request.path_params
            return errors.not_found("Microsoft.OperationalInsights/workspaces", p["ws"], p["rg"])
        ws = state.tenant.workspace
        return JSONResponse(
            {
                "id": ids.workspace_id(state),
                "name": ws.get("name"),
                "type": "Microsoft.OperationalInsights/workspaces",
                "location": ids.location(state),
                "properties": {
                    "customerId": ws.get("customerId"),
                    "provisioningState": "Succeeded",
                    "retentionInDays": 90,
                    "sku": {"name": "PerGB2018"},
                },
            }
        )

    path = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{ws}"
    return [Route(path, get, methods=["GET"])]
