"""Finding this sign-in's Sentinel alert among the Defender portal's incidents (Graph `/security/incidents`
with `$expand=alerts`): pure functions over plain dicts, no I/O.

Microsoft documents the Graph `alert` fields (providerAlertId: "the ID of the alert as it appears in the
security provider product"; detectorId; title; evidence with `userEvidence.userAccount`) but not which of
them carry a Sentinel SecurityAlert's SystemAlertId or its analytics rule's id: belief `defender-alert-link`
(drill/sim/DIFFERENCES.md). So every plausible link is accepted, strongest first, and the one that matched is
recorded; none matching is no proof:
1. `providerAlertId` is the SecurityAlert's SystemAlertId;
2. `detectorId` is the analytics rule's id, the alert's evidence names this account, created after the
   sign-in;
3. the alert's `title` is the rule's display name, its evidence names this account, created after the
   sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from drill.steps.sentinel_alerts import as_time

LINKS = ("providerAlertId", "detectorId", "title")  # strongest first
SLACK = timedelta(seconds=1)
OPEN = ("active", "inProgress", "awaitingAction")


@dataclass(frozen=True)
class Wanted:
    """What ties a Graph alert to this sign-in's Sentinel alert."""

    system_alert_id: str
    rule_id: str  # the analytics rule's resource name (a GUID)
    rule_title: str  # its display name
    upn: str
    object_id: str
    signed_in: datetime


@dataclass(frozen=True)
class DefenderMatch:
    incident: dict[str, Any]
    alert: dict[str, Any]
    link: str  # one of LINKS
    account_field: str | None  # the userAccount field naming this account (None for a providerAlertId link)


def names_account(alert: dict[str, Any], upn: str, object_id: str) -> str | None:
    """The userEvidence field naming this account (UPN or object id), or None."""
    wanted = {upn.lower(), object_id.lower()}
    for evidence in alert.get("evidence") or []:
        if "userEvidence" not in str(evidence.get("@odata.type") or ""):
            continue
        account = evidence.get("userAccount") or {}
        for key in ("userPrincipalName", "azureAdUserId"):
            if str(account.get(key) or "").lower() in wanted:
                return key
        name, domain = account.get("accountName"), account.get("domainName")
        if name and domain and f"{name}@{domain}".lower() in wanted:
            return "accountName+domainName"
    return None


def link_of(alert: dict[str, Any], want: Wanted) -> tuple[str, str | None] | None:
    """The strongest link tying this Graph alert to the Sentinel alert, and the account field it used."""
    if str(alert.get("providerAlertId") or "").lower() == want.system_alert_id.lower():
        return "providerAlertId", names_account(alert, want.upn, want.object_id)
    field = names_account(alert, want.upn, want.object_id)
    created = as_time(alert.get("createdDateTime"))
    if field is None or created is None or created < want.signed_in - SLACK:
        return None
    if str(alert.get("detectorId") or "").lower() == want.rule_id.lower():
        return "detectorId", field
    if want.rule_title and str(alert.get("title") or "") == want.rule_title:
        return "title", field
    return None


def find(incidents: list[dict[str, Any]], want: Wanted) -> DefenderMatch | None:
    """The incident holding this sign-in's alert, by the strongest link any alert has."""
    best: DefenderMatch | None = None
    for incident in incidents:
        for alert in incident.get("alerts") or []:
            tied = link_of(alert, want)
            if tied is None:
                continue
            match = DefenderMatch(incident, alert, tied[0], tied[1])
            if best is None or LINKS.index(match.link) < LINKS.index(best.link):
                best = match
    return best


def evidence(match: DefenderMatch) -> dict[str, Any]:
    inc, alert = match.incident, match.alert
    return {
        "graphIncidentId": inc.get("id"),
        "incidentWebUrl": inc.get("incidentWebUrl"),
        "status": inc.get("status"),
        "assignedTo": inc.get("assignedTo"),
        "createdDateTime": inc.get("createdDateTime"),
        "classification": inc.get("classification"),
        "link": match.link,
        "account_field": match.account_field,
        "graphAlertId": alert.get("id"),
        "providerAlertId": alert.get("providerAlertId"),
        "detectorId": alert.get("detectorId"),
        "alertTitle": alert.get("title"),
    }
