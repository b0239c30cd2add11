"""Helpers the end-to-end drill tests share."""

from __future__ import annotations

from typing import Any


def record_issued_tokens(world: Any) -> list[str]:
    """Every token the simulator issues from now on, so the secret scan looks for the exact values."""
    from drill.sim.state import token_service

    svc = token_service(world.sim.state)
    issued: list[str] = []
    original = svc.issue

    def issue(*args: Any, **kwargs: Any) -> str:
        value: str = original(*args, **kwargs)
        issued.append(value)
        return value

    svc.issue = issue
    return issued
