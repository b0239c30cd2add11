"""Reading Sentinel's SecurityAlert and SecurityIncident rows for one sign-in: pure functions, no I/O.

Both tables live in the drill's Log Analytics workspace (Microsoft's table references: SecurityAlert's
`Entities` and `ExtendedProperties` are JSON strings; SecurityIncident gets a row per change, so the latest
row per IncidentNumber is the incident's state). Shapes we could not verify are beliefs the simulator
serves in each form (drill/sim/DIFFERENCES.md): how an account entity shows a mapped UPN
(`sentinel-account-entity`), what StartTime/EndTime hold (`sentinel-alert-window`), and where the alert
names its rule (`sentinel-alert-rule-ref`); each reader below accepts every form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drill.isotime import parse_utc

ALERT_COLUMNS = (
    "TimeGenerated, SystemAlertId, AlertName, AlertType, StartTime, EndTime, Entities, ExtendedProperties, "
    "ProviderName, ProductName, Status"
)
INCIDENT_COLUMNS = (
    "TimeGenerated, IncidentNumber, IncidentName, Title, Status, Owner, CreatedTime, ClosedTime, "
    "LastModifiedTime, Classification, ClassificationReason, ModifiedBy, AlertIds, IncidentUrl"
)
SLACK = timedelta(seconds=1)  # Log Analytics rounds datetimes to the 100 ns tick; the API prints 7 digits


def alerts_query(since: datetime) -> str:
    return (
        f"SecurityAlert | where TimeGenerated >= datetime({since.isoformat()})"
        f" | project {ALERT_COLUMNS} | sort by TimeGenerated asc"
    )


def incidents_query(since: datetime) -> str:
    return (
        f"SecurityIncident | where TimeGenerated >= datetime({since.isoformat()})"
        f" | project {INCIDENT_COLUMNS} | sort by TimeGenerated asc"
    )


def as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if value in (None, ""):
        return None
    try:
        return parse_utc(str(value))
    except ValueError:
        return None


def as_json(value: Any, default: Any) -> Any:
    if isinstance(value, list | dict):
        return value
    try:
        return json.loads(str(value)) if value not in (None, "") else default
    except ValueError:
        return default


def of_rule(alert: dict[str, Any], rule_name: str) -> bool:
    """Whether the alert names the analytics rule, by its ExtendedProperties rule ids or its AlertType."""
    wanted = rule_name.lower()
    extended = as_json(alert.get("ExtendedProperties"), {})
    ids = as_json(extended.get("Analytic Rule Ids"), []) if isinstance(extended, dict) else []
    if any(str(i).lower().rsplit("/", 1)[-1] == wanted for i in ids or []):
        return True
    return str(alert.get("AlertType") or "").lower().endswith("_" + wanted)


@dataclass(frozen=True)
class AccountSeen:
    """Which identifier of this account the alert's account entity carried, and in which field."""

    kind: str  # "upn" or "object id"
    field: str  # FullName, Name+UPNSuffix, Name, AadUserId, ObjectGuid
    value: str


def account_match(alert: dict[str, Any], upn: str, object_id: str) -> AccountSeen | None:
    """The account entity naming this account (by UPN or object id), or None."""
    wanted = {upn.lower(): "upn", object_id.lower(): "object id"}
    for entity in as_json(alert.get("Entities"), []) or []:
        if not isinstance(entity, dict) or str(entity.get("Type", "")).lower() != "account":
            continue
        candidates = [
            (f, str(entity[f])) for f in ("FullName", "AadUserId", "ObjectGuid", "Name") if entity.get(f)
        ]
        if entity.get("Name") and entity.get("UPNSuffix"):
            candidates.insert(0, ("Name+UPNSuffix", f"{entity['Name']}@{entity['UPNSuffix']}"))
        for field_name, value in candidates:
            if value.lower() in wanted:
                return AccountSeen(wanted[value.lower()], field_name, value)
    return None


def covers(alert: dict[str, Any], row_time: datetime) -> bool:
    """Whether the alert's StartTime..EndTime holds the sign-in row's TimeGenerated."""
    start, end = as_time(alert.get("StartTime")), as_time(alert.get("EndTime"))
    return start is not None and end is not None and start - SLACK <= row_time <= end + SLACK


@dataclass
class AlertSearch:
    """What the SecurityAlert rows said about this sign-in: the proving alert, or the closest miss."""

    found: dict[str, Any] | None = None
    seen: AccountSeen | None = None
    older: dict[str, Any] | None = None  # an alert of the rule for this account that does not cover the row
    others: int = 0  # alerts of the rule for other accounts


def search_alerts(
    alerts: list[dict[str, Any]], rule_name: str, upn: str, object_id: str, row_time: datetime
) -> AlertSearch:
    """The first alert of the rule naming this account whose window holds this sign-in's row."""
    out = AlertSearch()
    for alert in alerts:
        if not of_rule(alert, rule_name):
            continue
        seen = account_match(alert, upn, object_id)
        if seen is None:
            out.others += 1
            continue
        if covers(alert, row_time):
            out.found, out.seen = alert, seen
            return out
        out.older = alert
    return out


def latest_incidents(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """Each incident's rows, oldest first, by IncidentNumber."""
    out: dict[int, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: str(r.get("TimeGenerated") or "")):
        out.setdefault(int(row.get("IncidentNumber") or 0), []).append(row)
    return out


def incident_of(
    rows: list[dict[str, Any]], alert_id: str
) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """The incident holding the alert: its rows (oldest first) and the first row listing the alert."""
    for history in latest_incidents(rows).values():
        joined = next(
            (r for r in history if alert_id in [str(a) for a in as_json(r.get("AlertIds"), [])]), None
        )
        if joined is not None:
            return history, joined
    return None


def owner_text(owner: Any) -> str:
    data = as_json(owner, {}) or {}
    if not isinstance(data, dict):
        return str(data)
    return str(data.get("assignedTo") or data.get("userPrincipalName") or data.get("email") or "unassigned")
