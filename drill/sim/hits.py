"""Which caller reached which service path: the product's permissions registry is tested against it.

Every authenticated request to Graph, ARM or Log Analytics is recorded with the caller's app id and
whether the token was delegated, after the token is verified and before permissions are judged, so a
refused call counts too. Kept to a bound, like the Graph request log.
"""

from __future__ import annotations

from typing import Any

from drill.sim.state import SimState

LIMIT = 20000


def record(state: SimState, service: str, method: str, path: str, claims: dict[str, Any]) -> None:
    hit = {
        "service": service,
        "method": method.upper(),
        "path": path,
        "appid": str(claims.get("appid") or claims.get("azp") or ""),
        "delegated": "scp" in claims,
    }
    with state.lock:
        log = state.services.setdefault("hits", [])
        log.append(hit)
        del log[:-LIMIT]


def hits(state: SimState) -> list[dict[str, Any]]:
    with state.lock:
        return list(state.services.get("hits", []))
