"""The product's sign-in path on the simulator's real pages: msal builds the authorize URL, Chromium walks
the pages with the default UI profile, the bridge answers WebAuthn with the demo software key at the FIDO
host's origin, the code is trapped in the browser and msal redeems it. Then faults the pages show."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msal
import pytest
import requests

from drill.assets import DEMO_TENANT
from drill.sim.faults import apply_fault
from drill.sim.server import SimServer
from drill.sim.tenant import load_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]

REPO = Path(__file__).resolve().parents[2]
PIN = "482916"
EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
UPN = "ea01@contoso.onmicrosoft.com"
DRILL_APP = "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"
REDIRECT = "https://login.microsoftonline.test/common/oauth2/nativeclient"
SCOPES = ["User.Read"]
RELATED = {"login.microsoft.test": ["https://login.microsoftonline.test"]}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[SimServer, Any, requests.Session]]:
    """A running simulator on the demo tenant with ea01's passkey registered on a fresh software key."""
    from drill.keys.prompts import ScriptedPrompts
    from drill.keys.software import create_demo_keys, open_software_authenticator
    from drill.keys.vendor import vendor_root_pems

    vendors = tmp_path / "vendors"
    vendors.mkdir()
    key_file = create_demo_keys(tmp_path, vendors, PIN)[0]
    tenant = load_tenant(DEMO_TENANT)
    tenant.attestationRoots = [pem.decode() for pem in vendor_root_pems(vendors).values()]
    key = open_software_authenticator(key_file, ScriptedPrompts.always(PIN), RELATED)
    with SimServer(tenant, tmp_path / "sim") as sim, requests.Session() as http:
        http.trust_env = False
        http.verify = str(sim.ca_path)
        http.headers["Connection"] = "close"
        begin = http.post(f"{sim.base_url}/_sim/passkeys/register/begin", json={"userId": EA01})
        begin.raise_for_status()
        response = key.make_credential(
            begin.json()["options"], "https://login.microsoft.test", threading.Event()
        )
        done = http.post(
            f"{sim.base_url}/_sim/passkeys/register/complete",
            json={
                "registrationId": begin.json()["registrationId"],
                "response": response,
                "displayName": "Demo",
            },
        )
        assert done.status_code == 200, done.text
        yield sim, key, http


def _app(sim: SimServer, http: requests.Session) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        DRILL_APP,
        authority=f"{sim.base_url}/{sim.state.tenant.id}",
        instance_discovery=False,
        http_client=http,
        token_cache=msal.TokenCache(),
    )


async def _browser_sign_in(
    sim: SimServer, key: Any, auth_uri: str
) -> tuple[Any, list[dict[str, Any]], list[str]]:
    from drill.browser.bridge import WebAuthnBridge
    from drill.browser.launch import chromium
    from drill.browser.recording import Recorder
    from drill.browser.signin import sign_in
    from drill.browser.ui_profile import UiProfile

    names: list[str] = []
    recorder = Recorder(lambda name, png: names.append(name) or f"shots/{name}.png")
    async with chromium(extra_args=sim.chromium_args) as session:
        bridge = WebAuthnBridge(key)
        await bridge.install(session.context)
        outcome = await sign_in(
            session.context,
            auth_uri,
            REDIRECT,
            UPN,
            UiProfile(),
            recorder,
            30,
            ceremony_active=lambda: bridge.in_progress,
        )
    return outcome, bridge.ceremonies, names


def test_sign_in_on_the_simulator_pages_gives_a_code_msal_redeems(
    world: tuple[SimServer, Any, requests.Session],
) -> None:
    sim, key, http = world
    app = _app(sim, http)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT, login_hint=UPN, prompt="login")
    outcome, ceremonies, names = asyncio.run(_browser_sign_in(sim, key, flow["auth_uri"]))
    assert outcome.ok, outcome.reason
    assert [(c["kind"], c["origin"], c["rpId"], c["result"]) for c in ceremonies] == [
        ("get", "https://login.microsoft.test", "login.microsoft.test", "ok")
    ]
    assert outcome.pages[-1].kind == "kmsi"
    assert len(names) == len([p for p in outcome.pages if p.screenshot])
    result = app.acquire_token_by_auth_code_flow(flow, dict(parse_qsl(urlsplit(outcome.redirect_url).query)))
    assert "access_token" in result, result.get("error_description")
    assert result["id_token_claims"]["oid"] == EA01
    assert sim.state.signins[-1].result_type == "0"
    code = dict(parse_qsl(urlsplit(outcome.redirect_url).query))["code"]
    assert code not in str(outcome.evidence())
    assert all(code not in n for n in names)


@pytest.mark.parametrize(("fault", "code"), [("ca-block", 53003), ("account-disabled", 50057)])
def test_simulator_error_pages_fail_with_the_aadsts_code(
    world: tuple[SimServer, Any, requests.Session], fault: str, code: int
) -> None:
    sim, key, http = world
    apply_fault(sim.state, fault)
    flow = _app(sim, http).initiate_auth_code_flow(
        SCOPES, redirect_uri=REDIRECT, login_hint=UPN, prompt="login"
    )
    outcome, _, _ = asyncio.run(_browser_sign_in(sim, key, flow["auth_uri"]))
    assert not outcome.ok
    assert outcome.redirect_url is None
    assert outcome.error_code == code, outcome.reason
    assert outcome.error_meaning
