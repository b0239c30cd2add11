"""The sign-in pages as the product's UI profile meets them: ids, $Config, the FIDO host, KMSI, events."""

from __future__ import annotations

import json
import re
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


def test_converged_page_shape_and_the_credential_lookup(registered: SimServer, pages: Pages) -> None:
    page = pages.get(authorize_url(registered))
    assert page.status_code == 200
    assert '<meta name="PageID" content="ConvergedSignIn">' in page.text
    assert "<title>Sign in to your account</title>" in page.text
    # The exact shape tools parse: a one-line literal, no spaces around "=", inside a CDATA script block.
    assert re.search(
        r"<script type=\"text/javascript\">//<!\[CDATA\[\n\$Config=\{[^\n]+\};\n//\]\]></script>", page.text
    )
    config = page_config(page.text)
    assert (config["pgid"], config["hpgid"], config["hpgact"]) == ("ConvergedSignIn", 1104, 1800)
    assert (config["sErrorCode"], config["arrValErrs"]) == ("50058", ["50058"])  # harmless: no SSO yet
    assert config["urlPost"] == f"/{registered.state.tenant.id}/login"
    assert config["urlFidoLogin"] == (
        f"https://login.microsoft.test/{registered.state.tenant.id}/fido/get?uiflavor=Web"
    )
    assert config["fIsFidoSupported"] is True
    assert "oGetCredTypeResult" not in config
    assert 'style="display: none"' in page.text  # the body is rendered by script
    field = by_id(page.text, "i0116")
    assert field is not None
    assert (field["name"], field["type"]) == ("loginfmt", "email")
    assert by_id(page.text, "i0118")["name"] == "passwd"  # type: ignore[index]
    lookup = {"username": "EA01@contoso.onmicrosoft.com", "flowToken": config["sFT"], "isFidoSupported": True}
    headers = {"canary": config["apiCanary"], "Host": "login.microsoftonline.test"}
    url = f"{registered.base_url}/common/GetCredentialType?mkt=en-US"
    found = pages.http.post(url, json=lookup, headers=headers).json()
    assert (found["IfExistsResult"], found["Username"]) == (0, "ea01@contoso.onmicrosoft.com")
    creds = found["Credentials"]
    assert (creds["PrefCredential"], creds["HasFido"]) == (7, True)
    stored = [p["credentialId"] for p in registered.state.tenant.passkeys_of(EA01)]
    assert creds["FidoParams"]["AllowList"] == stored
    # An unknown name, and a request without the API canary.
    nobody = pages.http.post(url, json={**lookup, "username": "nobody@contoso.test"}, headers=headers).json()
    assert nobody["IfExistsResult"] == 1
    no_canary = pages.http.post(url, json=lookup, headers={"Host": "login.microsoftonline.test"}).json()
    assert no_canary["IfExistsResult"] == 4
    assert registered.state.signins == []


def test_variants_picker_and_fido_not_offered(registered: SimServer, pages: Pages) -> None:
    registered.state.tenant.signInExperience = {"preferredCredential": 1000}
    config = page_config(pages.get(authorize_url(registered, login_hint="ea01@contoso.onmicrosoft.com")).text)
    assert config["oGetCredTypeResult"]["Credentials"]["PrefCredential"] == 1000
    registered.state.tenant.signInExperience = {"fidoOfferedToBrowser": False}
    config = page_config(pages.get(authorize_url(registered, login_hint="ea01@contoso.onmicrosoft.com")).text)
    for absent in ("fIsFidoSupported", "urlFidoLogin", "urlPostAad", "urlPostMsa"):
        assert absent not in config
    registered.state.tenant.signInExperience = {}
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
    reply = pages.http.get(
        authorize_url(registered).replace("https://login.microsoftonline.test", registered.base_url),
        headers={"Host": "login.microsoftonline.test", "User-Agent": firefox},
    )
    config = page_config(reply.text)
    assert "fIsFidoSupported" not in config
    assert config["browser"] == "Firefox/_Linux/_M131"


def test_login_hint_goes_to_the_fido_host_with_the_users_credentials(
    registered: SimServer, pages: Pages
) -> None:
    page = pages.get(authorize_url(registered, login_hint="ea01@contoso.onmicrosoft.com", prompt="login"))
    config = page_config(page.text)
    assert config["oGetCredTypeResult"]["Credentials"]["PrefCredential"] == 7
    wrong_host = pages.post(
        config["urlFidoLogin"].replace("login.microsoft.test", "login.microsoftonline.test"),
        {"serverChallenge": config["sFT"]},
    )
    assert wrong_host.status_code == 404
    fido = pages.fido_post(config)
    fconfig = page_config(fido.text)
    assert "pgid" not in fconfig  # the ceremony page's pgid is not known: it is recognised by its keys
    assert {"sFidoChallenge", "sCrossDomainCanary", "sessionId", "sCtx", "canary", "sFT"} <= set(fconfig)
    assert fconfig["urlPost"] == config["urlPostAad"]
    stored = [p["credentialId"] for p in registered.state.tenant.passkeys_of(EA01)]
    assert fconfig["arrFidoAllowList"] == stored
    assert "navigator.credentials.get" in fido.text
    assert "new TextEncoder().encode(S.sFidoChallenge)" in fido.text  # challenge = UTF-8 of the string


def test_related_origins_document(sim: SimServer, pages: Pages) -> None:
    doc = pages.get("https://login.microsoft.test/.well-known/webauthn")
    assert doc.json() == {"origins": ["https://login.microsoftonline.test"]}
    assert pages.get("https://login.microsoftonline.test/.well-known/webauthn").status_code == 404


def test_kmsi_page_and_success_record(registered: SimServer, pages: Pages, authenticator: Any) -> None:
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    kmsi = run.pages[-1].text
    kconfig = page_config(kmsi)
    assert (kconfig["pgid"], kconfig["hpgid"], kconfig["hpgact"], kconfig["urlPost"]) == (
        "KmsiInterrupt",
        1115,
        2005,
        "/kmsi",
    )
    ids = [a.get("id") for _, a in elements(kmsi)]
    for needed in ("KmsiDescription", "KmsiCheckboxField", "idBtn_Back", "idSIButton9"):
        assert needed in ids
    assert ids.index("idBtn_Back") < ids.index("idSIButton9")
    assert run.final is not None
    assert run.final.headers["location"].startswith(REDIRECT + "?code=")
    assert run.redirect_query["state"] == run.flow["state"]
    interrupt, event = registered.state.signins
    assert (interrupt.result_type, interrupt.correlation_id) == ("50140", event.correlation_id)
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
    page = page_config(pages.get(authorize_url(registered, login_hint="ea01@contoso.onmicrosoft.com")).text)
    fido = page_config(pages.fido_post(page).text)
    import threading

    assertion = key.get_assertion(pages.options(fido), FIDO_ORIGIN, threading.Event())
    forged = json.loads(json.dumps(assertion))
    forged["response"]["userHandle"] = "AAAAAAAAAAAAAAAAAAAAAA"
    reply = pages.assertion_post(fido, json.dumps(forged))
    assert page_config(reply.text)["iErrorCode"] == 500121
    assert "userHandle" in registered.state.signins[-1].extra["failureReason"]
    # A counter that does not grow: a cloned key.
    for p in registered.state.tenant.passkeys_of(EA01):
        p["signCount"] = 10_000
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", key)
    assert run.final is not None
    assert page_config(run.final.text)["iErrorCode"] == 500121
    assert "counter" in registered.state.signins[-1].extra["failureReason"]
    # The other account's key: not registered for this user.
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(1))
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


def test_a_wrong_cross_domain_canary_or_a_password_is_refused(registered: SimServer, pages: Pages) -> None:
    page = page_config(pages.get(authorize_url(registered, login_hint="ea02@contoso.onmicrosoft.com")).text)
    fido = page_config(pages.fido_post(page).text)
    reply = pages.assertion_post({**fido, "sCrossDomainCanary": "forged"}, "{}")
    assert page_config(reply.text)["iErrorCode"] == 500121
    [event] = registered.state.signins
    assert (event.user_id, event.result_type) == (EA02, "500121")
    assert event.authentication_details[0]["succeeded"] is False
    # The flow is spent: posting again is refused as an expired session, not a second attempt.
    again = pages.assertion_post(fido, "{}")
    assert page_config(again.text)["iErrorCode"] == 50058
    assert len(registered.state.signins) == 1
    # A password posted on a fresh flow: refused in place with 50126 (no password is ever right here).
    page = page_config(pages.get(authorize_url(registered, login_hint="ea02@contoso.onmicrosoft.com")).text)
    wrong = pages.post(
        f"https://login.microsoftonline.test{page['urlPost']}",
        {"type": "11", "ps": "2", "loginfmt": "ea02@contoso.onmicrosoft.com", "passwd": "x",
         "flowToken": page["sFT"],
         "ctx": page["sCtx"], "canary": page["canary"]},
    )  # fmt: skip
    assert (page_config(wrong.text)["pgid"], page_config(wrong.text)["sErrorCode"]) == (
        "ConvergedSignIn",
        "50126",
    )
    assert registered.state.signins[-1].result_type == "50126"
