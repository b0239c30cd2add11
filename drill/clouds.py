"""Endpoint sets a drill can talk to: Microsoft's public, US Government and China clouds, or a custom set.

The simulator is just one custom set: nothing in the product knows it exists. Each set also carries the
WebAuthn relying-party split, because Entra registers passkeys for the RP ID ``login.microsoft.com`` while the
sign-in page lives on ``login.microsoftonline.com``; python-fido2's default same-site rule would refuse that,
so the key adapter checks RP IDs against this explicit allow-list instead (see drill/keys/rpid.py).

Sovereign clouds, what is known and what is assumed:
- US Government (GCC High / L4): authority ``login.microsoftonline.us`` (azure-identity's
  ``AzureAuthorityHosts.AZURE_GOVERNMENT``), Graph ``graph.microsoft.us`` (msgraph-core's ``US_GOV``; DoD
  tenants use ``dod-graph.microsoft.us``: write a custom cloud for them), Log Analytics
  ``api.loganalytics.us``. Microsoft documents FIDO2 methods as available there but no public trace shows its
  ceremony host. ASSUMPTION: it mirrors the public split, RP ID ``login.microsoft.us`` used from
  ``https://login.microsoftonline.us``; the RP ID ``login.microsoftonline.us`` itself is same-origin and needs
  no entry. A drill that meets another RP ID fails closed with SecurityError and names it; add it through a
  custom cloud after checking it.
- China (21Vianet): authority ``login.chinacloudapi.cn`` (``AzureAuthorityHosts.AZURE_CHINA``), Graph
  ``microsoftgraph.chinacloudapi.cn``, Log Analytics ``api.loganalytics.azure.cn``. Graph's FIDO2 method
  documentation lists China as not supported, so no cross-origin RP ID is allowed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drill.playbook import Playbook


def _frozen(mapping: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({rp: tuple(origins) for rp, origins in mapping.items()})


@dataclass(frozen=True)
class Cloud:
    """One endpoint set. URLs carry the scheme and no trailing slash."""

    name: str
    authority_host: str
    graph_endpoint: str
    logs_endpoint: str
    logs_audience: str
    webauthn_related_origins: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: _frozen({}))
    ca_bundle: str | None = None
    # Token audience for Graph scopes; empty means graph_endpoint (differs only for custom clouds whose Graph
    # is served on one URL but accepts tokens for another, like Log Analytics' logs_audience).
    graph_audience: str = ""
    # Set only by a custom cloud whose playbook says `allow_untrusted_endpoints: true` (the simulator): its
    # Microsoft audiences go to hosts that are not Microsoft's, and the evidence records that.
    allow_untrusted_endpoints: bool = False
    # Azure Resource Manager, where the deployed alert rules, action groups and fired alerts are read
    # (drill/monitoring/). Empty for a custom cloud that names none: the ARM checks then fail, saying so.
    arm_endpoint: str = ""
    arm_audience: str = ""

    def __post_init__(self) -> None:
        if not self.graph_audience:
            object.__setattr__(self, "graph_audience", self.graph_endpoint)
        if not self.arm_audience:
            object.__setattr__(self, "arm_audience", self.arm_endpoint)

    def graph_scope(self, permission: str) -> str:
        """A fully qualified Graph scope for this cloud (``User.Read`` -> ``https://graph.../User.Read``)."""
        return f"{self.graph_audience}/{permission}"

    @property
    def graph_default_scope(self) -> str:
        return f"{self.graph_audience}/.default"

    @property
    def logs_default_scope(self) -> str:
        return f"{self.logs_audience}/.default"

    @property
    def arm_default_scope(self) -> str:
        return f"{self.arm_audience.rstrip('/')}/.default"

    def authority(self, tenant: str) -> str:
        """The msal authority URL for a tenant id or domain."""
        return f"{self.authority_host}/{tenant}"

    def endpoints(self) -> dict[str, object]:
        """Where this drill's requests and tokens actually went, for the evidence (report.json)."""
        return {
            "cloud": self.name,
            "authority_host": self.authority_host,
            "graph_endpoint": self.graph_endpoint,
            "graph_audience": self.graph_audience,
            "logs_endpoint": self.logs_endpoint,
            "logs_audience": self.logs_audience,
            "webauthn_related_origins": {rp: list(o) for rp, o in self.webauthn_related_origins.items()},
            "allow_untrusted_endpoints": self.allow_untrusted_endpoints,
            **(
                {"arm_endpoint": self.arm_endpoint, "arm_audience": self.arm_audience}
                if self.arm_endpoint
                else {}
            ),
        }


PUBLIC = Cloud(
    name="public",
    authority_host="https://login.microsoftonline.com",
    graph_endpoint="https://graph.microsoft.com",
    logs_endpoint="https://api.loganalytics.io",
    logs_audience="https://api.loganalytics.io",
    webauthn_related_origins=_frozen({"login.microsoft.com": ("https://login.microsoftonline.com",)}),
    arm_endpoint="https://management.azure.com",
)

USGOV = Cloud(
    name="usgov",
    authority_host="https://login.microsoftonline.us",
    graph_endpoint="https://graph.microsoft.us",
    logs_endpoint="https://api.loganalytics.us",
    logs_audience="https://api.loganalytics.us",
    # Assumption (see module docstring): mirrors the public split.
    webauthn_related_origins=_frozen({"login.microsoft.us": ("https://login.microsoftonline.us",)}),
    arm_endpoint="https://management.usgovcloudapi.net",
)

CHINA = Cloud(
    name="china",
    authority_host="https://login.chinacloudapi.cn",
    graph_endpoint="https://microsoftgraph.chinacloudapi.cn",
    logs_endpoint="https://api.loganalytics.azure.cn",
    logs_audience="https://api.loganalytics.azure.cn",
    webauthn_related_origins=_frozen({}),
    arm_endpoint="https://management.chinacloudapi.cn",
)

BUILTIN: Mapping[str, Cloud] = MappingProxyType({c.name: c for c in (PUBLIC, USGOV, CHINA)})


def cloud_for(playbook: Playbook) -> Cloud:
    """The Cloud a playbook names: a built-in by name, or one built from its `custom` endpoints.

    Custom values arrive `${DRILL_*}`-expanded and validated by the playbook loader: https, no trailing
    slash, a Microsoft sign-in host, Microsoft audiences only on their own hosts, Microsoft's passkey RP ID
    only for Microsoft's sign-in origins (the exact host allow-list in drill/playbook/microsoft_hosts.py).
    The rule is checked again here because a playbook built in code never passed the loader, and this is
    the last stop before a token is sent.
    """
    from drill.errors import DrillUserError
    from drill.playbook import custom_cloud_pairings

    spec = playbook.tenant.cloud
    if isinstance(spec, str):
        return BUILTIN[spec]
    custom = spec.custom
    pairings = [
        p for p in custom_cloud_pairings(playbook) if not (custom.allow_untrusted_endpoints and p.overridable)
    ]
    if pairings:
        where = playbook.source or "the playbook"
        raise DrillUserError(f"{where}: {pairings[0].message}")
    return Cloud(
        name=custom.name,
        authority_host=custom.authority_host,
        graph_endpoint=custom.graph_endpoint,
        logs_endpoint=custom.logs_endpoint,
        logs_audience=custom.logs_audience or custom.logs_endpoint,
        webauthn_related_origins=_frozen(
            {rp: tuple(origins) for rp, origins in custom.webauthn_related_origins.items()}
        ),
        ca_bundle=str(playbook.resolve(custom.ca_bundle)) if custom.ca_bundle is not None else None,
        graph_audience=custom.graph_audience or custom.graph_endpoint,
        allow_untrusted_endpoints=custom.allow_untrusted_endpoints,
        arm_endpoint=custom.arm_endpoint or "",
        arm_audience=custom.arm_audience or custom.arm_endpoint or "",
    )
