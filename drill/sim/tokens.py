"""The simulator's token service keys: identity issues RS256 JWTs, Graph and Log Analytics verify them.

One signing key per process, shared by every simulator run in it and published as JWKS by identity: Entra
signs for all tenants with the same tenant-independent keys (login.microsoftonline.com/common/discovery/v2.0/
keys), and an RSA-2048 key costs ~50 ms of CPU to make, once per simulator otherwise. Issuers still differ per
run (each names its own base URL and tenant), so a token from one run never verifies at another.
Verification here is the resource servers' side: signature, issuer tenant, audience, expiry; permission
checks stay with each service.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

# Resource identifiers exactly as Microsoft's, whatever URL the simulator serves them from.
GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
LOGS_AUDIENCE = "https://api.loganalytics.io"
# Azure Resource Manager; also requested as https://management.core.windows.net/ or by the app id of
# "Windows Azure Service Management API" (797f4846-ba00-4fd7-ba43-dac1f8f63013).
ARM_AUDIENCE = "https://management.azure.com"


_KEY_LOCK = threading.Lock()
_KEY: tuple[str, rsa.RSAPrivateKey] | None = None


def _signing_key() -> tuple[str, rsa.RSAPrivateKey]:
    """The process's (kid, key), made on first use."""
    global _KEY
    with _KEY_LOCK:
        if _KEY is None:
            _KEY = (uuid.uuid4().hex, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return _KEY


def _b64u_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenError(Exception):
    """A bearer token the resource must refuse; `code` is what goes in the 401 body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class TokenService:
    tenant_id: str
    issuer: str  # https://login.microsoftonline.com/{tid}/v2.0 style, set by identity for its base URL
    kid: str = field(default_factory=lambda: _signing_key()[0])
    key: rsa.RSAPrivateKey = field(default_factory=lambda: _signing_key()[1])

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "kid": self.kid,
                    "x5t": self.kid,
                    "n": _b64u_uint(numbers.n),
                    "e": _b64u_uint(numbers.e),
                    "issuer": self.issuer,
                }
            ]
        }

    def issue(self, claims: dict[str, Any], lifetime_s: int = 3600, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        body = {
            "iss": self.issuer,
            "tid": self.tenant_id,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime_s,
        }
        body.update(claims)
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})

    def verify(self, token: str, audiences: tuple[str, ...]) -> dict[str, Any]:
        """Claims of a valid access token for one of `audiences`, else TokenError (401 material)."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                audience=list(audiences),
                issuer=self.issuer,
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError(
                "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenError("InvalidAuthenticationToken", "Invalid audience.") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("InvalidAuthenticationToken", "Access token validation failure.") from exc
        if claims.get("tid") != self.tenant_id:
            raise TokenError("InvalidAuthenticationToken", "Token was issued for another tenant.")
        return claims


def bearer(headers: Any) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
