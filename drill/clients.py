"""Microsoft Graph and Log Analytics clients built one way for every cloud, the simulator included.

The traps are in INTEGRATION_NOTES.md: our own httpx client must keep Graph's default middleware (retry on
429/503 with Retry-After, the /me rewrite), a host outside `allowed_hosts` silently loses its Authorization
header, and env CA variables must not override the CA we were told to trust.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Sequence
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
