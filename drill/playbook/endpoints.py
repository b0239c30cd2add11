"""Which hosts a custom cloud may send a Microsoft token to: the rule that keeps a playbook from exfiltrating.

A custom cloud names both where a request goes (``graph_endpoint``) and which audience its token is for
(``graph_audience``). Pair a Microsoft audience with someone else's host and the real Graph client sends a
live ``Authorization: Bearer`` for the break-glass account (Global Administrator) to that host; map
Microsoft's passkey RP ID to a foreign origin and the key signs an assertion a phishing page can replay. So
a Microsoft audience, scope or RP ID may only travel to a Microsoft host, unless the playbook says
``allow_untrusted_endpoints: true`` (the simulator, a proxy you run), which is then reported loudly.

Which hosts are Microsoft's is an allow-list of exact host names per cloud (microsoft_hosts.py), never a
registrable domain: anyone can rent ``<name>.cloudapp.azure.com``. tests/unit/test_clouds.py proves every host
of every built-in cloud is on it, and that every built-in cloud name is reserved, so the two cannot drift.

Without `allow_untrusted_endpoints`, a custom cloud names Microsoft's hosts only, exactly, each in its role:
- the authority host is a Microsoft sign-in host, because it receives the observer's client secret, the
  authorization code and the break-glass sign-in itself;
- a token for a Microsoft audience or scope is sent only to that audience's own host, and every Graph, Log
  Analytics and Resource Manager endpoint and audience is one of Microsoft's for that service;
- the only passkey RP IDs are Microsoft's.
With the flag these are reported loudly instead. One rule no flag lifts: Microsoft's passkey RP ID may only
be used from a Microsoft sign-in origin, because an assertion for ``login.microsoft.com`` made anywhere else
can be relayed to Microsoft, and the simulator has an RP ID of its own (``login.microsoft.test``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from drill.playbook.microsoft_hosts import (
    ROLE_NAMES,
    Role,
    host_name,
    hosts_text,
    is_microsoft_rp_id,
    is_service_host,
    is_sign_in_host,
    role_hosts,
    sign_in_hosts_text,
)

# A custom cloud must not pass for a Microsoft one in evidence or on a dashboard: the built-in names
# (drill.clouds.BUILTIN) and the names Azure tooling uses for the same clouds.
RESERVED_CLOUD_NAMES = frozenset(
    {
        "public",
        "usgov",
        "china",
        "azure",
        "azurecloud",
        "azure-public",
        "azureusgovernment",
        "azure-usgov",
        "azurechinacloud",
        "azure-china",
        "microsoft",
        "global",
        "gcc",
        "gcchigh",
        "gcc-high",
        "dod",
        "usgovernment",
        "mooncake",
        "21vianet",
    }
)


def is_microsoft_sign_in(url: str) -> bool:
    """An https URL on a Microsoft sign-in host, on port 443 (``https://login.microsoftonline.us``)."""
    parts = urlsplit(url)
    return parts.scheme == "https" and is_sign_in_host(parts.hostname or "") and _port(url) == 443


def _port(url: str) -> int:
    try:
        return urlsplit(url).port or 443
    except ValueError:
        return -1


def _target(url: str) -> tuple[str, int]:
    return host_name(urlsplit(url).hostname or ""), _port(url)


_FLAG = "set `allow_untrusted_endpoints: true` only for a simulator or a proxy you run"


@dataclass(frozen=True)
class Pairing:
    """One place a Microsoft credential would reach a host that is not Microsoft's."""

    field: tuple[str | int, ...]  # where, relative to the playbook root
    message: str
    # False: refused even with `allow_untrusted_endpoints: true` (Microsoft's passkey RP ID).
    overridable: bool = True


def untrusted_pairings(
    *,
    authority_host: str,
    graph_endpoint: str,
    graph_audience: str | None,
    logs_endpoint: str,
    logs_audience: str | None,
    webauthn_related_origins: dict[str, list[str]] | None = None,
    scopes: Sequence[str] = (),
    arm_endpoint: str | None = None,
    arm_audience: str | None = None,
) -> list[Pairing]:
    """Each place a Microsoft credential (secret, code, token, passkey assertion) would leave Microsoft.

    Values are a custom cloud's validated https URLs; an unset audience means the endpoint itself (never a
    mismatch).
    """
    base = ("tenant", "cloud", "custom")
    out: list[Pairing] = []
    authority = _target(authority_host)[0]
    if not is_microsoft_sign_in(authority_host):
        out.append(
            Pairing(
                (*base, "authority_host"),
                f"{authority} is not a Microsoft sign-in host, and the drill would send it the observer's "
                "client secret, the authorization codes and the break-glass account's sign-in; use your "
                f"cloud's own sign-in host, spelt exactly ({sign_in_hosts_text()}), or {_FLAG}",
            )
        )

    def token_for(audience: str, endpoint: str, where: tuple[str | int, ...], what: str) -> None:
        host, port = _target(audience)
        if not is_service_host(host):
            return
        if _target(endpoint) != (host, port):
            out.append(
                Pairing(
                    where,
                    f"{what} for the Microsoft audience {host} would be sent to "
                    f"{_target(endpoint)[0]}, which is not {host}; point it at the audience's own "
                    f"Microsoft host, or {_FLAG}",
                )
            )

    def service(role: Role, endpoint: str, audience: str | None, what: str) -> None:
        before = len(out)
        token_for(audience or endpoint, endpoint, (*base, f"{role}_endpoint"), what)
        if len(out) > before:
            return  # the worse problem already names this field
        for value, key in ((endpoint, f"{role}_endpoint"), (audience, f"{role}_audience")):
            host, port = _target(value) if value else ("", 443)
            if value and (host not in role_hosts(role) or port != 443):
                out.append(
                    Pairing(
                        (*base, key),
                        f"{host} is not a Microsoft {ROLE_NAMES[role]} host; use your cloud's own, spelt "
                        f"exactly ({hosts_text(role)}), or {_FLAG}",
                    )
                )

    service("graph", graph_endpoint, graph_audience, "a Graph token")
    service("logs", logs_endpoint, logs_audience, "a Log Analytics token")
    if arm_endpoint:
        service("arm", arm_endpoint, arm_audience, "an ARM token")
    for index, scope in enumerate(scopes):
        if "://" in scope:
            token_for(scope, graph_endpoint, ("drill_app", "scopes", index), "a token for this scope")
    for rp_id, origins in (webauthn_related_origins or {}).items():
        if not is_microsoft_rp_id(rp_id):
            out.append(
                Pairing(
                    (*base, "webauthn_related_origins", rp_id),
                    f"{rp_id} is not a Microsoft passkey RP ID, and a Microsoft cloud lends no other; "
                    f"remove it, or {_FLAG}",
                )
            )
            continue
        for index, origin in enumerate(origins):
            if not is_microsoft_sign_in(origin):
                out.append(
                    Pairing(
                        (*base, "webauthn_related_origins", rp_id, index),
                        f"{_target(origin)[0]} may not use Microsoft's passkey RP ID {rp_id}, because the "
                        "key would sign an assertion that page could relay to Microsoft; remove the origin: "
                        "only Microsoft's sign-in origins may use it, https:// on "
                        f"{sign_in_hosts_text()}, and no setting allows another (a simulator uses an RP ID "
                        "of its own, such as login.microsoft.test)",
                        overridable=False,
                    )
                )
    return out
