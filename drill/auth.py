"""Tokens for the two identities of a drill, through the official libraries only.

The break-glass account signs in in the browser; msal runs the auth-code + PKCE flow around it and keeps the
resulting tokens in memory (no token cache is ever persisted). The observer is an azure-identity credential
that only reads logs and mail. Both end as azure-core `TokenCredential`s so msgraph-sdk and
azure-monitor-query take them unchanged, against Microsoft or the simulator alike.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from drill.errors import DrillUserError
from drill.secrets import register_secret, register_secrets

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential

    from drill.clouds import Cloud
    from drill.playbook import Playbook


def msal_session(ca_bundle: str | None) -> Any:
    """A requests session that trusts exactly what we say: env CA variables would silently override msal.

    A pooled connection the server closed while it sat idle (the browser sign-in takes a while) makes the
    next request fail with "Connection aborted" before any answer: the code exchange would then fail a
    healthy drill. One retry on a fresh connection covers that; answers (4xx/5xx) are msal's to judge, so
    no status is retried. At worst a code the service did redeem is refused as already redeemed: a FAIL
    either way, never a PASS.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle or True
    retry = Retry(total=1, connect=1, read=1, status=0, other=0, allowed_methods=None, raise_on_status=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class AuthError(Exception):
    """The identity platform refused or could not be reached; `code` carries AADSTS or OAuth error names."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class BrowserFlow:
    """One interactive auth-code flow: the authorize URL for the browser, completed from the redirect URL."""

    app: Any
    flow: dict[str, Any]
    redirect_uri: str

    @property
    def authorize_url(self) -> str:
        return str(self.flow["auth_uri"])

    def complete(self, redirect_url: str) -> TokenSet:
        """Exchange the code the browser brought back; code and tokens never leave this process's memory."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(redirect_url).query).items()}
        register_secret(query.get("code"))  # before anything can log it, even in an error
        if "error" in query:
            raise AuthError(query.get("error_description", query["error"]), code=query["error"])
        import msal
        import requests

        try:
            result = self.app.acquire_token_by_auth_code_flow(self.flow, query)
        except ValueError as exc:  # msal raises on state mismatch: a replayed or forged redirect
            raise AuthError(
                f"the redirect did not match this sign-in ({exc})", code="state_mismatch"
            ) from exc
        except (msal.exceptions.MsalServiceError, requests.RequestException) as exc:
            # msal raises (rather than returning an error) when the token endpoint answers 5xx or is down
            raise AuthError(f"the token endpoint failed: {exc}", code="token_endpoint") from exc
        # Every token in the answer is registered the moment it exists, so no later log line, console line
        # or evidence file can carry it whatever its shape (an opaque refresh token is not a JWT).
        register_secrets(
            *(str(result[k]) for k in ("access_token", "id_token", "refresh_token") if result.get(k))
        )
        if "access_token" not in result:
            raise AuthError(
                str(result.get("error_description") or result.get("error") or "no token"),
                code=str(result.get("error", "")),
            )
        return TokenSet(
            access_token=result["access_token"],
            expires_on=int(time.time()) + int(result.get("expires_in", 3600)),
            claims=dict(result.get("id_token_claims") or {}),
        )


@dataclass
class TokenSet:
    access_token: str = field(repr=False)
    expires_on: int
    claims: dict[str, Any]  # id token claims (no secret material)

    def credential(self) -> StaticTokenCredential:
        return StaticTokenCredential(self.access_token, self.expires_on)


class StaticTokenCredential:
    """A TokenCredential over one access token already obtained; refuses to pretend it can refresh."""

    def __init__(self, token: str, expires_on: int) -> None:
        self._token = token
        self._expires_on = expires_on

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self._expires_on)

    async def close(self) -> None:  # azure-core's async policy may call it
        return None


def start_browser_flow(
    cloud: Cloud,
    tenant_id: str,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    login_hint: str,
) -> BrowserFlow:
    """Begin auth code + PKCE; `prompt=login` so a cached session can never stand in for a real sign-in."""
    import msal

    app = msal.PublicClientApplication(
        client_id,
        authority=f"{cloud.authority_host.rstrip('/')}/{tenant_id}",
        instance_discovery=False,
        http_client=msal_session(cloud.ca_bundle),
        token_cache=msal.TokenCache(),  # in memory only, never serialised
    )
    with warnings.catch_warnings():
        # msal recommends form_post; a native client's redirect carries the code in the query, which the
        # browser step reads in memory and never records.
        warnings.filterwarnings("ignore", message="response_mode='form_post'", category=UserWarning)
        flow = app.initiate_auth_code_flow(
            list(scopes), redirect_uri=redirect_uri, login_hint=login_hint, prompt="login"
        )
    return BrowserFlow(app=app, flow=flow, redirect_uri=redirect_uri)


class RegisteringCredential:
    """Wraps the observer's credential so each access token it hands out is registered for redaction.

    azure-identity obtains the observer's tokens deep inside the SDK clients; this is the one place all of
    them pass, so a token quoted later in an SDK error, a log line or the console is redacted like ours.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return f"RegisteringCredential({type(self._inner).__name__})"

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        token = self._inner.get_token(
            *scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs
        )
        register_secret(getattr(token, "token", None))
        return token  # type: ignore[no-any-return]

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        """azure-core prefers this when present; registered the same way."""
        if hasattr(self._inner, "get_token_info"):
            info = self._inner.get_token_info(*scopes, options=options)
        else:
            from azure.core.credentials import AccessTokenInfo

            token = self._inner.get_token(*scopes)
            info = AccessTokenInfo(token.token, token.expires_on)
        register_secret(getattr(info, "token", None))
        return info

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


def observer_credential(playbook: Playbook, cloud: Cloud) -> TokenCredential:
    """The observer's credential from the playbook; secrets only ever come from the environment."""
    return RegisteringCredential(_observer_credential(playbook, cloud))


def _observer_credential(playbook: Playbook, cloud: Cloud) -> TokenCredential:
    import azure.identity as ai

    from drill.playbook.model import (
        AzureCliObserver,
        CertificateObserver,
        ClientSecretEnvObserver,
        ManagedIdentityObserver,
        WorkloadIdentityObserver,
    )

    obs = playbook.observer
    tenant = str(playbook.tenant.id)
    common: dict[str, Any] = {"authority": cloud.authority_host}
    if cloud.ca_bundle:
        common["connection_verify"] = cloud.ca_bundle
        common["disable_instance_discovery"] = True
    if isinstance(obs, AzureCliObserver):
        return ai.AzureCliCredential(tenant_id=tenant)
    if isinstance(obs, ManagedIdentityObserver):
        return ai.ManagedIdentityCredential(client_id=str(obs.client_id) if obs.client_id else None)
    if isinstance(obs, WorkloadIdentityObserver):
        # Workload identity federation (no secret): the federated token a CI job or Kubernetes writes to a
        # file is the client assertion (examples/ci write GitHub's or Azure Pipelines' OIDC token there).
        if not obs.token_file_path and not os.environ.get("AZURE_FEDERATED_TOKEN_FILE"):
            raise DrillUserError(
                "observer.kind workload-identity: no federated token file; set observer.token_file_path or "
                "AZURE_FEDERATED_TOKEN_FILE to the file the CI job writes its OIDC token to "
                "(see examples/ci in the README's 'Keyless checks in CI')"
            )
        extra = {"token_file_path": str(playbook.resolve(obs.token_file_path))} if obs.token_file_path else {}
        return ai.WorkloadIdentityCredential(
            tenant_id=tenant, client_id=str(obs.client_id), **extra, **common
        )
    if isinstance(obs, CertificateObserver):
        password = None
        if obs.certificate_password_env:
            password = os.environ.get(obs.certificate_password_env)
            if password is None:
                raise DrillUserError(
                    f"observer.certificate_password_env names {obs.certificate_password_env}, "
                    "which is not set; "
                    "export it before the drill"
                )
            register_secret(password)
        return ai.CertificateCredential(
            tenant,
            str(obs.client_id),
            str(playbook.resolve(obs.certificate_path)),
            password=password,
            send_certificate_chain=obs.send_certificate_chain,
            **common,
        )
    if isinstance(obs, ClientSecretEnvObserver):
        secret = os.environ.get(obs.client_secret_env)
        if not secret:
            raise DrillUserError(
                f"observer.client_secret_env names {obs.client_secret_env}, "
                "which is not set in the environment; "
                "export it before the drill (never write the secret into the playbook)"
            )
        register_secret(secret)
        return ai.ClientSecretCredential(tenant, str(obs.client_id), secret, **common)
    raise DrillUserError(f"observer.kind {obs.kind!r} is not supported")
