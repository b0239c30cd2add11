"""Helpers for the Log Analytics and alert tests: events to ingest, an observer query client."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
EA02 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"
ALICE = "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01"
WORKSPACE = "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c01"
TENANT = "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00"
OBSERVER = "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02"
MAILBOX = "soc-alerts@contoso.test"


def signin(state: Any, user_id: str = EA01, result: str = "0", **extra: Any) -> Any:
    from drill.sim.state import SignInEvent

    user = state.tenant.user(user_id) or {}
    event = SignInEvent(
        created=state.clock.now(),
        user_id=user_id,
        user_principal_name=str(user.get("userPrincipalName", "x@contoso.test")),
        user_display_name=str(user.get("displayName", "X")),
        app_id="2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01",
        app_display_name="Break-glass drill",
        result_type=result,
        authentication_details=[
            {"authenticationMethod": "Passkey (device-bound)", "succeeded": result == "0"}
        ],
        applied_policies=[
            {
                "id": "p1",
                "displayName": "EA01",
                "result": "success",
                "conditionsSatisfied": "users,application",
                "conditionsNotSatisfied": "none",
                "enforcedGrantControls": [],
                "enforcedSessionControls": [],
            }
        ],
        **extra,
    )
    state.emit_signin(event)
    return event


def audit(state: Any, operation: str, initiator: str, target: str) -> Any:
    from drill.sim.state import AuditEvent

    event = AuditEvent(
        created=state.clock.now(),
        category="RoleManagement",
        operation_name=operation,
        initiated_by={"user": {"id": initiator, "userPrincipalName": f"{initiator[:4]}@contoso.test"}},
        target_resources=[
            {
                "id": target,
                "type": "User",
                "userPrincipalName": f"{target[:4]}@contoso.test",
                "modifiedProperties": [{"displayName": "Role.TemplateId", "newValue": '"62e9"'}],
            }
        ],
        correlation_id=str(uuid.uuid4()),
    )
    state.emit_audit(event)
    return event


def logs_client(sim: Any, secret: str) -> Any:
    from azure.identity import ClientSecretCredential
    from azure.monitor.query import LogsQueryClient

    cred = ClientSecretCredential(
        TENANT,
        OBSERVER,
        secret,
        authority=sim.base_url,
        connection_verify=str(sim.ca_path),
        disable_instance_discovery=True,
    )
    return LogsQueryClient(
        cred,
        endpoint=sim.base_url,
        audience="https://api.loganalytics.io",
        connection_verify=str(sim.ca_path),
    )


def observer_token(sim: Any, app_id: str = OBSERVER, roles: tuple[str, ...] = ("Data.Read",)) -> str:
    from drill.sim.state import token_service

    token: str = token_service(sim.state).issue(
        {
            "aud": "https://api.loganalytics.io",
            "appid": app_id,
            "roles": list(roles),
            "oid": str(uuid.uuid4()),
        }
    )
    return token


def now() -> datetime:
    return datetime.now(UTC)


def advance(sim: Any, seconds: float) -> None:
    """Advance the simulator clock in one-minute hops, letting the alert and Sentinel engines run on each."""
    left = seconds
    while left > 0:
        step = min(60.0, left)
        sim.state.clock.advance(step)
        sim.state.tick()
        left -= step
