"""The product's own browser path against the simulator's pages: Chromium, the WebAuthn bridge answered by
the demo software key (real CTAP through python-fido2), the UI profile driver, msal. One healthy sign-in,
then the same account blocked by a new CA policy: the driver must read AADSTS53003 off the error page.
"""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import pytest
import requests
from identity_support import EA01, REDIRECT, SCOPES, Pages

from drill.sim.faults import apply_fault
from drill.sim.server import SimServer

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]


async def _sign_in(sim: SimServer, key: Any, auth_uri: str) -> Any:
    from pathlib import Path

    from drill.browser.bridge import WebAuthnBridge
    from drill.browser.launch import chromium
    from drill.browser.signin import sign_in
    from drill.browser.ui_profile import UiProfile

    async with chromium(Path("/usr/bin/chromium"), extra_args=sim.chromium_args) as session:
        bridge = WebAuthnBridge(key)
        await bridge.install(session.context)
        outcome = await sign_in(
            session.context,
            auth_uri,
            REDIRECT,
            "ea01@contoso.onmicrosoft.com",
            UiProfile(),
            None,
            30,
            ceremony_active=lambda: bridge.in_progress,
        )
        return outcome, bridge.ceremonies


def test_product_driver_and_bridge_sign_in_then_meet_a_block(
    registered: SimServer, pages: Pages, authenticator: Any, http: requests.Session
) -> None:
    key = authenticator(0)
    app = pages.app()
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=REDIRECT, login_hint="ea01@contoso.onmicrosoft.com", prompt="login"
    )
    outcome, ceremonies = asyncio.run(_sign_in(registered, key, flow["auth_uri"]))
    assert outcome.ok, outcome.reason
    assert [p.kind for p in outcome.pages][-1] == "kmsi"
    assert len(ceremonies) == 1
    from urllib.parse import parse_qs, urlsplit

    query = {k: v[0] for k, v in parse_qs(urlsplit(outcome.redirect_url).query).items()}
    result = app.acquire_token_by_auth_code_flow(flow, query)
    assert result["id_token_claims"]["oid"] == EA01
    assert [r.result_type for r in registered.state.signins] == ["50140", "0"]

    apply_fault(registered.state, "ca-block")
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=REDIRECT, login_hint="ea01@contoso.onmicrosoft.com", prompt="login"
    )
    blocked, _ = asyncio.run(_sign_in(registered, key, flow["auth_uri"]))
    assert not blocked.ok
    assert blocked.error_code == 53003
    assert blocked.correlation_id == registered.state.signins[-1].correlation_id
