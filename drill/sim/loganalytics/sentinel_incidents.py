"""Sentinel's incidents in the simulator: alert grouping into incidents, automation rules on creation, and a
`SecurityIncident` row for every change, as Sentinel writes one (drill/sim/DIFFERENCES.md, "Microsoft
Sentinel"). With alert grouping on, an alert joins an incident of the same rule created within the lookback
and sharing all its entities; a closed match is reopened when `reopenClosedIncident` is on, else the alert
makes a new incident (Microsoft's text for the setting). `joinClosedIncidents` is a fault's knob only: an
alert added to a closed incident without reopening it, which Microsoft does not document.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drill.sim.arm import ids
from drill.sim.loganalytics.schema import iso
from drill.sim.loganalytics.sentinel_config import PRODUCT, automation_rules, duration
from drill.sim.loganalytics.sentinel_entities import entity_key
from drill.sim.state import SimState

INCIDENT_DELAY_S = 5.0  # BELIEF: alert -> incident created
AUTOMATION_DELAY_S = 2.0  # BELIEF: incident created -> its automation rules' changes


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


class IncidentBook:
    """The incidents of the workspace (the engine's half that turns alerts into incidents)."""

    state: SimState
    incidents: list[Incident]
    next_number: int
    _lock: threading.RLock

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
        lookback = duration(grouping.get("lookbackDuration"), "PT5H")
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


def incident_url(state: SimState, incident: Incident) -> str:
    return (
        "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident"
        f"{ids.workspace_id(state)}/providers/Microsoft.SecurityInsights/Incidents/{incident.name}"
    )
