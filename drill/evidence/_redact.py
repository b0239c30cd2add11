"""The redaction seam for everything the evidence writer lands on disk.

`drill.secrets` is the house redactor; this module adds its own conservative rules and both run: the
evidence writer is the last line before disk, so a second, independent pass costs little and fails closed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from drill import secrets

if TYPE_CHECKING:
    from drill.evidence.model import DrillRecord

REDACTED = "[REDACTED]"

# Keys whose values are secret by name, compared case-insensitively after dropping "-" and "_".
_SECRET_KEYS = frozenset(
    {
        "pin",
        "newpin",
        "password",
        "passwd",
        "secret",
        "clientsecret",
        "token",
        "accesstoken",
        "idtoken",
        "refreshtoken",
        "code",
        "authcode",
        "authorizationcode",
        "codeverifier",
        "cookie",
        "cookies",
        "setcookie",
        "authorization",
        "assertion",
        "clientassertion",
        "privatekey",
        "sessionkey",
        "pinuvauthtoken",
        "pinuvauthparam",
    }
)
# An error code under a key named "code" is evidence (AADSTS50076, InvalidAuthenticationToken), not a secret.
_HARMLESS_CODE = re.compile(r"AADSTS\d{1,7}|[A-Za-z_]{1,64}|\d{1,7}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_QUERY_SECRET = re.compile(
    r"(?i)([?&#](?:code|id_token|access_token|refresh_token|client_secret|code_verifier|session_state)=)"
    r"[^&#\s\"'<>]+"
)
_KV_SECRET = re.compile(
    r"(?i)\b(pin|password|client_secret|cookie|set-cookie)(\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"
)


def _norm(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


def local_redact_text(text: str) -> str:
    """Mask JWTs, bearer tokens, secret query parameters and `pin=...`-style pairs in free text."""
    text = _JWT.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _KV_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def local_redact(obj: Any) -> Any:
    """Return a copy of a JSON-like value with secret-named keys masked and every string scanned."""
    if isinstance(obj, dict):
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            if (
                isinstance(key, str)
                and _norm(key) in _SECRET_KEYS
                and value not in (None, "", [], {}, True, False)
            ):
                harmless = _norm(key) == "code" and (
                    isinstance(value, int) or (isinstance(value, str) and _HARMLESS_CODE.fullmatch(value))
                )
                out[key] = value if harmless else REDACTED
            else:
                out[key] = local_redact(value)
        return out
    if isinstance(obj, list | tuple):
        return [local_redact(v) for v in obj]
    if isinstance(obj, str):
        return local_redact_text(obj)
    return obj


def _keep_flags(original: Any, masked: Any) -> Any:
    """Put back booleans and None a key-name rule masked (`clientPin: true` is evidence, not a secret)."""
    if isinstance(original, bool) or original is None:
        return original if masked == REDACTED else masked
    if isinstance(original, dict) and isinstance(masked, dict):
        return {k: _keep_flags(original.get(k), v) if k in original else v for k, v in masked.items()}
    if isinstance(original, list | tuple) and isinstance(masked, list) and len(original) == len(masked):
        return [_keep_flags(o, m) for o, m in zip(original, masked, strict=True)]
    return masked


def redact(obj: Any) -> Any:
    """House redaction followed by the local rules; flags survive both."""
    return _keep_flags(obj, local_redact(secrets.redact(obj)))


def redact_text(text: str) -> str:
    """House text redaction followed by the local rules."""
    return local_redact_text(secrets.redact_text(text))


def redacted_record(record: DrillRecord) -> DrillRecord:
    """A copy of the record with every secret masked: every renderer calls this, whoever called it."""
    from drill.evidence.model import DrillRecord

    return DrillRecord.model_validate(redact(record.model_dump(mode="json")))
