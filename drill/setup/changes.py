"""Every change a plan can hold, derived from the permissions registry (one source of truth): the grants the
playbook's features need (`required(features)`), each turned into the Graph or ARM write that makes it, with
the object, the permission, the scope and the administrator role the write needs.

A change the signed-in administrator lacks the role for stays in the plan, marked as needing another
administrator with the role named. What no API can do (Exchange RBAC for Applications, elevated access for
the `/providers/Microsoft.aadiam` scope) becomes a manual step with its exact commands and purpose.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from drill.permissions.api import SCHEDULER_FEATURES, required
from drill.permissions.fixes import Where, scope_of
from drill.permissions.model import SCOPE_AADIAM, Feature, Grant, Identity, Kind
from drill.setup.discover import Found, Inputs

GRAPH_CONSENT = "Cloud Application Administrator"
GRAPH_APP_ROLES = "Privileged Role Administrator"
SITE_ADMIN = "SharePoint Administrator"
AZURE_ASSIGN = "Owner or User Access Administrator"
# Which Entra roles satisfy each requirement (Global Administrator satisfies all).
SATISFIES = {
    GRAPH_CONSENT: {
        "Cloud Application Administrator",
        "Application Administrator",
        "Privileged Role Administrator",
        "Global Administrator",
    },
    GRAPH_APP_ROLES: {"Privileged Role Administrator", "Global Administrator"},
    "Monitoring Contributor": {"Owner", "Contributor", "Monitoring Contributor"},
    SITE_ADMIN: {"SharePoint Administrator", "Global Administrator"},
    "Security Administrator": {"Security Administrator", "Global Administrator"},
}


@dataclass
class Change:
    id: str
    action: str
    object: str
    permission: str
    scope: str
    why: str
    role: str  # the administrator role the write needs
    other_admin: bool = False  # the signed-in administrator lacks `role`
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Manual:
    purpose: str
    role: str
    commands: list[str]


def features(inputs: Inputs, admin_task: bool) -> frozenset[Feature]:
    """What the written playbook turns on: the drill (with revoke), its admin task, filing, the scheduler;
    with --defender, the incident step's Graph read of the Defender portal (sentinel.defender_onboarded)."""
    out = {Feature.DRILL, Feature.REVOKE, *SCHEDULER_FEATURES}
    if inputs.defender:
        out.add(Feature.DEFENDER)
    if admin_task:
        out.add(Feature.ADMIN_TASK)
    if inputs.site_url:
        out.add(Feature.FILING)
    return frozenset(out)


def _where(inputs: Inputs, found: Found) -> Where:
    ws = (found.workspace or {}).get("id") or inputs.workspace or ""
    parts = ws.split("/")
    sub = parts[2] if len(parts) > 4 else "<subscription id>"
    rg = parts[4] if len(parts) > 4 else "<resource group>"
    return Where(
        tenant=inputs.tenant_id,
        drill_app=inputs.drill_app_name,
        observer=inputs.observer_name,
        mailbox=found.mailbox or "<alert mailbox>",
        site=inputs.site_url or "<site url>",
        subscription=sub,
        resource_group=rg,
        workspace=parts[-1] if ws else "<workspace>",
        workspace_id=ws,
    )


def _has(found: Found, need: str) -> bool:
    if need == AZURE_ASSIGN:
        return bool({"Owner", "User Access Administrator"} & set(found.admin.get("azure") or []))
    if need == "Monitoring Contributor":
        return bool(SATISFIES[need] & set(found.admin.get("azure") or []))
    return bool(SATISFIES.get(need, {need}) & set(found.admin.get("roles") or []))


def mark(changes: list[Change], found: Found) -> list[Change]:
    for c in changes:
        c.other_admin = not _has(found, c.role)
    return changes


def _apps(inputs: Inputs) -> list[Change]:
    note = "registered by drill setup"
    out = [
        Change(
            "drill-app/app",
            "register app",
            f"app '{inputs.drill_app_name}' (public client)",
            "-",
            "the tenant",
            "the break-glass accounts sign in to the drill through it",
            GRAPH_CONSENT,
            params={
                "ref": "drill-app",
                "name": inputs.drill_app_name,
                "public": True,
                "redirect": inputs.redirect_uri,
                "notes": f"{note}: the drill app (auth code + PKCE)",
            },
        ),
        Change(
            "drill-app/sp",
            "create service principal",
            f"app '{inputs.drill_app_name}'",
            "-",
            "the tenant",
            "grants are made to the service principal",
            GRAPH_CONSENT,
            params={"ref": "drill-app"},
        ),
        Change(
            "observer/app",
            "register app",
            f"app '{inputs.observer_name}' (confidential)",
            "-",
            "the tenant",
            "reads logs, alert mail and posture; files evidence",
            GRAPH_CONSENT,
            params={
                "ref": "observer",
                "name": inputs.observer_name,
                "public": False,
                "notes": f"{note}: the drill's observer (reads logs and alert mail)",
            },
        ),
        Change(
            "observer/sp",
            "create service principal",
            f"app '{inputs.observer_name}'",
            "-",
            "the tenant",
            "grants are made to the service principal",
            GRAPH_CONSENT,
            params={"ref": "observer"},
        ),
    ]
    if inputs.federated:
        issuer, subject = inputs.federated
        out.append(
            Change(
                "observer/federated",
                "add federated credential",
                f"app '{inputs.observer_name}'",
                "workload identity federation",
                f"{issuer} {subject}",
                "CI signs in as the observer without a secret",
                GRAPH_CONSENT,
                params={"ref": "observer", "issuer": issuer, "subject": subject},
            )
        )
    else:
        out.append(
            Change(
                "observer/certificate",
                "add certificate",
                f"app '{inputs.observer_name}'",
                "certificate credential (public key only)",
                "the tenant",
                "the observer signs in with a key generated here, 0600, that never leaves",
                GRAPH_CONSENT,
                params={"ref": "observer"},
            )
        )
    return out


def _grant_changes(grants: list[Grant], inputs: Inputs, found: Found, where: Where) -> list[Change]:
    out: list[Change] = []
    scopes = [g.permission for g in grants if g.identity is Identity.DRILL_APP and g.kind is Kind.DELEGATED]
    for a in found.accounts:
        out.append(
            Change(
                f"drill-app/consent/{a['upn']}",
                "consent delegated scopes (consentType Principal)",
                f"app '{inputs.drill_app_name}' for {a['upn']}",
                " ".join(scopes),
                f"the account {a['upn']} only (not tenant-wide)",
                "what the drill does as the account",
                GRAPH_CONSENT,
                params={"ref": "drill-app", "principal": a["id"], "scopes": scopes},
            )
        )
    for g in grants:
        if g.identity is not Identity.OBSERVER or g.exchange_role:
            continue
        if g.kind is Kind.APPLICATION:
            out.append(
                Change(
                    f"observer/app-role/{g.permission}",
                    "grant application permission",
                    f"app '{inputs.observer_name}'",
                    g.permission,
                    scope_of(g, where),
                    g.why,
                    GRAPH_APP_ROLES,
                    params={"ref": "observer", "permission": g.permission},
                )
            )
            if g.site_role and found.site:
                out.append(
                    Change(
                        f"observer/site/{g.site_role}",
                        "grant the site role (Sites.Selected)",
                        f"site {found.site['url']}",
                        g.site_role,
                        found.site["url"],
                        g.why,
                        SITE_ADMIN,
                        params={"ref": "observer", "site": found.site["id"], "role": g.site_role},
                    )
                )
        elif g.kind is Kind.AZURE_ROLE and g.scope != SCOPE_AADIAM:
            scope = scope_of(g, where)
            out.append(
                Change(
                    f"observer/azure/{g.permission}",
                    "assign Azure role",
                    f"app '{inputs.observer_name}'",
                    g.permission,
                    scope,
                    g.why,
                    AZURE_ASSIGN,
                    params={"ref": "observer", "role": g.permission, "scope": scope},
                )
            )
    return out


def manual_steps(grants: list[Grant], inputs: Inputs, found: Found, where: Where) -> list[Manual]:
    out: list[Manual] = []
    mail = [g for g in grants if g.identity is Identity.OBSERVER and g.exchange_role]
    if mail:
        box = found.mailbox or "<alert mailbox>"
        cmds = [
            "Connect-ExchangeOnline",
            f"New-ServicePrincipal -AppId <observer app id> -ObjectId <observer service principal id> "
            f'-DisplayName "{inputs.observer_name}"',
            f'New-ManagementScope -Name "Break-glass alert mailbox" -RecipientRestrictionFilter '
            f"\"PrimarySmtpAddress -eq '{box}'\"",
        ]
        cmds += [
            f'New-ManagementRoleAssignment -App <observer service principal id> -Role "{g.exchange_role}" '
            f'-CustomResourceScope "Break-glass alert mailbox"'
            for g in mail
        ]
        out.append(
            Manual(
                f"let the observer read and send mail in {box} only (Exchange RBAC for Applications: "
                "no tenant-wide Mail permission)",
                "Exchange Administrator",
                cmds,
            )
        )
    aadiam = [g for g in grants if g.identity is Identity.OBSERVER and g.scope == SCOPE_AADIAM]
    for g in aadiam:
        out.append(
            Manual(
                "let the observer read Entra's diagnostic settings (optional: without it the drill's own log "
                "rows are the proof)",
                "Global Administrator with elevated access",
                [
                    "az rest --method post --url "
                    "/providers/Microsoft.Authorization/elevateAccess?api-version=2016-07-01",
                    f'az role assignment create --assignee <observer app id> --role "{g.permission}" --scope '
                    "/providers/Microsoft.aadiam",
                    "az role assignment delete --assignee <your object id> "
                    '--role "User Access Administrator" --scope /   # remove the elevated access again',
                ],
            )
        )
    return out


def plan_changes(inputs: Inputs, found: Found, admin_task: bool) -> tuple[list[Change], list[Manual]]:
    grants = required(features(inputs, admin_task))
    where = _where(inputs, found)
    changes = _apps(inputs) + _grant_changes(grants, inputs, found, where)
    return mark(changes, found), manual_steps(grants, inputs, found, where)
