"""Graph's request/response plumbing: errors, bearer verification, permission checks, OData context URLs.

Kept apart from the routes so every handler (and `$batch`, which re-enters the router without HTTP) fails
the same way Graph does: one error envelope with `innerError.request-id`, 401 for a bad token, 403 with
the code the owning workload uses (directory, Outlook and PIM each word it differently).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from drill.sim.state import SimState, token_service
from drill.sim.tokens import GRAPH_APP_ID, GRAPH_AUDIENCE, TokenError

Obj = dict[str, Any]


class GraphError(Exception):
    """Becomes Graph's error envelope; `headers` carries Retry-After and the like."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def not_found(key: str, code: str = "Request_ResourceNotFound") -> GraphError:
    return GraphError(
        404,
        code,
        f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
    )


@dataclass
class GraphRequest:
    """One request as the router sees it, whether it came over HTTP or out of a `$batch` body."""

    state: SimState
    method: str
    path: str  # decoded, after /v1.0
    query: dict[str, str]  # decoded query options, last value wins (as Graph treats repeats)
    headers: Mapping[str, str]
    body: Any = None
    claims: Obj = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def base(self) -> str:
        return f"{self.state.base_url}/v1.0"

    @property
    def delegated(self) -> bool:
        return "scp" in self.claims

    @property
    def granted(self) -> set[str]:
        if self.delegated:
            return set(str(self.claims.get("scp", "")).split())
        return {str(r) for r in self.claims.get("roles") or []}

    def now(self) -> datetime:
        return self.state.clock.now()


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[GraphRequest], Awaitable[GraphResponse]]


@dataclass(frozen=True)
class Perms:
    """Which permissions a route accepts; any one alternative suffices, each alternative needs all its names.

    `self_delegated` are delegated scopes that only reach the signed-in user's own object (User.Read on
    /users/{own id}, Mail.Read on one's own mailbox). `roles_delegated` are directory roles (template ids)
    the signed-in user must hold on top of the scope, as Graph demands for audit logs.
    """

    delegated: Sequence[str | tuple[str, ...]] = ()
    application: Sequence[str | tuple[str, ...]] = ()
    self_delegated: Sequence[str] = ()
    roles_delegated: Sequence[str] = ()
    # how the workload words a refusal: "directory" | "outlook" | "pim" | "policy"
    flavour: str = "directory"


@dataclass(frozen=True)
class RouteSpec:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    perms: Perms
    # named group holding the target user, for self_delegated checks
    user_param: str | None = None


def route(
    method: str, pattern: str, handler: Handler, perms: Perms, user_param: str | None = None
) -> RouteSpec:
    return RouteSpec(method, re.compile(f"^{pattern}$", re.IGNORECASE), handler, perms, user_param)


def authenticate(req: GraphRequest, authorization: str | None) -> None:
    if not authorization:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        req.claims = token_service(req.state).verify(authorization, (GRAPH_AUDIENCE, GRAPH_APP_ID))
    except TokenError as exc:
        raise GraphError(401, exc.code, str(exc)) from exc


def _alternatives(items: Sequence[str | tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [(i,) if isinstance(i, str) else tuple(i) for i in items]


def _is_self(req: GraphRequest, target: str | None) -> bool:
    if target is None:  # a route without a user in its path never reaches "only yourself"
        return False
    user = req.state.tenant.user(target)
    return user is not None and user["id"] == req.claims.get("oid")


def authorize(req: GraphRequest, spec: RouteSpec) -> None:
    perms = spec.perms
    granted = req.granted
    alts = _alternatives(perms.delegated if req.delegated else perms.application)
    ok = any(all(p in granted for p in alt) for alt in alts)
    if not ok and req.delegated and perms.self_delegated:
        target = req.params.get(spec.user_param) if spec.user_param else None
        ok = _is_self(req, target) and any(p in granted for p in perms.self_delegated)
    if ok and req.delegated and perms.roles_delegated:
        wids = set(req.claims.get("wids") or [])
        if not wids & set(perms.roles_delegated):
            raise GraphError(
                403,
                "Authentication_RequestFromUnsupportedUserRole",
                "User is not in the allowed roles",
            )
    if ok:
        return
    wanted = ",".join(a[0] for a in alts[:2]) or "(none)"
    if perms.flavour == "outlook":
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    if perms.flavour == "pim":
        inner = {
            "errorCode": "PermissionScopeNotGranted",
            "message": f"Authorization failed due to missing permission scope {wanted}.",
            "instanceAnnotations": [],
        }
        raise GraphError(403, "UnknownError", json.dumps(inner, separators=(",", ":")))
    if perms.flavour == "policy":
        raise GraphError(
            403,
            "AccessDenied",
            "You cannot perform the requested operation, required scopes are missing in the token.",
        )
    raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def error_body(err: GraphError, req_id: str, client_req_id: str | None) -> Obj:
    return {
        "error": {
            "code": err.code,
            "message": err.message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": req_id,
                "client-request-id": client_req_id or req_id,
            },
        }
    }


def context(req: GraphRequest, fragment: str) -> str:
    """`@odata.context` on the host that served the request (Graph names its own host per cloud)."""
    return f"{req.base}/$metadata#{fragment}"


def key_segment(value: str) -> str:
    """A key as Graph quotes it in context URLs: users('a%40b.test')."""
    return f"('{quote(value, safe='')}')"


def iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ok(body: Any, status: int = 200) -> GraphResponse:
    return GraphResponse(status, body)
