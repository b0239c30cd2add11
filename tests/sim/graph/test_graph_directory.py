"""Users, groups, administrative units, revokeSignInSessions, and the way Graph refuses tokens and queries."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from graph_support import ALICE, EA01, EA02, StaticCredential, bearer, close, graph_client

from drill.sim.graph.odata import graph_types
from drill.sim.server import SimServer
from drill.sim.state import token_service

GROUP = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e01"
AU = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c01"


def test_me_through_msgraph_sdk(sim: SimServer, delegated: Any) -> None:
    client = graph_client(sim, StaticCredential(delegated()), ["https://graph.microsoft.com/User.Read"])

    async def go() -> Any:
        try:
            return await client.me.get()
        finally:
            await close(client)

    me = asyncio.run(go())
    assert (me.id, me.user_principal_name) == (EA01, "ea01@contoso.onmicrosoft.com")
    assert me.account_enabled is None  # not in Graph's default user view: it must be $selected


def test_user_select_and_errors(sim: SimServer, delegated: Any, app_token: Any, api: Any) -> None:
    h = bearer(delegated())
    body = api.get(f"/users/{EA01}", params={"$select": "id,accountEnabled"}, headers=h).json()
    assert body == {"@odata.context": f"{sim.base_url}/v1.0/$metadata#users(id,accountEnabled)/$entity",
                    "id": EA01, "accountEnabled": True}  # fmt: skip
    by_upn = api.get("/users/EA02@contoso.onmicrosoft.com", headers=h).json()
    assert by_upn["id"] == EA02
    missing = api.get("/users/nobody@contoso.test", headers=h)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"
    # User.Read reaches only the signed-in user
    only_self = bearer(delegated(scopes="User.Read"))
    assert api.get(f"/users/{EA01}", headers=only_self).status_code == 200
    assert api.get("/users", headers=only_self).status_code == 403
    other = api.get(f"/users/{EA02}", headers=only_self)
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "Authorization_RequestDenied"
    # what msgraph-sdk sends for `client.me` when its URL-replace option is missing: a 404, as on Graph
    assert api.get("/users/me-token-to-replace", headers=h).status_code == 404
    me_app = api.get("/me", headers=bearer(app_token()))
    assert me_app.status_code == 400
    assert "delegated" in me_app.json()["error"]["message"]


def test_error_envelope_and_tokens(sim: SimServer, delegated: Any, api: Any) -> None:
    none = api.get("/me", headers={"client-request-id": "abc-123"})
    assert none.status_code == 401
    err = none.json()["error"]
    assert err["code"] == "InvalidAuthenticationToken"
    assert set(err["innerError"]) == {"date", "request-id", "client-request-id"}
    assert err["innerError"]["client-request-id"] == "abc-123"
    assert none.headers["request-id"] == err["innerError"]["request-id"]
    wrong_aud = token_service(sim.state).issue(
        {"aud": "https://api.loganalytics.io", "oid": EA01, "scp": "User.Read"}
    )
    assert api.get("/me", headers=bearer(wrong_aud)).status_code == 401
    expired = token_service(sim.state).issue(
        {"aud": "https://graph.microsoft.com", "oid": EA01, "scp": "User.Read"}, lifetime_s=-3600
    )
    assert api.get("/me", headers=bearer(expired)).json()["error"]["code"] == "InvalidAuthenticationToken"
    assert api.get("/nosuch", headers=bearer(delegated())).json()["error"]["message"] == (
        "Resource not found for the segment 'nosuch'."
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$filter": "jobTitle eq 'x'"}, "Request_UnsupportedQuery"),
        ({"$filter": "displayName eq 'x' and"}, "Request_BadRequest"),
        ({"$skip": "1"}, "Request_BadRequest"),
        ({"$orderby": "createdDateTime"}, "Request_UnsupportedQuery"),
        ({"$select": "nosuch"}, "Request_BadRequest"),
        ({"$top": "1000"}, "Request_BadRequest"),
        ({"$bogus": "1"}, "BadRequest"),
        ({"$count": "true"}, "BadRequest"),
    ],
)
def test_directory_query_refusals(sim: SimServer, delegated: Any, api: Any, params: Any, code: str) -> None:
    resp = api.get("/users", params=params, headers=bearer(delegated()))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == code


def test_users_filter_and_skiptoken_paging(sim: SimServer, delegated: Any, api: Any) -> None:
    h = bearer(delegated())
    enabled = api.get(
        "/users", params={"$filter": "accountEnabled eq true", "$select": "id"}, headers=h
    ).json()
    assert {u["id"] for u in enabled["value"]} == {EA01, EA02, ALICE}
    starts = api.get("/users", params={"$filter": "startswith(userPrincipalName,'ea0')"}, headers=h).json()
    assert {u["id"] for u in starts["value"]} == {EA01, EA02}
    page = api.get(
        "/users", params={"$top": "3", "$orderby": "userPrincipalName", "$select": "id"}, headers=h
    ).json()
    assert "$skiptoken=" in page["@odata.nextLink"]
    rest = api.get(page["@odata.nextLink"], headers=h).json()
    assert "@odata.nextLink" not in rest
    assert len(page["value"]) + len(rest["value"]) == len(sim.state.tenant.users)


def test_groups_aus_member_of(sim: SimServer, delegated: Any, api: Any) -> None:
    h = bearer(delegated())
    group = api.get(f"/groups/{GROUP}", headers=h).json()
    assert group["isAssignableToRole"] is True
    assert "members" not in group
    members = api.get(f"/groups/{GROUP}/members", headers=h).json()
    assert {(m["@odata.type"], m["id"]) for m in members["value"]} == {
        ("#microsoft.graph.user", EA01), ("#microsoft.graph.user", EA02)}  # fmt: skip
    aus = api.get("/directory/administrativeUnits", headers=h).json()
    [au] = aus["value"]
    assert au["isMemberManagementRestricted"] is True
    au_members = api.get(f"/directory/administrativeUnits/{AU}/members", headers=h).json()
    assert {m["id"] for m in au_members["value"]} == {EA01, EA02, GROUP}
    member_of = api.get(f"/users/{EA01}/memberOf", headers=h).json()
    kinds = {m["@odata.type"] for m in member_of["value"]}
    assert kinds == {
        "#microsoft.graph.group",
        "#microsoft.graph.administrativeUnit",
        "#microsoft.graph.directoryRole",
    }
    denied = api.get(f"/groups/{GROUP}", headers=bearer(delegated(scopes="User.Read")))
    assert denied.status_code == 403


def test_revoke_sign_in_sessions(sim: SimServer, delegated: Any, api: Any) -> None:
    assert api.post("/me/revokeSignInSessions", headers=bearer(delegated())).status_code == 403
    token = delegated(scopes="User.RevokeSessions.All")
    client = graph_client(
        sim, StaticCredential(token), ["https://graph.microsoft.com/User.RevokeSessions.All"]
    )

    async def go() -> Any:
        try:
            return await client.users.by_user_id(EA01).revoke_sign_in_sessions.post()
        finally:
            await close(client)

    assert asyncio.run(go()).value is True
    raw = api.post("/me/revokeSignInSessions", headers=bearer(token)).json()
    assert raw == {"@odata.context": f"{sim.base_url}/v1.0/$metadata#Edm.Boolean", "value": True}
    assert EA01 in sim.state.services["sessionsRevokedAt"]
    user = api.get(f"/users/{EA01}", params={"$select": "signInSessionsValidFromDateTime"},
                    headers=bearer(delegated())).json()  # fmt: skip
    assert user["signInSessionsValidFromDateTime"]
    assert sim.state.audits[-1].operation_name == "Invalidate all refresh tokens for user"
    audits = api.get("/auditLogs/directoryAudits", params={"$filter": "category eq 'UserManagement'"},
                      headers=bearer(delegated(scopes="AuditLog.Read.All"))).json()  # fmt: skip
    [audit] = audits["value"][:1]
    assert audit["activityDisplayName"] == "Invalidate all refresh tokens for user"
    assert audit["targetResources"][0]["id"] == EA01
    assert audit["initiatedBy"]["user"]["id"] == EA01
    assert set(audit) <= set(graph_types()["directoryAudit"]["properties"])
