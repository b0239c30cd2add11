"""Audit logs on Graph: `/auditLogs/signIns` (the same SignInEvents Log Analytics renders, in v1.0's signIn
shape: no authenticationDetails in v1.0; applied CA policies with five properties only) and
`/auditLogs/directoryAudits` (the AuditEvents).

Reading them takes AuditLog.Read.All and Directory.Read.All, and a delegated caller must also hold a
reporting role, as on Microsoft's service.
"""

from __future__ import annotations

from typing import Any

from drill.sim.graph.builtins import REPORT_READER_ROLES
from drill.sim.graph.http import GraphRequest, GraphResponse, Obj, Perms, RouteSpec, iso, not_found, ok, route
from drill.sim.graph.odata import QuerySpec, collection, ops, parse_query, project, select_suffix
from drill.sim.state import AuditEvent, SignInEvent

_DT = ops("eq", "gt", "ge", "lt", "le")
SIGNINS = QuerySpec(
    "signIn",
    "signIn",
    filterable={
        "id": ops("eq"),
        "userId": ops("eq", "in"),
        "appId": ops("eq", "in"),
        "createdDateTime": _DT,
        "userPrincipalName": ops("eq", "startswith"),
        "userDisplayName": ops("eq", "startswith"),
        "appDisplayName": ops("eq", "startswith"),
        "correlationId": ops("eq"),
        "conditionalAccessStatus": ops("eq"),
        "status/errorCode": ops("eq", "ne"),
        "ipAddress": ops("eq", "startswith"),
        "clientAppUsed": ops("eq"),
        "isInteractive": ops("eq"),
    },
    orderable=frozenset({"createdDateTime"}),
    page_size=1000,
    max_top=1000,
    default_order=("createdDateTime", True),
)
_BOTH = ("AuditLog.Read.All", "Directory.Read.All")
READ_SIGNINS = Perms(delegated=(_BOTH,), application=(_BOTH,), roles_delegated=REPORT_READER_ROLES)


def signin_view(event: SignInEvent, tenant_id: str) -> Obj:
    extra: dict[str, Any] = event.extra or {}
    code = int(event.result_type) if str(event.result_type).isdigit() else 0
    return {
        "id": event.id,
        "createdDateTime": iso(event.created),
        "userDisplayName": event.user_display_name,
        "userPrincipalName": event.user_principal_name,
        "userId": event.user_id,
        "appId": event.app_id,
        "appDisplayName": event.app_display_name,
        "ipAddress": event.ip_address,
        "clientAppUsed": event.client_app_used,
        "userAgent": event.user_agent,
        "correlationId": event.correlation_id,
        "conditionalAccessStatus": event.conditional_access_status,
        "isInteractive": event.is_interactive,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes": [],
        "riskEventTypes_v2": [],
        "resourceDisplayName": event.resource_display_name,
        "resourceId": event.resource_id,
        "resourceTenantId": tenant_id,
        "homeTenantId": tenant_id,
        "servicePrincipalId": None,
        "servicePrincipalName": None,
        "authenticationAppDeviceDetails": None,
        "status": {
            "errorCode": code,
            "failureReason": event.result_description or "Other.",
            "additionalDetails": extra.get("additionalDetails"),
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": "",
            "operatingSystem": "",
            "browser": "",
            "isCompliant": False,
            "isManaged": False,
            "trustType": "",
            **(extra.get("deviceDetail") or {}),
        },
        "location": {
            "city": "",
            "state": "",
            "countryOrRegion": "",
            "geoCoordinates": {"altitude": None, "latitude": None, "longitude": None},
            **(extra.get("location") or {}),
        },
        "appliedConditionalAccessPolicies": [
            {
                "id": p.get("id"),
                "displayName": p.get("displayName"),
                "enforcedGrantControls": list(p.get("enforcedGrantControls") or []),
                "enforcedSessionControls": list(p.get("enforcedSessionControls") or []),
                "result": p.get("result"),
            }
            for p in event.applied_policies
        ],
    }


async def list_signins(req: GraphRequest) -> GraphResponse:
    with req.state.lock:
        events = [e for e in req.state.signins if e.is_interactive]  # v1.0 lists interactive sign-ins only
    items = [signin_view(e, req.state.tenant.id) for e in events]
    return ok(collection(req, SIGNINS, items, "auditLogs/signIns"))


async def get_signin(req: GraphRequest) -> GraphResponse:
    with req.state.lock:
        event = next((e for e in req.state.signins if e.id == req.params["id"]), None)
    if event is None:
        raise not_found(req.params["id"])
    q = parse_query(req, SIGNINS, collection=False)
    ctx = f"{req.base}/$metadata#auditLogs/signIns{select_suffix(q)}/$entity"
    return ok({"@odata.context": ctx, **project(SIGNINS, signin_view(event, req.state.tenant.id), q)})


AUDITS = QuerySpec(
    "directoryAudit",
    "directoryAudit",
    filterable={
        "id": ops("eq"),
        "activityDateTime": _DT,
        "category": ops("eq"),
        "correlationId": ops("eq"),
        "activityDisplayName": ops("eq", "startswith"),
        "loggedByService": ops("eq"),
        "result": ops("eq"),
        "initiatedBy/user/id": ops("eq"),
        "initiatedBy/app/appId": ops("eq"),
    },
    orderable=frozenset({"activityDateTime"}),
    page_size=1000,
    max_top=1000,
    default_order=("activityDateTime", True),
)
READ_AUDITS = Perms(
    delegated=("AuditLog.Read.All",), application=("AuditLog.Read.All",), roles_delegated=REPORT_READER_ROLES
)


def audit_view(event: AuditEvent) -> Obj:
    verb = event.operation_name.split(" ", 1)[0]
    return {
        "id": event.id,
        "category": event.category,
        "correlationId": event.correlation_id,
        "result": event.result,
        "resultReason": event.result_reason,
        "activityDisplayName": event.operation_name,
        "activityDateTime": iso(event.created),
        "loggedByService": event.logged_by_service,
        "operationType": verb if verb in ("Add", "Update", "Delete", "Assign", "Unassign") else "Update",
        "initiatedBy": {"user": None, "app": None, **event.initiated_by},
        "targetResources": event.target_resources,
        "additionalDetails": event.additional_details,
    }


async def list_audits(req: GraphRequest) -> GraphResponse:
    with req.state.lock:
        events = list(req.state.audits)
    return ok(collection(req, AUDITS, [audit_view(e) for e in events], "auditLogs/directoryAudits"))


def routes() -> list[RouteSpec]:
    return [
        route("GET", "/auditLogs/directoryAudits", list_audits, READ_AUDITS),
        route("GET", "/auditLogs/signIns", list_signins, READ_SIGNINS),
        route("GET", r"/auditLogs/signIns/(?P<id>[^/]+)", get_signin, READ_SIGNINS),
    ]
