"""Microsoft Sentinel on the tenant's workspace: scheduled analytics rules on the simulator clock, the
`SecurityAlert` and `SecurityIncident` rows they produce, alert grouping into incidents, automation rules.

The fixture's `azure.sentinel` onboards the workspace (drill/sim/arm/sentinel.py serves the same objects
through Microsoft.SecurityInsights). Each enabled Scheduled rule runs its query every `queryFrequency` over
`[at - queryPeriod, at]` of TimeGenerated, seeing only rows that have arrived by `at` (as a log alert does:
loganalytics/alerts.py), and alerts when the result count passes `triggerOperator triggerThreshold`.
Event grouping (`aggregationKind`): AlertPerResult makes one alert per result row, SingleAlert one alert
for all of them. Suppression (`suppressionEnabled`) stops the rule for `suppressionDuration` after an
alert. Entities come from the legacy `AccountCustomEntity` / `IPCustomEntity` / `HostCustomEntity`
columns or the rule's `entityMappings`. With `createIncident` each alert goes to sentinel_incidents.py:
a new incident, or one it is grouped into; automation rules; a SecurityIncident row per change. Facts and
beliefs: drill/sim/DIFFERENCES.md ("Microsoft Sentinel").
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
from drill.sim.loganalytics.schema import iso
from drill.sim.loganalytics.sentinel_config import (
    PRODUCT,
    alert_rules,
    automation_rules,
    config,
    duration,
    rule_arm_id,
)
from drill.sim.loganalytics.sentinel_entities import compromised, entities_of, parse_time
from drill.sim.loganalytics.sentinel_incidents import Incident, IncidentBook, incident_url
from drill.sim.loganalytics.store import QueryError
from drill.sim.state import SimState

__all__ = ["PRODUCT", "Incident", "RuleRun", "SentinelEngine", "automation_rules", "duration", "engine",
           "incident_url", "rule_arm_id"]  # fmt: skip

ALERT_DELAY_S = 10.0  # BELIEF: evaluation -> SecurityAlert row (Sentinel documents no number)
RUN_DELAY_S = 300.0  # the `five-minutes` form of sentinel-run-delay: Microsoft's "five-minute delay"
PROVIDER = "ASI Scheduled Alerts"
_OPERATORS = {
    "GreaterThan": lambda n, v: n > v,
    "GreaterThanOrEqual": lambda n, v: n >= v,
    "LessThan": lambda n, v: n < v,
    "LessThanOrEqual": lambda n, v: n <= v,
    "Equal": lambda n, v: n == v,
    "NotEqual": lambda n, v: n != v,
}


@dataclass
class RuleRun:
    next_run: datetime
    suppressed_until: datetime | None = None
    evaluations: int = 0
    error: str | None = None
    alerts: list[str] = field(default_factory=list)


class SentinelEngine(IncidentBook):
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
                    rule["name"], RuleRun(now + duration(rule.get("queryFrequency"), "PT5M"))
                )
                while rule.get("enabled", True) and run.next_run <= now and not self.state.stopping.is_set():
                    at = run.next_run
                    run.next_run = at + duration(rule.get("queryFrequency"), "PT5M")
                    self.evaluate(rule, run, at)

    def evaluate(self, rule: dict[str, Any], run: RuleRun, at: datetime) -> None:
        """One scheduled run at `at`: query, threshold, alerts, incidents, automation."""
        from drill.sim.loganalytics.alerts import rule_query
        from drill.sim.loganalytics.workspace import workspace

        with self._lock:
            run.evaluations += 1
            if run.suppressed_until is not None and at < run.suppressed_until:
                return
            period = duration(rule.get("queryPeriod"), "PT5M")
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
                run.suppressed_until = at + duration(rule.get("suppressionDuration"), "PT5H")

    # -- alerts -----------------------------------------------------------------------------------------
    def _alert(self, rule: dict[str, Any], run: RuleRun, at: datetime, window: tuple[datetime, datetime],
               query: str, results: list[dict[str, Any]], total: int) -> None:  # fmt: skip
        from drill.sim.loganalytics.workspace import workspace

        delay = float((config(self.state) or {}).get("alertDelaySeconds", ALERT_DELAY_S))
        if form(self.state, "sentinel-run-delay") == "five-minutes":
            delay += RUN_DELAY_S
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
            "Query Period": str(duration(rule.get("queryPeriod"), "PT5M")),
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
    Belief("sentinel-run-delay", "how long after a scheduled rule's run time its SecurityAlert is written",
           {"prompt": "10 s after the scheduled time",
            "five-minutes": "5 min 10 s after it: the rule runs on Microsoft's five-minute delay"}),
    Belief("sentinel-alert-rule-ref", "where a SecurityAlert names its analytics rule",
           {"extended-properties": "ExtendedProperties 'Analytic Rule Ids' (and AlertType)",
            "alert-type-only": "only AlertType <workspace id>_<rule id>"}),
]  # fmt: skip
