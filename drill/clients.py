"""Microsoft Graph and Log Analytics clients built one way for every cloud, the simulator included.

The traps are in INTEGRATION_NOTES.md: our own httpx client must keep Graph's default middleware (retry on
429/503 with Retry-After, the /me rewrite), a host outside `allowed_hosts` silently loses its Authorization
header, and env CA variables must not override the CA we were told to trust.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.clouds import Cloud


def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()


def graph_scopes(cloud: Cloud, permissions: Sequence[str]) -> list[str]:
    """Fully qualified delegated scopes ("https://graph.microsoft.com/RoleManagement.Read.Directory")."""
    base = (cloud.graph_audience or cloud.graph_endpoint).rstrip("/")
    return [p if "://" in p else f"{base}/{p}" for p in permissions]


def graph_client(
    credential: TokenCredential,
    cloud: Cloud,
    scopes: Sequence[str],
    *,
    on_response: Callable[[Any], Awaitable[None]] | None = None,
) -> Any:
    """A GraphServiceClient on the cloud's Graph endpoint (v1.0) with explicit scopes.

    `on_response` sees every raw httpx response (preflight reads Graph's `Date` for the clock skew).
    """
    return graph_client_at(
        credential, cloud.graph_endpoint, scopes, ca_bundle=cloud.ca_bundle, on_response=on_response
    )


def graph_client_at(
    credential: TokenCredential,
    graph_endpoint: str,
    scopes: Sequence[str],
    *,
    ca_bundle: str | None = None,
    keep_alive: bool = True,
    on_response: Callable[[Any], Awaitable[None]] | None = None,
) -> Any:
    """The one way we build a GraphServiceClient; `keep_alive=False` for one-off calls (reminder mail)."""
    import httpx
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_request_adapter import options as graph_options
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory

    host = urlsplit(graph_endpoint).hostname or ""
    auth = AzureIdentityAuthenticationProvider(credential, scopes=list(scopes), allowed_hosts=[host])
    headers = {} if keep_alive else {"Connection": "close"}
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(
            verify=_ssl_context(ca_bundle),
            trust_env=False,
            timeout=60,
            headers=headers,
            event_hooks={"response": [on_response]} if on_response else None,
        ),
        options=graph_options,  # keeps the SDK's /me rewrite, which a bare client would lose
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = f"{graph_endpoint.rstrip('/')}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def logs_client(credential: TokenCredential, cloud: Cloud) -> Any:
    """A synchronous LogsQueryClient (callers run it in a thread); azure-core retries 429 and 5xx itself."""
    from azure.monitor.query import LogsQueryClient

    kwargs: dict[str, Any] = {}
    if cloud.ca_bundle:
        kwargs["connection_verify"] = cloud.ca_bundle
    return LogsQueryClient(
        credential,
        endpoint=cloud.logs_endpoint.rstrip("/"),
        audience=cloud.logs_audience,
        **kwargs,
    )


# -- a host that cannot be reached at all (issue 25) ---------------------------------------------------------
# DNS, refused connections and untrusted TLS do not get better by waiting: the step says so at once, naming
# the host. The SDKs wrap the socket error several layers deep (azure-core keeps it in `inner_exception`,
# urllib3 in `reason`, requests/httpx in `__cause__`), so the whole chain is searched.
_DNS_TEXT = ("failed to resolve", "name or service not known", "nodename nor servname", "getaddrinfo failed",
             "no address associated with hostname", "temporary failure in name resolution")  # fmt: skip
_REFUSED_TEXT = ("connection refused", "actively refused", "errno 111]", "winerror 10061")
_TLS_TEXT = ("certificate_verify_failed", "certificate verify failed", "[ssl:", "wrong_version_number")
_HOST_IN_TEXT = re.compile(r"host='([^']+)'(?:, port=(\d+))?")
_WHAT_TO_CHECK = {
    "dns": "the name does not resolve; check the endpoint in the playbook (tenant.cloud), the workstation's "
    "DNS and its proxy",
    "refused": "nothing accepts connections there; check the endpoint's port in the playbook (tenant.cloud) "
    "and any firewall or proxy in between",
    "tls": "its TLS certificate is not trusted; check tenant.cloud.custom.ca_bundle, or a TLS-inspecting "
    "proxy's CA",
}


@dataclass(frozen=True)
class Unreachable:
    """A host the drill could not talk to at all, and what the operator should check."""

    host: str
    kind: str  # "dns" | "refused" | "tls"

    def line(self) -> str:
        return f"cannot reach {self.host}: {_WHAT_TO_CHECK[self.kind]}"


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is seen for seen in out):
            continue
        out.append(item)
        todo += [item.__cause__, item.__context__, getattr(item, "inner_exception", None),
                 getattr(item, "reason", None), *item.args]  # fmt: skip
    return out


def _kind(exc: BaseException) -> str | None:
    import socket

    if isinstance(exc, socket.gaierror) or type(exc).__name__ == "NameResolutionError":
        return "dns"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    text = str(exc).lower()
    for kind, needles in (("dns", _DNS_TEXT), ("refused", _REFUSED_TEXT), ("tls", _TLS_TEXT)):
        if any(n in text for n in needles):
            return kind
    return None


def _where(host: str, port: Any) -> str:
    return f"{host}:{port}" if port and str(port) != "443" else host


def _host(chain: list[BaseException]) -> str | None:
    """host (or host:port when not 443) from the request an error carries, else from its text."""
    for exc in chain:
        try:
            request = getattr(exc, "request", None)  # httpx raises when the error carries no request
        except RuntimeError:
            request = None
        url = getattr(request, "url", None)
        if isinstance(url, str):
            parts = urlsplit(url)
            if parts.hostname:
                return _where(parts.hostname, parts.port)
        elif (host := getattr(url, "host", None)) is not None and host:
            return _where(str(host), getattr(url, "port", None))
        for host, port in _HOST_IN_TEXT.findall(str(exc)):
            return _where(str(host), port)
    return None


def unreachable(exc: BaseException, fallback_host: str | None = None) -> Unreachable | None:
    """The host `exc` says could not be reached (DNS, refused, TLS), or None for any other failure.

    A service's HTTP answer (even 5xx) is never "unreachable": only the transport failing is.
    """
    chain = _chain(exc)
    if any(isinstance(getattr(e, "status_code", None), int) for e in chain):
        return None  # the service answered
    kind = next((k for k in map(_kind, chain) if k), None)
    if kind is None:
        return None
    host = _host(chain) or fallback_host
    return Unreachable(host or "the service", kind)
