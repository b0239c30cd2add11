"""Shared simulator fixtures: a running SimServer on the demo tenant, and the observer's client secret.

`sim` is function-scoped (a fresh server per test: start-up is a fraction of a second and no test can
leak tenant changes into another). The vendor attestation roots of the demo software keys are trusted,
as `drill demo` trusts them. `observer_secret` gives the observer app a random secret for this server.
"""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from drill.assets import DEMO_TENANT
from drill.sim.identity.routes import configure_client_secret
from drill.sim.server import SimServer
from drill.sim.tenant import Tenant, load_tenant

REPO = Path(__file__).resolve().parents[2]
DEMO_TENANT = DEMO_TENANT
OBSERVER_APP_ID = "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02"
DRILL_APP_ID = "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"


@pytest.fixture(scope="session")
def vendor_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo vendors' roots and model certificates, made once per test session."""
    return tmp_path_factory.mktemp("vendors")


@pytest.fixture
def demo_tenant(vendor_dir: Path) -> Tenant:
    """A fresh copy of the demo tenant that trusts the demo vendors' attestation roots."""
    from drill.keys.vendor import vendor_root_pems

    tenant = load_tenant(DEMO_TENANT)
    tenant.attestationRoots = [pem.decode() for pem in vendor_root_pems(vendor_dir).values()]
    return tenant


@pytest.fixture
def sim(demo_tenant: Tenant, tmp_path: Path) -> Iterator[SimServer]:
    with SimServer(demo_tenant, tmp_path / "sim") as server:
        yield server


@pytest.fixture
def observer_secret(sim: SimServer) -> str:
    secret = secrets.token_urlsafe(32)
    configure_client_secret(sim.state, OBSERVER_APP_ID, secret)
    return secret


@pytest.fixture
def http(sim: SimServer) -> Iterator[requests.Session]:
    """requests session trusting only the simulator's CA (env CA variables ignored, as msal needs)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sim.ca_path)
    # Without this a kept-alive connection makes SimServer.stop wait its full 10 s join timeout.
    session.headers["Connection"] = "close"
    yield session
    session.close()


@pytest.fixture
def ssl_context(sim: SimServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(sim.ca_path))
