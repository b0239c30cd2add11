"""Fixtures for the Graph surface: bearer tokens and an httpx client (the running simulator on the demo tenant
is tests/sim/conftest.py's `sim`).

Tokens are issued straight from the simulator's token service (the same RS256 key identity's /token uses),
so these tests exercise Graph's verification and permission checks without depending on the sign-in flow.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from graph_support import DRILL_APP, DRILL_SCOPES, EA01, OBSERVER_APP, OBSERVER_ROLES

from drill.sim.server import SimServer
from drill.sim.state import token_service
from drill.sim.tokens import GRAPH_AUDIENCE

Issuer = Callable[..., str]


@pytest.fixture
def delegated(sim: SimServer) -> Issuer:
    """A delegated Graph token for a tenant user (default: ea01 with the drill app's scopes)."""

    def issue(user_id: str = EA01, scopes: str = DRILL_SCOPES, **extra: Any) -> str:
        state = sim.state
        user = state.tenant.user(user_id) or {}
        claims = {
            "aud": GRAPH_AUDIENCE, "oid": user_id, "sub": user_id, "upn": user.get("userPrincipalName"),
            "scp": scopes, "appid": DRILL_APP, "azp": DRILL_APP, "idtyp": "user", "ver": "1.0",
            "wids": state.tenant.active_role_template_ids(user_id, state.clock.now()),
        }  # fmt: skip
        claims.update(extra)
        return str(token_service(state).issue(claims))

    return issue


@pytest.fixture
def app_token(sim: SimServer) -> Issuer:
    """An application (client-credentials) Graph token for the observer app."""

    def issue(roles: list[str] | None = None, **extra: Any) -> str:
        claims = {"aud": GRAPH_AUDIENCE, "oid": "11111111-2222-4333-8444-555555555555", "sub": OBSERVER_APP,
                  "roles": OBSERVER_ROLES if roles is None else roles,
                  "appid": OBSERVER_APP, "azp": OBSERVER_APP,
                  "idtyp": "app", "ver": "1.0"}  # fmt: skip
        claims.update(extra)
        return str(token_service(sim.state).issue(claims))

    return issue


@pytest.fixture
def api(sim: SimServer) -> Iterator[httpx.Client]:
    """httpx on the simulator's Graph base URL (the `sim` fixture is tests/sim/conftest.py's)."""
    ctx = ssl.create_default_context(cafile=str(sim.ca_path))
    with httpx.Client(base_url=f"{sim.base_url}/v1.0", verify=ctx, trust_env=False, timeout=30) as client:
        yield client
