"""The sign-in pages as the product's UI profile meets them: ids, $Config, the FIDO host, KMSI, events."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import requests
from identity_support import DRILL_APP, EA01, EA02, FIDO_ORIGIN, REDIRECT, Pages, page_config, register

from drill.sim.server import SimServer


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.items.append((tag, {k: v or "" for k, v in attrs}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.items


def by_id(html: str, element_id: str) -> dict[str, str] | None:
    return next((a for _, a in elements(html) if a.get("id") == element_id), None)


def authorize_url(sim: SimServer, **extra: str) -> str:
    from urllib.parse import urlencode

    params = {
        "client_id": DRILL_APP,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "User.Read openid",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        **extra,
    }
    return (
        f"https://login.microsoftonline.test/{sim.state.tenant.id}/oauth2/v2.0/authorize?{urlencode(params)}"
    )


def test_username_page_structure(registered: SimServer, pages: Pages) -> None:
    page = pages.get(authorize_url(registered))
    assert page.status_code == 200
    field = by_id(page.text, "i0116")
    assert field is not None
    assert (field["name"], field["type"]) == ("loginfmt", "email")
    assert by_id(page.text, "idSIButton9") is not None
    assert by_id(page.text, "usernameError") is None
    passwd = next(a for t, a in elements(page.text) if t == "input" and a.get("name") == "passwd")
    assert "moveOffScreen" in passwd["class"].split()
    assert any(a.get("data-test-id") == "signinOptions" for _, a in elements(page.text))
    config = page_config(page.text)
    assert config["urlPost"] == "https://login.microsoftonline.test/common/login"
    assert "urlFidoLogin" not in config
    # Unknown user: the page comes back with #usernameError, and no sign-in is recorded.
    again = pages.post(
        config["urlPost"], {"type": "11", "flowToken": config["sFT"], "loginfmt": "nobody@contoso.test"}
    )
    assert by_id(again.text, "usernameError") is not None
    assert registered.state.signins == []
    # A passkey user typed in: the next page carries the FIDO parameters and goes there by itself.
    known = pages.post(
        config["urlPost"], {"type": "11", "flowToken": config["sFT"], "loginfmt": "EA01@contoso.test"}
    )
    kconfig = page_config(known.text)
    assert kconfig["urlFidoLogin"] == "https://login.microsoft.test/common/fido/get?uiflavor=Web"
    assert kconfig["fAutoFido"] is True


def test_login_hint_goes_to_the_fido_host_with_the_users_credentials(
    registered: SimServer, pages: Pages
) -> None:
    page = pages.get(authorize_url(registered, login_hint="ea01@contoso.test", prompt="login"))
    config = page_config(page.text)
    assert config["fAutoFido"] is True
    wrong_host = pages.post(
        config["urlFidoLogin"].replace("login.microsoft.test", "login.microsoftonline.test"),
        {"flowToken": config["sFT"]},
    )
    assert wrong_host.status_code == 404
    fido = pages.post(config["urlFidoLogin"], {"flowToken": config["sFT"]})
    options = page_config(fido.text)["oGetCredentialOptions"]["publicKey"]
    assert options["rpId"] == "login.microsoft.test"
    assert options["userVerification"] == "required"
    stored = [p["credentialId"] for p in registered.state.tenant.passkeys_of(EA01)]
    assert [c["id"] for c in options["allowCredentials"]] == stored
    assert len(options["challenge"]) >= 43
    assert "instanceof PublicKeyCredential" in fido.text
    assert "navigator.credentials.get" in fido.text


def test_related_origins_document(sim: SimServer, pages: Pages) -> None:
    doc = pages.get("https://login.microsoft.test/.well-known/webauthn")
    assert doc.json() == {"origins": ["https://login.microsoftonline.test"]}
    assert pages.get("https://login.microsoftonline.test/.well-known/webauthn").status_code == 404


def test_kmsi_page_and_success_record(registered: SimServer, pages: Pages, authenticator: Any) -> None:
    run = pages.sign_in("ea01@contoso.test", authenticator(0))
    kmsi = run.pages[-1].text
    ids = [a.get("id") for _, a in elements(kmsi)]
    for needed in ("kmsiTitle", "KmsiDescription", "KmsiCheckboxField", "idBtn_Back", "idSIButton9"):
        assert needed in ids
    assert ids.index("idBtn_Back") < ids.index("idSIButton9")
    assert run.final is not None
    assert run.final.headers["location"].startswith(REDIRECT + "?code=")
    assert run.redirect_query["state"] == run.flow["state"]
    [event] = registered.state.signins
    assert (event.result_type, event.user_id, event.app_id) == ("0", EA01, DRILL_APP)
    assert event.app_display_name == "Break-glass drill"
    assert event.conditional_access_status == "success"
    results = {p["displayName"][:5]: p for p in event.applied_policies}
    assert results["EA01 "]["result"] == "success"
    assert results["EA01 "]["enforcedGrantControls"] == ["RequireAuthenticationStrength"]
    assert results["EA02 "]["enforcedSessionControls"] == ["SignInFrequency", "PersistentBrowserSessionMode"]
    assert results["CA001"]["result"] == "notApplied"
    assert results["CA001"]["conditionsNotSatisfied"] == "users"
    assert event.authentication_details[0]["authenticationMethod"] == "Passkey (device-bound)"
    assert event.authentication_details[0]["succeeded"] is True
    assert event.authentication_strength is not None
    assert event.authentication_strength["authenticationStrengthResult"] == "satisfied"
    assert event.extra["aaguid"] == "d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001"
    assert event.user_agent.startswith("python-requests")
    assert event.correlation_id == page_config(run.pages[0].text)["correlationId"]
    assert event.session_id == page_config(run.pages[0].text)["sessionId"]


def test_tenant_strings_are_escaped(sim: SimServer, pages: Pages) -> None:
    sim.state.tenant.display_name = "<script>alert(1)</script>"
    page = pages.get(authorize_url(sim, login_hint='x"</script><script>alert(2)</script>@contoso.test'))
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)" in page.text
    assert "</script><script>alert(2)" not in page.text
    assert "alert(2)" in page.text  # it is there, escaped (attribute value and $Config)


def test_assertion_checks_beyond_fido2_server(
    registered: SimServer, pages: Pages, authenticator: Any
) -> None:
    # userHandle naming another user: the signature does not cover it, Fido2Server does not check it.
    key = authenticator(0)
    page = page_config(pages.get(authorize_url(registered, login_hint="ea01@contoso.test")).text)
    fido = page_config(pages.post(page["urlFidoLogin"], {"flowToken": page["sFT"]}).text)
    import threading

    assertion = key.get_assertion(fido["oGetCredentialOptions"], FIDO_ORIGIN, threading.Event())
    forged = json.loads(json.dumps(assertion))
    forged["response"]["userHandle"] = "AAAAAAAAAAAAAAAAAAAAAA"
    reply = pages.post(
        fido["urlPost"], {"type": "23", "flowToken": fido["sFT"], "assertion": json.dumps(forged)}
    )
    assert page_config(reply.text)["iErrorCode"] == 500121
    assert "userHandle" in registered.state.signins[-1].extra["failureReason"]
    # A counter that does not grow: a cloned key.
    for p in registered.state.tenant.passkeys_of(EA01):
        p["signCount"] = 10_000
    run = pages.sign_in("ea01@contoso.test", key)
    assert run.final is not None
    assert page_config(run.final.text)["iErrorCode"] == 500121
    assert "counter" in registered.state.signins[-1].extra["failureReason"]
    # The other account's key: not registered for this user.
    run = pages.sign_in("ea01@contoso.test", authenticator(1))
    assert run.final is not None
    assert registered.state.signins[-1].result_type == "500121"


def test_registration_verifies_attestation_and_audits(
    sim: SimServer, http: requests.Session, authenticator: Any
) -> None:
    reply = register(sim, http, EA01, authenticator(0))
    assert reply.status_code == 200, reply.text
    record = reply.json()
    assert record["attestationLevel"] == "attested"
    assert record["aaGuid"] == "d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001"
    assert "publicKey" not in record
    [audit] = sim.state.audits
    assert (audit.category, audit.operation_name) == ("UserManagement", "User registered security info")
    assert audit.target_resources[0]["id"] == EA01
    # Untrusted attestation with enforcement on: refused at registration.
    sim.state.tenant.attestationRoots = []
    sim.state.tenant.authenticationMethodsPolicy["fido2"]["isAttestationEnforced"] = True
    refused = register(sim, http, EA02, authenticator(1))
    assert refused.status_code == 400
    assert "attestation" in refused.json()["error"]
    # A key outside the allow-list: refused.
    sim.state.tenant.authenticationMethodsPolicy["fido2"]["isAttestationEnforced"] = False
    sim.state.tenant.authenticationMethodsPolicy["fido2"]["keyRestrictions"]["aaGuids"] = []
    blocked = register(sim, http, EA02, authenticator(1))
    assert "key restrictions" in blocked.json()["error"]
    forced = register(sim, http, EA02, authenticator(1), bypassPolicy=True)
    assert forced.status_code == 200


def test_a_failed_browser_ceremony_is_recorded(registered: SimServer, pages: Pages) -> None:
    page = page_config(pages.get(authorize_url(registered, login_hint="ea02@contoso.test")).text)
    fido = page_config(pages.post(page["urlFidoLogin"], {"flowToken": page["sFT"]}).text)
    reply = pages.post(
        fido["urlPost"], {"type": "23", "flowToken": fido["sFT"], "errorName": "NotAllowedError"}
    )
    assert page_config(reply.text)["iErrorCode"] == 500121
    [event] = registered.state.signins
    assert (event.user_id, event.result_type) == (EA02, "500121")
    assert "NotAllowedError" in event.extra["failureReason"]
    assert event.authentication_details[0]["succeeded"] is False
    # The flow is spent: posting again is refused as an expired session, not a second attempt.
    again = pages.post(
        fido["urlPost"], {"type": "23", "flowToken": fido["sFT"], "errorName": "NotAllowedError"}
    )
    assert page_config(again.text)["iErrorCode"] == 50058
    assert len(registered.state.signins) == 1
