"""RP ID checks: same site, or a listed related origin; everything else is a SecurityError."""

from __future__ import annotations

import threading

import pytest
from keys_support import PIN, RelyingParty

from drill.keys.errors import KeyCeremonyError
from drill.keys.prompts import ScriptedPrompts
from drill.keys.rpid import check_rp_id, normalise_origin, parse_well_known, with_fetched
from drill.keys.software import SoftwareKey, open_software_authenticator

ENTRA_RELATED = {"login.microsoft.com": ("https://login.microsoftonline.com",)}


@pytest.mark.parametrize(
    ("rp_id", "origin"),
    [
        ("login.microsoft.com", "https://login.microsoft.com"),
        ("microsoft.com", "https://login.microsoft.com/common/fido/get?x=1"),
        ("contoso.test", "https://sts.contoso.test:8443"),
        ("localhost", "http://localhost:5000"),
    ],
)
def test_same_site_is_accepted(rp_id: str, origin: str) -> None:
    check_rp_id(rp_id, origin, {})


def test_entra_related_origin_is_accepted_only_through_the_list() -> None:
    check_rp_id("login.microsoft.com", "https://login.microsoftonline.com", ENTRA_RELATED)
    check_rp_id("login.microsoft.com", "https://LOGIN.microsoftonline.com:443/", ENTRA_RELATED)
    with pytest.raises(KeyCeremonyError) as info:
        check_rp_id("login.microsoft.com", "https://login.microsoftonline.com", {})
    assert info.value.name == "SecurityError"


@pytest.mark.parametrize(
    ("rp_id", "origin"),
    [
        ("login.microsoft.com", "https://evil.example"),  # not same site, not listed
        ("login.microsoft.com", "http://login.microsoftonline.com"),  # listed origin, but not https
        ("login.microsoft.com", "https://login.microsoftonline.com:8443"),  # listed host, other port
        ("login.microsoft.com", "https://microsoft.com"),  # a parent may not claim a child's RP ID
        ("com", "https://login.microsoft.com"),  # public suffix
        ("microsoft.com", "https://microsoft.com.evil.example"),
        ("contoso.test", "http://sts.contoso.test"),  # insecure
        ("", "https://login.microsoft.com"),
        ("login.microsoft.com", "not an origin"),
    ],
)
def test_everything_else_is_a_security_error(rp_id: str, origin: str) -> None:
    with pytest.raises(KeyCeremonyError) as info:
        check_rp_id(rp_id, origin, ENTRA_RELATED)
    assert info.value.name == "SecurityError"


def test_well_known_document_parsing_and_merge() -> None:
    origins = parse_well_known(
        "login.microsoft.com",
        {"origins": ["https://login.microsoftonline.com/", "http://insecure.example", 7, "junk"]},
    )
    assert origins == ("https://login.microsoftonline.com",)
    merged = with_fetched({}, "login.microsoft.com", origins)
    check_rp_id("login.microsoft.com", "https://login.microsoftonline.com", merged)
    with pytest.raises(KeyCeremonyError):
        parse_well_known("login.microsoft.com", {"origin": []})
    assert normalise_origin("HTTPS://Example.TEST:443/path?q") == "https://example.test"


def test_adapter_refuses_a_foreign_origin_before_touching_the_key(key: SoftwareKey) -> None:
    rp = RelyingParty("login.microsoft.com")
    prompts = ScriptedPrompts.always(PIN)
    auth = open_software_authenticator(key.path, prompts, {}, 3)
    options, _state = rp.server.authenticate_begin(user_verification="required")
    with pytest.raises(KeyCeremonyError) as info:
        auth.get_assertion(dict(options)["publicKey"], "https://login.microsoftonline.com", threading.Event())
    assert info.value.name == "SecurityError"
    assert prompts.pin_requests == []
    assert prompts.touches == 0


def test_related_origin_ceremony_round_trip(key: SoftwareKey) -> None:
    rp = RelyingParty("login.microsoft.com", lambda origin: origin == "https://login.microsoftonline.com")
    auth = open_software_authenticator(key.path, ScriptedPrompts.always(PIN), ENTRA_RELATED, 3)
    rp.register(auth, origin="https://login.microsoftonline.com")
    rp.authenticate(auth, allow_list=True, origin="https://login.microsoftonline.com")


def test_missing_rp_id_defaults_to_the_origin_host(key: SoftwareKey) -> None:
    rp = RelyingParty("rp.example.test")
    auth = open_software_authenticator(key.path, ScriptedPrompts.always(PIN), {}, 3)
    rp.register(auth)
    options, state = rp.server.authenticate_begin(rp.credentials, user_verification="required")
    public_key = dict(options)["publicKey"]
    del public_key["rpId"]
    response = auth.get_assertion(public_key, "https://rp.example.test/login", threading.Event())
    rp.server.authenticate_complete(state, rp.credentials, response)


def test_fetch_related_origins_reads_the_well_known_document() -> None:
    import httpx

    from drill.keys.rpid import fetch_related_origins

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "login.microsoft.com":
            return httpx.Response(200, json={"origins": ["https://login.microsoftonline.com"]})
        return httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    assert fetch_related_origins("login.microsoft.com", client=client) == (
        "https://login.microsoftonline.com",
    )
    assert seen == ["https://login.microsoft.com/.well-known/webauthn"]
    with pytest.raises(KeyCeremonyError) as info:
        fetch_related_origins("rp.example.test", client=client)
    assert info.value.name == "SecurityError"
    with pytest.raises(ValueError, match="cannot be switched off"):
        fetch_related_origins("login.microsoft.com", verify=False)
