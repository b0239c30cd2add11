"""Microsoft Graph v1.0 for the simulated tenant: one router for HTTP and `$batch`, token and permission
checks on every request, and the Graph-level faults (throttling, 5xx bursts).

Routes live in graph_directory, graph_auth_methods, graph_roles, graph_mail, graph_policies and
graph_signins; each declares the permissions it accepts (`Perms`) and the query options it understands
(`QuerySpec`). Shapes follow the v1.0 CSDL (graph_types.json) and Microsoft's documented examples; errors use
Graph's envelope with a request id. Role faults are in graph_role_faults. `/_sim/graph/faults` shows the
request count and tunes the Graph faults' budget (`remaining`) and `retryAfter`.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from drill.sim.graph import app_writes as graph_app_writes
from drill.sim.graph import auth_methods as graph_auth_methods
from drill.sim.graph import directory as graph_directory
from drill.sim.graph import grants as graph_grants
from drill.sim.graph import group_writes as graph_group_writes
from drill.sim.graph import policies as graph_policies
from drill.sim.graph import posture as graph_posture
from drill.sim.graph import posture_faults as graph_posture_faults
from drill.sim.graph import role_faults as graph_role_faults
from drill.sim.graph import roles as graph_roles
from drill.sim.graph import security_incidents as graph_security_incidents
from drill.sim.graph import signins as graph_signins
from drill.sim.graph import site_permissions as graph_site_permissions
from drill.sim.graph import sites as graph_sites
from drill.sim.graph.http import (
    GraphError,
    GraphRequest,
    GraphResponse,
    RouteSpec,
    authenticate,
    authorize,
    error_body,
)
from drill.sim.hits import record as record_hit
from drill.sim.mail import routes as graph_mail
from drill.sim.state import Fault, SimState
from drill.sim.tokens import bearer

JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
BATCH_LIMIT = 20
THROTTLED, BURST = "graph-throttled", "graph-5xx-burst"
_MESSAGES = re.compile(r"^/users/[^/]+/messages$", re.IGNORECASE)


def route_table() -> list[RouteSpec]:
    return [
        *graph_directory.routes(),
        *graph_group_writes.routes(),
        *graph_auth_methods.routes(),
        *graph_roles.routes(),
        *graph_mail.routes(),
        *graph_policies.routes(),
        *graph_posture.routes(),
        *graph_signins.routes(),
        *graph_sites.routes(),
        *graph_grants.routes(),
        *graph_app_writes.routes(),
        *graph_site_permissions.routes(),
        *graph_security_incidents.routes(),
    ]


LOG_LIMIT = 5000


def _log(req: GraphRequest) -> None:
    """Every request the Graph surface answered, `$batch` envelopes and the requests inside them alike, so a
    test can show what a client asked (which options, how batched) the way Graph's own logs would."""
    stats = req.state.services.setdefault("graph", {"requests": 0})
    with req.state.lock:
        log = stats.setdefault("log", [])
        log.append({"method": req.method, "path": req.path, "query": dict(req.query), "at": time.monotonic()})
        del log[:-LOG_LIMIT]


def _fault_response(state: SimState) -> GraphError | None:
    """The next request's injected failure, counting down the active fault's budget."""
    with state.lock:
        for name in (THROTTLED, BURST):
            params = state.faults.get(name)
            if not params or int(params.get("remaining", 0)) <= 0:
                continue
            params["remaining"] = int(params["remaining"]) - 1
            params["served"] = int(params.get("served", 0)) + 1
            retry = {"Retry-After": str(params.get("retryAfter", 1))}
            if name == THROTTLED:
                return GraphError(429, "TooManyRequests", "Too many requests.", retry)
            if params["served"] % 2:
                return GraphError(503, "serviceNotAvailable", "Service unavailable", retry)
            return GraphError(504, "UnknownError", "Gateway timeout", retry)
    return None


# "Identity protection and conditional access service limits": any request, 1 request per second per tenant
# for all apps, on conditionalAccessPolicy and namedLocation (and risk resources we do not serve), and its
# 429s carry no Retry-After (learn.microsoft.com/graph/throttling-limits). The What-If action
# (conditionalAccess/evaluate) is not listed there, so it is not limited here.
_CA_LIMITED = re.compile(r"^/identity/conditionalAccess/(policies|namedLocations)(/|$)", re.IGNORECASE)
CA_INTERVAL_S = 1.0


def _conditional_access_rate(req: GraphRequest) -> None:
    if not _CA_LIMITED.match(req.path):
        return
    stats = req.state.services.setdefault("graph", {"requests": 0})
    now = time.monotonic()
    with req.state.lock:
        last = float(stats.get("ca_last", -CA_INTERVAL_S))
        if now - last < CA_INTERVAL_S:
            stats["ca_throttled"] = int(stats.get("ca_throttled", 0)) + 1
            raise GraphError(429, "TooManyRequests", "Too many requests.")
        stats["ca_last"] = now


def _split_me(req: GraphRequest) -> None:
    """`/me` is `/users/{oid}` of the signed-in user; app-only tokens have no "me"."""
    if req.path.lower() == "/me" or req.path.lower().startswith("/me/"):
        if not req.delegated:
            raise GraphError(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        req.path = f"/users/{req.claims.get('oid')}{req.path[3:]}"


async def dispatch(req: GraphRequest, authorization: str | None, table: list[RouteSpec]) -> GraphResponse:
    _log(req)
    try:
        return await _route(req, authorization, table)
    except GraphError as err:
        client_id = req.headers.get("client-request-id")
        return GraphResponse(err.status, error_body(err, req.request_id, client_id), dict(err.headers))


async def _route(req: GraphRequest, authorization: str | None, table: list[RouteSpec]) -> GraphResponse:
    is_batch = req.path.lower() == "/$batch"
    fault = (
        None if is_batch else _fault_response(req.state)
    )  # a batch's inner requests count, not the envelope
    if fault is not None:
        raise fault
    authenticate(req, authorization)
    if req.method == "GET" and _MESSAGES.match(req.path):
        from drill.sim.loganalytics.workspace import mid_wait_burst

        burst = mid_wait_burst(req.state, "mail")
        if burst is not None:
            status, retry_after = burst
            if status == 429:
                raise GraphError(429, "TooManyRequests", "Too many requests.", {"Retry-After": retry_after})
            raise GraphError(503, "serviceNotAvailable", "Service unavailable", {"Retry-After": retry_after})
    if is_batch:
        if req.method != "POST":
            raise GraphError(405, "BadRequest", "Only POST is supported on $batch.")
        return await _batch(req, authorization, table)
    _split_me(req)
    record_hit(req.state, "graph", req.method, req.path, req.claims)
    matching = [(s, m) for s in table if (m := s.pattern.match(req.path)) is not None]
    if not matching:
        segment = req.path.strip("/").split("/")[0] or "/"
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
    hit = next(((s, m) for s, m in matching if s.method == req.method), None)
    if hit is None:
        raise GraphError(
            405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
        )
    spec, match = hit
    req.params = {k: v for k, v in match.groupdict().items() if v is not None}
    authorize(req, spec)
    _conditional_access_rate(req)
    return await spec.handler(req)


async def _batch(outer: GraphRequest, authorization: str | None, table: list[RouteSpec]) -> GraphResponse:
    body = outer.body if isinstance(outer.body, dict) else None
    items = (body or {}).get("requests")
    if not isinstance(items, list) or not items:
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    if len(items) > BATCH_LIMIT:
        raise GraphError(
            400, "BadRequest", f"The number of batch requests exceeds the limit of {BATCH_LIMIT}."
        )
    ids = [str((i or {}).get("id", "")) for i in items]
    if "" in ids or len(set(ids)) != len(ids):
        raise GraphError(400, "BadRequest", "Every batch request needs a unique, non-empty id.")
    responses: list[dict[str, Any]] = []
    status_of: dict[str, int] = {}
    for item in items:
        rid, method, url = str(item["id"]), str(item.get("method", "")).upper(), str(item.get("url", ""))
        depends = [str(d) for d in item.get("dependsOn") or []]
        unknown = [d for d in depends if d not in status_of]
        if unknown or not method or not url:
            raise GraphError(
                400, "BadRequest", f"Batch request '{rid}' is malformed or depends on a later request."
            )
        headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        if any(status_of[d] >= 400 for d in depends):
            err = GraphError(
                424, "FailedDependency", "The request cannot be fulfilled because of a failed dependency."
            )
            resp = GraphResponse(424, error_body(err, outer.request_id, None))
        else:
            parts = urlsplit(url if url.startswith("/") else "/" + url)
            if parts.path.lower() == "/$batch":
                raise GraphError(400, "BadRequest", "A batch request cannot contain another batch request.")
            inner = GraphRequest(
                state=outer.state,
                method=method,
                path=parts.path,
                query=dict(parse_qsl(parts.query)),
                headers={
                    **{k: v for k, v in outer.headers.items() if k.lower() == "client-request-id"},
                    **headers,
                },
                body=item.get("body"),
            )
            resp = await dispatch(inner, authorization, table)
        status_of[rid] = resp.status
        entry: dict[str, Any] = {
            "id": rid,
            "status": resp.status,
            "headers": {**resp.headers, "Content-Type": JSON_TYPE}
            if resp.body is not None
            else dict(resp.headers),
        }
        if resp.body is not None:
            entry["body"] = resp.body
        responses.append(entry)
    return GraphResponse(200, {"responses": responses})


def install(state: SimState) -> list[BaseRoute]:
    table = route_table()
    stats = state.services.setdefault("graph", {"requests": 0})

    async def endpoint(request: Request) -> Response:
        path = request.scope["path"][len("/v1.0") :] or "/"
        req = GraphRequest(
            state=state,
            method=request.method,
            path=path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        with state.lock:
            stats["requests"] += 1
        raw = await request.body()
        resp: GraphResponse
        if raw:
            try:
                req.body = json.loads(raw)
            except ValueError:
                err = GraphError(
                    400,
                    "BadRequest",
                    "Unable to read JSON request payload. Please ensure Content-Type "
                    "header is set and payload is of valid JSON format.",
                )
                resp = GraphResponse(
                    400, error_body(err, req.request_id, req.headers.get("client-request-id"))
                )
                return _http(resp, req)
        resp = await dispatch(req, bearer(request.headers), table)
        return _http(resp, req)

    async def control(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            name = str(body.get("name", ""))
            if name not in (THROTTLED, BURST):
                return _plain({"error": f"name must be {THROTTLED} or {BURST}"}, 400)
            params = {
                "remaining": int(body.get("remaining", 4)),
                "retryAfter": int(body.get("retryAfter", 1)),
            }
            with state.lock:
                state.faults[name] = params
        with state.lock:
            active = {n: dict(state.faults[n]) for n in (THROTTLED, BURST) if n in state.faults}
            return _plain({"requests": stats["requests"], "faults": active}, 200)

    return [
        *graph_sites.install(state),
        Route("/v1.0/{rest:path}", endpoint, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        Route("/_sim/graph/faults", control, methods=["GET", "POST"]),
    ]


def _plain(body: Any, status: int) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


def _http(resp: GraphResponse, req: GraphRequest) -> Response:
    headers = {
        "request-id": req.request_id,
        "client-request-id": req.headers.get("client-request-id") or req.request_id,
        **resp.headers,
    }
    if resp.body is None:
        return Response(status_code=resp.status, headers=headers)
    content = json.dumps(resp.body, separators=(",", ":"))
    return Response(content, status_code=resp.status, headers=headers, media_type=JSON_TYPE)


def _throttled(state: SimState) -> None:
    state.faults[THROTTLED] = {"remaining": 4, "retryAfter": 1}


def _burst(state: SimState) -> None:
    state.faults[BURST] = {"remaining": 4, "retryAfter": 1}


FAULTS: list[Fault] = [
    *graph_role_faults.FAULTS,
    *graph_group_writes.FAULTS,
    *graph_sites.FAULTS,
    *graph_posture_faults.FAULTS,
    *graph_security_incidents.FAULTS,
    Fault(THROTTLED, "graph", "Graph answers 429 with Retry-After to the next 4 requests", _throttled),
    Fault(BURST, "graph", "Graph answers 503/504 to the next 4 requests, then recovers", _burst),
]
