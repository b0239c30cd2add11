"""Named fault scenarios, each breaking one link; collected from the service modules that implement them.

Each service owns the faults it can express (identity: account disabled, CA block, ...; Log Analytics:
ingestion stopped, ...), because the protocol-level effect lives there. This module only lists and applies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from drill.sim import grant_faults
from drill.sim.arm import posture_faults as arm_posture
from drill.sim.arm import routes as arm
from drill.sim.graph import router as graph
from drill.sim.identity import routes as identity
from drill.sim.loganalytics import alerts, sentinel_faults
from drill.sim.loganalytics import workspace as loganalytics
from drill.sim.mail import routes as mail
from drill.sim.state import Fault, SimState

SKEW_SECONDS = 240.0


def _skew(seconds: float) -> Callable[[SimState], None]:
    def apply(state: SimState) -> None:
        state.clock.skew(seconds)
        # The alert schedule lives on the service clock too: it moves with it.
        engine = state.services.get("alerts")
        for rs in getattr(engine, "rules", {}).values():
            rs.next_run += timedelta(seconds=seconds)

    return apply


# Faults of the shared core: the tenant's clock against the workstation's. Tokens keep real time.
FAULTS = [
    Fault("clock-skew-plus-4", "clock", "the tenant's clock runs 4 minutes ahead of the workstation's",
          _skew(SKEW_SECONDS)),
    Fault("clock-skew-minus-4", "clock", "the tenant's clock runs 4 minutes behind the workstation's",
          _skew(-SKEW_SECONDS)),
]  # fmt: skip


def all_faults() -> dict[str, Fault]:
    out: dict[str, Fault] = {fault.name: fault for fault in FAULTS}
    for module in (
        identity,
        graph,
        loganalytics,
        alerts,
        sentinel_faults,
        arm,
        arm_posture,
        grant_faults,
        mail,
    ):
        for fault in getattr(module, "FAULTS", []):
            if fault.name in out:
                raise RuntimeError(f"fault {fault.name} is defined twice")
            out[fault.name] = fault
    return dict(sorted(out.items()))


def apply_fault(state: SimState, name: str) -> Fault:
    faults = all_faults()
    if name not in faults:
        known = ", ".join(faults) or "none"
        raise KeyError(f"unknown fault {name!r}; known: {known}")
    fault = faults[name]
    fault.apply(state)
    state.faults.setdefault(name, {})
    return fault
