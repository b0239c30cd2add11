"""Placeholder: being written by the alerts engineer."""

from __future__ import annotations

from starlette.routing import BaseRoute

from drill.sim.state import Fault, SimState

FAULTS: list[Fault] = []


def install(state: SimState) -> list[BaseRoute]:
    return []
