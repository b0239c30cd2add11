"""Microsoft Sentinel on the tenant's workspace: scheduled analytics rules on the simulator clock, the
`SecurityAlert` and `SecurityIncident` rows they produce, alert grouping into incidents, automation rules.

The fixture's `azure.sentinel` onboards the workspace (drill/sim/arm/sentinel.py serves the same objects
through Microsoft.SecurityInsights). Each enabled Scheduled rule runs its query every `queryFrequency` over
`[at - queryPeriod, at]` of TimeGenerated, seeing only rows that have arrived by `at` (as a log alert does:
loganalytics/alerts.py), and alerts when the result count passes `triggerOperator triggerThreshold`.
Event grouping (`aggregationKind`): AlertPerResult makes one alert per result row, SingleAlert one alert
for all of them. Suppression (`suppressionEnabled`) stops the rule for `suppressionDuration` after an
alert. Entities come from the legacy `AccountCustomEntity` / `IPCustomEntity` / `HostCustomEntity`
columns or the rule's `entityMappings`. With `createIncident` each alert opens an incident, or joins an
incident of the same rule created within the grouping lookback and sharing all its entities (`grouping`);
a closed match is reopened when `reopenClosedIncident` is on, else a new incident is made (Microsoft's
portal text for the setting). Automation rules triggered "When incident is created" then apply their
ModifyProperties actions in `order`. Every change of an incident writes a new SecurityIncident row, as
Sentinel does. Facts and beliefs: drill/sim/DIFFERENCES.md ("Microsoft Sentinel").
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from drill.sim.arm import ids
from drill.sim.beliefs import Belief, form
from drill.sim.loganalytics.isotime import parse_duration
from drill.sim.loganalytics.schema import iso
from drill.sim.loganalytics.sentinel_entities import compromised, entities_of, entity_key, parse_time
from drill.sim.loganalytics.store import QueryError
from drill.sim.state import SimState

ALERT_DELAY_S = 10.0  # BELIEF: evaluation -> SecurityAlert row (Sentinel documents no number)
INCIDENT_DELAY_S = 5.0  # BELIEF: alert -> incident created
AUTOMATION_DELAY_S = 2.0  # BELIEF: incident created -> its automation rules' changes
PROVIDER = "ASI Scheduled Alerts"
PRODUCT = "Azure Sentinel"
_OPERATORS = {
    "GreaterThan": lambda n, v: n > v,
    "GreaterThanOrEqual": lambda n, v: n >= v,
    "LessThan": lambda n, v: n < v,
    "LessThanOrEqual": lambda n, v: n <= v,
    "Equal": lambda n, v: n == v,
    "NotEqual": lambda n, v: n != v,
}


def config(state: SimState) -> dict[str, Any] | None:
    sentinel = state.tenant.azure.get("sentinel")
    return sentinel if isinstance(sentinel, dict) else None


def alert_rules(state: SimState) -> list[dict[str, Any]]:
    return list((config(state) or {}).get("alertRules") or [])


def automation_rules(state: SimState) -> list[dict[str, Any]]:
    return list((config(state) or {}).get("automationRules") or [])


def rule_arm_id(state: SimState, rule: dict[str, Any]) -> str:
    return f"{ids.workspace_id(state)}/providers/Microsoft.SecurityInsights/alertRules/{rule['name']}"


def _duration(text: Any, default: str) -> timedelta:
    try:
        return parse_duration(str(text or default))
    except ValueError:
        return parse_duration(default)


@dataclass
class Incident:
    name: str
    number: int
    title: str
    severity: str
    rule_ids: list[str]
    created: datetime
    first_activity: datetime
    last_activity: datetime
    entity_keys: frozenset[str]
    status: str = "New"
    classification: str = ""
    classification_reason: str = ""
    classification_comment: str = ""
    owner: dict[str, Any] = field(
        default_factory=lambda: {
            "objectId": None,
            "email": None,
            "assignedTo": None,
            "userPrincipalName": None,
        }
    )
    closed: datetime | None = None
    modified: datetime | None = None
    alert_ids: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    modified_by: str = "Incident created from alert"


@dataclass
class RuleRun:
    next_run: datetime
    suppressed_until: datetime | None = None
    evaluations: int = 0
    error: str | None = None
    alerts: list[str] = field(default_factory=list)


class SentinelEngine:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.runs: dict[str, RuleRun] = {}
        self.incidents: list[Incident] = []
        self.alerts: dict[str, dict[str, Any]] = {}
        self.next_number = int((config(state) or {}).get("firstIncidentNumber", 1))
        self._lock = threading.RLock()

    # -- schedule ---------------------------------------------------------------------------------------
    def tick(self) -> None:
        with self._lock:
            now = self.state.clock.now()
            for rule in alert_rules(self.state):
                run = self.runs.setdefault(
                    rule["name"], RuleRun(now + _duration(rule.get("queryFrequency"), "PT5M"))
                )
                while rule.get("enabled", True) and run.next_run <= now and not self.state.stopping.is_set():
                    at = run.next_run
                    run.next_run = at + _duration(rule.get("queryFrequency"), "PT5M")
                    self.evaluate(rule, run, at)

    def evaluate(self, rule: dict[str, Any], run: RuleRun, at: datetime) -> None:
        """One scheduled run at `at`: query, threshold, alerts, incidents, automation."""
        from drill.sim.loganalytics.alerts import rule_query
        from drill.sim.loganalytics.workspace import workspace

        with self._lock:
            run.evaluations += 1
            if run.suppressed_until is not None and at < run.suppressed_until:
                return
            period = _duration(rule.get("queryPeriod"), "PT5M")
            window = (at - period, at)
            try:
                query = rule_query(self.state, rule)
                columns, rows, _cut = workspace(self.state).store.query(query, at, window)
            except (OSError, QueryError) as exc:
                run.error = str(exc).splitlines()[0][:300]
                return
            run.error = None
            operator = _OPERATORS.get(
                str(rule.get("triggerOperator", "GreaterThan")), _OPERATORS["GreaterThan"]
            )
            if not operator(len(rows), float(rule.get("triggerThreshold", 0))):
                return
            names = [c["name"] for c in columns]
            records = [dict(zip(names, row, strict=False)) for row in rows]
            grouped = (
                [[r] for r in records]
                if rule.get("aggregationKind", "SingleAlert") == "AlertPerResult"
                else [records]
            )
            for results in grouped:
                self._alert(rule, run, at, window, query, results, len(records))
            if rule.get("suppressionEnabled"):
                run.suppressed_until = at + _duration(rule.get("suppressionDuration"), "PT5H")

    # -- alerts -----------------------------------------------------------------------------------------
    def _alert(self, rule: dict[str, Any], run: RuleRun, at: datetime, window: tuple[datetime, datetime],
               query: str, results: list[dict[str, Any]], total: int) -> None:  # fmt: skip
        from drill.sim.loganalytics.workspace import workspace

        delay = float((config(self.state) or {}).get("alertDelaySeconds", ALERT_DELAY_S))
        generated = at + timedelta(seconds=delay)
        alert_id = str(uuid.uuid4())
        entities = entities_of(self.state, rule, results)
        start, end = window
        if form(self.state, "sentinel-alert-window") == "event-time":
            times = sorted(str(r["TimeGenerated"]) for r in results if r.get("TimeGenerated"))
            if times:
                start, end = parse_time(times[0]), parse_time(times[-1])
        rule_id = rule_arm_id(self.state, rule)
        extended: dict[str, Any] = {
            "Query Period": str(_duration(rule.get("queryPeriod"), "PT5M")),
            "Trigger Operator": str(rule.get("triggerOperator", "GreaterThan")),
            "Trigger Threshold": str(rule.get("triggerThreshold", 0)),
            "Search Query Results Overall Count": str(total),
            "Query": query[:10000],
            "Query Start Time UTC": iso(window[0]),
            "Query End Time UTC": iso(window[1]),
            "Event Grouping": str(rule.get("aggregationKind", "SingleAlert")),
            "Analytic Rule Name": str(rule.get("displayName", rule["name"])),
            "ProcessedBySentinel": "True",
        }
        if form(self.state, "sentinel-alert-rule-ref") == "extended-properties":
            extended["Analytic Rule Ids"] = json.dumps([str(rule["name"])])
        workspace_id = str(self.state.tenant.workspace.get("customerId", ""))
        row = {
            "TenantId": workspace_id,
            "TimeGenerated": generated,
            "DisplayName": str(rule.get("displayName", rule["name"])),
            "AlertName": str(rule.get("displayName", rule["name"])),
            "AlertSeverity": str(rule.get("severity", "High")),
            "Description": str(rule.get("description", "")),
            "ProviderName": PROVIDER,
            "VendorName": "Microsoft",
            "VendorOriginalId": str(uuid.uuid4()),
            "SystemAlertId": alert_id,
            "ResourceId": "",
            "SourceComputerId": "",
            "AlertType": f"{workspace_id}_{rule['name']}",
            "ConfidenceLevel": "",
            "ConfidenceScore": None,
            "IsIncident": False,
            "StartTime": start,
            "EndTime": end,
            "ProcessingEndTime": generated,
            "RemediationSteps": "",
            "ExtendedProperties": json.dumps(extended),
            "Entities": json.dumps(entities),
            "SourceSystem": "Detection",
            "WorkspaceSubscriptionId": ids.subscription(self.state),
            "WorkspaceResourceGroup": ids.workspace_resource_group(self.state),
            "ExtendedLinks": "",
            "ProductName": PRODUCT,
            "ProductComponentName": "Scheduled Alerts",
            "AlertLink": "",
            "Status": "New",
            "CompromisedEntity": compromised(entities),
            "Tactics": ", ".join(rule.get("tactics") or ["InitialAccess"]),
            "Techniques": json.dumps(list(rule.get("techniques") or ["T1078"])),
            "SubTechniques": "",
            "Type": "SecurityAlert",
        }
        workspace(self.state).store.insert("SecurityAlert", row, generated)
        self.alerts[alert_id] = {**row, "_rule": rule["name"], "_entities": entities}
        run.alerts.append(alert_id)
        if rule.get("createIncident", True):
            self._incident(rule, rule_id, alert_id, generated, entities, start, end)

    # -- incidents --------------------------------------------------------------------------------------
    def _incident(self, rule: dict[str, Any], rule_id: str, alert_id: str, at: datetime,
                  entities: list[dict[str, Any]], first: datetime, last: datetime) -> None:  # fmt: skip
        when = at + timedelta(seconds=INCIDENT_DELAY_S)
        keys = frozenset(entity_key(e) for e in entities)
        grouping = rule.get("grouping") or {}
        match = self._grouped(rule_id, grouping, keys, when) if grouping.get("enabled") else None
        if match is not None and (match.status != "Closed" or grouping.get("reopenClosedIncident")
                                  or rule.get("joinClosedIncidents")):  # fmt: skip
            if match.status == "Closed" and grouping.get("reopenClosedIncident"):
                match.status, match.closed = "Active", None
            match.alert_ids.append(alert_id)
            match.last_activity = max(match.last_activity, last)
            match.modified_by = "Alert added to incident"
            self._write(match, when)
            return
        incident = Incident(
            name=str(uuid.uuid4()),
            number=self.next_number,
            title=str(rule.get("displayName", rule["name"])),
            severity=str(rule.get("severity", "High")),
            rule_ids=[rule_id],
            created=when,
            first_activity=first,
            last_activity=last,
            entity_keys=keys,
            alert_ids=[alert_id],
        )
        self.next_number += 1
        self.incidents.append(incident)
        self._write(incident, when)
        self._automate(incident, when + timedelta(seconds=AUTOMATION_DELAY_S))

    def _grouped(
        self, rule_id: str, grouping: dict[str, Any], keys: frozenset[str], when: datetime
    ) -> Incident | None:
        lookback = _duration(grouping.get("lookbackDuration"), "PT5H")
        for incident in reversed(self.incidents):
            if (
                rule_id in incident.rule_ids
                and when - incident.created <= lookback
                and incident.entity_keys == keys
            ):
                return incident
        return None

    def _automate(self, incident: Incident, at: datetime) -> None:
        """Automation rules triggered when an incident is created, in their `order` (Microsoft's)."""
        for auto in sorted(automation_rules(self.state), key=lambda a: int(a.get("order", 1))):
            if not auto.get("enabled", True) or auto.get("triggersWhen", "Created") != "Created":
                continue
            wanted = [str(v).lower() for v in auto.get("analyticRuleIds") or []]
            if wanted and not any(r.lower() in wanted for r in incident.rule_ids):
                continue
            changed = False
            for action in auto.get("actions") or []:
                for key, attr in (("status", "status"), ("classification", "classification"),
                                  ("classificationReason", "classification_reason"),
                                  ("classificationComment", "classification_comment")):  # fmt: skip
                    if action.get(key):
                        setattr(incident, attr, str(action[key]))
                        changed = True
                if action.get("owner"):
                    incident.owner = {**incident.owner, **action["owner"]}
                    changed = True
            if changed:
                if incident.status == "Closed" and incident.closed is None:
                    incident.closed = at
                incident.modified_by = f"Automation rule - {auto.get('displayName', auto.get('name'))}"
                self._write(incident, at)

    def close(self, incident: Incident, at: datetime, classification: str, reason: str, comment: str,
              by: str) -> None:  # fmt: skip
        """Close an incident (the ARM PUT, a rehearsal's SOC analyst)."""
        with self._lock:
            incident.status, incident.closed = "Closed", at
            incident.classification, incident.classification_reason = classification, reason
            incident.classification_comment, incident.modified_by = comment, by
            self._write(incident, at)

    def comment(self, incident: Incident, at: datetime, message: str, by: str) -> dict[str, Any]:
        with self._lock:
            entry = {"message": message, "createdTimeUtc": iso(at), "author": {"name": by}}
            incident.comments.append(entry)
            incident.modified_by = by
            self._write(incident, at)
            return entry

    def _write(self, incident: Incident, at: datetime) -> None:
        from drill.sim.loganalytics.workspace import workspace

        incident.modified = at
        row = {
            "TenantId": str(self.state.tenant.workspace.get("customerId", "")),
            "TimeGenerated": at,
            "IncidentName": incident.name,
            "Title": incident.title,
            "Description": "",
            "Severity": incident.severity,
            "Status": incident.status,
            "Classification": incident.classification,
            "ClassificationComment": incident.classification_comment,
            "ClassificationReason": incident.classification_reason,
            "Owner": incident.owner,
            "ProviderName": PRODUCT,
            "ProviderIncidentId": str(incident.number),
            "FirstActivityTime": incident.first_activity,
            "LastActivityTime": incident.last_activity,
            "FirstModifiedTime": incident.created,
            "LastModifiedTime": at,
            "CreatedTime": incident.created,
            "ClosedTime": incident.closed,
            "IncidentNumber": incident.number,
            "RelatedAnalyticRuleIds": [r.rsplit("/", 1)[-1] for r in incident.rule_ids],
            "AlertIds": list(incident.alert_ids),
            "BookmarkIds": [],
            "Comments": [c["message"] for c in incident.comments],
            "Tasks": [],
            "Labels": incident.labels,
            "IncidentUrl": incident_url(self.state, incident),
            "AdditionalData": {
                "alertsCount": len(incident.alert_ids),
                "bookmarksCount": 0,
                "commentsCount": len(incident.comments),
                "alertProductNames": [PRODUCT],
                "tactics": ["InitialAccess"],
            },
            "ModifiedBy": incident.modified_by,
            "SourceSystem": "Azure",
            "Type": "SecurityIncident",
        }
        workspace(self.state).store.insert("SecurityIncident", row, at)

    def incident(self, name: str) -> Incident | None:
        return next((i for i in self.incidents if i.name.lower() == name.lower()), None)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": {name: {"nextRun": iso(r.next_run), "evaluations": r.evaluations, "error": r.error,
                                 "alerts": list(r.alerts),
                                 "suppressedUntil": iso(r.suppressed_until) if r.suppressed_until else None}
                          for name, r in self.runs.items()},
                "incidents": [{"number": i.number, "name": i.name, "status": i.status, "alerts": i.alert_ids,
                               "created": iso(i.created), "classification": i.classification}
                              for i in self.incidents],
            }  # fmt: skip


def incident_url(state: SimState, incident: Incident) -> str:
    return (
        "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident"
        f"{ids.workspace_id(state)}/providers/Microsoft.SecurityInsights/Incidents/{incident.name}"
    )


def engine(state: SimState) -> SentinelEngine:
    found: SentinelEngine = state.services["sentinel"]
    return found


def install(state: SimState) -> list[BaseRoute]:
    sentinel = SentinelEngine(state)
    state.services["sentinel"] = sentinel
    state.tickers.append(sentinel.tick)

    async def status(request: Request) -> JSONResponse:
        return JSONResponse({**sentinel.status(), "now": iso(state.clock.now())})

    return [Route("/_sim/sentinel", status)]


BELIEFS = [
    Belief("sentinel-account-entity", "how a SecurityAlert's Entities show an account mapped by FullName "
           "(AccountCustomEntity)",
           {"name-upnsuffix": "Name and UPNSuffix split at the @ (Name alone when there is no @)",
            "fullname": "FullName as mapped"}),
    Belief("sentinel-alert-window", "what a scheduled alert's StartTime and EndTime hold",
           {"query-window": "the rule's query window (queryPeriod ending at the run)",
            "event-time": "the earliest and latest TimeGenerated among the alert's result rows"}),
    Belief("sentinel-alert-rule-ref", "where a SecurityAlert names its analytics rule",
           {"extended-properties": "ExtendedProperties 'Analytic Rule Ids' (and AlertType)",
            "alert-type-only": "only AlertType <workspace id>_<rule id>"}),
]  # fmt: skip
