"""The value types a playbook is made of: validated text (domains, mail addresses, https URLs, RP IDs, ...).

Each validator's message says what is wrong and how to fix it, because the loader turns it into the
operator's one-line error (`file:line:col: <field>: <message>`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


class StrictModel(BaseModel):
    """Unknown keys are errors; loaded playbooks are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --- small value types --------------------------------------------------------------------------------------
_DOMAIN = re.compile(r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+")
_EMAIL = re.compile(r"[^@\s]{1,64}@" + _DOMAIN.pattern)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


def _check(pattern: re.Pattern[str], what: str, example: str) -> Any:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"not a valid {what}; write it like {example}")
        return value

    return check


def _https_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError("must be an https:// URL; the Microsoft client libraries refuse plain http")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment; give the base URL only")
    return value.rstrip("/")


def _origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ValueError(
            "must be an https origin; write it like https://login.example.test[:port], with no path"
        )
    return value.rstrip("/")


def _rp_id(value: str) -> str:
    if not _DOMAIN.fullmatch(value) and value != "localhost":
        raise ValueError(
            "not a WebAuthn RP ID; write a host name such as login.microsoft.com (no scheme, no port)"
        )
    return value.lower()


def check_redirect_uri(value: str) -> str:
    parts = urlsplit(value)
    loopback = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
    if not (loopback or (parts.scheme == "https" and parts.hostname)):
        raise ValueError(
            "not a usable redirect URI; use http://localhost[:port] (public client) or an https:// URI "
            "registered on the app"
        )
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc.msg}); escape special characters") from None
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Text = Annotated[str, Field(min_length=1, max_length=512)]
Domain = Annotated[str, AfterValidator(_check(_DOMAIN, "domain name", "contoso.onmicrosoft.com"))]
Email = Annotated[str, AfterValidator(_check(_EMAIL, "mail address", "soc@contoso.com"))]
EnvName = Annotated[
    str, AfterValidator(_check(_ENV_NAME, "environment variable name", "DRILL_OBSERVER_SECRET"))
]
Slug = Annotated[str, AfterValidator(_check(_SLUG, "short name (lower case, digits, - _ .)", "bg-1"))]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
Origin = Annotated[str, AfterValidator(_origin)]
RpId = Annotated[str, AfterValidator(_rp_id)]
Regex = Annotated[str, Field(min_length=1), AfterValidator(_regex)]
Seconds = Annotated[float, Field(gt=0, le=86_400, strict=True)]
ListOfEmails = Annotated[list[Email], BeforeValidator(_as_list), Field(min_length=1)]
