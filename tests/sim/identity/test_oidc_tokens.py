"""OIDC metadata and /token with real msal over TLS: auth code + PKCE, refresh, client credentials."""

from __future__ import annotations

import hashlib
from typing import Any

import msal
import pytest
import requests
from identity_support import DRILL_APP, EA01, REDIRECT, SCOPES, Pages

from drill.sim.server import SimServer
from drill.sim.state import token_service
from drill.sim.tenant import GLOBAL_ADMIN
from drill.sim.tokens import GRAPH_AUDIENCE, LOGS_AUDIENCE

OBSERVER = "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02"


def test_metadata_splits_browser_and_client_hosts(sim: SimServer, http: requests.Session) -> None:
    tid = sim.state.tenant.id
    meta = http.get(f"{sim.base_url}/{tid}/v2.0/.well-known/openid-configuration").json()
    assert meta["authorization_endpoint"] == f"https://login.microsoftonline.test/{tid}/oauth2/v2.0/authorize"
    assert meta["token_endpoint"] == f"{sim.base_url}/{tid}/oauth2/v2.0/token"
    assert meta["issuer"] == f"{sim.base_url}/{tid}/v2.0"
    jwks = http.get(meta["jwks_uri"]).json()
    assert jwks["keys"][0]["kid"] == token_service(sim.state).kid
    by_domain = http.get(f"{sim.base_url}/contoso.test/v2.0/.well-known/openid-configuration")
    assert by_domain.status_code == 200
    multi = http.get(f"{sim.base_url}/organizations/v2.0/.well-known/openid-configuration").json()
    assert multi["issuer"] == f"{sim.base_url}/{{tenantid}}/v2.0"
    assert multi["token_endpoint"] == f"{sim.base_url}/organizations/oauth2/v2.0/token"
    other = http.get(
        f"{sim.base_url}/00000000-1111-2222-3333-444444444444/v2.0/.well-known/openid-configuration"
    )
    assert other.status_code == 400
    assert "AADSTS90002" in other.json()["error_description"]


def test_auth_code_flow_with_msal_gives_fido_tokens(
    registered: SimServer, pages: Pages, authenticator: Any
) -> None:
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    result = run.redeem()
    assert "access_token" in result, result
    claims = token_service(registered.state).verify(result["access_token"], (GRAPH_AUDIENCE,))
    assert claims["oid"] == EA01
    assert claims["upn"] == "ea01@contoso.onmicrosoft.com"
    assert claims["appid"] == DRILL_APP
    assert set(claims["scp"].split()) == set(SCOPES)
    assert GLOBAL_ADMIN in claims["wids"]
    assert claims["amr"] == ["fido", "mfa"]
    assert claims["tid"] == registered.state.tenant.id
    id_claims = result["id_token_claims"]
    assert id_claims["nonce"] == hashlib.sha256(run.flow["nonce"].encode()).hexdigest()
    assert id_claims["aud"] == DRILL_APP
    accounts = run.app.get_accounts()
    assert [a["home_account_id"] for a in accounts] == [f"{EA01}.{registered.state.tenant.id}"]
    # The refresh token works through msal's own silent path, and wids is recomputed at issue time.
    registered.state.tenant.roleAssignments.clear()
    again = run.app.acquire_token_silent(SCOPES, account=accounts[0], force_refresh=True)
    assert again is not None
    assert "access_token" in again, again
    assert token_service(registered.state).verify(again["access_token"], (GRAPH_AUDIENCE,))["wids"] == []


def test_code_is_single_use_and_bound_to_the_pkce_verifier(
    registered: SimServer, pages: Pages, authenticator: Any
) -> None:
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    query = run.redirect_query
    flow = dict(run.flow, code_verifier="x" * 43)
    bad = run.app.acquire_token_by_auth_code_flow(flow, query)
    assert bad.get("error") == "invalid_grant"
    assert 501481 in bad["error_codes"]
    replay = run.app.acquire_token_by_auth_code_flow(run.flow, query)
    assert 54005 in replay["error_codes"], replay


def test_state_mismatch_is_refused_by_msal(registered: SimServer, pages: Pages, authenticator: Any) -> None:
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    with pytest.raises(ValueError, match="state"):
        run.app.acquire_token_by_auth_code_flow(run.flow, dict(run.redirect_query, state="forged"))


def _observer(sim: SimServer, http: requests.Session, secret: str) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        OBSERVER,
        client_credential=secret,
        authority=f"{sim.base_url}/{sim.state.tenant.id}",
        instance_discovery=False,
        http_client=http,
        token_cache=msal.TokenCache(),
    )


def test_client_credentials_for_graph_and_logs(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    app = _observer(sim, http, observer_secret)
    graph = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    claims = token_service(sim.state).verify(graph["access_token"], (GRAPH_AUDIENCE,))
    assert claims["idtyp"] == "app"
    assert "Mail.Read" in claims["roles"]
    assert "scp" not in claims
    logs = app.acquire_token_for_client(["https://api.loganalytics.io/.default"])
    assert token_service(sim.state).verify(logs["access_token"], (LOGS_AUDIENCE,))["roles"] == ["Data.Read"]


def test_client_credentials_refuse_a_wrong_secret_and_bad_scope(
    sim: SimServer, http: requests.Session, observer_secret: str
) -> None:
    wrong = _observer(sim, http, observer_secret + "x").acquire_token_for_client(
        ["https://graph.microsoft.com/.default"]
    )
    assert wrong["error"] == "invalid_client"
    assert wrong["error_description"].startswith("AADSTS7000215:")
    scoped = _observer(sim, http, observer_secret).acquire_token_for_client(
        ["https://graph.microsoft.com/Mail.Read"]
    )
    assert 1002012 in scoped["error_codes"]


def test_public_client_cannot_use_client_credentials(sim: SimServer, http: requests.Session) -> None:
    reply = http.post(
        f"{sim.base_url}/{sim.state.tenant.id}/oauth2/v2.0/token",
        data={
            "client_id": DRILL_APP,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "unsupported_grant_type"


def test_authorize_refuses_unknown_redirect_and_missing_pkce(sim: SimServer, pages: Pages) -> None:
    base = f"https://login.microsoftonline.test/{sim.state.tenant.id}/oauth2/v2.0/authorize"
    bad_redirect = pages.get(
        f"{base}?client_id={DRILL_APP}&response_type=code&redirect_uri=https://evil.test/&scope=openid"
    )
    assert "AADSTS50011" in bad_redirect.text
    no_pkce = pages.get(
        f"{base}?client_id={DRILL_APP}&response_type=code&redirect_uri={REDIRECT}&scope=openid"
    )
    assert "AADSTS900144" in no_pkce.text


def _self_signed() -> tuple[str, str, str]:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "observer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return key_pem, cert_pem, cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - x5t is SHA-1 by definition


def test_client_assertion_with_a_registered_certificate(sim: SimServer, http: requests.Session) -> None:
    from drill.sim.identity.routes import configure_client_certificate

    key_pem, cert_pem, thumbprint = _self_signed()
    other_key, _, other_thumb = _self_signed()
    configure_client_certificate(sim.state, OBSERVER, cert_pem)

    def app(key: str, thumb: str) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            OBSERVER,
            client_credential={"private_key": key, "thumbprint": thumb},
            authority=f"{sim.base_url}/{sim.state.tenant.id}",
            instance_discovery=False,
            http_client=http,
            token_cache=msal.TokenCache(),
        )

    good = app(key_pem, thumbprint).acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert token_service(sim.state).verify(good["access_token"], (GRAPH_AUDIENCE,))["appidacr"] == "1"
    bad = app(other_key, other_thumb).acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert bad["error"] == "invalid_client"
    assert 700027 in bad["error_codes"]


def test_azure_identity_client_secret_credential(sim: SimServer, observer_secret: str) -> None:
    """The product's observer path: azure-identity (msal underneath) with a custom authority and CA bundle."""
    from azure.identity import ClientSecretCredential

    cred = ClientSecretCredential(
        sim.state.tenant.id,
        OBSERVER,
        observer_secret,
        authority=sim.base_url,
        connection_verify=str(sim.ca_path),
        disable_instance_discovery=True,
    )
    try:
        token = cred.get_token("https://api.loganalytics.io/.default")
    finally:
        cred.close()
    claims = token_service(sim.state).verify(token.token, (LOGS_AUDIENCE,))
    assert claims["appid"] == OBSERVER


def test_graph_revoke_sign_in_sessions_kills_the_refresh_token(
    registered: SimServer, pages: Pages, authenticator: Any, http: requests.Session
) -> None:
    app = registered.state.tenant.application(DRILL_APP)
    assert app is not None
    app["delegatedScopes"].append("User.RevokeSessions.All")
    run = pages.sign_in("ea01@contoso.onmicrosoft.com", authenticator(0))
    first = run.app.acquire_token_by_auth_code_flow(run.flow, run.redirect_query, scopes=[*SCOPES])
    assert "access_token" in first, first
    silent = run.app.acquire_token_silent(
        ["User.RevokeSessions.All"], account=run.app.get_accounts()[0], force_refresh=True
    )
    assert silent is not None
    assert "access_token" in silent, silent
    revoked = http.post(
        f"{registered.base_url}/v1.0/me/revokeSignInSessions",
        headers={"Authorization": f"Bearer {silent['access_token']}"},
    )
    assert revoked.status_code == 200, revoked.text
    registered.state.clock.advance(1)
    after = run.app.acquire_token_silent_with_error(
        SCOPES, account=run.app.get_accounts()[0], force_refresh=True
    )
    assert after is not None
    assert after.get("error") == "invalid_grant", after
    assert 50173 in after["error_codes"]
