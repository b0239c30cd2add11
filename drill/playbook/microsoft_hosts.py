"""Microsoft's own service hosts, per cloud, by exact name: the only hosts a Microsoft credential may reach.

Azure customers rent names under Microsoft's registrable domains (``<app>.<region>.cloudapp.azure.com``,
``<app>.azurewebsites.net``, ``<account>.web.core.windows.net``, ``<account>.blob.core.windows.net``,
``<profile>.trafficmanager.net``), so "ends with azure.com" says nothing about who runs a host. This list
names hosts, never domains: a host is Microsoft's here only if it is spelt exactly as below (compared
lower-case, without a trailing dot, on port 443). Each name cites where Microsoft documents it; the same list,
with the same sources, is in drill/sim/DIFFERENCES.md ("Microsoft's hosts, exactly").

Sources (read 2026-12 through the `search` tool):
- [AUTH] Microsoft Entra authentication endpoints per national cloud:
  https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud
  (login.microsoftonline.com, login.microsoftonline.us, login.partner.microsoftonline.cn).
- [IDENT] azure-identity ``AzureAuthorityHosts`` and msal ``WELL_KNOWN_AUTHORITY_HOSTS`` (installed
  azure-identity, msal 1.39.0 ``msal/authority.py``): the public cloud's other authority names
  login.microsoft.com, login.windows.net, sts.windows.net; US Government's login.usgovcloudapi.net; China's
  older login.chinacloudapi.cn, which the built-in ``china`` cloud still uses (msal marks it deprecated in
  favour of login.partner.microsoftonline.cn). msal's other sovereign hosts (login.sovcloud-identity.fr/.de/
  .sg, the closed login.microsoftonline.de) are not among the three clouds this tool knows.
- [GRAPH] Microsoft Graph national cloud deployments: https://learn.microsoft.com/graph/deployments, and
  msgraph-core's ``NationalClouds`` (graph.microsoft.com, graph.microsoft.us, dod-graph.microsoft.us,
  microsoftgraph.chinacloudapi.cn).
- [LOGS] Log Analytics API request format: https://learn.microsoft.com/azure/azure-monitor/logs/api/request-format
  (api.loganalytics.azure.com; azure-monitor-query's default api.loganalytics.io) and its China edition
  https://docs.azure.cn/azure-monitor/logs/api/access-api (api.loganalytics.azure.cn). US Government:
  api.loganalytics.us, the Azure CLI's ``logAnalyticsResourceId`` for AzureUSGovernment (``az cloud show``
  output quoted in github.com/docker-archive/compose-cli/issues/658).
- [ARM] Resource Manager endpoints and their token audiences, from the Azure CLI cloud definitions
  (``resourceManager``/``activeDirectoryResourceId``: same issue) and Microsoft's AzureAD PowerShell module
  ``OverrideEnvironment.config`` (``ActiveDirectoryServiceEndpointResourceId``):
  management.azure.com + management.core.windows.net, management.usgovcloudapi.net +
  management.core.usgovcloudapi.net, management.chinacloudapi.cn + management.core.chinacloudapi.cn.
- [RPID] Entra's passkey relying party id: ``webauthnPublicKeyCredentialRpEntity.id`` "For example,
  login.microsoft.com" (https://learn.microsoft.com/graph/api/resources/webauthnpublickeycredentialrpentity).
  US Government: login.microsoft.us is an ASSUMPTION carried from drill/clouds.py (no public trace shows
  it); listing it only makes more playbooks refused, never fewer. China: Graph lists FIDO2 methods as not
  available there, so no RP ID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class CloudHosts:
    """One Microsoft cloud's service hosts by role."""

    cloud: str
    sign_in: frozenset[str]  # authority hosts: see the observer's secret, the codes, the sign-in page
    graph: frozenset[str]
    logs: frozenset[str]
    arm: frozenset[str]  # Resource Manager endpoints and their token audiences
    passkey_rp_ids: frozenset[str]

    @property
    def services(self) -> frozenset[str]:
        """Hosts that are token audiences (a token for one may only be sent to that same host)."""
        return self.graph | self.logs | self.arm


CLOUD_HOSTS: tuple[CloudHosts, ...] = (
    CloudHosts(
        cloud="public",
        sign_in=frozenset(
            {"login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net"}
        ),  # [AUTH], [IDENT]
        graph=frozenset({"graph.microsoft.com"}),  # [GRAPH]
        logs=frozenset({"api.loganalytics.io", "api.loganalytics.azure.com"}),  # [LOGS]
        arm=frozenset({"management.azure.com", "management.core.windows.net"}),  # [ARM]
        passkey_rp_ids=frozenset({"login.microsoft.com"}),  # [RPID]
    ),
    CloudHosts(
        cloud="usgov",
        sign_in=frozenset({"login.microsoftonline.us", "login.usgovcloudapi.net"}),  # [AUTH], [IDENT]
        graph=frozenset({"graph.microsoft.us", "dod-graph.microsoft.us"}),  # [GRAPH] L4 and L5 (DoD)
        logs=frozenset({"api.loganalytics.us"}),  # [LOGS]
        arm=frozenset({"management.usgovcloudapi.net", "management.core.usgovcloudapi.net"}),  # [ARM]
        passkey_rp_ids=frozenset({"login.microsoft.us"}),  # [RPID] assumption, see above
    ),
    CloudHosts(
        cloud="china",
        sign_in=frozenset({"login.partner.microsoftonline.cn", "login.chinacloudapi.cn"}),  # [AUTH], [IDENT]
        graph=frozenset({"microsoftgraph.chinacloudapi.cn"}),  # [GRAPH]
        logs=frozenset({"api.loganalytics.azure.cn"}),  # [LOGS]
        arm=frozenset({"management.chinacloudapi.cn", "management.core.chinacloudapi.cn"}),  # [ARM]
        passkey_rp_ids=frozenset(),  # [RPID] FIDO2 not available
    ),
)

SIGN_IN_HOSTS = frozenset().union(*(c.sign_in for c in CLOUD_HOSTS))
SERVICE_HOSTS = frozenset().union(*(c.services for c in CLOUD_HOSTS))
PASSKEY_RP_IDS = frozenset().union(*(c.passkey_rp_ids for c in CLOUD_HOSTS))


def host_name(host: str) -> str:
    """The form hosts are compared in: lower case, no trailing dot."""
    return host.lower().rstrip(".")


def is_sign_in_host(host: str) -> bool:
    """A Microsoft Entra authority host of one of the three clouds, exactly."""
    return host_name(host) in SIGN_IN_HOSTS


def is_service_host(host: str) -> bool:
    """A Microsoft Graph, Log Analytics or Resource Manager host (or token audience), exactly."""
    return host_name(host) in SERVICE_HOSTS


def is_microsoft_host(host: str) -> bool:
    """Any host on the list above (sign-in, service or passkey RP ID), exactly."""
    name = host_name(host)
    return name in SIGN_IN_HOSTS or name in SERVICE_HOSTS or name in PASSKEY_RP_IDS


def is_microsoft_rp_id(rp_id: str) -> bool:
    """An RP ID whose passkeys Microsoft's sign-in could ask for: a listed RP ID or sign-in host, or a
    parent domain of one (``microsoft.com`` covers ``login.microsoft.com``'s site). This widens what is
    guarded, never what is accepted: such an RP ID may be lent only to a Microsoft sign-in origin."""
    name = host_name(rp_id)
    return any(h == name or h.endswith("." + name) for h in PASSKEY_RP_IDS | SIGN_IN_HOSTS)


Role = Literal["graph", "logs", "arm"]
ROLE_NAMES: dict[Role, str] = {"graph": "Graph", "logs": "Log Analytics", "arm": "Resource Manager"}


def role_hosts(role: Role) -> frozenset[str]:
    """The hosts of one service role, across the three clouds."""
    return frozenset().union(*(getattr(c, role) for c in CLOUD_HOSTS))


def hosts_text(role: Role) -> str:
    """One role's hosts per cloud, for error messages."""
    return ", ".join(f"{host} ({c.cloud})" for c in CLOUD_HOSTS for host in sorted(getattr(c, role)))


def sign_in_hosts_text() -> str:
    """The sign-in hosts per cloud, for error messages."""
    return ", ".join(f"{host} ({c.cloud})" for c in CLOUD_HOSTS for host in sorted(c.sign_in))
