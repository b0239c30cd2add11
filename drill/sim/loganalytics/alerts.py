"""Scheduled log search alert rules and their action groups, on the simulator clock, as Azure runs them.

Each enabled rule runs its query every `evaluationFrequency` over the window `[at - windowSize, at]` of
TimeGenerated, seeing only rows that have *arrived* by then; a window whose condition was not met is
evaluated once more `alertEvaluationRetrySeconds` later (Azure "retries the alert evaluation multiple
times to mitigate latency"; the count and span are not documented: BELIEF), so a row slower than the
window plus that retry is never seen by the rule. Rules split by `dimensions` fire one alert per
dimension value. With `autoMitigate` the alert is stateful: one Fired notification, nothing more while
the condition holds, and a Resolved one once it has not been met for the documented time (1-minute
rules: 10 minutes; 5 to 15 minutes: three periods; up to 11 hours: two; longer: one). Notifications mail
every email receiver of the rule's action groups from one of Azure's three sender addresses, as HTML in
Azure's layout carrying the common alert schema's essentials. Rules Azure would refuse (a one-minute
rule using union, search, take or ingestion_time()) sit in an error state visible at /_sim/alerts.
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from drill.sim.arm import ids
from drill.sim.beliefs import form
from drill.sim.loganalytics.isotime import parse_duration
from drill.sim.loganalytics.schema import iso
from drill.sim.loganalytics.store import QueryError
from drill.sim.mail.alert_mail import render_mail
from drill.sim.state import Fault, SignInEvent, SimState

# Azure's action groups send email from these three addresses (action-groups.md, "Email").
SENDERS = (
    "azure-noreply@microsoft.com",
    "azureemail-noreply@microsoft.com",
    "alerts-noreply@mail.windowsazure.com",
)
SENDER, SENDER_NAME = SENDERS[0], "Microsoft Azure"
DEFAULT_RETRY_S = 120.0  # BELIEF: Azure documents retries, not their span
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
class AlertInstance:
    """One stateful alert (a rule, or one dimension combination of a split rule) while it is Fired."""

    alert_id: str
    fired_at: datetime
    last_met: datetime
    window: tuple[datetime, datetime]
    dimensions: list[dict[str, str]]


@dataclass
class RuleState:
    name: str
    next_run: datetime
    muted_until: datetime | None = None
    error: str | None = None
    evaluations: int = 0
    fired: list[dict[str, Any]] = field(default_factory=list)
    # windows whose condition was not met, to evaluate once more at the datetime given
    retries: list[tuple[datetime, tuple[datetime, datetime]]] = field(default_factory=list)
    # stateful alerts in the Fired condition, by dimension key ("" for an unsplit rule)
    open: dict[str, AlertInstance] = field(default_factory=dict)
    last_notified: datetime | None = None
    # Alert instances as Microsoft.AlertsManagement lists them (drill/sim/arm/alerts.py), by alert id:
    # {alertId, firedAt, resolvedAt, window, dimensions, metricValue, condition}
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)


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


def resolve_after(freq: timedelta) -> timedelta:
    """How long a stateful log alert's condition must stay unmet before it resolves (alerts-types.md)."""
    if freq <= timedelta(minutes=1):
        return timedelta(minutes=10)
    if freq <= timedelta(minutes=15):
        return 3 * freq
    if freq <= timedelta(hours=11):
        return 2 * freq
    return freq


def retry_after(state: SimState) -> timedelta:
    return timedelta(
        seconds=float(state.tenant.workspace.get("alertEvaluationRetrySeconds", DEFAULT_RETRY_S))
    )


def longest_reach(state: SimState) -> float:
    """Seconds after its TimeGenerated a row can still arrive and be seen by some rule: window + retry."""
    windows = [_window(rule) for rule in state.tenant.alertRules] or [timedelta(minutes=5)]
    return (max(windows) + retry_after(state)).total_seconds()


def sender_for(rule: dict[str, Any]) -> str:
    """Which of Azure's three addresses sends this rule's mail (fixed per rule; `emailSender` overrides)."""
    if rule.get("emailSender"):
        return str(rule["emailSender"])
    digest = hashlib.sha256(str(rule.get("name", "")).encode()).digest()
    return SENDERS[digest[0] % len(SENDERS)]


class AlertEngine:
    def __init__(self, state: SimState) -> None:
        self.state = state
        start = state.clock.now()
        self.rules: dict[str, RuleState] = {}
        # The server's ticker thread and a test's explicit tick must not evaluate the same rule at once.
        self._lock = threading.RLock()
        for rule in state.tenant.alertRules:
            freq = frequency(rule)
            self.rules[rule["name"]] = RuleState(rule["name"], start + freq)

    def tick(self) -> None:
        with self._lock:
            self._tick()

    def _tick(self) -> None:
        now = self.state.clock.now()
        for rule in self.state.tenant.alertRules:
            rs = self.rules.setdefault(rule["name"], RuleState(rule["name"], now + frequency(rule)))
            while rule.get("enabled", True) and not self.state.stopping.is_set():
                due_retry = min((r for r in rs.retries if r[0] <= now), default=None, key=lambda r: r[0])
                if due_retry is not None and due_retry[0] <= rs.next_run:
                    rs.retries.remove(due_retry)
                    # A later evaluation already notified over these rows: the retry adds nothing.
                    if rs.last_notified is None or rs.last_notified < due_retry[1][1]:
                        self.evaluate(rule, rs, due_retry[0], window=due_retry[1], retry=True)
                    continue
                if rs.next_run > now:
                    break
                at = rs.next_run
                rs.next_run = at + frequency(rule)
                self.evaluate(rule, rs, at)

    def evaluate(
        self,
        rule: dict[str, Any],
        rs: RuleState,
        at: datetime,
        *,
        window: tuple[datetime, datetime] | None = None,
        retry: bool = False,
    ) -> None:
        """One evaluation at `at` over `window` (default: the window ending now), rows arrived by `at`."""
        with self._lock:
            self._evaluate(rule, rs, at, window=window, retry=retry)

    def _evaluate(
        self,
        rule: dict[str, Any],
        rs: RuleState,
        at: datetime,
        *,
        window: tuple[datetime, datetime] | None = None,
        retry: bool = False,
    ) -> None:
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
        window = window or (at - _window(rule), at)
        try:
            columns, rows, _cut = workspace(self.state).store.query(query, at, window)
        except QueryError as exc:
            rs.error = f"{exc.kind}: {str(exc).splitlines()[0][:300]}"
            return
        if not watches_home(self.state, rule):
            rows = []  # the rule queries another workspace: none of this tenant's Entra rows are there
        names = [c["name"] for c in columns]
        dims = [str(d) for d in rule.get("dimensions") or []]
        groups: dict[str, list[list[Any]]] = {}
        for row in rows:
            record = dict(zip(names, row, strict=False))
            key = "|".join(f"{d}={record.get(d)}" for d in dims)
            groups.setdefault(key, []).append(row)
        if not dims:
            groups = {"": rows}
        threshold = rule.get("threshold") or {}
        met = {
            key: grouped
            for key, grouped in groups.items()
            if _OPERATORS[str(threshold.get("operator", "GreaterThan"))](
                len(grouped), float(threshold.get("value", 0))
            )
        }
        if not met and not retry and retry_after(self.state) > timedelta(0):
            rs.retries.append((at + retry_after(self.state), window))
        stateful = bool(rule.get("autoMitigate"))
        for key, grouped in met.items():
            dimensions = [{"name": part.split("=", 1)[0], "value": part.split("=", 1)[1]}
                          for part in key.split("|") if part]  # fmt: skip
            if stateful:
                open_alert = rs.open.get(key)
                if open_alert is not None:
                    open_alert.last_met = max(open_alert.last_met, at)
                    continue
                rs.open[key] = AlertInstance(_new_alert_id(self.state), at, at, window, dimensions)
            if rs.muted_until is not None and at < rs.muted_until:
                continue
            mute = rule.get("muteActionsDuration")
            if mute:
                rs.muted_until = at + parse_duration(str(mute))
            alert_id = rs.open[key].alert_id if stateful else _new_alert_id(self.state)
            self.notify(rule, rs, at, "Fired", window, dimensions, columns, grouped, alert_id)
        if stateful and not retry:
            wait = resolve_after(frequency(rule))
            for key, open_alert in list(rs.open.items()):
                if key not in met and at - open_alert.last_met >= wait:
                    del rs.open[key]
                    self.notify(rule, rs, at, "Resolved", window, open_alert.dimensions, columns, [],
                                open_alert.alert_id, fired_at=open_alert.fired_at)  # fmt: skip

    def notify(self, rule: dict[str, Any], rs: RuleState, at: datetime, condition: str,
               window: tuple[datetime, datetime], dimensions: list[dict[str, str]],
               columns: list[dict[str, str]], rows: list[list[Any]], alert_id: str,
               fired_at: datetime | None = None) -> None:  # fmt: skip
        """Mail one notification (Fired or Resolved) to the rule's action groups."""
        workspace_name = str(self.state.tenant.workspace.get("name", "workspace"))
        severity = int(rule.get("severity", 3))
        # A custom subject is the same text for Fired and Resolved mails (no monitorCondition in it).
        subject = rule.get("customEmailSubject") or (
            f"{condition}:Sev{severity} Azure Monitor Alert {rule['name']} on {workspace_name} "
            f"( microsoft.operationalinsights/workspaces ) at {at.strftime('%m/%d/%Y %I:%M:%S %p')}"
        )
        essentials = {
            "alertId": alert_id,
            "alertRule": rule["name"],
            "severity": f"Sev{severity}",
            "signalType": "Log",
            "monitorCondition": condition,
            "monitoringService": "Log Alerts V2",
            "alertTargetIDs": [ids.workspace_id(self.state).lower()],
            "firedDateTime": iso(fired_at or at),
            "resolvedDateTime": iso(at) if condition == "Resolved" else None,
            "description": rule.get("description", ""),
        }
        link = _search_link(self.state, rule, window)
        condition_ctx = {
            "windowSize": rule.get("windowSize"),
            "windowStartTime": iso(window[0]),
            "windowEndTime": iso(window[1]),
            "searchQuery": rule_query(self.state, rule)[:2000],
            "operator": (rule.get("threshold") or {}).get("operator", "GreaterThan"),
            "threshold": str((rule.get("threshold") or {}).get("value", 0)),
            "metricValue": len(rows),
            "dimensions": dimensions,
            "linkToSearchResultsUI": link,
            "linkToFilteredSearchResultsUI": link,
        }
        body = render_mail(form(self.state, "alert-mail-template"), essentials, condition_ctx, columns, rows)
        sent = []
        dropped = self.state.fault("mail-dropped") is not None
        sender = sender_for(rule)
        for receiver in self._receivers(rule):
            if dropped:
                self.state.mail.dropped.append({"to": receiver, "subject": subject, "at": iso(at),
                                                "reason": "delivery dropped (fault)"})  # fmt: skip
                continue
            if self.state.mail.deliver(to=receiver, subject=subject, body=body, sender=sender,
                                       sender_name=SENDER_NAME, received=at,
                                       content_type="html") is not None:  # fmt: skip
                sent.append(receiver)
        rs.last_notified = at
        instance = rs.instances.setdefault(alert_id, {"alertId": alert_id, "firedAt": fired_at or at,
                                                      "window": window, "dimensions": dimensions,
                                                      "metricValue": len(rows)})  # fmt: skip
        instance["condition"] = condition
        if condition == "Resolved":
            instance["resolvedAt"] = at
        rs.fired.append({"at": iso(at), "condition": condition, "results": len(rows), "subject": subject,
                         "sentTo": sent, "window": [iso(window[0]), iso(window[1])],
                         "dimensions": dimensions})  # fmt: skip

    def _receivers(self, rule: dict[str, Any]) -> list[str]:
        out = []
        for name in rule.get("actionGroups") or []:
            group = next((g for g in self.state.tenant.actionGroups if g.get("name") == name), None)
            # "If an action group is not enabled, then none of its receivers will receive communications";
            # a receiver whose status is Disabled is not mailed either (BELIEF: drill/sim/arm/README.md).
            if group is None or not group.get("enabled", True):
                continue
            for receiver in group.get("emailReceivers") or []:
                if str(receiver.get("status", "Enabled")) == "Enabled":
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
                "openAlerts": sorted(rs.open) if rs else [],
            })  # fmt: skip
        return out


def _new_alert_id(state: SimState) -> str:
    return ids.alert_id(state, str(uuid.uuid4()))


def _search_link(state: SimState, rule: dict[str, Any], window: tuple[datetime, datetime]) -> str:
    """The portal's "view search results" link, the window as its timespan (shape of the docs' sample)."""
    span = quote(f"{iso(window[0])}/{iso(window[1])}", safe="")
    workspace_name = str(state.tenant.workspace.get("name", "workspace"))
    return (
        f"https://portal.azure.com#@{state.tenant.id}/blade/Microsoft_Azure_Monitoring_Logs/LogsBlade/source/"
        f"Alerts.EmailLinks/scope/{quote(workspace_name, safe='')}/q/{quote(rule['name'], safe='')}"
        f"/prettify/1/timespan/{span}"
    )


def watches_home(state: SimState, rule: dict[str, Any]) -> bool:
    """Whether the rule's scopes (the workspace by default) name the simulated workspace. Another workspace
    holds none of this tenant's rows; a resource group or subscription scope would run resource-centric
    queries, which the simulator does not imitate (DIFFERENCES.md, issue 26): it sees nothing either."""
    home = ids.workspace_id(state).lower().rstrip("/")
    return home in {str(x).lower().rstrip("/") for x in rule.get("scopes") or [home]}


def _window(rule: dict[str, Any]) -> timedelta:
    try:
        return parse_duration(str(rule.get("windowSize", "PT5M")))
    except ValueError:
        return timedelta(minutes=5)


def frequency(rule: dict[str, Any]) -> timedelta:
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


def _prior_activity(state: SimState, seconds_ago: float) -> None:
    """Rules auto-resolve, and a rehearsal sign-in of the first break-glass account `seconds_ago` fired them.

    The earlier sign-in is logged and every rule evaluated at once, so the Fired mails land before the
    drill starts and the alerts stay Fired through the drill's own row (no new notification).
    """
    engine: AlertEngine = state.services["alerts"]
    now = state.clock.now()
    for rule in state.tenant.alertRules:
        rule["autoMitigate"] = True
    log_rehearsal_signin(state, seconds_ago)
    for rule in _rules(state):
        engine.evaluate(rule, engine.rules[rule["name"]], now)


def log_rehearsal_signin(state: SimState, seconds_ago: float) -> SignInEvent:
    """A passkey sign-in of the first break-glass account to the Azure portal `seconds_ago`, its SigninLogs
    row ingested five seconds later (the alert and Sentinel faults that need earlier activity start here)."""
    from drill.sim.loganalytics.workspace import workspace

    user = _break_glass(state)[0]
    earlier = SignInEvent(
        created=state.clock.now() - timedelta(seconds=seconds_ago),
        user_id=user["id"],
        user_principal_name=str(user.get("userPrincipalName", "")),
        user_display_name=str(user.get("displayName", "")),
        app_id="c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        app_display_name="Azure Portal",
        result_type="0",
        authentication_details=[{"authenticationMethod": "Passkey (device-bound)", "succeeded": True}],
    )
    workspace(state).store.insert("SigninLogs", _row(state, earlier), earlier.created + timedelta(seconds=5))
    return earlier


def _row(state: SimState, event: SignInEvent) -> dict[str, Any]:
    from drill.sim.loganalytics.schema import signin_row

    return signin_row(event, state.tenant.id, event.created)


def _break_glass(state: SimState) -> list[dict[str, Any]]:
    return [u for u in state.tenant.users if str(u.get("displayName", "")).startswith("Emergency")]


def _already_fired(state: SimState) -> None:
    _prior_activity(state, 120)


def _later_than_window(state: SimState) -> None:
    """Ingestion slower than every rule's window plus Azure's evaluation retry (the workspace applies it)."""
    state.faults["ingestion-later-than-window"] = {"seconds": longest_reach(state) + 120}


def _resolved_only(state: SimState) -> None:
    # Longer ago, so the rehearsal's alert resolves while the drill waits; the drill's own row arrives
    # too late for any window (ingestion slower than the rules reach), so nothing fires again.
    _prior_activity(state, 120)
    _later_than_window(state)


def _other_account(state: SimState) -> None:
    """The rules match only the *other* break-glass account, split by UserId, and that account signs in
    right after the drill's account: the mail is genuine, fired in the drill's window, for the wrong row."""
    users = _break_glass(state)
    first, other = users[0], users[1]
    for rule in _rules(state):
        rule.pop("queryFile", None)
        rule["dimensions"] = ["UserId"]
        rule["query"] = (
            f"SigninLogs\n| where UserId == '{other['id']}'\n"
            "| summarize SignIns = count(), LastSeen = max(TimeGenerated) by UserId"
        )

    def follow(event: SignInEvent) -> None:
        if event.user_id == first["id"] and event.result_type == "0" and not state.faults.get("_followed"):
            state.faults["_followed"] = {}
            from dataclasses import replace

            state.emit_signin(replace(event, user_id=other["id"], id=str(uuid.uuid4()),
                                      correlation_id=str(uuid.uuid4()),
                                      user_principal_name=str(other.get("userPrincipalName", "")),
                                      user_display_name=str(other.get("displayName", ""))))  # fmt: skip

    state.signin_listeners.append(follow)


def _no_mailbox(state: SimState) -> None:
    for group in state.tenant.actionGroups:
        group["emailReceivers"] = []


def _receiver_disabled(state: SimState) -> None:
    for group in state.tenant.actionGroups:
        for receiver in group.get("emailReceivers") or []:
            receiver["status"] = "Disabled"


def _drop_mail(state: SimState) -> None:
    state.faults["mail-dropped"] = {}


FAULTS = [
    Fault("alert-disabled", "alert", "the break-glass alert rules are disabled", _disable),
    Fault("alert-muted", "alert", "the alert rules' actions are muted for a day (fired earlier)", _mute),
    Fault("alert-wrong-query", "alert", "rules match UserPrincipalName (passkey rows carry the object id)",
          _wrong_query),
    Fault("alert-frequency-too-slow", "alert", "the rules run once a day (PT24H)", _too_slow),
    Fault("ingestion-later-than-window", "logs", "rows arrive after every alert window over their "
          "TimeGenerated was evaluated (and retried)", _later_than_window),
    Fault("alert-already-fired", "alert", "rules auto-resolve and were Fired by a rehearsal sign-in two "
          "minutes earlier: no new notification for the drill", _already_fired),
    Fault("alert-resolved-only", "alert", "the rehearsal's alert resolves during the drill (a Resolved mail) "
          "and the drill's row arrives too late to fire again", _resolved_only),
    Fault("alert-other-account", "alert", "the rules match only the other break-glass account, which signs "
          "in right after the drill: a Fired mail for the wrong row", _other_account),
    Fault("action-group-no-mailbox", "mail", "the action group has no email receiver", _no_mailbox),
    Fault("action-group-receiver-disabled", "mail", "the action group's email receiver is Disabled "
          "(it no longer receives mail)", _receiver_disabled),
    Fault("mail-dropped", "mail", "alert mail is accepted but never delivered", _drop_mail),
]  # fmt: skip
