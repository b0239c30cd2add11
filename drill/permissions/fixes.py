"""Where a grant applies and the exact way to grant it, for one playbook (preflight lines) or in general
(docs/PERMISSIONS.md, with placeholders).

Sources (learn.microsoft.com): admin consent (entra/identity-platform/v2-admin-consent), Azure role
assignments with the Azure CLI (azure/role-based-access-control/role-assignments-cli), elevated access for
tenant-scope roles (azure/role-based-access-control/elevate-access-global-admin), Exchange RBAC for
Applications (exchange/permissions-exo/application-rbac), Sites.Selected
(graph/permissions-selected-overview).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from drill.permissions.model import (
    SCOPE_AADIAM,
    SCOPE_MAILBOX,
    SCOPE_RESOURCE_GROUP,
    SCOPE_SITE,
    SCOPE_TENANT,
    SCOPE_WORKSPACE,
    Grant,
    Identity,
    Kind,
)

if TYPE_CHECKING:
    from drill.playbook.model import Playbook

DOC = "docs/PERMISSIONS.md"
GRAPH_RESOURCE = "https://graph.microsoft.com"
KIND_LABEL = {
    Kind.DELEGATED: "Microsoft Graph delegated permission",
    Kind.APPLICATION: "Microsoft Graph application permission",
    Kind.AZURE_ROLE: "Azure role",
}


@dataclass(frozen=True)
class Where:
    """The values a fix names; the docs page keeps the `<placeholders>`."""

    tenant: str = "<tenant id>"
    authority: str = "https://login.microsoftonline.com"
    graph: str = GRAPH_RESOURCE
    drill_app: str = "<drill app client id>"
    observer: str = "<observer client id>"
    mailbox: str = "<alert mailbox>"
    site: str = "<site url>"
    subscription: str = "<subscription id>"
    resource_group: str = "<resource group>"
    workspace: str = "<workspace name>"
    workspace_id: str = ""

    @classmethod
    def of(cls, playbook: Playbook, authority: str, graph: str) -> Where:
        obs = playbook.observer
        client = getattr(obs, "client_id", None)
        site = next(
            (str(f.site_url) for f in playbook.evidence.filing if f.kind == "sharepoint"), "<site url>"
        )
        mon = playbook.monitoring
        out = cls(
            tenant=str(playbook.tenant.id),
            authority=authority.rstrip("/"),
            graph=graph.rstrip("/"),
            drill_app=str(playbook.drill_app.client_id),
            observer=str(client) if client else f"<observer ({obs.kind}) object id>",
            mailbox=str(playbook.alert.mailbox) if playbook.alert else "<alert mailbox>",
            site=site,
        )
        if mon is None:
            return out
        ws = str(mon.workspace_resource_id)
        name = ws.rstrip("/").rsplit("/", 1)[-1]
        extra = {"subscription": str(mon.subscription_id), "resource_group": str(mon.resource_group)}
        return cls(**{**out.__dict__, **extra, "workspace": name, "workspace_id": ws})


def identity_label(identity: Identity, where: Where) -> str:
    if identity is Identity.DRILL_APP:
        return f"the drill app ({where.drill_app})"
    if identity is Identity.SETUP_ADMIN:
        return "the administrator running drill setup"
    return f"the observer ({where.observer})"


def scope_of(grant: Grant, where: Where) -> str:
    if grant.scope == SCOPE_TENANT:
        return "the tenant"
    if grant.scope == SCOPE_MAILBOX:
        return f"the mailbox {where.mailbox}"
    if grant.scope == SCOPE_SITE:
        return f"the site {where.site}"
    if grant.scope == SCOPE_WORKSPACE and where.workspace_id:
        return where.workspace_id
    if grant.scope in (SCOPE_WORKSPACE, SCOPE_RESOURCE_GROUP):
        return grant.scope.format(
            subscription=where.subscription, resource_group=where.resource_group, workspace=where.workspace
        )
    return grant.scope


def fix_for(grant: Grant, where: Where) -> str:
    """One sentence an administrator can act on."""
    p = grant.permission
    if grant.kind is Kind.DELEGATED:
        return (
            f"add {p} (delegated) to the drill app's API permissions and grant admin consent, e.g. open "
            f"{where.authority}/{where.tenant}/v2.0/adminconsent?client_id={where.drill_app}"
            f"&scope={where.graph}/{p} as a Global Administrator ({DOC}#drill-app)"
        )
    if grant.kind is Kind.AZURE_ROLE:
        scope = scope_of(grant, where)
        cmd = f'az role assignment create --assignee {where.observer} --role "{p}" --scope {scope}'
        if grant.scope == SCOPE_AADIAM:
            return f"{cmd}, after a Global Administrator elevates access ({DOC}#entra-diagnostic-settings)"
        return f"{cmd} ({DOC}#azure-roles)"
    if grant.exchange_role:
        return (
            f'give the observer "{grant.exchange_role}" in Exchange Online scoped to {where.mailbox} '
            f"(New-ManagementRoleAssignment -App <observer service principal object id> "
            f'-Role "{grant.exchange_role}" -CustomResourceScope <management scope>; {DOC}#mail), '
            f"or add {p} (application) and grant admin "
            "consent (every mailbox)"
        )
    if grant.site_role:
        return (
            f"add {p} (application) with admin consent, then grant the observer '{grant.site_role}' on "
            f"{where.site}: POST /v1.0/sites/<site id>/permissions ({DOC}#sharepoint)"
        )
    return f"add {p} (application) to the observer's API permissions and grant admin consent ({DOC}#observer)"


def missing_line(grant: Grant, where: Where, seen: str = "") -> str:
    """The one line a missing grant prints: identity, permission, kind, scope, fix."""
    what = f"{identity_label(grant.identity, where)} lacks {p_kind(grant)} at {scope_of(grant, where)}"
    return f"{what}{f' ({seen})' if seen else ''}: {fix_for(grant, where)}"


def p_kind(grant: Grant) -> str:
    return f"{grant.permission} ({KIND_LABEL[grant.kind]})"


__all__ = ["SCOPE_SITE", "Where", "fix_for", "identity_label", "missing_line", "scope_of"]
