"""The incident step's wait: poll SecurityAlert and SecurityIncident until this sign-in's alert, and (when
the playbook requires one) the incident holding it, are there and the incident has settled.

Settling is judged on the workspace's own clock (`print now()`), so a sped-up simulator and a skewed
workstation agree on it: an automation rule that closes incidents on creation has had its time to act.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from drill.steps.context import DrillContext
from drill.steps.log_rows import result_rows
from drill.steps.sentinel_alerts import (
    AlertSearch,
    alerts_query,
    as_time,
    incident_of,
    incidents_query,
    search_alerts,
)

SETTLE_S = 60.0  # tenant seconds an incident is left to its automation rules before its state is judged
# How far back an older alert (folded events) or a grouped incident is looked for.
LOOKBACK = timedelta(days=1)


@dataclass
class SentinelWait:
    ctx: DrillContext
    run: Any
    rule: dict[str, Any]
    row_time: datetime
    signed_in: datetime
    search: AlertSearch = field(default_factory=AlertSearch)
    incident: tuple[list[dict[str, Any]], dict[str, Any]] | None = None

    @property
    def rule_name(self) -> str:
        return str(self.rule.get("name") or "")

    def query(self, kql: str) -> list[dict[str, Any]]:
        from azure.monitor.query import LogsQueryStatus

        result = self.run(kql)
        if result.status == LogsQueryStatus.FAILURE:
            raise RuntimeError(f"query failed: {getattr(result, 'error', '')}")
        return result_rows(result)

    async def probe(self) -> bool | None:
        """True once the proof is complete (alert, and the settled incident when one is required)."""
        acct = self.ctx.account
        if self.search.found is None:
            alerts = await asyncio.to_thread(self.query, alerts_query(self.signed_in - LOOKBACK))
            self.search = search_alerts(
                alerts, self.rule_name, str(acct.upn), str(acct.object_id), self.row_time
            )
            if self.search.found is None:
                return None
        watch = self.ctx.playbook.sentinel
        if watch is None or watch.require == "alert":
            return True
        alert_id = str(self.search.found["SystemAlertId"])
        rows = await asyncio.to_thread(self.query, incidents_query(self.signed_in - LOOKBACK))
        self.incident = incident_of(rows, alert_id)
        if self.incident is None:
            return None
        joined_at = as_time(self.incident[1].get("TimeGenerated")) or self.signed_in
        # The workspace's own clock (a sped-up simulator's too), not ours shifted by the measured skew.
        now = await asyncio.to_thread(self.query, "print Now = now()")
        service_now = as_time(now[0].get("Now")) if now else None
        settled = service_now is not None and service_now >= joined_at + timedelta(seconds=SETTLE_S)
        return True if settled else None
