"""Which hosts a custom cloud may send a Microsoft token to: the rule that keeps a playbook from exfiltrating.

A custom cloud names both where a request goes (``graph_endpoint``) and which audience its token is for
(``graph_audience``). Pair a Microsoft audience with someone else's host and the real Graph client sends a
live ``Authorization: Bearer`` for the break-glass account (Global Administrator) to that host; map
Microsoft's passkey RP ID to a foreign origin and the key signs an assertion a phishing page can replay. So
a Microsoft audience, scope or RP ID may only travel to a Microsoft host, unless the playbook says
``allow_untrusted_endpoints: true`` (the simulator, a proxy you run), which is then reported loudly.

This layer sits below ``drill.clouds`` and cannot import it, so the Microsoft domains are listed here;
tests/unit/test_clouds.py proves every host of every built-in cloud counts as Microsoft, and that every
built-in cloud name is reserved, so the two lists cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

# Registrable domains Microsoft serves its clouds from: the public, US Government and China clouds' sign-in,
# Graph, Log Analytics and passkey RP hosts (see drill/clouds.py), and their Azure resource siblings.
MICROSOFT_DOMAINS = frozenset(
    {
        "microsoftonline.com",
        "microsoft.com",
        "loganalytics.io",
        "azure.com",
        "azure.net",
        "windows.net",
        "microsoftonline.us",
        "microsoft.us",
        "loganalytics.us",
        "azure.us",
        "usgovcloudapi.net",
        "chinacloudapi.cn",
        "azure.cn",
    }
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


def _host(host: str) -> str:
    return host.lower().rstrip(".")


def is_microsoft_host(host: str) -> bool:
    """True for a host on Microsoft's cloud domains (``graph.microsoft.com``, ``login.microsoft.us``)."""
    name = _host(host)
    return any(name == d or name.endswith("." + d) for d in MICROSOFT_DOMAINS)


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return _host(parts.hostname or ""), parts.port or 443


@dataclass(frozen=True)
class Pairing:
    """One place a Microsoft credential would reach a host that is not Microsoft's."""

    field: tuple[str | int, ...]  # where, relative to the playbook root
    message: str


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
    """Each pairing of a Microsoft audience, scope or RP ID with a host that is not its Microsoft one.

    Values are a custom cloud's validated https URLs; an unset audience means the endpoint itself (never a
    mismatch).
    """
    base = ("tenant", "cloud", "custom")
    out: list[Pairing] = []
    microsoft_audiences: list[str] = []
    fix = (
        "point it at the audience's own Microsoft host, or set `allow_untrusted_endpoints: true` only for a "
        "simulator or a proxy you run"
    )

    def token_for(audience: str, endpoint: str, where: tuple[str | int, ...], what: str) -> None:
        host, port = _target(audience)
        if not is_microsoft_host(host):
            return
        microsoft_audiences.append(host)
        if _target(endpoint) != (host, port):
            out.append(
                Pairing(
                    where,
                    f"{what} for the Microsoft audience {host} would be sent to "
                    f"{_target(endpoint)[0]}, which is not {host}; {fix}",
                )
            )

    token_for(graph_audience or graph_endpoint, graph_endpoint, (*base, "graph_endpoint"), "a Graph token")
    token_for(
        logs_audience or logs_endpoint, logs_endpoint, (*base, "logs_endpoint"), "a Log Analytics token"
    )
    if arm_endpoint:
        token_for(arm_audience or arm_endpoint, arm_endpoint, (*base, "arm_endpoint"), "an ARM token")
    for index, scope in enumerate(scopes):
        if "://" in scope:
            token_for(scope, graph_endpoint, ("drill_app", "scopes", index), "a token for this scope")
    authority = _target(authority_host)[0]
    if microsoft_audiences and not is_microsoft_host(authority):
        out.append(
            Pairing(
                (*base, "authority_host"),
                f"tokens for the Microsoft audience {microsoft_audiences[0]} would be obtained through "
                f"{authority}, which is not a Microsoft sign-in host (it would see the codes and tokens); "
                "use the cloud's login.microsoftonline host, or set `allow_untrusted_endpoints: true` only "
                "for a simulator or a proxy you run",
            )
        )
    for rp_id, origins in (webauthn_related_origins or {}).items():
        if not is_microsoft_host(rp_id):
            continue
        for index, origin in enumerate(origins):
            host = _target(origin)[0]
            if not is_microsoft_host(host):
                out.append(
                    Pairing(
                        (*base, "webauthn_related_origins", rp_id, index),
                        f"{host} may not use Microsoft's passkey RP ID {rp_id}: the key would sign an "
                        "assertion a foreign page could replay to Microsoft; remove the origin, or set "
                        "`allow_untrusted_endpoints: true` only for a simulator",
                    )
                )
    return out
