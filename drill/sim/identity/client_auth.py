"""Client authentication at /token: public clients present nothing, confidential ones a secret or assertion.

A secret is compared by SHA-256 with the application's `clientSecretSha256` (set at run time, never on
disk). An assertion (private_key_jwt) must be signed by a certificate in the app's `keyCredentials[].key`
(PEM), name this token endpoint as audience and the client id as iss and sub, and be unexpired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from starlette.requests import Request

from drill.sim.identity.store import OAuthError
from drill.sim.state import SimState

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _check_assertion(state: SimState, app: dict[str, Any], form: dict[str, str], request: Request) -> None:
    """private_key_jwt: an assertion signed by one of the app's keyCredentials, for this endpoint."""
    import jwt
    from cryptography import x509

    if form.get("client_assertion_type") != JWT_BEARER:
        raise OAuthError("invalid_client", 700027, status=401, detail="Unsupported client_assertion_type.")
    token = form.get("client_assertion", "")
    audience = f"{state.base_url}{request.url.path}"
    for entry in app.get("keyCredentials") or []:
        cert = x509.load_pem_x509_certificate(str(entry["key"]).encode())
        try:
            claims = jwt.decode(
                token,
                cert.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256", "ES256"],
                audience=audience,
                options={"require": ["exp", "iss", "sub", "aud"]},
                leeway=60,
            )
        except jwt.ExpiredSignatureError as exc:
            raise OAuthError("invalid_client", 700024, status=401) from exc
        except jwt.PyJWTError:
            continue
        if claims.get("iss") != app["appId"] or claims.get("sub") != app["appId"]:
            raise OAuthError(
                "invalid_client", 700027, status=401, detail="iss and sub must be the client id."
            )
        # No one-time-use check: msal reuses one assertion for up to nine minutes on purpose
        # (oauth2cli/assertion.py `create_regenerative_assertion`, "useful optimization to reuse the client
        # assertion"), so Entra accepts a reused assertion within its lifetime (DIFFERENCES.md).
        return
    raise OAuthError("invalid_client", 700027, status=401)


def authenticate_client(state: SimState, app: dict[str, Any], form: dict[str, str], request: Request) -> None:
    secret = form.get("client_secret")
    header = request.headers.get("authorization", "")
    if not secret and header.lower().startswith("basic "):
        try:
            _, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            secret = None
    if app.get("kind") == "public":
        if secret or form.get("client_assertion"):
            raise OAuthError("invalid_client", 700025, status=401)
        return
    if form.get("client_assertion"):
        _check_assertion(state, app, form, request)
        return
    if not secret:
        raise OAuthError("invalid_client", 7000218, status=401)
    expected = str(app.get("clientSecretSha256") or "")
    given = hashlib.sha256(secret.encode()).hexdigest()
    if not expected or not hmac.compare_digest(expected, given):
        raise OAuthError("invalid_client", 7000215, status=401)
