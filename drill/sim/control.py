"""The control plane under /_sim/: tests, the demo and rehearsals set up and inspect the tenant here.

Like moto's /moto-api, it is not part of any Microsoft surface; the product never calls it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from drill.sim.faults import all_faults, apply_fault
from drill.sim.state import SimState


def _iso(value: Any) -> Any:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(value, "strftime") else value


def install(state: SimState) -> list[BaseRoute]:
    async def faults(request: Request) -> JSONResponse:
        if request.method == "GET":
            listed = [{"name": f.name, "link": f.link, "summary": f.summary} for f in all_faults().values()]
            return JSONResponse({"faults": listed, "active": sorted(state.faults)})
        body = await request.json()
        try:
            fault = apply_fault(state, str(body.get("name", "")))
        except KeyError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"applied": fault.name, "link": fault.link})

    async def clock(request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await request.json()
            if "advanceSeconds" in body:
                state.clock.advance(float(body["advanceSeconds"]))
            if "scale" in body:
                state.clock.set_scale(float(body["scale"]))
            state.tick()
        return JSONResponse({"now": _iso(state.clock.now()), "scale": state.clock.scale})

    async def mail(request: Request) -> JSONResponse:
        with state.mail.lock:
            boxes = {k: list(v) for k, v in state.mail.boxes.items()}
            dropped = list(state.mail.dropped)
        return JSONResponse({"mailboxes": boxes, "dropped": dropped})

    async def signins(request: Request) -> JSONResponse:
        rows = [
            {
                "id": e.id,
                "createdDateTime": _iso(e.created),
                "userId": e.user_id,
                "appId": e.app_id,
                "resultType": e.result_type,
                "conditionalAccessStatus": e.conditional_access_status,
                "appliedPolicies": e.applied_policies,
            }
            for e in list(state.signins)
        ]
        return JSONResponse({"value": rows})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"tenant": state.tenant.id, "now": _iso(state.clock.now())})

    return [
        Route("/_sim/health", health),
        Route("/_sim/faults", faults, methods=["GET", "POST"]),
        Route("/_sim/clock", clock, methods=["GET", "POST"]),
        Route("/_sim/mail", mail),
        Route("/_sim/signins", signins),
    ]
