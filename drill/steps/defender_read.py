"""The incident step's Defender-portal read: with the workspace onboarded to the Microsoft Defender portal
(`sentinel.defender_onboarded`), the Sentinel incident is also read where the SOC now works it, through
Microsoft Graph's `/security/incidents?$expand=alerts` as the observer (SecurityIncident.Read.All), and the
verdict needs the Graph incident holding this sign-in's alert, open.

Microsoft documents the incident's id, incidentWebUrl, status, assignedTo and createdDateTime, the alerts
relationship under `$expand`, `$filter` on createdDateTime and paging by `@odata.nextLink` (List incidents,
v1.0). How long the portal takes to show a Sentinel incident is not documented: it is waited for until the
SLA or until the workspace's clock is SYNC_S past the Sentinel incident's creation (BELIEF).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from drill.isotime import utc_z
from drill.steps.base import StepBuilder
from drill.steps.context import DrillContext
from drill.steps.defender_match import OPEN, DefenderMatch, Wanted, evidence, find
from drill.steps.sentinel_alerts import as_time
from drill.steps.sentinel_wait import LOOKBACK, SentinelWait
from drill.steps.waiting import ServiceRefused, poll

SYNC_S = 600.0  # BELIEF: tenant seconds the Defender portal is given to show a Sentinel incident
MAX_PAGES = 20
MAX_REDIRECTS = 3
TITLE = "The Defender portal (Graph /security/incidents) shows the incident, open"
GRANT = (
    "grant the observer app the Microsoft Graph application permission SecurityIncident.Read.All and "
    "admin-consent it (docs/PERMISSIONS.md)"
)


def _plain(value: Any) -> Any:
    """An msgraph-sdk model as the JSON Graph sent (the fields this read uses), enums as their values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "get_field_deserializers"):
        out: dict[str, Any] = {"@odata.type": getattr(value, "odata_type", None)}
        for name in value.get_field_deserializers():
            attr = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("@").replace(".", "_")
            if hasattr(value, attr):
                out[name] = _plain(getattr(value, attr))
        return out
    return value


@dataclass
class DefenderRead:
    wait: SentinelWait
    client: Any
    want: Wanted
    listed: int = 0
    found: DefenderMatch | None = None
    gave_up: bool = field(default=False)

    async def _pages(self, since: datetime) -> list[dict[str, Any]]:
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.security.incidents.incidents_request_builder import IncidentsRequestBuilder

        query = IncidentsRequestBuilder.IncidentsRequestBuilderGetQueryParameters(
            filter=f"createdDateTime ge {utc_z(since)}", expand=["alerts"], top=50
        )
        builder = self.client.security.incidents
        counters = self.wait.ctx.counters
        counters["graph_requests"] += 1
        resp = await builder.get(request_configuration=RequestConfiguration(query_parameters=query))
        out = [_plain(i) for i in (resp.value if resp else None) or []]
        for _ in range(MAX_PAGES - 1):
            link = getattr(resp, "odata_next_link", None)
            if not link:
                break
            counters["graph_requests"] += 1
            resp = await builder.with_url(link).get()
            out.extend(_plain(i) for i in (resp.value if resp else None) or [])
        return out

    async def _one(self, incident_id: str) -> dict[str, Any] | None:
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from msgraph.generated.security.incidents.item.incident_item_request_builder import (
            IncidentItemRequestBuilder,
        )

        query = IncidentItemRequestBuilder.IncidentItemRequestBuilderGetQueryParameters(expand=["alerts"])
        self.wait.ctx.counters["graph_requests"] += 1
        got = await self.client.security.incidents.by_incident_id(incident_id).get(
            request_configuration=RequestConfiguration(query_parameters=query)
        )
        return _plain(got) if got is not None else None

    async def probe(self) -> bool | None:
        """True once found (or given up on: the portal had its time); None to ask again."""
        incidents = await self._pages(self.want.signed_in - LOOKBACK)
        self.listed = len(incidents)
        self.found = find(incidents, self.want)
        if self.found is not None:
            await self._follow_redirects()
            return True
        assert self.wait.incident is not None
        created = as_time(self.wait.incident[0][-1].get("CreatedTime")) or self.want.signed_in
        now = await asyncio.to_thread(self.wait.query, "print Now = now()")
        service_now = as_time(now[0].get("Now")) if now else None
        self.gave_up = service_now is not None and service_now >= created + timedelta(seconds=SYNC_S)
        return True if self.gave_up else None

    async def _follow_redirects(self) -> None:
        """A merged incident says `redirected` and names the one it went into: that one is judged."""
        assert self.found is not None
        for _ in range(MAX_REDIRECTS):
            target = self.found.incident.get("redirectIncidentId")
            if self.found.incident.get("status") != "redirected" or not target:
                return
            merged = await self._one(str(target))
            if merged is None:
                return
            self.found = DefenderMatch(merged, self.found.alert, self.found.link, self.found.account_field)


def wanted(ctx: DrillContext, wait: SentinelWait) -> Wanted:
    alert = wait.search.found or {}
    props = wait.rule.get("properties") or {}
    return Wanted(
        system_alert_id=str(alert.get("SystemAlertId") or ""),
        rule_id=wait.rule_name,
        rule_title=str(props.get("displayName") or alert.get("AlertName") or ""),
        upn=str(ctx.account.upn),
        object_id=str(ctx.account.object_id),
        signed_in=wait.signed_in,
    )


async def check_defender(ctx: DrillContext, sb: StepBuilder, wait: SentinelWait, budget_s: float) -> None:
    """Wait (at most `budget_s`) for the Graph incident holding this sign-in's alert, and judge it."""
    from drill.clients import graph_client, graph_scopes

    assert ctx.observer is not None
    client = graph_client(ctx.observer, ctx.cloud, graph_scopes(ctx.cloud, (".default",)))
    read = DefenderRead(wait, client, wanted(ctx, wait))
    try:
        outcome = await poll(read.probe, budget_s)
    except ServiceRefused as exc:
        fix = GRANT if exc.status in (401, 403) else "check the observer's Graph access"
        why = f"Microsoft Graph refused /security/incidents (HTTP {exc.status}): {exc.message}; {fix}"
        sb.check("defender_incident", TITLE, False, why)
        return
    if read.found is None:
        waited = f"after {outcome.waited_s:.0f}s" + (
            " and the portal's sync allowance" if read.gave_up else ""
        )
        sb.check("defender_incident", TITLE, False, _missing(read, waited), {"incidents_listed": read.listed})
        return
    _judge(sb, read.found)


def _missing(read: DefenderRead, waited: str) -> str:
    want = read.want
    return (
        f"none of the {read.listed} incidents Graph /security/incidents lists since "
        f"{utc_z(want.signed_in - LOOKBACK)} holds alert {want.system_alert_id} of {want.rule_title!r} "
        f"{waited} (looked for by providerAlertId, detectorId and title with this account): connect the "
        "workspace to the Microsoft Defender portal (Defender portal > System > Settings > Microsoft "
        "Sentinel > Workspaces), or set sentinel.defender_onboarded: false if the SOC works incidents in "
        "Sentinel"
    )


def _judge(sb: StepBuilder, match: DefenderMatch) -> None:
    inc = match.incident
    facts = evidence(match)
    status = str(inc.get("status") or "")
    where = f"incident {inc.get('id')} ({inc.get('incidentWebUrl')})"
    tie = f"holds alert {match.alert.get('id')} (linked by {match.link})"
    if status in OPEN:
        owner = inc.get("assignedTo") or "unassigned"
        sb.check("defender_incident", TITLE, True,
                 f"{where} {tie}: {status}, assigned to {owner}, created {inc.get('createdDateTime')}",
                 facts)  # fmt: skip
        return
    fix = (
        "it was resolved in the Defender portal: find who or what resolves break-glass incidents there "
        "(an automation rule or an alert tuning rule) and exclude the break-glass rule"
        if status == "resolved"
        else "the portal gives it no open state: look at it in the portal"
    )
    sb.check(
        "defender_incident", TITLE, False, f"{where} {tie} is {status or 'without a status'}: {fix}", facts
    )
