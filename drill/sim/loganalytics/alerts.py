"""Scheduled log search alert rules and their action groups, on the simulator clock.

Each enabled rule runs its query every `evaluationFrequency` over the last `windowSize`, compares the row
count with its threshold, and when it fires (and is not muted) mails every email receiver of its action
groups from azure-noreply@microsoft.com, with the rule's custom subject or the common-alert-schema one.
Rules Azure would refuse (a one-minute rule using union, search, take or ingestion_time()) sit in an
error state visible at /_sim/alerts instead of silently working.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from drill.sim.loganalytics.isotime import parse_duration
from drill.sim.loganalytics.schema import iso
from drill.sim.loganalytics.store import QueryError
from drill.sim.state import Fault, SimState

ALERTS_PREFIX = "/subscriptions/sim/providers/Microsoft.AlertsManagement/alerts"
SENDER, SENDER_NAME = "azure-noreply@microsoft.com", "Microsoft Azure"
_ONE_MINUTE_FORBIDDEN = re.compile(r"(^|[^\w])(search|union|take|ingestion_time\s*\()", re.IGNORECASE)
_OPERATORS = {
    "GreaterThan": lambda n, v: n > v,
    "GreaterThanOrEqual": lambda n, v: n >= v,
    "LessThan": lambda n, v: n < v,
    "LessThanOrEqual": lambda n, v: n <= v,
    "Equal": lambda n, v: n == v,
}


def _strip_comments(kql: str) -> str:
    return "\n".join(line.split("//", 1)[0] for line in kql.splitlines())


@dataclass
class RuleState:
    name: str
    next_run: datetime
    muted_until: datetime | None = None
    error: str | None = None
    evaluations: int = 0
    fired: list[dict[str, Any]] = field(default_factory=list)


def rule_query(state: SimState, rule: dict[str, Any]) -> str:
    if rule.get("query"):
        return str(rule["query"])
    source = state.tenant.source
    path = Path(str(rule["queryFile"]))
    if not path.is_absolute() and source is not None:
        path = source.parent / path
    return path.read_text(encoding="utf-8")


def validate(rule: dict[str, Any], query: str) -> str | None:
    """Why Azure would refuse this rule, or None."""
    try:
        freq = parse_duration(str(rule.get("evaluationFrequency", "PT5M")))
        parse_duration(str(rule.get("windowSize", "PT5M")))
    except ValueError as exc:
        return str(exc)
    if not timedelta(minutes=1) <= freq <= timedelta(hours=24):
        return "evaluationFrequency must be between 1 minute and 24 hours"
    if freq == timedelta(minutes=1) and _ONE_MINUTE_FORBIDDEN.search(_strip_comments(query)):
        return "a rule evaluated every minute cannot use search, union, take or ingestion_time()"
    if str((rule.get("threshold") or {}).get("operator", "GreaterThan")) not in _OPERATORS:
        return f"unknown threshold operator {rule['threshold'].get('operator')!r}"
    return None


class AlertEngine:
    def __init__(self, state: SimState) -> None:
        self.state = state
        start = state.clock.now()
        self.rules: dict[str, RuleState] = {}
        for rule in state.tenant.alertRules:
            freq = _freq(rule)
            self.rules[rule["name"]] = RuleState(rule["name"], start + freq)

    def tick(self) -> None:
        now = self.state.clock.now()
        for rule in self.state.tenant.alertRules:
            rs = self.rules.setdefault(rule["name"], RuleState(rule["name"], now + _freq(rule)))
            while rule.get("enabled", True) and rs.next_run <= now:
                at = rs.next_run
                rs.next_run = at + _freq(rule)
                self.evaluate(rule, rs, at)

    def evaluate(self, rule: dict[str, Any], rs: RuleState, at: datetime) -> None:
        from drill.sim.loganalytics.workspace import workspace

        rs.evaluations += 1
        try:
            query = rule_query(self.state, rule)
        except OSError as exc:
            rs.error = f"cannot read the query: {exc}"
            return
        rs.error = validate(rule, query)
        if rs.error:
            return
        window = (at - parse_duration(str(rule.get("windowSize", "PT5M"))), at)
        try:
            columns, rows, _cut = workspace(self.state).store.query(query, at, window)
        except QueryError as exc:
            rs.error = f"{exc.kind}: {str(exc).splitlines()[0][:300]}"
            return
        threshold = rule.get("threshold") or {}
        if not _OPERATORS[str(threshold.get("operator", "GreaterThan"))](
            len(rows), float(threshold.get("value", 0))
        ):
            return
        if rs.muted_until is not None and at < rs.muted_until:
            return
        mute = rule.get("muteActionsDuration")
        if mute:
            rs.muted_until = at + parse_duration(str(mute))
        self.fire(rule, rs, at, columns, rows)

    def fire(self, rule: dict[str, Any], rs: RuleState, at: datetime, columns: list[dict[str, str]],
             rows: list[list[Any]]) -> None:  # fmt: skip
        workspace_name = str(self.state.tenant.workspace.get("name", "workspace"))
        severity = int(rule.get("severity", 3))
        subject = rule.get("customEmailSubject") or (
            f"Fired:Sev{severity} Azure Monitor Alert {rule['name']} on {workspace_name} "
            f"( microsoft.operationalinsights/workspaces ) at {at.strftime('%m/%d/%Y %I:%M:%S %p')}"
        )
        first = dict(zip([c["name"] for c in columns], rows[0], strict=False)) if rows else {}
        summary = ", ".join(f"{k}={v}" for k, v in list(first.items())[:6])
        payload = {
            "schemaId": "azureMonitorCommonAlertSchema",
            "data": {
                "essentials": {
                    "alertId": f"{ALERTS_PREFIX}/{uuid.uuid4()}",
                    "alertRule": rule["name"],
                    "severity": f"Sev{severity}",
                    "signalType": "Log",
                    "monitorCondition": "Fired",
                    "monitoringService": "Log Alerts V2",
                    "firedDateTime": iso(at),
                    "description": rule.get("description", ""),
                    "essentialsVersion": "1.0",
                    "alertContextVersion": "1.0",
                },
                "alertContext": {
                    "properties": None,
                    "conditionType": "LogQueryCriteria",
                    "condition": {
                        "windowSize": rule.get("windowSize"),
                        "allOf": [
                            {
                                "searchQuery": rule_query(self.state, rule)[:2000],
                                "timeAggregation": "Count",
                                "operator": (rule.get("threshold") or {}).get("operator", "GreaterThan"),
                                "threshold": str((rule.get("threshold") or {}).get("value", 0)),
                                "metricValue": len(rows),
                            }
                        ],
                        "windowStartTime": iso(at - parse_duration(str(rule.get("windowSize", "PT5M")))),
                        "windowEndTime": iso(at),
                    },
                },
            },
        }
        body = (
            f"Alert rule: {rule['name']} | Severity: Sev{severity} | Results: {len(rows)} | "
            f"First result: {summary}\n\n" + json.dumps(payload, indent=2, default=str)
        )
        sent = []
        dropped = self.state.fault("mail-dropped") is not None
        for receiver in self._receivers(rule):
            if dropped:
                self.state.mail.dropped.append({"to": receiver, "subject": subject, "at": iso(at),
                                                "reason": "delivery dropped (fault)"})  # fmt: skip
                continue
            if self.state.mail.deliver(to=receiver, subject=subject, body=body, sender=SENDER,
                                       sender_name=SENDER_NAME, received=at) is not None:  # fmt: skip
                sent.append(receiver)
        rs.fired.append({"at": iso(at), "results": len(rows), "subject": subject, "sentTo": sent})

    def _receivers(self, rule: dict[str, Any]) -> list[str]:
        out = []
        for name in rule.get("actionGroups") or []:
            group = next((g for g in self.state.tenant.actionGroups if g.get("name") == name), None)
            for receiver in (group or {}).get("emailReceivers") or []:
                out.append(str(receiver["emailAddress"]))
        return out

    def status(self) -> list[dict[str, Any]]:
        out = []
        for rule in self.state.tenant.alertRules:
            rs = self.rules.get(rule["name"])
            out.append({
                "name": rule["name"],
                "enabled": bool(rule.get("enabled", True)),
                "evaluationFrequency": rule.get("evaluationFrequency"),
                "nextEvaluation": iso(rs.next_run) if rs else None,
                "evaluations": rs.evaluations if rs else 0,
                "mutedUntil": iso(rs.muted_until) if rs and rs.muted_until else None,
                "error": rs.error if rs else None,
                "fired": rs.fired if rs else [],
            })  # fmt: skip
        return out


def _freq(rule: dict[str, Any]) -> timedelta:
    try:
        return max(parse_duration(str(rule.get("evaluationFrequency", "PT5M"))), timedelta(minutes=1))
    except ValueError:
        return timedelta(minutes=5)


def install(state: SimState) -> list[BaseRoute]:
    engine = AlertEngine(state)
    state.services["alerts"] = engine
    state.tickers.append(engine.tick)

    async def alerts(request: Request) -> JSONResponse:
        return JSONResponse({"rules": engine.status(), "now": iso(state.clock.now())})

    return [Route("/_sim/alerts", alerts)]


def _rules(state: SimState) -> list[dict[str, Any]]:
    return [r for r in state.tenant.alertRules if r.get("enabled", True)]


def _disable(state: SimState) -> None:
    for rule in state.tenant.alertRules:
        rule["enabled"] = False


def _mute(state: SimState) -> None:
    engine: AlertEngine = state.services["alerts"]
    for rule in state.tenant.alertRules:
        rule["muteActionsDuration"] = "P1D"
        engine.rules[rule["name"]].muted_until = state.clock.now() + timedelta(days=1)


def _wrong_query(state: SimState) -> None:
    upns = [
        u["userPrincipalName"]
        for u in state.tenant.users
        if str(u.get("displayName", "")).startswith("Emergency")
    ]
    names = ", ".join(f'"{u}"' for u in upns)
    for rule in _rules(state):
        rule.pop("queryFile", None)
        rule["query"] = (
            f"SigninLogs\n| where UserPrincipalName in ({names})\n| project TimeGenerated, UserPrincipalName"
        )


def _too_slow(state: SimState) -> None:
    engine: AlertEngine = state.services["alerts"]
    for rule in state.tenant.alertRules:
        rule["evaluationFrequency"] = "PT24H"
        engine.rules[rule["name"]].next_run = state.clock.now() + timedelta(hours=24)


def _no_mailbox(state: SimState) -> None:
    for group in state.tenant.actionGroups:
        group["emailReceivers"] = []


def _drop_mail(state: SimState) -> None:
    state.faults["mail-dropped"] = {}


FAULTS = [
    Fault("alert-disabled", "alert", "the break-glass alert rules are disabled", _disable),
    Fault("alert-muted", "alert", "the alert rules' actions are muted for a day (fired earlier)", _mute),
    Fault("alert-wrong-query", "alert", "rules match UserPrincipalName (passkey rows carry the object id)",
          _wrong_query),
    Fault("alert-frequency-too-slow", "alert", "the rules run once a day (PT24H)", _too_slow),
    Fault("action-group-no-mailbox", "mail", "the action group has no email receiver", _no_mailbox),
    Fault("mail-dropped", "mail", "alert mail is accepted but never delivered", _drop_mail),
]  # fmt: skip
