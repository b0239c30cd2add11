"""The product's sign-in driver in real Chromium against every variant of the simulator's Entra pages.

One simulator per module (the demo tenant, ea01's passkey on a fresh software key, answered through the
WebAuthn bridge); each test picks the variant with the tenant fixture's `signInExperience` or a fault and
drives the sign-in only. PASS paths: the direct FIDO view, the credential picker, "Stay signed in?" shown
or hidden. Every interrupt and error FAILs at sign-in naming the page and the code, within seconds.
"""

from __future__ import annotations

import asyncio
import copy
import html
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msal
import pytest
import requests
from e2e_support import SharedChromium

from drill.assets import DEMO_TENANT
from drill.sim.faults import apply_fault
from drill.sim.identity.variants import VARIANTS, differences
from drill.sim.server import SimServer
from drill.sim.tenant import load_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]

REPO = Path(__file__).resolve().parents[2]
PIN = "482916"
EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
UPN = "ea01@contoso.onmicrosoft.com"
DRILL_APP = "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"
REDIRECT = "https://login.microsoftonline.test/common/oauth2/nativeclient"
RELATED = {"login.microsoft.test": ["https://login.microsoftonline.test"]}
FAST_FAIL_S = 10.0  # "within seconds of the page appearing": far below any SLA


def slow_prompts(pin: str) -> Any:
    """The demo key's scripted PIN, answered only after `delay_s` of real wall time: an operator typing."""
    from drill.keys.prompts import ScriptedPrompts

    class SlowPrompts(ScriptedPrompts):
        delay_s = 0.0
        waited: list[float] = []  # noqa: RUF012 (per-instance use only)
        on_pin: Any = None  # something that happens in the tenant while the operator is at the key

        def pin(self, key: Any, retries_left: int | None) -> str | None:
            if self.on_pin is not None:
                self.on_pin()
            started = time.monotonic()
            time.sleep(self.delay_s)  # in the ceremony thread, as a human at the key would be
            self.waited.append(time.monotonic() - started)
            return super().pin(key, retries_left)

    return SlowPrompts([pin] * 1000)


class World:
    def __init__(self, sim: SimServer, key: Any, http: requests.Session, prompts: Any, browser: Any) -> None:
        self.sim, self.key, self.http, self.prompts, self.browser = sim, key, http, prompts, browser
        self.pristine = copy.deepcopy(sim.state.tenant)

    def reset(self, **experience: Any) -> None:
        """Back to the registered demo tenant, then the variant (the key's counter keeps growing)."""
        counters = {p["credentialId"]: p["signCount"] for p in self.sim.state.tenant.passkeys}
        tenant = copy.deepcopy(self.pristine)
        for p in tenant.passkeys:
            p["signCount"] = counters.get(p["credentialId"], p["signCount"])
        tenant.signInExperience = dict(experience)
        self.sim.state.tenant = tenant
        self.sim.state.signins.clear()
        self.sim.state.faults.clear()

    def auth_uri(self, login_hint: str | None = UPN) -> str:
        app = msal.PublicClientApplication(
            DRILL_APP,
            authority=f"{self.sim.base_url}/{self.sim.state.tenant.id}",
            instance_discovery=False,
            http_client=self.http,
            token_cache=msal.TokenCache(),
        )
        flow = app.initiate_auth_code_flow(
            ["User.Read"], redirect_uri=REDIRECT, login_hint=login_hint, prompt="login"
        )
        return str(flow["auth_uri"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from drill.keys.software import create_demo_keys, open_software_authenticator
    from drill.keys.vendor import vendor_root_pems

    tmp = tmp_path_factory.mktemp("variants")
    vendors = tmp / "vendors"
    vendors.mkdir()
    key_file = create_demo_keys(tmp, vendors, PIN)[0]
    tenant = load_tenant(DEMO_TENANT)
    tenant.attestationRoots = [pem.decode() for pem in vendor_root_pems(vendors).values()]
    prompts = slow_prompts(PIN)
    key = open_software_authenticator(key_file, prompts, RELATED)
    with SimServer(tenant, tmp / "sim") as sim, requests.Session() as http:
        http.trust_env = False
        http.verify = str(sim.ca_path)
        http.headers["Connection"] = "close"
        begin = http.post(f"{sim.base_url}/_sim/passkeys/register/begin", json={"userId": EA01})
        begin.raise_for_status()
        made = key.make_credential(begin.json()["options"], "https://login.microsoft.test", threading.Event())
        done = http.post(
            f"{sim.base_url}/_sim/passkeys/register/complete",
            json={"registrationId": begin.json()["registrationId"], "response": made, "displayName": "Demo"},
        )
        assert done.status_code == 200, done.text
        browser = SharedChromium(sim.chromium_args)  # one Chromium, a fresh context per test
        try:
            yield World(sim, key, http, prompts, browser)
        finally:
            browser.close()


async def _drive(world: World, auth_uri: str, key: Any = None, **kw: Any) -> tuple[Any, Any]:
    from drill.browser.bridge import WebAuthnBridge
    from drill.browser.signin import sign_in
    from drill.browser.ui_profile import UiProfile

    async with world.browser.session() as session:
        bridge = WebAuthnBridge(key or world.key)
        await bridge.install(session.context)
        outcome = await sign_in(
            session.context,
            auth_uri,
            REDIRECT,
            UPN,
            UiProfile(),
            None,
            kw.pop("deadline", 60),
            ceremony_active=lambda: bridge.in_progress,
            **kw,
        )
    return outcome, bridge


def run(world: World, **kw: Any) -> tuple[Any, Any]:
    return world.browser.run(_drive(world, world.auth_uri(kw.pop("login_hint", UPN)), **kw))


def views(outcome: Any) -> list[tuple[str | None, str]]:
    return [(p["pgid"], p["view"]) for p in outcome.sequence()]


# -- PASS paths -------------------------------------------------------------------------------------------
def test_direct_fido_view_with_kmsi_passes_and_logs_50140_then_0(world: World) -> None:
    world.reset()  # the demo default: PrefCredential 7, "Stay signed in?" shown
    outcome, bridge = run(world)
    assert outcome.ok, outcome.reason
    assert [(c["kind"], c["origin"], c["rpId"], c["result"]) for c in bridge.ceremonies] == [
        ("get", "https://login.microsoft.test", "login.microsoft.test", "ok")
    ]
    seq = outcome.sequence()
    assert (seq[0]["pgid"], seq[0]["error_codes"]) == ("ConvergedSignIn", ["50058"]), seq
    assert [s["view"] for s in seq][-2:] == ["fido_ceremony", "kmsi"]
    assert seq[-2]["host"] == "login.microsoft.test"
    assert seq[-2]["path"].endswith("/fido/get")
    assert seq[-1]["pgid"] == "KmsiInterrupt"
    rows = world.sim.state.signins
    assert [r.result_type for r in rows] == ["50140", "0"]
    assert len({r.correlation_id for r in rows}) == 1
    assert all(" Chrome/" in r.user_agent and "Headless" not in r.user_agent for r in rows)  # headless run
    assert "code=" not in str(outcome.evidence())


def test_kmsi_hidden_passes_without_it(world: World) -> None:
    world.reset(showKmsi=False)
    outcome, _ = run(world)
    assert outcome.ok, outcome.reason
    assert "KmsiInterrupt" not in [p for p, _ in views(outcome)]
    assert [r.result_type for r in world.sim.state.signins] == ["0"]


def test_credential_picker_passes_through_the_security_key_tile(world: World) -> None:
    world.reset(preferredCredential=1000)
    outcome, _ = run(world)
    assert outcome.ok, outcome.reason
    assert ("ConvergedSignIn", "picker") in views(outcome)


def test_without_login_hint_the_driver_types_the_name_and_the_lookup_picks_fido(world: World) -> None:
    world.reset(showKmsi=False)
    outcome, _ = run(world, login_hint=None)
    assert outcome.ok, outcome.reason
    # The driver may poll the page once before its script shows a view ("signin_waiting"): timing, not a page.
    shown = [v for v in views(outcome) if v[1] != "signin_waiting"]
    assert shown[0] == ("ConvergedSignIn", "username")
    assert (None, "fido_ceremony") in shown  # and the lookup took it to the FIDO ceremony


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_variant_leads_through_its_documented_page_sequence(world: World, variant: str) -> None:
    """The sequences tests/live compares a live drill's pages with (drill/sim/identity/variants.py)."""
    world.reset(**VARIANTS[variant])
    outcome, _ = run(world)
    assert outcome.ok, outcome.reason
    assert differences(variant, outcome.sequence()) == []


def test_a_sequence_that_differs_is_named_at_its_first_difference() -> None:
    recorded = [
        {"pgid": "ConvergedSignIn", "view": "signin_waiting"},
        {"pgid": "ConvergedTFA", "view": "tfa"},
    ]
    lines = differences("fido-direct-kmsi", recorded)
    assert lines[-1] == (
        "first difference at page 2: simulator (None, 'fido_ceremony'), recorded ('ConvergedTFA', 'tfa')"
    )


# -- FAIL paths: each interrupt and error, naming the page and the code, within seconds ----------------------
@pytest.mark.parametrize(
    ("experience", "page", "code"),
    [
        ({"interrupt": "cmsi"}, "CmsiInterrupt", 50199),
        ({"interrupt": "proofUp"}, "ConvergedProofUpRedirect", 50079),
        ({"interrupt": "mfaRegistrationNag"}, "ConvergedProofUpRedirect", 50203),
        ({"interrupt": "mfa"}, "ConvergedTFA", 50074),
        ({"fidoOfferedToBrowser": False}, "ConvergedSignIn", None),
    ],
)
def test_interrupts_fail_at_sign_in_naming_page_and_code(
    world: World, experience: dict[str, Any], page: str, code: int | None
) -> None:
    world.reset(**experience)
    started = time.monotonic()
    outcome, _ = run(world)
    assert time.monotonic() - started < FAST_FAIL_S + 5
    assert not outcome.ok
    assert outcome.redirect_url is None
    assert outcome.page == page, outcome.reason
    assert outcome.error_code == code, outcome.reason
    if code:
        assert f"AADSTS{code}" in outcome.reason
    else:
        assert "Entra does not offer FIDO to this browser" in outcome.reason
    assert outcome.config_summary["pgid"] == page


@pytest.mark.parametrize(
    ("fault", "page", "code"),
    [
        ("account-disabled", "ConvergedSignIn", 50057),
        ("aaguid-not-allowed", "ConvergedSignIn", 135016),
        ("ca-block", "ConvergedError", 53003),
        ("ca-compliant-device", "ConvergedError", 53000),
        ("attestation-enforced-unattested", "ConvergedError", 500121),
    ],
)
def test_errors_fail_at_sign_in_naming_page_code_and_correlation(
    world: World, fault: str, page: str, code: int
) -> None:
    world.reset()
    apply_fault(world.sim.state, fault)
    started = time.monotonic()
    outcome, _ = run(world)
    assert time.monotonic() - started < FAST_FAIL_S + 5
    assert not outcome.ok
    assert (outcome.page, outcome.error_code) == (page, code), outcome.reason
    assert f"AADSTS{code}" in outcome.reason
    assert outcome.correlation_id == world.sim.state.signins[-1].correlation_id
    assert outcome.correlation_id in outcome.reason
    assert outcome.sequence()[-1]["error_codes"][0] == str(code)


def test_passkey_deleted_lands_on_the_password_view_and_never_submits_it(world: World) -> None:
    world.reset(showKmsi=False)
    apply_fault(world.sim.state, "passkey-deleted")
    outcome, _ = run(world, unknown_grace_s=3.0)
    assert not outcome.ok
    assert outcome.page == "ConvergedSignIn"
    assert "no security key" in outcome.reason
    assert ("ConvergedSignIn", "password") in views(outcome)
    assert world.sim.state.signins == []  # no password (empty or not) was ever posted: no 50126 row


def test_another_accounts_key_fails_on_the_fido_page(world: World, tmp_path: Path) -> None:
    from drill.keys.prompts import ScriptedPrompts
    from drill.keys.software import create_demo_keys, open_software_authenticator

    world.reset()
    vendors = tmp_path / "v"
    vendors.mkdir()
    other_file = create_demo_keys(tmp_path, vendors, PIN)[1]
    other = open_software_authenticator(other_file, ScriptedPrompts.always(PIN), RELATED)
    outcome, bridge = run(world, key=other)
    assert not outcome.ok
    assert outcome.page == "fido_failed", outcome.reason
    assert "We couldn't sign you in" in outcome.reason
    assert bridge.ceremonies[-1]["result"] != "ok"


# -- a slow ceremony: no page timer runs while the operator is at the key -----------------------------------
@pytest.mark.slow
def test_a_40_second_pin_entry_is_not_cut_short_by_any_page_timer(world: World) -> None:
    """The PIN is answered after a real 40 s wall wait; the page timer's grace is 2 s. Had any page timer
    run during the ceremony, the sign-in would have failed after 2 s on the FIDO page."""
    world.reset(showKmsi=False)
    world.prompts.delay_s, world.prompts.waited = 40.0, []
    active: list[float] = []
    try:

        async def go() -> tuple[Any, Any]:
            from drill.browser.bridge import WebAuthnBridge
            from drill.browser.launch import chromium
            from drill.browser.signin import sign_in
            from drill.browser.ui_profile import UiProfile

            async with chromium(extra_args=world.sim.chromium_args) as session:
                bridge = WebAuthnBridge(world.key)
                await bridge.install(session.context)

                def busy() -> bool:
                    if bridge.in_progress:
                        active.append(time.monotonic())
                    return bridge.in_progress

                out = await sign_in(
                    session.context, world.auth_uri(), REDIRECT, UPN, UiProfile(), None, 90,
                    unknown_grace_s=2.0, ceremony_active=busy,
                )  # fmt: skip
            return out, bridge

        started = time.monotonic()
        outcome, bridge = asyncio.run(go())
        took = time.monotonic() - started
    finally:
        world.prompts.delay_s = 0.0
    assert outcome.ok, outcome.reason
    assert world.prompts.waited
    assert world.prompts.waited[0] >= 40.0
    assert took >= 40.0
    # The driver saw the ceremony running at least 30 s before the sign-in ended, far past the 2 s grace
    # (how often it polls during the wait is its own business: on a loaded machine it polls less).
    assert active, "the driver never asked whether a ceremony was running"
    assert (started + took) - active[0] >= 30.0
    assert [c["result"] for c in bridge.ceremonies] == ["ok"]
    assert [p["view"] for p in outcome.sequence()][-1] == "fido_ceremony"


def test_a_wrong_password_page_fails_naming_50126(world: World, site: Any) -> None:
    """The driver never posts a password, so 50126 only comes from someone else's post: a page on another
    site submits a wrong password into a real flow, and the driver, landing on the answer, fails on it."""
    from drill.browser.launch import chromium
    from drill.browser.signin import sign_in
    from drill.browser.ui_profile import UiProfile

    world.reset()
    http = world.http
    parts = world.auth_uri().split("/", 3)
    first = http.get(f"{world.sim.base_url}/{parts[3]}", headers={"Host": "login.microsoftonline.test"})
    match = re.search(r"\$Config=(\{.+\});", first.text)
    assert match
    cfg = json.loads(match.group(1))
    fields = {"type": "11", "ps": "2", "loginfmt": UPN, "passwd": "not-the-password",
              "flowToken": cfg["sFT"], "ctx": cfg["sCtx"], "canary": cfg["canary"]}  # fmt: skip
    inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items())
    action = f"https://login.microsoftonline.test{cfg['urlPost']}"
    site.pages["/post-password"] = (
        f'<!doctype html><title>x</title><form method="post" action="{action}">{inputs}</form>'
        "<script>document.forms[0].submit()</script>"
    )
    sim_rules = world.sim.chromium_args[0].split("=", 1)[1]
    site_rules = site.chromium_args[0].split("=", 1)[1]
    pins = ",".join(a.split("=", 1)[1] for a in (world.sim.chromium_args[1], site.chromium_args[1]))
    args = [
        f"--host-resolver-rules={sim_rules}, {site_rules}",
        f"--ignore-certificate-errors-spki-list={pins}",
    ]

    async def go() -> Any:
        async with chromium(extra_args=args) as session:
            return await sign_in(
                session.context, site.url("rp.test", "/post-password"), REDIRECT, UPN, UiProfile(), None, 30
            )

    started = time.monotonic()
    outcome = asyncio.run(go())
    assert time.monotonic() - started < FAST_FAIL_S + 5
    assert not outcome.ok
    assert (outcome.page, outcome.error_code) == ("ConvergedSignIn", 50126), outcome.reason
    assert "AADSTS50126" in outcome.reason
    assert outcome.sequence()[-1]["error_codes"] == ["50126"]


def test_a_passkey_deleted_during_the_ceremony_fails_inline_with_500344(world: World) -> None:
    """The credential disappears from the tenant while the operator types the PIN: Entra finds no account
    for the presented passkey and says so in place on the sign-in page."""
    world.reset()
    tenant = world.sim.state.tenant
    world.prompts.on_pin = lambda: tenant.passkeys.clear()
    try:
        outcome, bridge = run(world)
    finally:
        world.prompts.on_pin = None
    assert not outcome.ok
    assert [c["result"] for c in bridge.ceremonies] == ["ok"]  # the key answered; Entra refused
    assert (outcome.page, outcome.error_code) == ("ConvergedSignIn", 500344), outcome.reason
    assert "AADSTS500344" in outcome.reason
