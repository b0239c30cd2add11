"""Secrets for nobody: the registry of known secret values and the redaction every output passes.

A break-glass drill handles the most powerful credentials a tenant has: the key's PIN, the account's tokens,
the authorization code, the session cookies, the observer's secret. None of them may reach a log file, a
console scroll-back or an evidence bundle. So every record, ours or a library's (msal, azure-core, httpx log
through the standard `logging` module), passes one small processor, `redact_event`, before any renderer sees
it. It removes secrets by key name (``refresh_token=...``) and by value shape (a JWT inside a URL, a bearer
header inside an exception message), recursively, and renders exceptions itself (plain text, no locals) so a
traceback cannot smuggle a token past it.

`redact` and `redact_text` are public so the log set-up (`drill.logs`), the evidence writer, the console
and the browser capture (HAR, console messages) use the very same rules.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from structlog.typing import EventDict, WrappedLogger

REDACTED = "[REDACTED]"

# --- which keys hold secrets ------------------------------------------------------------------------------
# A key is normalised (camelCase -> snake_case, '-', ' ' and '.' -> '_', lower case), then judged by its last
# word (``refresh_token`` -> ``token``) or, for words that are too common alone, by the whole key.
_SECRET_LAST_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "cookie",
        "cookies",
        "authorization",
        "pin",
        "assertion",
        "verifier",
        "apikey",
        "credentials",
    }
)
_SECRET_WHOLE_KEYS = frozenset(
    {
        "code",
        "auth_code",
        "authorization_code",
        "device_code",
        "user_code",
        "set_cookie",
        "private_key",
        "client_assertion",
        "pin_uv_auth_param",
        "pinuvauthparam",
        "pin_code",
        "pin_hash",
        "new_pin",
        "session_key",
        "api_key",
        "access_key",
        "account_key",
        "shared_key",
        "sas",
        "connection_string",
    }
)
# Names that end like a secret but only name one (an env var, a file) or count something.
_SAFE_SUFFIXES = ("_env", "_file", "_path", "_name", "_type", "_endpoint", "_url", "_uri")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _normalise_key(key: str) -> str:
    return re.sub(r"[-. ]+", "_", _CAMEL.sub("_", key)).lower().strip("_")


def is_secret_key(key: object) -> bool:
    """True when a mapping key names a secret value (``client_secret``, ``Set-Cookie``, ``refreshToken``)."""
    if not isinstance(key, str) or not key:
        return False
    norm = _normalise_key(key)
    if norm.endswith(_SAFE_SUFFIXES):
        return False
    if norm in _SECRET_WHOLE_KEYS:
        return True
    return norm.rsplit("_", 1)[-1] in _SECRET_LAST_WORDS


# --- which values are secrets, whatever their key ---------------------------------------------------------
_B64URL = r"[A-Za-z0-9_\-]"
# Graph and Entra error codes ("Authorization_RequestDenied", "AADSTS50076") share the name `code` with
# OAuth authorization codes; they are diagnostics, not secrets, and an auth code never has this shape.
_ERROR_CODE = re.compile(r"[A-Za-z_]{1,64}|AADSTS\d{1,7}|\d{1,7}")


def _keep_error_codes(template: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        if match.group(1).lower() == "code" and _ERROR_CODE.fullmatch(match.group(2)):
            return match.group(0)
        return match.expand(template)

    return replace


VALUE_PATTERNS: tuple[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # JWS/JWE: the header always starts with '{"' -> base64url 'eyJ'.
    (
        "JWT",
        re.compile(rf"eyJ{_B64URL}{{5,}}\.{_B64URL}{{5,}}\.{_B64URL}*(?:\.{_B64URL}*\.{_B64URL}*)?"),
        REDACTED,
    ),
    # An Authorization header quoted in text: whatever follows the scheme is the credential.
    (
        "authorization header",
        re.compile(
            r"(?i)\b((?:proxy-)?authorization[ \t]*[:=][ \t]*"
            r"(?:(?:bearer|basic|negotiate|pop)[ \t]+)?)[^\s,;\"']+"
        ),
        rf"\1{REDACTED}",
    ),
    # A bare scheme + credential: keep the scheme, drop the credential.
    (
        "bearer token",
        # The credential must look like one (a digit or a base64/JWT symbol, or 20+ characters), so prose
        # such as "Basic authentication" is left alone.
        re.compile(
            r"(?i)\b(bearer|basic|negotiate|pop)[ \t]+"
            r"(?:(?=[A-Za-z0-9._~+/=\-]*[0-9.~+/=\-])[A-Za-z0-9._~+/=\-]{8,}|[A-Za-z0-9._~+/=\-]{20,})"
        ),
        rf"\1 {REDACTED}",
    ),
    # OAuth/OIDC parameters in URLs, query strings and form bodies.
    (
        "OAuth parameter",
        re.compile(
            r"(?i)(?<![A-Za-z0-9_])(code|access_token|refresh_token|id_token|client_secret|client_assertion|"
            r"assertion|code_verifier|password|passwd|pin|flowtoken|ctx)=([^&\s#\"'<>]+)"
        ),
        _keep_error_codes(rf"\1={REDACTED}"),
    ),
    # The same names as JSON members inside a string (an HTTP body quoted in an error message).
    (
        "secret JSON member",
        re.compile(
            r"(?i)\"(code|access_token|refresh_token|id_token|client_secret|client_assertion|assertion|"
            r"password|pin|flowToken|sFT|canary)\"\s*:\s*\"([^\"]*)\""
        ),
        _keep_error_codes(rf'"\1": "{REDACTED}"'),
    ),
    # Cookie headers quoted in text: everything after the header name up to the end of the line.
    ("cookie header", re.compile(r"(?im)\b(set-cookie|cookie)\s*:\s*[^\r\n]+"), rf"\1: {REDACTED}"),
    # Entra's session cookies by name, wherever they appear as name=value.
    (
        "Entra session cookie",
        re.compile(
            r"(?i)\b(ESTSAUTH\w*|ESTSSC|buid|fpc|esctx\w*|SignInStateCookie|x-ms-cpim-\w+)=([^;\s\"']+)"
        ),
        rf"\1={REDACTED}",
    ),
    # Entra client secrets: three characters, a digit, 'Q~', then 31 to 34 more.
    (
        "client secret",
        re.compile(r"(?<![A-Za-z0-9_.~\-])[A-Za-z0-9_.\-]{3}\d[Qq]~[A-Za-z0-9_.~\-]{31,34}"),
        REDACTED,
    ),
    # Entra refresh tokens are long opaque strings starting '0.A' / '1.A'.
    ("refresh token", re.compile(r"(?<![A-Za-z0-9_.])[01]\.A[A-Za-z0-9_\-.]{100,}"), REDACTED),
    (
        "private key",
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        REDACTED,
    ),
    (
        "connection-string secret",
        re.compile(r"(?i)\b(AccountKey|SharedAccessKey|Password|Pwd|sig)=([^;&\s\"']+)"),
        rf"\1={REDACTED}",
    ),
)

# Exact values known to be secret during this process (the PIN the operator typed, a token just obtained).
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Redact this exact value wherever it appears from now on (values under 4 characters are ignored)."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def register_secrets(*values: str | None) -> None:
    """`register_secret` for several values at once (the tokens of one token response)."""
    for value in values:
        register_secret(value)


def forget_secrets() -> None:
    """Drop registered secrets (end of a drill), so the process does not hold them longer than needed."""
    _known_secrets.clear()


def registered_secret_count() -> int:
    """How many exact values are registered now (tests and the end-of-drill check; never the values)."""
    return len(_known_secrets)


def find_secret_patterns(text: str) -> list[str]:
    """Names of the value patterns found in text (for scanners and playbook checks); never the values."""
    return [name for name, pattern, _ in VALUE_PATTERNS if pattern.search(text)]


def redact_text(text: str) -> str:
    """Remove every secret-shaped substring from free text (URLs, exception messages, HTTP bodies)."""
    for _, pattern, replacement in VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def format_exception(exc: BaseException) -> str:
    return redact_text("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())


_MAX_DEPTH = 32


def redact(obj: Any, _depth: int = 0) -> Any:
    """A copy of obj with secrets removed: mappings by key name, all text by value pattern, recursively.

    Containers become plain dicts/lists/tuples; scalars that cannot hold text stay as they are; any other
    object is rendered to text first, because its repr is what would otherwise be logged.
    """
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    if isinstance(obj, str):
        return redact_text(obj)
    if _depth > _MAX_DEPTH:
        return "[too deep]"
    if isinstance(obj, Mapping):
        return _redact_mapping(obj, _depth)
    if isinstance(obj, list | tuple | set | frozenset):
        items = [redact(item, _depth + 1) for item in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, bytes | bytearray | memoryview):
        return f"<{len(bytes(obj))} bytes>"
    if isinstance(obj, BaseException):
        return redact_text(f"{type(obj).__name__}: {obj}")
    return redact_text(str(obj))


def _redact_mapping(obj: Mapping[Any, Any], depth: int) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    # HAR and Playwright shapes: {"name": "Authorization", "value": "..."} carries the key in a field.
    named_secret = is_secret_key(obj.get("name")) and "value" in obj
    for key, value in obj.items():
        if is_secret_key(key) and value not in (None, "", [], {}):
            keep = isinstance(key, str) and key.lower() == "code" and _ERROR_CODE.fullmatch(str(value))
            out[key] = redact(value, depth + 1) if keep else REDACTED
        elif named_secret and key == "value":
            out[key] = REDACTED
        else:
            out[key] = redact(value, depth + 1)
    return out


def redact_event(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: render any exception as redacted text, then redact the whole event."""
    exc_info = event_dict.pop("exc_info", None)
    exc: BaseException | None = None
    if isinstance(exc_info, BaseException):
        exc = exc_info
    elif isinstance(exc_info, tuple) and len(exc_info) == 3 and isinstance(exc_info[1], BaseException):
        exc = exc_info[1]
    elif exc_info:
        exc = sys.exc_info()[1]
    if exc is not None:
        event_dict["exception"] = format_exception(exc)
    elif isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = redact_text(event_dict["exception"])
    redacted: EventDict = _redact_mapping(event_dict, 0)
    return redacted


def redact_headers(headers: Mapping[str, str] | MutableMapping[str, str]) -> dict[str, str]:
    """HTTP headers with credentials removed (for evidence that records a request)."""
    return {k: (REDACTED if is_secret_key(k) else redact_text(v)) for k, v in headers.items()}
