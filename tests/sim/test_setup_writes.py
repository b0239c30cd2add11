"""The write APIs `drill setup` uses, on a fresh tenant, through msal's device code flow and real HTTPS:
shapes, the grants they leave (read back through Graph and ARM, and in the tokens), and the role each
needs."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msal
import pytest
import requests

from drill.sim.fresh import APP_ADMIN, GRAPH_CLI_APP_ID, SETUP_ADMIN, fresh_tenant
from drill.sim.server import SimServer
from drill.sim.tenant import Tenant

GRAPH_SP_SCOPES = ["https://graph.microsoft.com/.default"]
ARM = "https://management.azure.com/.default"


@pytest.fixture
def fresh(demo_tenant: Tenant, tmp_path: Path) -> Iterator[SimServer]:
    with SimServer(fresh_tenant(demo_tenant, monitoring=False), tmp_path / "sim") as server:
        yield server


def _session(sim: SimServer) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.verify = str(sim.ca_path)
    s.headers["Connection"] = "close"  # a kept-alive connection holds the server's stop
    return s


def _admin_tokens(sim: SimServer, user: str) -> tuple[str, str]:
    """(Graph token, ARM token) of an admin signing in with the device code flow; the admin's half approved
    through the simulator's control route."""
    http = _session(sim)
    app = msal.PublicClientApplication(
        GRAPH_CLI_APP_ID,
        authority=f"{sim.base_url}/{sim.state.tenant.id}",
        instance_discovery=False,
        http_client=http,
    )
    flow = app.initiate_device_flow(scopes=GRAPH_SP_SCOPES)
    assert "user_code" in flow, flow
    http.post(
        f"{sim.base_url}/_sim/identity/devicecode/approve",
        json={"user_code": flow["user_code"], "user": user},
    ).raise_for_status()
    graph = app.acquire_token_by_device_flow(flow)
    assert "access_token" in graph, graph
    account = app.get_accounts()[0]
    arm = app.acquire_token_silent([ARM], account=account)
    assert arm is not None
    assert "access_token" in arm, arm
    return graph["access_token"], arm["access_token"]


def _call(sim: SimServer, token: str, method: str, path: str, body: Any = None) -> requests.Response:
    base = sim.base_url + ("" if path.startswith(("/subscriptions", "/providers")) else "/v1.0")
    return _session(sim).request(method, base + path, json=body, headers={"Authorization": f"Bearer {token}"})


def _cert_b64() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "observer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode()


def test_setup_writes_leave_the_grants_the_reads_and_tokens_show(fresh: SimServer) -> None:
    graph, arm = _admin_tokens(fresh, "setup-admin@contoso.test")
    r = _call(
        fresh,
        graph,
        "POST",
        "/applications",
        {
            "displayName": "Break-glass drill",
            "notes": "made by t",
            "isFallbackPublicClient": True,
            "publicClient": {"redirectUris": ["http://localhost"]},
        },
    )
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["isFallbackPublicClient"] is True
    assert app["appId"] != app["id"]
    # no service principal yet: Graph does not know the app as one
    assert _call(fresh, graph, "GET", f"/servicePrincipals(appId='{app['appId']}')").status_code == 404
    sp = _call(fresh, graph, "POST", "/servicePrincipals", {"appId": app["appId"]})
    assert sp.status_code == 201, sp.text
    again = _call(fresh, graph, "POST", "/servicePrincipals", {"appId": app["appId"]})
    assert again.status_code == 409
    graph_sp = _call(
        fresh, graph, "GET", "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"
    ).json()
    user = fresh.state.tenant.users[0]["id"]
    grant = _call(
        fresh,
        graph,
        "POST",
        "/oauth2PermissionGrants",
        {
            "clientId": sp.json()["id"],
            "consentType": "Principal",
            "principalId": user,
            "resourceId": graph_sp["id"],
            "scope": "User.Read RoleManagement.Read.Directory",
        },
    )
    assert grant.status_code == 201, grant.text
    listed = _call(fresh, graph, "GET", f"/servicePrincipals/{sp.json()['id']}/oauth2PermissionGrants").json()
    assert [(g["consentType"], g["principalId"]) for g in listed["value"]] == [("Principal", user)]
    role_id = next(r["id"] for r in graph_sp["appRoles"] if r["value"] == "Mail.Read")
    ara = _call(
        fresh,
        graph,
        "POST",
        f"/servicePrincipals/{sp.json()['id']}/appRoleAssignments",
        {"principalId": sp.json()["id"], "resourceId": graph_sp["id"], "appRoleId": role_id},
    )
    assert ara.status_code == 201, ara.text
    assert fresh.state.tenant.application(app["appId"])["appRoles"] == ["Mail.Read"]
    key = _call(
        fresh,
        graph,
        "PATCH",
        f"/applications/{app['id']}",
        {"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": _cert_b64()}]},
    )
    assert key.status_code == 204, key.text
    fic = _call(
        fresh,
        graph,
        "POST",
        f"/applications/{app['id']}/federatedIdentityCredentials",
        {
            "name": "ci",
            "issuer": "https://token.actions.githubusercontent.com",
            "subject": "repo:o/r:ref:refs/heads/main",
            "audiences": ["api://AzureADTokenExchange"],
        },
    )
    assert fic.status_code == 201, fic.text
    sites = fresh.state.services
    from drill.sim.graph.sites import store

    site_id = next(iter(store(fresh.state)["sites"]))
    perm = _call(
        fresh,
        graph,
        "POST",
        f"/sites/{site_id}/permissions",
        {
            "roles": ["write"],
            "grantedToIdentities": [{"application": {"id": app["appId"], "displayName": "x"}}],
        },
    )
    assert perm.status_code == 201, perm.text
    assert perm.json()["roles"] == ["write"]
    assert sites["sharepoint"]["sites"][site_id]["grants"][app["appId"]] == "write"
    # ARM: a role assignment at the resource group, read back through the list
    az = fresh.state.tenant.azure
    rg = f"/subscriptions/{az['subscriptionId']}/resourceGroups/{az['resourceGroup']}"
    name = str(uuid.uuid4())
    put = _call(
        fresh,
        arm,
        "PUT",
        f"{rg}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01",
        {
            "properties": {
                "principalId": sp.json()["id"],
                "roleDefinitionId": f"{rg}/providers/Microsoft.Authorization/roleDefinitions/"
                "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
                "principalType": "ServicePrincipal",
            }
        },
    )
    assert put.status_code == 201, put.text
    assert {"role": "Monitoring Reader", "scope": rg} in fresh.state.tenant.application(app["appId"])[
        "armRoles"
    ]


def test_each_write_refuses_an_admin_without_the_documented_role(fresh: SimServer) -> None:
    graph, arm = _admin_tokens(fresh, "app-admin@contoso.test")  # Cloud Application Administrator only
    app = _call(fresh, graph, "POST", "/applications", {"displayName": "x"})
    assert app.status_code == 201  # the app itself: allowed
    sp = _call(fresh, graph, "POST", "/servicePrincipals", {"appId": app.json()["appId"]}).json()
    graph_sp = _call(
        fresh, graph, "GET", "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"
    ).json()
    role_id = graph_sp["appRoles"][0]["id"]
    ara = _call(
        fresh,
        graph,
        "POST",
        f"/servicePrincipals/{sp['id']}/appRoleAssignments",
        {"principalId": sp["id"], "resourceId": graph_sp["id"], "appRoleId": role_id},
    )
    assert ara.status_code == 403
    assert ara.json()["error"]["code"] == "Authorization_RequestDenied"
    from drill.sim.graph.sites import store

    site_id = next(iter(store(fresh.state)["sites"]))
    perm = _call(
        fresh,
        graph,
        "POST",
        f"/sites/{site_id}/permissions",
        {"roles": ["write"], "grantedToIdentities": [{"application": {"id": app.json()["appId"]}}]},
    )
    assert perm.status_code == 403
    az = fresh.state.tenant.azure
    rg = f"/subscriptions/{az['subscriptionId']}/resourceGroups/{az['resourceGroup']}"
    put = _call(
        fresh,
        arm,
        "PUT",
        f"{rg}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}?api-version=2022-04-01",
        {
            "properties": {
                "principalId": sp["id"],
                "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/"
                "acdd72a7-3385-48ef-bd42-f606fba81ae7",
            }
        },
    )
    assert put.status_code == 403
    assert put.json()["error"]["code"] == "AuthorizationFailed"
    diag = _call(
        fresh,
        arm,
        "PUT",
        "/providers/microsoft.aadiam/diagnosticSettings/x?api-version=2017-04-01",
        {"properties": {"workspaceId": "w", "logs": []}},
    )
    assert diag.status_code == 403
    rule = _call(
        fresh,
        arm,
        "PUT",
        f"/{rg.strip('/')}/providers/Microsoft.Insights/scheduledQueryRules/r?api-version=2023-12-01",
        {"properties": {}},
    )
    assert rule.status_code == 403
    assert APP_ADMIN
    assert SETUP_ADMIN
