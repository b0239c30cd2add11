"""Reading what is granted, as the observer: the apps' grants on Graph, and harmless probes of the rest.

Graph's grant lists (the drill app's oauth2PermissionGrants and assignment requirement, the observer's app
role assignments) say what was consented in Entra. What Graph cannot show is probed with the call itself,
harmlessly: a mailbox listed with $top=1 (an Exchange RBAC for Applications grant), a site resolved (the
Sites.Selected grant on it), a one-row workspace query, and ARM reads at the role's scope.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from drill.clouds import Cloud

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "response_status_code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    value = getattr(getattr(exc, "response", None), "status_code", None)
    return value if isinstance(value, int) else None


def message_of(exc: BaseException) -> str:
    error = getattr(exc, "error", None)
    text = getattr(error, "message", None) or getattr(exc, "message", None) or str(exc)
    code = getattr(error, "code", None)
    line = (str(text).strip().splitlines() or [type(exc).__name__])[0][:200]
    return f"{code}: {line}" if code and str(code) not in line else line


@dataclass
class Probe:
    """One read's outcome: ok, refused (401/403: the grant is missing) or failed otherwise."""

    ok: bool
    status: int | None = None
    message: str = ""
    data: Any = None

    @property
    def refused(self) -> bool:
        return self.status in (401, 403)

    @property
    def transient(self) -> bool:
        """Throttled or a server error: says nothing about the grant (the checks that follow wait it out)."""
        return self.status is not None and (self.status == 429 or self.status >= 500)

    def seen(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message


async def probe(call: Any) -> Probe:
    try:
        return Probe(True, data=await call())
    except Exception as exc:  # noqa: BLE001 - the refusal (or failure) is what we report
        return Probe(False, status_of(exc), message_of(exc))


def token_claims(credential: TokenCredential, scope: str) -> dict[str, Any]:
    """Our own access token's claims (object id, app id, roles): read, not verified, never stored."""
    token = credential.get_token(scope).token
    try:
        payload = token.split(".")[1]
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return data


@dataclass
class Granted:
    """What the reads found. `None` means that read was refused or failed (see `refusals`)."""

    observer_id: str = ""  # the observer's service principal object id
    observer_roles: set[str] | None = None  # Graph application permissions consented in Entra
    token_roles: set[str] = field(default_factory=set)
    drill_sp: dict[str, Any] | None = None
    drill_scopes: set[str] | None = None  # delegated scopes consented for the account
    assigned: set[str] | None = None  # principals assigned to the drill app
    refusals: dict[str, Probe] = field(default_factory=dict)


async def read_graph_grants(
    client: Any, credential: TokenCredential, cloud: Cloud, drill_app_id: str, account_id: str
) -> Granted:
    out = Granted()
    claims = await asyncio.to_thread(
        token_claims, credential, f"{cloud.graph_audience or cloud.graph_endpoint}/.default"
    )
    out.observer_id = str(claims.get("oid") or "")
    out.token_roles = {str(r) for r in claims.get("roles") or []}
    graph = await probe(lambda: client.service_principals_with_app_id(GRAPH_APP_ID).get())
    if not graph.ok:
        out.refusals["graph_sp"] = graph
        return out
    graph_id = str(graph.data.id)
    names = {str(r.id): str(r.value) for r in graph.data.app_roles or []}
    if out.observer_id:
        sp = client.service_principals.by_service_principal_id(out.observer_id)
        found = await probe(lambda: sp.app_role_assignments.get())
        if found.ok:
            out.observer_roles = {
                names.get(str(a.app_role_id), str(a.app_role_id))
                for a in (found.data.value or [])
                if str(a.resource_id) == graph_id
            }
        else:
            out.refusals["observer_roles"] = found
    drill = await probe(lambda: client.service_principals_with_app_id(drill_app_id).get())
    if not drill.ok:
        out.refusals["drill_sp"] = drill
        return out
    sp_id = str(drill.data.id)
    out.drill_sp = {"id": sp_id, "appRoleAssignmentRequired": bool(drill.data.app_role_assignment_required)}
    by_id = client.service_principals.by_service_principal_id(sp_id)
    grants = await probe(lambda: by_id.oauth2_permission_grants.get())
    if not grants.ok:
        out.refusals["drill_grants"] = grants
        return out
    scopes: set[str] = set()
    for g in grants.data.value or []:
        for_all = str(g.consent_type) == "AllPrincipals"
        if str(g.resource_id) == graph_id and (for_all or str(g.principal_id) == account_id):
            scopes |= set(str(g.scope or "").split())
    out.drill_scopes = scopes
    if out.drill_sp["appRoleAssignmentRequired"]:
        assigned = await probe(lambda: by_id.app_role_assigned_to.get())
        if assigned.ok:
            out.assigned = {str(a.principal_id) for a in assigned.data.value or []}
        else:
            out.refusals["drill_assigned"] = assigned
    return out


async def mailbox_readable(client: Any, mailbox: str) -> Probe:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.messages.messages_request_builder import MessagesRequestBuilder

    cfg = RequestConfiguration(
        query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=1, select=["id"])
    )
    return await probe(lambda: client.users.by_user_id(mailbox).messages.get(request_configuration=cfg))


async def site_resolves(client: Any, site_url: str) -> Probe:
    """GET the site with `$select=id`, its body left unparsed: only the answer's status says anything about
    the grant, and msgraph-sdk's Site model pulls in hundreds of model modules (about 2 CPU seconds the
    first time in a process) to parse a body nobody reads. Errors still come back as Graph's ODataError."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.sites.item.site_item_request_builder import SiteItemRequestBuilder

    parts = urlsplit(site_url)
    key = f"{parts.hostname}:{parts.path.rstrip('/') or '/'}"
    cfg = RequestConfiguration(
        query_parameters=SiteItemRequestBuilder.SiteItemRequestBuilderGetQueryParameters(select=["id"])
    )
    info = client.sites.by_site_id(key).to_get_request_information(cfg)
    return await probe(
        lambda: client.request_adapter.send_no_response_content_async(info, {"XXX": ODataError})
    )


def workspace_queryable(credential: TokenCredential, cloud: Cloud, workspace_id: str) -> Probe:
    from azure.monitor.query import LogsQueryStatus

    from drill.clients import logs_client

    try:
        result = logs_client(credential, cloud).query_workspace(
            workspace_id, "SigninLogs | take 1 | project TimeGenerated", timespan=timedelta(hours=1)
        )
    except Exception as exc:  # noqa: BLE001
        return Probe(False, status_of(exc), message_of(exc))
    ok = result.status == LogsQueryStatus.SUCCESS
    return Probe(ok, None if ok else 0, "" if ok else str(getattr(result, "partial_error", "")))


def arm_roles_at(
    credential: TokenCredential, cloud: Cloud, subscription: str, scope: str, principal: str
) -> Probe:
    """The principal's role names at `scope`; the read itself needs a read role there."""
    from drill.monitoring.arm import ArmReader

    reader = ArmReader(credential, cloud, subscription)
    try:
        found = reader.role_assignments(scope, principal)
        names = sorted({reader.role_name(scope, str(a["properties"]["roleDefinitionId"])) for a in found})
    except Exception as exc:  # noqa: BLE001
        return Probe(False, status_of(exc), message_of(exc))
    return Probe(True, data=names)


def aadiam_readable(credential: TokenCredential, cloud: Cloud, subscription: str) -> Probe:
    from drill.monitoring.arm import ArmReader

    try:
        return Probe(True, data=len(ArmReader(credential, cloud, subscription).diagnostic_settings_json()))
    except Exception as exc:  # noqa: BLE001
        return Probe(False, status_of(exc), message_of(exc))


async def mail_send_allowed(client: Any, mailbox: str) -> Probe:
    """sendMail with no message: refused (403) without the grant, else 400 for the missing message; nothing
    is sent either way. Only asked when Entra shows no Mail.Send (an Exchange RBAC grant is not listed)."""
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

    found = await probe(lambda: client.users.by_user_id(mailbox).send_mail.post(SendMailPostRequestBody()))
    if found.status == 400:
        return Probe(True, 400, found.message)
    if found.ok:  # the service sent nothing yet answered 202: treat as unknown, never as granted
        return Probe(False, 202, "the service accepted a message without recipients")
    return found
