"""Microsoft Graph's security incidents (`/security/incidents`): the workspace's Sentinel incidents as the
Microsoft Defender portal serves them once the workspace is onboarded to it.

Shapes follow Microsoft's v1.0 pages (drill/sim/DIFFERENCES.md, "Defender portal"): the `incident` resource
(id, incidentWebUrl, status active/resolved/inProgress/redirected, assignedTo free text, createdDateTime,
classification, determination, severity), its `alerts` relationship under `$expand`, the `alert` resource
(providerAlertId, detectorId, title, incidentId, evidence with `userEvidence.userAccount`), `$filter` on
assignedTo, classification, createdDateTime, determination, lastUpdateDateTime, severity and status, `$top`,
`$skip`, `$count`, paging by `@odata.nextLink`, and SecurityIncident.Read.All (or ReadWrite.All) to read.
How a Sentinel alert shows in its Graph alert is not documented: belief `defender-alert-link` serves each
plausible form. The Defender incident's id is its own (not Sentinel's incident number).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Any

from drill.sim.beliefs import Belief, form
from drill.sim.graph.http import GraphError, GraphRequest, GraphResponse, Obj, Perms, RouteSpec, ok, route
from drill.sim.graph.odata import QuerySpec, collection, ops
from drill.sim.loganalytics.schema import iso
from drill.sim.state import Fault, SimState

HIDDEN = "defender-incident-missing"
ID_OFFSET = 7000  # the Defender incident ids are the portal's own: never equal to Sentinel's numbers here
_ANY = ops("eq", "ne", "in")
_DT = ops("eq", "gt", "ge", "lt", "le")
INCIDENTS = QuerySpec(
    "microsoft.graph.security.incident",
    "incident",
    filterable={
        "assignedTo": _ANY,
        "classification": _ANY,
        "createdDateTime": _DT,
        "determination": _ANY,
        "lastUpdateDateTime": _DT,
        "severity": _ANY,
        "status": _ANY,
    },
    page_size=50,  # BELIEF: the page size is not documented; paging is, by @odata.nextLink
    max_top=50,
    paging="skip",
    flavour="security",
    supports_select=False,
    raw=True,
    default_order=("createdDateTime", True),  # "the most recent incidents are displayed at the top"
)
READ = Perms(
    delegated=("SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"),
    application=("SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"),
)
_STATUS = {"New": "active", "Active": "active", "Closed": "resolved"}
_CLASSIFICATION = {"": "unknown", "Undetermined": "unknown", "TruePositive": "truePositive",
                   "BenignPositive": "informationalExpectedActivity",
                   "FalsePositive": "falsePositive"}  # fmt: skip
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def _portal_id(text: str) -> str:
    """A Defender-made alert id: stable per Sentinel alert, never equal to its SystemAlertId."""
    return "sn" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _user_evidence(entity: dict[str, Any], created: str | None) -> Obj:
    value = str(entity.get("FullName") or "")
    name, suffix = str(entity.get("Name") or ""), entity.get("UPNSuffix")
    upn = value or (f"{name}@{suffix}" if suffix else name)
    guid = upn if _GUID.match(upn) else entity.get("AadUserId")
    return {
        "@odata.type": "#microsoft.graph.security.userEvidence",
        "createdDateTime": created,
        "verdict": "unknown",
        "remediationStatus": "none",
        "remediationStatusDetails": None,
        "roles": [],
        "detailedRoles": [],
        "tags": [],
        "userAccount": {
            "accountName": upn.partition("@")[0] if not _GUID.match(upn) else None,
            "domainName": upn.partition("@")[2] or None,
            "userPrincipalName": None if _GUID.match(upn) else upn,
            "azureAdUserId": guid,
            "displayName": None,
            "userSid": None,
        },
    }


def _alert(state: SimState, alert_id: str, incident_id: str, web_url: str) -> Obj:
    from drill.sim.loganalytics.sentinel import engine

    row = engine(state).alerts[alert_id]
    link = form(state, "defender-alert-link")
    created = iso(row["TimeGenerated"])
    tenant = state.tenant.id
    provider_id = alert_id if link == "provider-alert-id" else _portal_id(alert_id)
    detector = str(row["_rule"]) if link != "title-only" else _portal_id(str(row["_rule"]))[2:]
    return {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": _portal_id("alert:" + alert_id),
        "providerAlertId": provider_id,
        "incidentId": incident_id,
        "status": "new",
        "severity": str(row.get("AlertSeverity", "high")).lower(),
        "classification": None,
        "determination": None,
        "serviceSource": "microsoftSentinel",
        "detectionSource": "scheduledAlerts",
        "productName": "Microsoft Sentinel",
        "detectorId": detector,
        "tenantId": tenant,
        "title": row["AlertName"],
        "description": row.get("Description", ""),
        "recommendedActions": "",
        "category": "InitialAccess",
        "assignedTo": None,
        "alertWebUrl": f"https://security.microsoft.com/alerts/{provider_id}?tid={tenant}",
        "incidentWebUrl": web_url,
        "mitreTechniques": ["T1078"],
        "createdDateTime": created,
        "lastUpdateDateTime": created,
        "resolvedDateTime": None,
        "firstActivityDateTime": iso(row["StartTime"]),
        "lastActivityDateTime": iso(row["EndTime"]),
        "comments": [],
        "evidence": [_user_evidence(e, created) for e in row["_entities"] if e.get("Type") == "account"],
        "systemTags": [],
    }


def _incident(state: SimState, incident: Any) -> Obj:
    owner = incident.owner or {}
    graph_id = str(incident.number + ID_OFFSET)
    web_url = f"https://security.microsoft.com/incidents/{graph_id}?tid={state.tenant.id}"
    return {
        "@odata.type": "#microsoft.graph.security.incident",
        "id": graph_id,
        "incidentWebUrl": web_url,
        "redirectIncidentId": None,
        "tenantId": state.tenant.id,
        "displayName": incident.title,
        "createdDateTime": iso(incident.created),
        "lastUpdateDateTime": iso(incident.modified or incident.created),
        "assignedTo": owner.get("assignedTo") or owner.get("userPrincipalName") or owner.get("email"),
        "classification": _CLASSIFICATION.get(incident.classification, "unknown"),
        "determination": "unknown",
        "status": _STATUS.get(incident.status, "active"),
        "severity": incident.severity.lower(),
        "customTags": [],
        "systemTags": [],
        "comments": [],
        "description": "",
        "_alert_ids": list(incident.alert_ids),
    }


def _visible(state: SimState) -> list[Obj]:
    from drill.sim.loganalytics.sentinel import engine

    if HIDDEN in state.faults or "sentinel" not in state.services:
        return []
    sentinel = engine(state)
    with sentinel._lock:
        return [_incident(state, i) for i in sentinel.incidents]


def _expanded(req: GraphRequest) -> bool:
    wanted = next((v for k, v in req.query.items() if k.lstrip("$").lower() == "expand"), None)
    if wanted is None:
        return False
    if wanted.strip() != "alerts":
        raise GraphError(400, "BadRequest", f"Could not find a property named '{wanted}' on type "
                         "'microsoft.graph.security.incident'.")  # fmt: skip
    return True


def _shown(req: GraphRequest, item: Obj, expand: bool) -> Obj:
    out = {k: v for k, v in item.items() if k != "_alert_ids"}
    if expand:
        out["alerts"] = [_alert(req.state, a, item["id"], item["incidentWebUrl"]) for a in item["_alert_ids"]]
    return out


async def list_incidents(req: GraphRequest) -> GraphResponse:
    expand = _expanded(req)
    rest = {k: v for k, v in req.query.items() if k.lstrip("$").lower() not in ("expand", "count")}
    body = collection(replace(req, query=rest), INCIDENTS, _visible(req.state), "security/incidents")
    body["value"] = [_shown(req, i, expand) for i in body["value"]]
    if expand and "@odata.nextLink" in body:
        body["@odata.nextLink"] += "&$expand=alerts"
    if any(k.lstrip("$").lower() == "count" for k in req.query):
        body["@odata.count"] = len(_visible(req.state))
    return ok(body)


async def get_incident(req: GraphRequest) -> GraphResponse:
    expand = _expanded(req)
    found = next((i for i in _visible(req.state) if i["id"] == req.params["id"]), None)
    if found is None:
        raise GraphError(404, "NotFound", f"Incident {req.params['id']} was not found")
    body = {
        "@odata.context": f"{req.base}/$metadata#security/incidents/$entity",
        **_shown(req, found, expand),
    }
    return ok(body)


def routes() -> list[RouteSpec]:
    return [
        route("GET", r"/security/incidents", list_incidents, READ),
        route("GET", r"/security/incidents/(?P<id>[^/]+)", get_incident, READ),
    ]


def _hide(state: SimState) -> None:
    state.faults[HIDDEN] = {}


FAULTS = [
    Fault(HIDDEN, "graph", "the workspace's Sentinel incidents are not in the Defender portal: Graph "
          "/security/incidents lists none of them (the workspace is not connected to Defender)", _hide),
]  # fmt: skip

BELIEFS = [
    Belief("defender-alert-link", "how the Graph alert of a Sentinel incident names the SecurityAlert it "
           "came from",
           {"provider-alert-id": "providerAlertId is the SecurityAlert's SystemAlertId; detectorId the "
                                 "analytics rule's id",
            "detector-id": "providerAlertId is Defender's own; detectorId the analytics rule's id",
            "title-only": "providerAlertId and detectorId are Defender's own; the title is the rule's "
                          "name"}),
]  # fmt: skip
