"""The Log Analytics workspace: Entra diagnostic-setting ingestion and the query API, as the service answers.

  POST /v1/workspaces/{customerId}/query   {"query", "timespan"?}  (azure-monitor-query's LogsQueryClient)

Rows arrive only for categories a diagnostic setting sends to this workspace (interactive sign-ins in
SigninLogs, refresh-token redemptions in AADNonInteractiveUserSignInLogs, directory changes in AuditLogs),
after the workspace's ingestion delay (TimeGenerated is the event time, arrival is `ingestion_time()`);
one row per sign-in event, so an interrupt such as 50140 ("Stay signed in?") is its own row with the
sign-in's CorrelationId;
responses are `{"tables":[{"name":"PrimaryResult","columns","rows"}]}` with Kusto types,
PartialError on truncation, OneAPI 400s for bad KQL, 403 without workspace access, 429 past the
per-identity limits (200 queries / 30 s, 5 at once).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from collections import defaultdict, deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from drill.sim.beliefs import Belief, form
from drill.sim.hits import record as record_hit
from drill.sim.loganalytics import noninteractive
from drill.sim.loganalytics.isotime import parse_timespan
from drill.sim.loganalytics.noninteractive import noninteractive_row
from drill.sim.loganalytics.schema import CATEGORY_OF, audit_row, signin_row
from drill.sim.loganalytics.store import LogStore, QueryError, ingestion_delay
from drill.sim.state import AuditEvent, Fault, SignInEvent, SimState, token_service
from drill.sim.tenant import Tenant, load_tenant
from drill.sim.tokens import LOGS_AUDIENCE, TokenError, bearer

RATE_WINDOW_S, RATE_LIMIT, CONCURRENT_LIMIT = 30.0, 200, 5
KMSI_DESCRIPTION = "This error occurred due to 'Keep me signed in' interrupt when the user was signing in."
# Faults that answer a 30-second burst of errors in the middle of the drill's waits (see `mid_wait_burst`).
BURSTS = ("burst-429-mid-wait", "burst-503-mid-wait")
# 30 simulated seconds, and never fewer than 6 refusals: a sped-up test clock must not shrink the burst
# below the SDKs' own retries (4 attempts), which a real 30-second burst always outlasts.
BURST_SECONDS, BURST_MIN_REFUSALS = 30.0, 6
# Requests of each wait answered before the burst begins. The log wait's first query always precedes the row
# (the burst faults delay ingestion by a minute); the alert mail can already be waiting when the alert wait
# begins on a loaded machine, so the mail burst starts with the first listing or it might never land.
BURST_AFTER_REQUESTS = {"logs": 1, "mail": 0}
NEVER = timedelta(days=3650)
# Where the 50140 "Stay signed in?" row stands against its sign-in's success row (belief kmsi-row-offset):
# None = when the prompt was shown, before the success (the identity pages' own order).
KMSI_BEFORE = timedelta(seconds=2)
KMSI_OFFSETS: dict[str, timedelta | None] = {
    "before": None,
    "same-instant": timedelta(0),
    "after": timedelta(seconds=2),
}
BELIEFS = [
    Belief(
        "kmsi-row-offset",
        "where the 50140 'Stay signed in?' row stands against the sign-in's success row",
        {
            "before": "the 50140 row at the prompt, before the success row (field reports: ~2 s)",
            "same-instant": "the 50140 row with the success row's CreatedDateTime",
            "after": "the 50140 row 2 s after the success row",
        },
    ),
    Belief(
        "signin-row-upn",
        "what a passkey sign-in's SigninLogs row carries in UserPrincipalName",
        {
            "object-id": "the user's object id (reported for passwordless sign-ins)",
            "upn": "the user's UPN",
        },
    ),
]
PARTIAL_ERROR = {
    "code": "PartialError",
    "message": "There were some errors when processing your query.",
    "details": [
        {
            "code": "EngineError",
            "message": "Something went wrong processing your query on the server.",
            "innererror": {
                "code": "-2133196797",
                "message": "The results of this query exceed the set limit of 500000 records.",
                "severity": 2,
                "severityName": "Error",
            },
        }
    ],
}


def _error(status: int, code: str, message: str, inner: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": {"message": message, "code": code, "correlationId": str(uuid.uuid4())}}
    if inner:
        body["error"]["innererror"] = inner
    return JSONResponse(body, status_code=status)


def sends(tenant: Tenant, table: str) -> bool:
    """Whether a diagnostic setting sends this table's category to the tenant's workspace."""
    workspace = str(tenant.workspace.get("customerId", ""))
    category = CATEGORY_OF[table]
    for setting in tenant.diagnosticSettings:
        if str(setting.get("workspaceId")) != workspace:
            continue
        for log in setting.get("logs") or []:
            if log.get("category") == category and log.get("enabled", True):
                return True
    return False


class Workspace:
    """Per-simulator workspace state: the store, the delay generator, throttling books."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.store = LogStore()
        self.rng = random.Random(int(state.tenant.workspace.get("seed", 7)))  # noqa: S311 - reproducible delays
        self.calls: dict[str, deque[float]] = defaultdict(deque)
        self.running: dict[str, int] = defaultdict(int)
        self.queries = 0
        self.held_interrupts: dict[str, SignInEvent] = {}  # CorrelationId -> a 50140 awaiting its success
        for table, rows in state.tenant.seedLogs.items():
            for row in rows:
                self.store.insert(table, _seed(row))

    def delay(self) -> timedelta:
        if self.state.fault("ingestion-stopped") is not None:
            return NEVER
        late = self.state.fault("ingestion-later-than-window")
        if late is not None:
            return timedelta(seconds=float(late["seconds"]))
        slow = self.state.fault("ingestion-slow")
        if slow is not None:
            return timedelta(seconds=float(slow.get("seconds", 1800)))
        return timedelta(
            seconds=ingestion_delay(self.state.tenant.workspace.get("ingestionDelaySeconds"), self.rng)
        )

    def on_signin(self, event: SignInEvent) -> None:
        """One row per sign-in event: TimeGenerated is the event's time, arrival is after the delay.

        A non-interactive sign-in (a refresh token redeemed at the token endpoint) goes to
        AADNonInteractiveUserSignInLogs, and only when a setting sends NonInteractiveUserSignInLogs.
        """
        if not event.is_interactive:
            if sends(self.state.tenant, noninteractive.TABLE):
                row = signin_row(event, self.state.tenant.id, event.created)
                workspace_id = str(self.state.tenant.workspace.get("customerId", ""))
                self.store.insert(
                    noninteractive.TABLE, noninteractive_row(row, workspace_id), event.created + self.delay()
                )
            return
        if not sends(self.state.tenant, "SigninLogs"):
            return
        offset = KMSI_OFFSETS[form(self.state, "kmsi-row-offset")]
        if event.result_type == "50140" and offset is not None:
            # This form stamps the interrupt row relative to the success row: hold it until that comes.
            self.held_interrupts[event.correlation_id] = event
            return
        held = self.held_interrupts.pop(event.correlation_id, None) if event.result_type == "0" else None
        if held is not None and offset is not None:
            self._insert_signin(dataclasses.replace(held, created=event.created + offset))
        if event.result_type == "0" and self.state.fault("signin-interrupt-rows") is not None:
            # The KMSI interrupt row, same CorrelationId, at the offset the `kmsi-row-offset` form says.
            interrupt = dataclasses.replace(
                event,
                created=event.created + (offset if offset is not None else -KMSI_BEFORE),
                id=str(uuid.uuid4()),
                result_type="50140",
                result_description=KMSI_DESCRIPTION,
                extra={**event.extra, "failureReason": KMSI_DESCRIPTION},
            )
            self._insert_signin(interrupt)
        self._insert_signin(event)
        self.burst_anchor(event)

    def _insert_signin(self, event: SignInEvent) -> None:
        row = signin_row(event, self.state.tenant.id, event.created)
        if form(self.state, "signin-row-upn") == "upn":
            row["UserPrincipalName"] = event.user_principal_name
        arrival = event.created + self.delay()
        self.store.insert("SigninLogs", row, arrival)
        dup = self.state.fault("signin-duplicate-rows")
        if dup is not None:
            # The same record delivered twice (same Id), the copy arriving a little later.
            self.store.insert("SigninLogs", row, arrival + timedelta(seconds=float(dup.get("after", 20))))

    def on_audit(self, event: AuditEvent) -> None:
        if self.state.fault("auditlogs-export-stalled") is not None:
            return  # the setting still lists AuditLogs (ARM shows nothing wrong); no row ever arrives
        if sends(self.state.tenant, "AuditLogs"):
            row = audit_row(event, self.state.tenant.id, event.created)
            self.store.insert("AuditLogs", row, event.created + self.delay())

    def burst_anchor(self, event: SignInEvent) -> None:
        """Arm a mid-wait burst fault at the first successful sign-in (the drill's wait starts after it)."""
        for name in BURSTS:
            fault = self.state.fault(name)
            if fault is not None and event.result_type == "0" and "armed" not in fault:
                fault["armed"] = True


def _seed(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("TimeGenerated", "CreatedDateTime", "ActivityDateTime"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key].replace("Z", "+00:00"))
    return out


def workspace(state: SimState) -> Workspace:
    ws: Workspace = state.services["loganalytics"]
    return ws


def run_query(state: SimState, kql: str, window: tuple[datetime, datetime] | None = None) -> Any:
    """KQL over what is visible now, for alert rules and tools (the HTTP route wraps the API around it)."""
    return workspace(state).store.query(kql, state.clock.now(), window)


def run_query_on_fixture(path: Path, kql: str) -> tuple[list[str], list[list[Any]]]:
    """`drill sim query`: a KQL query over a tenant fixture's seed rows, all of them visible."""
    tenant = load_tenant(path)
    store = LogStore()
    for table, seeds in tenant.seedLogs.items():
        for seed in seeds:
            store.insert(table, _seed(seed))
    try:
        columns, rows, _cut = store.query(kql, datetime.now().astimezone() + NEVER)
    except QueryError as exc:
        raise ValueError(f"{exc.kind}: {exc}") from exc
    return [c["name"] for c in columns], rows


def _budget(state: SimState, name: str) -> bool:
    """Consume one request of a burst fault's budget; True while the fault still bites."""
    fault = state.fault(name)
    if fault is None:
        return False
    left = int(fault.setdefault("remaining", 12))
    if left <= 0:
        return False
    fault["remaining"] = left - 1
    return True


def mid_wait_burst(state: SimState, service: str) -> tuple[int, str] | None:
    """(status, Retry-After) while a mid-wait burst is on for `service` ("logs" or "mail"), else None.

    Armed by the drill's successful sign-in; the burst starts after BURST_AFTER_REQUESTS[service] requests
    (so it lands in the wait, not before it) and lasts 30 simulated seconds, long past the SDKs' own three
    retries.
    """
    for name in BURSTS:
        fault = state.fault(name)
        if fault is None or not fault.get("armed"):
            continue
        with state.lock:
            seen = fault.setdefault(f"{service}_requests", 0)
            fault[f"{service}_requests"] = seen + 1
            now = state.clock.now()
            start = fault.get(f"{service}_start")
            if start is None:
                if seen < BURST_AFTER_REQUESTS[service]:
                    return None
                start = fault[f"{service}_start"] = now
            left = BURST_SECONDS - (now - start).total_seconds()
            if left <= 0 and int(fault.get(f"{service}_served", 0)) >= BURST_MIN_REFUSALS:
                return None
            fault[f"{service}_served"] = int(fault.get(f"{service}_served", 0)) + 1
        status = 429 if name == "burst-429-mid-wait" else 503
        return status, "1"
    return None


def install(state: SimState) -> list[BaseRoute]:
    ws = Workspace(state)
    state.services["loganalytics"] = ws
    state.signin_listeners.append(ws.on_signin)
    state.audit_listeners.append(ws.on_audit)

    async def query(request: Request) -> JSONResponse:
        ws.queries += 1
        if str(request.path_params["workspace"]) != str(state.tenant.workspace.get("customerId")):
            return _error(404, "WorkspaceNotFoundError", "Workspace could not be found")
        token = bearer(request.headers)
        if token is None:
            return _error(401, "AuthorizationRequiredError", "Valid authentication was not provided")
        try:
            claims = token_service(state).verify(token, (LOGS_AUDIENCE, LOGS_AUDIENCE + "/"))
        except TokenError as exc:
            return _error(401, "InvalidTokenError", str(exc))
        record_hit(state, "logs", request.method, request.url.path.removeprefix("/v1"), claims)
        app = state.tenant.application(str(claims.get("appid") or claims.get("azp") or ""))
        if "Data.Read" not in (claims.get("roles") or []) and not (app and app.get("workspaceRoles")):
            return _error(
                403,
                "InsufficientAccessError",
                "The provided credentials have insufficient access to perform the requested operation",
            )
        if _budget(state, "la-throttled"):
            resp = _error(429, "TooManyRequests", "Too many requests, retry later")
            resp.headers["Retry-After"] = "1"
            return resp
        if _budget(state, "la-5xx-burst"):
            return _error(503, "ServiceUnavailable", "The service is temporarily unavailable")
        burst = mid_wait_burst(state, "logs")
        if burst is not None:
            status, retry_after = burst
            resp = (
                _error(429, "TooManyRequests", "Too many requests, retry later")
                if status == 429
                else _error(503, "ServiceUnavailable", "The service is temporarily unavailable")
            )
            resp.headers["Retry-After"] = retry_after
            return resp
        who = str(claims.get("oid") or claims.get("appid") or "anonymous")
        now_real = time.monotonic()
        calls = ws.calls[who]
        while calls and now_real - calls[0] > RATE_WINDOW_S:
            calls.popleft()
        if len(calls) >= RATE_LIMIT or ws.running[who] >= CONCURRENT_LIMIT:
            resp = _error(
                429, "ThrottledError", "Your request was throttled: too many requests or concurrent queries"
            )
            resp.headers["Retry-After"] = str(
                max(1, int(RATE_WINDOW_S - (now_real - calls[0])) if calls else 1)
            )
            return resp
        calls.append(now_real)
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "BadArgumentError", "The request body is not valid JSON")
        kql = body.get("query")
        if not isinstance(kql, str) or not kql.strip():
            return _error(
                400,
                "BadArgumentError",
                "The request had some invalid properties",
                {"code": "QueryValidationError", "message": "The query is missing or empty"},
            )
        now = state.clock.now()
        window = None
        if body.get("timespan"):
            try:
                window = parse_timespan(str(body["timespan"]), now)
            except ValueError as exc:
                return _error(
                    400,
                    "BadArgumentError",
                    "The request had some invalid properties",
                    {"code": "InvalidTimespan", "message": str(exc)},
                )
        ws.running[who] += 1
        try:
            columns, rows, cut = await asyncio.to_thread(ws.store.query, kql, now, window)
        except QueryError as exc:
            what = (
                "A recognition error occurred in the query."
                if exc.kind == "SyntaxError"
                else ("A semantic error occurred.")
            )
            detail = {"code": exc.kind, "message": str(exc).splitlines()[0][:500]}
            inner = {"code": exc.kind, "message": what, "innererror": detail}
            return _error(400, "BadArgumentError", "The request had some invalid properties", inner)
        finally:
            ws.running[who] -= 1
        result: dict[str, Any] = {"tables": [{"name": "PrimaryResult", "columns": columns, "rows": rows}]}
        if cut:
            result["error"] = PARTIAL_ERROR
        return JSONResponse(result)

    async def visible(request: Request) -> JSONResponse:
        return JSONResponse(
            {"queries": ws.queries, "visibleAt": {k: v.isoformat() for k, v in ws.store.visible_at.items()}}
        )

    return [
        Route("/v1/workspaces/{workspace}/query", query, methods=["POST"]),
        Route("/_sim/loganalytics", visible),
    ]


def _set(name: str, **params: Any) -> Any:
    def apply(state: SimState) -> None:
        state.faults[name] = dict(params)

    return apply


def _slow_for_burst(name: str) -> Any:
    def apply(state: SimState) -> None:
        # A one-minute ingestion delay, so the waits are long enough for a burst to land in their middle.
        state.tenant.workspace["ingestionDelaySeconds"] = {"fixed": 60}
        state.faults[name] = {}

    return apply


def _diag_missing(state: SimState) -> None:
    state.tenant.diagnosticSettings = []


def _diag_no_auditlogs(state: SimState) -> None:
    for setting in state.tenant.diagnosticSettings:
        setting["logs"] = [log for log in setting.get("logs") or [] if log.get("category") != "AuditLogs"]


def _diag_no_signins(state: SimState) -> None:
    for setting in state.tenant.diagnosticSettings:
        setting["logs"] = [log for log in setting.get("logs") or [] if log.get("category") != "SignInLogs"]


FAULTS = [
    Fault(
        "diag-missing", "logs", "no Entra diagnostic setting: nothing reaches the workspace", _diag_missing
    ),
    Fault(
        "diag-no-signinlogs", "logs", "the diagnostic setting no longer sends SignInLogs", _diag_no_signins
    ),
    Fault(
        "diag-no-auditlogs",
        "logs",
        "the diagnostic setting no longer sends AuditLogs: directory changes never reach the workspace",
        _diag_no_auditlogs,
    ),
    Fault(
        "auditlogs-export-stalled",
        "logs",
        "the diagnostic setting still lists AuditLogs, but no audit row reaches the workspace (an export "
        "outage): only a drill that makes a change and waits for its row can see it",
        _set("auditlogs-export-stalled"),
    ),
    Fault(
        "ingestion-stopped",
        "logs",
        "ingestion stopped: rows never become queryable",
        _set("ingestion-stopped"),
    ),
    Fault(
        "ingestion-slow",
        "logs",
        "ingestion takes 30 minutes, far past the SLA",
        _set("ingestion-slow", seconds=1800),
    ),
    Fault(
        "la-throttled",
        "logs",
        "Log Analytics answers 429 with Retry-After to the next 6 queries (past the SDK's own retries)",
        _set("la-throttled", remaining=6),
    ),
    Fault(
        "la-5xx-burst",
        "logs",
        "Log Analytics answers 503 to the next 6 queries (past the SDK's own retries)",
        _set("la-5xx-burst", remaining=6),
    ),
    Fault(
        "la-throttled-persistent",
        "logs",
        "Log Analytics answers 429 to every query, for longer than any deadline",
        _set("la-throttled", remaining=10**9),
    ),
    Fault(
        "signin-interrupt-rows",
        "logs",
        "each successful sign-in also logs a 50140 (KMSI interrupt) row 2 s earlier, same CorrelationId",
        _set("signin-interrupt-rows"),
    ),
    Fault(
        "signin-duplicate-rows",
        "logs",
        "every SigninLogs row is delivered twice (same Id), the copy 20 s later",
        _set("signin-duplicate-rows", after=20),
    ),
    Fault(
        "burst-429-mid-wait",
        "logs",
        "30 s of 429 (Retry-After) from Log Analytics and Graph mail, in the middle of each wait",
        _slow_for_burst("burst-429-mid-wait"),
    ),
    Fault(
        "burst-503-mid-wait",
        "logs",
        "30 s of 503 from Log Analytics and Graph mail, in the middle of each wait",
        _slow_for_burst("burst-503-mid-wait"),
    ),
]
