"""The WebAuthn bridge in real Chromium: a page on https://rp.test calls navigator.credentials, the demo
software key answers (real CTAP through python-fido2), and fido2's own relying party verifies the result.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fido2.server import Fido2Server
from fido2.webauthn import PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]

PIN = "482916"
PAGE = """<!doctype html><title>rp</title><script>
const dec = (s) =>
  Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)).buffer;
const prep = (o) => {
  const pk = structuredClone(o.publicKey);
  pk.challenge = dec(pk.challenge);
  if (pk.user) pk.user.id = dec(pk.user.id);
  for (const list of [pk.allowCredentials, pk.excludeCredentials])
    for (const c of list || []) c.id = dec(c.id);
  return pk;
};
const describe = async (p) => {
  try {
    const c = await p;
    const data = JSON.parse(new TextDecoder().decode(c.response.clientDataJSON));
    return {ok: true, json: c.toJSON(), origin: data.origin, isPkc: c instanceof PublicKeyCredential,
      isAssertion: c.response instanceof AuthenticatorAssertionResponse,
      isAttestation: c.response instanceof AuthenticatorAttestationResponse,
      rawIdIsBuffer: c.rawId instanceof ArrayBuffer, ext: typeof c.getClientExtensionResults()};
  } catch (e) { return {ok: false, name: e.name, isDomException: e instanceof DOMException}; }
};
window.doCreate = (o) => describe(navigator.credentials.create({publicKey: prep(o)}));
window.doGet = (o) => describe(navigator.credentials.get({publicKey: prep(o)}));
window.pending = {};
window.startGet = (o, mediation) => {
  const ctl = new AbortController();
  const opts = {publicKey: prep(o), signal: ctl.signal};
  if (mediation) opts.mediation = mediation;
  window.pending = {ctl, result: describe(navigator.credentials.get(opts))};
};
window.abortedGet = (o) => {
  const ctl = new AbortController(); ctl.abort();
  return describe(navigator.credentials.get({publicKey: prep(o), signal: ctl.signal}));
};
</script><iframe id="f" src="https://other.test/frame"></iframe>"""


class Observed:
    """The real software-key authenticator, with the cancel events it was handed kept for the test."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.cancels: list[threading.Event] = []

    def describe(self) -> Any:
        return self.inner.describe()

    def get_assertion(self, options: dict[str, Any], origin: str, cancel: threading.Event) -> dict[str, Any]:
        self.cancels.append(cancel)
        return dict(self.inner.get_assertion(options, origin, cancel))

    def make_credential(
        self, options: dict[str, Any], origin: str, cancel: threading.Event
    ) -> dict[str, Any]:
        self.cancels.append(cancel)
        return dict(self.inner.make_credential(options, origin, cancel))


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from drill.keys.software import create_demo_keys

    return create_demo_keys(tmp_path_factory.mktemp("keys"), tmp_path_factory.mktemp("vendors"), PIN)[0]


def open_key(
    key_file: Path, tmp: Path, presence: Callable[[threading.Event], bool] | None = None
) -> Observed:
    from drill.keys.prompts import ScriptedPrompts
    from drill.keys.software import auto_approve, open_software_authenticator

    copy = tmp / "key.json"
    copy.write_bytes(key_file.read_bytes())
    return Observed(
        open_software_authenticator(copy, ScriptedPrompts.always(PIN), {}, presence=presence or auto_approve)
    )


def rp(rp_id: str = "rp.test") -> Fido2Server:
    return Fido2Server(PublicKeyCredentialRpEntity(name="Test RP", id=rp_id))


USER = PublicKeyCredentialUserEntity(
    name="ea01@contoso.onmicrosoft.com", id=b"user-ea01", display_name="EA 01"
)


async def _with_page(site: Any, key: Any, body: Callable[[Any, Any], Any], browser: Any = None) -> Any:
    """`body(page, bridge)` on the test page: in a fresh context of the shared browser, or (no `browser`)
    in a Chromium of its own, which leaving the block closes."""
    from drill.browser.bridge import WebAuthnBridge
    from drill.browser.launch import chromium

    site.pages["/"] = PAGE
    site.pages["/frame"] = PAGE.replace('<iframe id="f" src="https://other.test/frame"></iframe>', "")
    opened = browser.session() if browser is not None else chromium(extra_args=site.chromium_args)
    async with opened as session:
        bridge = WebAuthnBridge(key)
        await bridge.install(session.context)
        page = session.context.pages[0] if session.context.pages else await session.context.new_page()
        await page.goto(site.url("rp.test", "/"))
        await page.frame_locator("#f").locator("body").wait_for(state="attached")
        return await body(page, bridge)


def test_register_then_sign_in_verified_by_fido2_server(
    site: Any, site_browser: Any, key_file: Path, tmp_path: Path
) -> None:
    server = rp()

    async def body(page: Any, bridge: Any) -> Any:
        options, reg_state = server.register_begin(USER, user_verification="required")
        created = await page.evaluate("(o) => doCreate(o)", dict(options))
        assert created["ok"], created
        auth_data = server.register_complete(reg_state, created["json"])
        request, auth_state = server.authenticate_begin(
            [auth_data.credential_data], user_verification="required"
        )
        got = await page.evaluate("(o) => doGet(o)", dict(request))
        assert got["ok"], got
        server.authenticate_complete(auth_state, [auth_data.credential_data], got["json"])
        return created, got, bridge.ceremonies

    created, got, ceremonies = site_browser.run(
        _with_page(site, open_key(key_file, tmp_path), body, site_browser)
    )
    assert created["isPkc"]
    assert created["isAttestation"]
    assert not created["isAssertion"]
    assert got["isPkc"]
    assert got["isAssertion"]
    assert got["rawIdIsBuffer"]
    assert got["ext"] == "object"
    assert created["origin"] == got["origin"] == "https://rp.test"
    assert [(c["kind"], c["origin"], c["rpId"], c["result"]) for c in ceremonies] == [
        ("create", "https://rp.test", "rp.test", "ok"),
        ("get", "https://rp.test", "rp.test", "ok"),
    ]


def test_iframe_gets_its_own_origin_and_a_foreign_rp_id_is_refused(
    site: Any, site_browser: Any, key_file: Path, tmp_path: Path
) -> None:
    async def body(page: Any, bridge: Any) -> Any:
        child = next(f for f in page.frames if f.url.startswith("https://other.test/"))
        own, _ = rp("other.test").register_begin(USER)
        in_frame = await child.evaluate("(o) => doCreate(o)", dict(own))
        options, _ = rp("rp.test").register_begin(USER)  # rp.test asked for from other.test
        foreign = await child.evaluate("(o) => doCreate(o)", dict(options))
        top_foreign, _ = rp("example.com").register_begin(USER)
        from_top = await page.evaluate("(o) => doCreate(o)", dict(top_foreign))
        return in_frame, foreign, from_top, bridge.ceremonies

    in_frame, foreign, from_top, ceremonies = site_browser.run(
        _with_page(site, open_key(key_file, tmp_path), body, site_browser)
    )
    assert in_frame["ok"]
    assert in_frame["origin"] == "https://other.test"
    assert foreign == {"ok": False, "name": "SecurityError", "isDomException": True}
    assert from_top["name"] == "SecurityError"
    assert [c["origin"] for c in ceremonies] == [
        "https://other.test",
        "https://other.test",
        "https://rp.test",
    ]


def test_rp_id_defaults_to_the_frame_host(
    site: Any, site_browser: Any, key_file: Path, tmp_path: Path
) -> None:
    async def body(page: Any, bridge: Any) -> Any:
        options, state = rp().register_begin(USER)
        raw = dict(options)
        raw["publicKey"] = dict(raw["publicKey"].items())
        raw["publicKey"]["rp"] = {"name": "Test RP"}  # no id: WebAuthn means the caller's host
        created = await page.evaluate("(o) => doCreate(o)", raw)
        rp().register_complete(state, created["json"])
        return bridge.ceremonies

    ceremonies = site_browser.run(_with_page(site, open_key(key_file, tmp_path), body, site_browser))
    assert ceremonies[0]["rpId"] == "rp.test"


def test_abort_rejects_and_cancels_the_key(
    site: Any, site_browser: Any, key_file: Path, tmp_path: Path
) -> None:
    touch_asked = threading.Event()

    def presence(cancel: threading.Event) -> bool:
        touch_asked.set()
        cancel.wait(20)  # an operator who never touches: only the page's abort ends this
        return False

    # A key whose presence check waits: the ceremony is in flight when the page aborts.
    waiting = open_key(key_file, tmp_path, presence)

    async def run(page: Any, bridge: Any) -> Any:
        request, _ = rp().authenticate_begin()
        already = await page.evaluate("(o) => abortedGet(o)", dict(request))
        asked_before = len(waiting.cancels)
        await page.evaluate("(o) => startGet(o)", dict(request))
        await asyncio.to_thread(touch_asked.wait, 20)
        await page.evaluate("() => window.pending.ctl.abort()")
        aborted = await page.evaluate("() => window.pending.result")
        for _ in range(100):  # the thread ends once the key has seen the cancel
            if bridge.ceremonies:
                break
            await asyncio.sleep(0.05)
        return already, asked_before, aborted, bridge.ceremonies

    already, asked_before, aborted, ceremonies = site_browser.run(
        _with_page(site, waiting, run, site_browser)
    )
    assert already == {"ok": False, "name": "AbortError", "isDomException": True}
    assert asked_before == 0
    assert aborted == {"ok": False, "name": "AbortError", "isDomException": True}
    assert len(waiting.cancels) == 1
    assert waiting.cancels[0].is_set()
    assert ceremonies
    assert ceremonies[0]["result"] != "ok"


def test_conditional_mediation_waits_for_abort_and_platform_is_unavailable(
    site: Any, site_browser: Any, key_file: Path, tmp_path: Path
) -> None:
    key = open_key(key_file, tmp_path)

    async def body(page: Any, bridge: Any) -> Any:
        flags = await page.evaluate(
            """async () => [await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable(),
                          await PublicKeyCredential.isConditionalMediationAvailable()]"""
        )
        request, _ = rp().authenticate_begin()
        await page.evaluate("(o) => startGet(o, 'conditional')", dict(request))
        still = await page.evaluate(
            "() => Promise.race([window.pending.result, "
            "new Promise((r) => setTimeout(() => r('pending'), 300))])"
        )
        await page.evaluate("() => window.pending.ctl.abort()")
        after = await page.evaluate("() => window.pending.result")
        return flags, still, after, bridge.ceremonies

    flags, still, after, ceremonies = site_browser.run(_with_page(site, key, body, site_browser))
    assert flags == [False, False]
    assert still == "pending"
    assert after["name"] == "AbortError"
    assert ceremonies == []
    assert key.cancels == []


def test_closing_the_browser_mid_ceremony_releases_the_key(site: Any, key_file: Path, tmp_path: Path) -> None:
    touch_asked = threading.Event()
    presence_done = threading.Event()
    released: list[bool] = []

    def presence(cancel: threading.Event) -> bool:
        touch_asked.set()
        released.append(cancel.wait(20))  # True only if the drill cancelled the ceremony
        presence_done.set()
        return False

    waiting = open_key(key_file, tmp_path, presence)

    async def body(page: Any, bridge: Any) -> Any:
        request, _ = rp().authenticate_begin()
        await page.evaluate("(o) => startGet(o)", dict(request))
        await asyncio.to_thread(touch_asked.wait, 20)
        # leave the block with the ceremony in flight: the browser closes

    asyncio.run(_with_page(site, waiting, body))
    # The key's thread answers the cancel on its own schedule: wait for it, bounded, before judging.
    assert presence_done.wait(25)
    assert released == [True]
    assert waiting.cancels[0].is_set()
