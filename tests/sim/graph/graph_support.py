"""Shared constants and helpers of the Graph tests (the demo tenant's ids, clients, shape comparison)."""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path
from typing import Any

import httpx

from drill.sim.server import SimServer

REFERENCE = Path(__file__).parent / "examples"
EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
EA02 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"
ALICE = "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01"
DRILL_APP = "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"
OBSERVER_APP = "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02"
GA = "62e90394-69f5-4237-9190-012177145e10"
MAILBOX = "soc-alerts@contoso.test"
OBSERVER_ROLES = ["Mail.Read", "Mail.Send", "AuditLog.Read.All", "Directory.Read.All",
                  "RoleManagement.Read.Directory", "Policy.Read.All"]  # fmt: skip
DRILL_SCOPES = "User.Read RoleManagement.Read.Directory Directory.Read.All"


class StaticCredential:
    """What azure-identity's TokenCredential protocol needs: get_token(*scopes) -> AccessToken."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes_seen: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes_seen.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def graph_client(sim: SimServer, credential: Any, scopes: list[str]) -> Any:
    """A GraphServiceClient wired as the product wires it (drill/clients.py), against the simulator.

    Close it with `await close(client)` before the event loop ends: a kept-alive connection otherwise holds
    uvicorn's graceful shutdown until the server's join timeout. msgraph-core's AsyncGraphTransport has no
    aclose(), so closing the httpx client does not close the pool underneath: close that transport itself.
    """
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.graph_request_adapter import options
    from msgraph_core import GraphClientFactory

    auth = AzureIdentityAuthenticationProvider(credential, scopes=scopes, allowed_hosts=["127.0.0.1"])
    ctx = ssl.create_default_context(cafile=str(sim.ca_path))
    raw = httpx.AsyncClient(verify=ctx, trust_env=False, timeout=30)
    pool = raw._transport
    # `options` carries the /users/me-token-to-replace -> /me rewrite; without it `client.me` 404s
    client = GraphClientFactory.create_with_default_middleware(client=raw, options=options)
    adapter = GraphRequestAdapter(auth, client=client)
    adapter.base_url = f"{sim.base_url}/v1.0"
    graph = GraphServiceClient(request_adapter=adapter)
    graph._test_pool = pool
    return graph


async def close(graph: Any) -> None:
    await graph._test_pool.aclose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def example(name: str) -> Any:
    """A documented Graph response (tests/sim/graph/examples, copied from the shared reference data)."""
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"))


def assert_same_shape(actual: Any, expected: Any, where: str = "$", *, exact_keys: bool = True) -> None:
    """Same property names (and JSON types where both sides are not null), recursively; values may differ."""
    if expected is None or actual is None:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {type(actual).__name__}"
        missing = set(expected) - set(actual)
        assert not missing, f"{where}: missing {sorted(missing)}"
        if exact_keys:
            extra = set(actual) - set(expected)
            assert not extra, f"{where}: unexpected {sorted(extra)}"
        for key, value in expected.items():
            assert_same_shape(actual[key], value, f"{where}.{key}", exact_keys=exact_keys)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected an array, got {type(actual).__name__}"
        if expected and actual:
            for item in actual:
                assert_same_shape(item, expected[0], f"{where}[]", exact_keys=exact_keys)
    else:
        kinds = (bool, int, float, str)
        want = next(k for k in kinds if isinstance(expected, k))
        assert isinstance(actual, want), f"{where}: expected {want.__name__}, got {actual!r}"
