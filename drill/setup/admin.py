"""The administrator's own sign-in for `drill setup`: delegated, through msal, tokens in memory only.

Device code (any terminal) or the interactive browser (msal opens the system browser on a loopback
redirect). Every token is registered for redaction the moment msal returns it; no token cache is persisted.
The default client is Microsoft Graph Command Line Tools, the first-party public client Maester's
`Connect-MgGraph` uses: the admin consents to the setup scopes for themself at the first sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drill.clouds import Cloud
from drill.errors import DrillUserError
from drill.permissions.model import Identity, Kind
from drill.permissions.registry import REGISTRY
from drill.secrets import register_secret

GRAPH_CLI_APP_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
OnCode = Callable[[dict[str, Any]], None]


def setup_scopes(cloud: Cloud) -> list[str]:
    """The delegated Graph scopes the setup administrator's grants name in the registry, fully qualified."""
    base = (cloud.graph_audience or cloud.graph_endpoint).rstrip("/")
    names = [
        g.permission for g in REGISTRY if g.identity is Identity.SETUP_ADMIN and g.kind is Kind.DELEGATED
    ]
    return [f"{base}/{n}" for n in dict.fromkeys(names)]


@dataclass
class AdminSession:
    """One signed-in administrator; `token(resource)` asks msal for a token of another resource silently."""

    oid: str
    upn: str
    _app: Any = field(repr=False)
    _account: Any = field(repr=False)
    _cloud: Cloud = field(repr=False)

    def token(self, scopes: list[str]) -> str:
        result = self._app.acquire_token_silent(scopes, account=self._account)
        if not result or "access_token" not in result:
            detail = (result or {}).get("error_description") or "no token"
            raise DrillUserError(f"could not get a token for {scopes[0]} as {self.upn}: {detail}")
        register_secret(str(result["access_token"]))
        return str(result["access_token"])

    def graph_token(self) -> str:
        return self.token(setup_scopes(self._cloud))

    def arm_token(self) -> str:
        audience = (self._cloud.arm_audience or "https://management.azure.com").rstrip("/")
        return self.token([f"{audience}/user_impersonation"])


def sign_in(
    cloud: Cloud,
    tenant_id: str,
    *,
    client_id: str = GRAPH_CLI_APP_ID,
    method: str = "device-code",
    on_code: OnCode | None = None,
) -> AdminSession:
    """Sign the administrator in; `on_code` shows the device code (the CLI prints msal's message)."""
    import msal

    from drill.auth import msal_session

    app = msal.PublicClientApplication(
        client_id,
        authority=f"{cloud.authority_host.rstrip('/')}/{tenant_id}",
        instance_discovery=False,
        http_client=msal_session(cloud.ca_bundle),
    )
    scopes = setup_scopes(cloud)
    if method == "device-code":
        flow = app.initiate_device_flow(scopes=scopes)
        if "user_code" not in flow:
            raise DrillUserError(f"the device code sign-in could not start: {flow.get('error_description')}")
        (on_code or (lambda f: print(f["message"])))(flow)
        result = app.acquire_token_by_device_flow(flow)
    elif method == "browser":
        result = app.acquire_token_interactive(scopes, prompt="select_account")
    else:
        raise DrillUserError(f"--sign-in {method}: use device-code or browser")
    for key in ("access_token", "refresh_token", "id_token"):
        if result.get(key):
            register_secret(str(result[key]))
    if "access_token" not in result:
        raise DrillUserError(
            f"the administrator's sign-in failed: {result.get('error_description') or result}"
        )
    claims = result.get("id_token_claims") or {}
    accounts = app.get_accounts()
    return AdminSession(
        oid=str(claims.get("oid", "")),
        upn=str(claims.get("preferred_username", "")),
        _app=app,
        _account=accounts[0] if accounts else None,
        _cloud=cloud,
    )
