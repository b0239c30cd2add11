"""Real Chromium against the simulator's pages: register a passkey and sign in with the CDP virtual
authenticator, end to end through msal's auth code flow. Few and fast on purpose.

The virtual authenticator has its own AAGUID and self-made attestation, so the test tenant allows that AAGUID
(key restrictions and the break-glass authentication strength), exactly the change an admin would make for a
new key model.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import msal
import pytest
import requests
from identity_support import EA01, REDIRECT, SCOPES

from drill.sim.server import SimServer
from drill.sim.state import token_service
from drill.sim.tenant import Tenant
from drill.sim.tokens import GRAPH_AUDIENCE

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]  # fmt: skip
# Chromium's virtual authenticator reports this AAGUID (checked on Chromium 156).
VIRTUAL_AAGUID = "01020304-0506-0708-0102-030405060708"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]

REGISTER_JS = """
async () => {
  const b = await (await fetch('/_sim/passkeys/register/begin', {method: 'POST',
      headers: {'content-type': 'application/json'}, body: JSON.stringify({userId: '%s'})})).json();
  const toBuf = s => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
  const toB64u = buf => btoa(String.fromCharCode(...new Uint8Array(buf)))
      .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  const pk = b.options.publicKey;
  pk.challenge = toBuf(pk.challenge);
  pk.user.id = toBuf(pk.user.id);
  pk.excludeCredentials = (pk.excludeCredentials || []).map(c => ({...c, id: toBuf(c.id)}));
  const cred = await navigator.credentials.create({publicKey: pk});
  const response = {id: cred.id, rawId: toB64u(cred.rawId), type: cred.type, response: {
      clientDataJSON: toB64u(cred.response.clientDataJSON),
      attestationObject: toB64u(cred.response.attestationObject)}, clientExtensionResults: {}};
  const done = await fetch('/_sim/passkeys/register/complete', {method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({registrationId: b.registrationId, response: response})});
  return {status: done.status, body: await done.json()};
}
"""


@pytest.fixture
def browser_tenant(demo_tenant: Tenant) -> Tenant:
    fido2 = demo_tenant.authenticationMethodsPolicy["fido2"]
    fido2["keyRestrictions"]["aaGuids"].append(VIRTUAL_AAGUID)
    for policy in demo_tenant.authenticationStrengthPolicies:
        for conf in policy.get("combinationConfigurations") or []:
            conf["allowedAAGUIDs"].append(VIRTUAL_AAGUID)
    return demo_tenant


@pytest.fixture
def browser_sim(browser_tenant: Tenant, tmp_path: Path) -> Any:
    with SimServer(browser_tenant, tmp_path / "sim") as server:
        yield server


async def _drive(sim: SimServer, auth_uri: str, shots: Path) -> tuple[dict[str, Any], str, list[str]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS + sim.chromium_args)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            cdp = await context.new_cdp_session(page)
            await cdp.send("WebAuthn.enable", {"enableUI": False})
            await cdp.send(
                "WebAuthn.addVirtualAuthenticator",
                {"options": {"protocol": "ctap2", "transport": "usb", "hasResidentKey": True,
                             "hasUserVerification": True, "isUserVerified": True,
                             "automaticPresenceSimulation": True}},
            )  # fmt: skip
            await page.goto("https://login.microsoft.test/.well-known/webauthn")
            registration = await page.evaluate(REGISTER_JS % EA01)
            seen: list[str] = []
            page.on(
                "framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None
            )
            await page.goto(auth_uri)
            await page.wait_for_selector(
                'meta[name="PageID"][content="KmsiInterrupt"]', state="attached", timeout=15000
            )
            await page.screenshot(path=str(shots / "kmsi.png"))
            async with page.expect_navigation(url="**/common/oauth2/nativeclient?*"):
                await page.click("#idBtn_Back")
            return registration, page.url, seen
        finally:
            await browser.close()


def test_chromium_registers_and_signs_in_with_a_virtual_authenticator(
    browser_sim: SimServer, tmp_path: Path
) -> None:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(browser_sim.ca_path)
    session.headers["Connection"] = "close"
    app = msal.PublicClientApplication(
        "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01",
        authority=f"{browser_sim.base_url}/{browser_sim.state.tenant.id}",
        instance_discovery=False,
        http_client=session,
        token_cache=msal.TokenCache(),
    )
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=REDIRECT, login_hint="ea01@contoso.onmicrosoft.com", prompt="login"
    )
    registration, final_url, seen = asyncio.run(_drive(browser_sim, flow["auth_uri"], tmp_path))
    assert registration["status"] == 200, registration
    assert registration["body"]["aaGuid"] == VIRTUAL_AAGUID
    tid = browser_sim.state.tenant.id
    assert any(u.startswith(f"https://login.microsoft.test/{tid}/fido/get") for u in seen)
    from urllib.parse import parse_qs, urlsplit

    query = {k: v[0] for k, v in parse_qs(urlsplit(final_url).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, query)
    assert "access_token" in result, result
    claims = token_service(browser_sim.state).verify(result["access_token"], (GRAPH_AUDIENCE,))
    assert claims["oid"] == EA01
    kmsi, event = browser_sim.state.signins
    assert (kmsi.result_type, event.result_type) == ("50140", "0")
    assert "Chrome" in event.user_agent
    assert event.extra["aaguid"] == VIRTUAL_AAGUID
