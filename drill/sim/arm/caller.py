"""Who is calling ARM: the bearer token checked as Azure Resource Manager checks it, and the hit recorded.

One rule for every ARM route (reads, writes, the workspace GET), so they all refuse a missing or foreign
token with the same codes and text ARM answers.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from drill.sim.arm import errors
from drill.sim.hits import record as record_hit
from drill.sim.state import SimState, token_service
from drill.sim.tokens import ARM_AUDIENCE, TokenError, bearer


def caller(state: SimState, request: Request) -> dict[str, Any] | Response:
    """The verified claims of the caller (its hit recorded), or the 401 ARM answers."""
    token = bearer(request.headers)
    if token is None:
        return errors.arm_error(
            401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
        )
    try:
        claims: dict[str, Any] = token_service(state).verify(token, (ARM_AUDIENCE, ARM_AUDIENCE + "/"))
    except TokenError as exc:
        return errors.arm_error(401, "InvalidAuthenticationToken", str(exc))
    record_hit(state, "arm", request.method, request.url.path, claims)
    return claims
