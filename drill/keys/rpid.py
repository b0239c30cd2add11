"""May this origin use this RP ID? Same site, or a related origin the RP has listed. Nothing else.

Entra runs sign-in on `https://login.microsoftonline.com` with RP ID `login.microsoft.com`, which the
plain WebAuthn rule rejects; browsers accept it through Related Origin Requests
(`https://login.microsoft.com/.well-known/webauthn`). We accept it only through an explicit allow-list
per cloud (optionally refreshed from that document), and there is no switch to turn the check off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from drill.keys.errors import KeyCeremonyError


def normalise_origin(url: str) -> str:
    """`scheme://host[:port]` of a URL or origin, lower-cased, default ports dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        raise KeyCeremonyError("SecurityError", f"{url!r} is not an origin")
    try:
        port = parts.port
    except ValueError as exc:
        raise KeyCeremonyError("SecurityError", f"{url!r} has an invalid port") from exc
    if port is None or (scheme, port) in (("https", 443), ("http", 80)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def origin_host(origin: str) -> str:
    """The host an RP ID defaults to when the options give none."""
    return urlsplit(normalise_origin(origin)).hostname or ""


def _secure(origin: str) -> bool:
    parts = urlsplit(origin)
    host = parts.hostname or ""
    return parts.scheme == "https" or (
        parts.scheme == "http" and (host == "localhost" or host.endswith(".localhost"))
    )


def check_rp_id(rp_id: str, origin: str, related_origins: Mapping[str, Sequence[str]]) -> None:
    """Raise SecurityError unless `origin` may run a ceremony for `rp_id`."""
    from fido2.rpid import verify_rp_id  # loads the public suffix list: only when a ceremony runs

    normalised = normalise_origin(origin)
    if not rp_id or not _secure(normalised):
        raise KeyCeremonyError("SecurityError", f"{normalised} is not a secure origin for WebAuthn")
    rp = rp_id.lower()
    if verify_rp_id(rp, normalised):
        return
    allowed = set()
    for listed in related_origins.get(rp, ()):
        try:
            allowed.add(normalise_origin(listed))
        except KeyCeremonyError:
            continue  # a malformed allow-list entry allows nothing
    if normalised in allowed:
        return
    raise KeyCeremonyError(
        "SecurityError",
        f"origin {normalised} may not use RP ID {rp_id!r}: it is not the same site and not a listed "
        f"related origin of {rp_id}",
    )


def parse_well_known(rp_id: str, document: Any) -> tuple[str, ...]:
    """The `origins` of a `/.well-known/webauthn` document, each normalised; bad documents give none."""
    if not isinstance(document, Mapping) or not isinstance(document.get("origins"), list):
        raise KeyCeremonyError("SecurityError", f"https://{rp_id}/.well-known/webauthn has no 'origins' list")
    origins = []
    for item in document["origins"]:
        if isinstance(item, str):
            try:
                normalised = normalise_origin(item)
            except KeyCeremonyError:
                continue
            if _secure(normalised):
                origins.append(normalised)
    return tuple(origins)


def fetch_related_origins(
    rp_id: str, *, verify: Any = True, timeout: float = 10.0, client: Any = None
) -> tuple[str, ...]:
    """Read the RP's related-origins document over HTTPS (never plain HTTP, never unverified TLS).

    `client` is an `httpx.Client` to use instead of a fresh one (tests pass one with a mock transport).
    """
    import httpx

    if verify is False:
        raise ValueError("TLS verification cannot be switched off for related origins")
    url = f"https://{rp_id}/.well-known/webauthn"
    try:
        if client is None:
            with httpx.Client(verify=verify, timeout=timeout, trust_env=False) as fresh:
                response = fresh.get(url, follow_redirects=False)
        else:
            response = client.get(url, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise KeyCeremonyError("SecurityError", f"could not read {url}: {exc}") from exc
    return parse_well_known(rp_id, document)


def with_fetched(
    static: Mapping[str, Sequence[str]], rp_id: str, fetched: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """The static allow-list plus what the RP published for `rp_id`."""
    merged = {key: tuple(value) for key, value in static.items()}
    merged[rp_id] = tuple(dict.fromkeys([*merged.get(rp_id, ()), *fetched]))
    return merged
