"""What `drill setup plan` reads before proposing anything: the accounts, their passkeys, group and unit, the
Conditional Access policies naming them, where Entra's logs go, the alert rules naming the accounts, their
action groups and mailboxes, the filing site, the apps an earlier setup made, and the administrator's roles.

Nothing is guessed: the accounts are the UPNs given; a read the administrator may not make is recorded as
unreadable with Microsoft's answer (the plan says so) instead of stopping the plan.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from drill.errors import DrillUserError
from drill.setup.api import Api, CallError

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
SIGNIN_CATEGORIES = ("SignInLogs", "NonInteractiveUserSignInLogs", "AuditLogs")
# Directory role template ids the plan checks the administrator for (names as Entra shows them).
ROLE_NAMES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
}
AZURE_ROLE_GUIDS = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c6a72d9d": "User Access Administrator",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "749f88d5-cbae-40b8-bcfc-e573ddc772fa": "Monitoring Contributor",
}


@dataclass(frozen=True)
class Inputs:
    """What the administrator names: never guessed."""

    tenant_id: str
    accounts: tuple[str, ...]
    workspace: str | None = None  # ARM id; default: where Entra's diagnostic setting sends
    mailbox: str | None = None  # default: the first mailbox the accounts' alert rules mail
    site_url: str | None = None
    folder: str = "Break-glass drills"
    canary_group: str | None = None
    monitoring: bool = False
    defender: bool = False  # the Sentinel workspace is onboarded to the Defender portal: its Graph read
    redirect_uri: str = "https://login.microsoftonline.com/common/oauth2/nativeclient"
    federated: tuple[str, str] | None = None  # (issuer, subject) instead of a certificate
    rule_prefix: str = "Break-glass drill "  # --monitoring: the deployed rules' names start with it
    drill_app_name: str = "Break-glass drill"
    observer_name: str = "Break-glass drill observer"


@dataclass
class Found:
    """Everything read, in plain data (the plan's JSON keeps it)."""

    admin: dict[str, Any] = field(default_factory=dict)
    domain: str = ""
    accounts: list[dict[str, Any]] = field(default_factory=list)
    group: dict[str, Any] | None = None
    unit: dict[str, Any] | None = None
    policies: list[dict[str, Any]] = field(default_factory=list)
    diagnostic: dict[str, Any] | None = None
    workspace: dict[str, Any] | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)
    action_groups: dict[str, list[str]] = field(default_factory=dict)
    mailbox: str | None = None
    site: dict[str, Any] | None = None
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)  # "drill-app" / "observer" -> app
    graph_sp: dict[str, Any] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def facts(self) -> dict[str, str]:
        """What the plan depends on but does not change: apply refuses when one of these differs."""
        out = {f"account {a['upn']} object id": a["id"] for a in self.accounts}
        out |= {f"account {a['upn']} passkeys": ",".join(sorted(a["aaguids"])) for a in self.accounts}
        out["break-glass group"] = (self.group or {}).get("id", "none")
        out["administrative unit"] = (self.unit or {}).get("id", "none")
        out |= {f"Conditional Access policy {p['displayName']}": p["expect"] for p in self.policies}
        out["Entra diagnostic setting's workspace"] = (self.diagnostic or {}).get("workspace", "none")
        for r in (r for r in self.rules if not r.get("planned")):
            out[f"alert rule {r['name']}"] = hashlib.sha256(r["query"].encode()).hexdigest()[:16]
        out |= {f"action group {n}": ",".join(m) for n, m in sorted(self.action_groups.items())}
        out["filing site"] = (self.site or {}).get("id", "none")
        return out


def _try(found: Found, what: str, call: Any) -> Any:
    try:
        return call()
    except CallError as exc:
        found.unreadable.append(f"{what}: {exc}")
        return None


def _accounts(api: Api, inputs: Inputs, found: Found) -> None:
    for upn in inputs.accounts:
        try:
            user = api.graph("GET", f"/users/{upn}")
        except CallError as exc:
            raise DrillUserError(f"account {upn}: not found or not readable ({exc}); check the UPN") from exc
        keys = api.graph_all(f"/users/{user['id']}/authentication/fido2Methods")
        if not keys:
            raise DrillUserError(f"account {upn} has no registered passkey: register its key first")
        found.accounts.append(
            {
                "upn": user["userPrincipalName"],
                "id": user["id"],
                "displayName": user.get("displayName"),
                "aaguids": sorted({str(k.get("aaGuid")) for k in keys}),
                "models": sorted({str(k.get("model") or k.get("displayName") or "passkey") for k in keys}),
            }
        )


def _memberships(api: Api, found: Found) -> None:
    sets = [api.graph_all(f"/users/{a['id']}/transitiveMemberOf") for a in found.accounts]

    def of(kind: str, items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {o["id"]: o for o in items if o.get("@odata.type") == f"#microsoft.graph.{kind}"}

    groups = [of("group", s) for s in sets]
    shared = set.intersection(*(set(g) for g in groups)) if groups else set()
    assignable = sorted(i for i in shared if groups[0][i].get("isAssignableToRole"))
    if assignable or shared:
        gid = (assignable or sorted(shared))[0]
        found.group = {"id": gid, "displayName": groups[0][gid].get("displayName")}
    units = [of("administrativeUnit", s) for s in sets]
    shared_units = sorted(set.intersection(*(set(u) for u in units))) if units else []
    if shared_units:
        u = units[0][shared_units[0]]
        found.unit = {
            "id": u["id"],
            "displayName": u.get("displayName"),
            "restricted": bool(u.get("isMemberManagementRestricted")),
        }


def _policies(api: Api, found: Found) -> None:
    ids = {a["id"] for a in found.accounts}
    group = (found.group or {}).get("id")
    items = _try(
        found, "Conditional Access policies", lambda: api.graph_all("/identity/conditionalAccess/policies")
    )
    for p in items or []:
        users = (p.get("conditions") or {}).get("users") or {}
        excluded = ids & set(users.get("excludeUsers") or []) or group in (users.get("excludeGroups") or [])
        included = ids & set(users.get("includeUsers") or []) or group in (users.get("includeGroups") or [])
        if p.get("state") != "enabled" or not (excluded or included):
            continue
        found.policies.append(
            {
                "id": p["id"],
                "displayName": p.get("displayName"),
                "expect": "excluded" if excluded else "applies",
            }
        )


def _monitoring(api: Api, inputs: Inputs, found: Found) -> None:
    settings = _try(
        found,
        "Entra diagnostic settings",
        lambda: api.arm("GET", "/providers/microsoft.aadiam/diagnosticSettings", "diagnosticSettings"),
    )
    for s in (settings or {}).get("value") or []:
        logs = {lg["category"] for lg in s["properties"].get("logs") or [] if lg.get("enabled")}
        if "SignInLogs" in logs and s["properties"].get("workspaceId"):
            found.diagnostic = {
                "name": s["name"],
                "workspace": s["properties"]["workspaceId"],
                "categories": sorted(logs),
            }
            break
    ws_id = inputs.workspace or (found.diagnostic or {}).get("workspace")
    if not ws_id:
        return
    ws = _try(found, "workspace", lambda: api.arm("GET", ws_id, "workspaces"))
    if ws:
        found.workspace = {
            "id": ws["id"],
            "customerId": ws["properties"]["customerId"],
            "name": ws["name"],
            "location": ws.get("location"),
        }
    rg = ws_id.split("/providers/", 1)[0]
    rules = _try(
        found,
        "alert rules",
        lambda: api.arm(
            "GET", f"{rg}/providers/Microsoft.Insights/scheduledQueryRules", "scheduledQueryRules"
        ),
    )
    names = [a["id"] for a in found.accounts] + [a["upn"] for a in found.accounts]
    for r in (rules or {}).get("value") or []:
        props = r["properties"]
        query = str(((props.get("criteria") or {}).get("allOf") or [{}])[0].get("query", ""))
        if not any(n.lower() in query.lower() for n in names):
            continue
        actions = props.get("actions") or {}
        groups = [str(g) for g in actions.get("actionGroups") or []]
        found.rules.append(
            {
                "name": r["name"],
                "id": r["id"],
                "query": query,
                "groups": groups,
                "frequency": props.get("evaluationFrequency"),
                "enabled": props.get("enabled"),
                "subject": (actions.get("actionProperties") or {}).get("Email.Subject"),
            }
        )
        for gid in groups:
            ag = _try(found, f"action group {gid}", lambda g=gid: api.arm("GET", g, "actionGroups"))
            if ag:
                found.action_groups[ag["name"]] = [
                    e["emailAddress"] for e in ag["properties"].get("emailReceivers") or []
                ]
    mails = [m for ms in found.action_groups.values() for m in ms]
    found.mailbox = inputs.mailbox or (mails[0] if mails else None)


def _site(api: Api, inputs: Inputs, found: Found) -> None:
    if not inputs.site_url:
        return
    parts = urlsplit(inputs.site_url)
    site = _try(found, "site", lambda: api.graph("GET", f"/sites/{parts.hostname}:{parts.path}"))
    if site:
        perms = (
            _try(found, "site permissions", lambda: api.graph_all(f"/sites/{site['id']}/permissions")) or []
        )
        grants = {
            str(i["application"]["id"]): p["roles"][0]
            for p in perms
            for i in p.get("grantedToIdentitiesV2") or p.get("grantedToIdentities") or []
            if i.get("application")
        }
        found.site = {"id": site["id"], "url": inputs.site_url, "grants": grants}


def find_app(api: Api, name: str) -> dict[str, Any] | None:
    """An app registration by display name, with its service principal and grants when it has one."""
    apps = api.graph_all("/applications", **{"$filter": f"displayName eq '{name}'"})
    if not apps:
        return None
    app = apps[0]
    out = {
        "id": app["id"],
        "appId": app["appId"],
        "notes": app.get("notes") or "",
        "sp": None,
        "keys": len(app.get("keyCredentials") or []),
        "grants": {},
        "roles": [],
    }
    try:
        sp = api.graph("GET", f"/servicePrincipals(appId='{app['appId']}')")
    except CallError as exc:
        if exc.status != 404:
            raise
        return out
    out["sp"] = sp["id"]
    for g in api.graph_all(f"/servicePrincipals/{sp['id']}/oauth2PermissionGrants"):
        out["grants"][str(g.get("principalId"))] = sorted(str(g.get("scope", "")).split())
    out["roles"] = sorted(
        a["appRoleId"] for a in api.graph_all(f"/servicePrincipals/{sp['id']}/appRoleAssignments")
    )
    out["fics"] = [
        f["name"] for f in api.graph_all(f"/applications/{app['id']}/federatedIdentityCredentials")
    ]
    return out


def _admin(api: Api, found: Found) -> None:
    oid = api.session.oid
    items = _try(found, "your own roles", lambda: api.graph_all(f"/users/{oid}/transitiveMemberOf")) or []
    roles = sorted(
        {
            ROLE_NAMES.get(str(o.get("roleTemplateId")), str(o.get("displayName")))
            for o in items
            if o.get("@odata.type") == "#microsoft.graph.directoryRole"
        }
    )
    found.admin = {"oid": oid, "upn": api.session.upn, "roles": roles, "azure": []}


def admin_azure_roles(api: Api, found: Found, scope: str) -> list[str]:
    """The administrator's Azure roles reaching `scope` (what decides who may make the Azure steps)."""
    flt = f"assignedTo('{found.admin['oid']}')"
    got = _try(
        found,
        f"your Azure roles at {scope}",
        lambda: api.arm(
            "GET",
            f"{scope}/providers/Microsoft.Authorization/roleAssignments",
            "roleAssignments",
            **{"$filter": flt},
        ),
    )
    guids = [
        str(a["properties"]["roleDefinitionId"]).rsplit("/", 1)[-1] for a in (got or {}).get("value") or []
    ]
    return sorted({AZURE_ROLE_GUIDS[g] for g in guids if g in AZURE_ROLE_GUIDS})


def discover(api: Api, inputs: Inputs) -> Found:
    found = Found()
    _admin(api, found)
    domains = _try(found, "domains", lambda: api.graph_all("/domains")) or []
    found.domain = next((d["id"] for d in domains if d.get("isDefault")), inputs.accounts[0].split("@")[-1])
    _accounts(api, inputs, found)
    _memberships(api, found)
    _policies(api, found)
    _monitoring(api, inputs, found)
    _site(api, inputs, found)
    sp = api.graph("GET", f"/servicePrincipals(appId='{GRAPH_APP_ID}')")
    found.graph_sp = {"id": sp["id"], "appRoles": {r["value"]: r["id"] for r in sp.get("appRoles") or []}}
    for ref, name in (("drill-app", inputs.drill_app_name), ("observer", inputs.observer_name)):
        app = find_app(api, name)
        if app is not None:
            found.apps[ref] = app
    if found.workspace:
        found.admin["azure"] = admin_azure_roles(api, found, found.workspace["id"].split("/providers/", 1)[0])
    return found
