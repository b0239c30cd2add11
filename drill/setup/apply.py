"""`drill setup apply PLAN`: exactly the planned changes, each only if not already there (a second apply
changes nothing), refused when the tenant changed since the plan (naming what changed); every object made
carries a note; a signed `setup` line goes to the ledger; then the preflight self-check runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drill.errors import DrillUserError
from drill.setup.api import Api, CallError
from drill.setup.credential import ensure_key, key_credential
from drill.setup.discover import Found, Inputs, discover, find_app
from drill.setup.monitoring_apply import deploy_action_group, deploy_diagnostic, deploy_rule, rule_identity
from drill.setup.plan import KEY_FILE, Plan

NOTE = "registered by drill setup"
DEFINITIONS = "/providers/Microsoft.Authorization/roleDefinitions"
AZURE_ROLE_GUIDS = {
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Log Analytics Reader": "73c42c96-874c-492b-b04d-ab87d138a893",
    "Monitoring Reader": "43d0d8ad-25c7-4714-9337-8ba259a9fe05",
}


@dataclass
class Outcome:
    made: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # needs another administrator
    objects: dict[str, str] = field(default_factory=dict)


def inputs_of(plan: Plan) -> Inputs:
    raw = dict(plan.inputs)
    raw["accounts"] = tuple(raw["accounts"])
    raw["federated"] = tuple(raw["federated"]) if raw.get("federated") else None
    return Inputs(**raw)


def drift(plan: Plan, found: Found) -> list[str]:
    """What changed since the plan, one line each; apps named like ours that setup did not make count too."""
    now = {k: v for k, v in found.facts().items() if k not in plan.owns}
    was = {k: v for k, v in plan.facts.items() if k not in plan.owns}
    out = [f"{k}: was {v!r}, now {now.get(k, 'gone')!r}" for k, v in sorted(was.items()) if now.get(k) != v]
    out += [f"{k}: new since the plan ({v!r})" for k, v in sorted(now.items()) if k not in was]
    out += [f"could not read again: {x}" for x in found.unreadable if x not in plan.unreadable]
    for ref, app in found.apps.items():
        if NOTE not in app["notes"]:
            out.append(
                f"an app named like the {ref} exists that drill setup did not make (appId {app['appId']})"
            )
    return out


class Applier:
    def __init__(self, api: Api, plan: Plan, found: Found, playbook_dir: Path, out: Outcome) -> None:
        self.api, self.plan, self.found, self.dir, self.out = api, plan, found, playbook_dir, out
        self._apps: dict[str, dict[str, Any] | None] = {}  # read once, read again after a write to it

    def _app(self, ref: str) -> dict[str, Any]:
        name = self.plan.inputs["drill_app_name" if ref == "drill-app" else "observer_name"]
        if self._apps.get(ref) is None:
            self._apps[ref] = find_app(self.api, name)
        app = self._apps[ref]
        if app is None:
            raise DrillUserError(f"the {ref} app is missing: its registration step did not run")
        self.out.objects[f"{ref} appId"] = app["appId"]
        if app["sp"]:
            self.out.objects[f"{ref} service principal"] = app["sp"]
        return app

    def app(self, p: dict[str, Any]) -> bool:
        if find_app(self.api, p["name"]) is not None:
            return False
        notes = f"{p['notes']}; plan {self.plan.id}"
        body: dict[str, Any] = {"displayName": p["name"], "notes": notes, "signInAudience": "AzureADMyOrg"}
        if p["public"]:
            body |= {"isFallbackPublicClient": True, "publicClient": {"redirectUris": [p["redirect"]]}}
        self.api.graph("POST", "/applications", body)
        return True

    def sp(self, p: dict[str, Any]) -> bool:
        app = self._app(p["ref"])
        if app["sp"]:
            return False
        self.api.graph(
            "POST", "/servicePrincipals", {"appId": app["appId"], "notes": f"{NOTE}; plan {self.plan.id}"}
        )
        return True

    def certificate(self, p: dict[str, Any]) -> bool:
        app = self._app(p["ref"])
        der, made = ensure_key(self.dir / KEY_FILE, self.plan.inputs["observer_name"])
        if app["keys"] and not made:
            return False
        self.api.graph("PATCH", f"/applications/{app['id']}", {"keyCredentials": [key_credential(der)]})
        return True

    def federated(self, p: dict[str, Any]) -> bool:
        app = self._app(p["ref"])
        if "drill-ci" in (app.get("fics") or []):
            return False
        self.api.graph(
            "POST",
            f"/applications/{app['id']}/federatedIdentityCredentials",
            {
                "name": "drill-ci",
                "issuer": p["issuer"],
                "subject": p["subject"],
                "audiences": ["api://AzureADTokenExchange"],
                "description": NOTE,
            },
        )
        return True

    def consent(self, p: dict[str, Any]) -> bool:
        app = self._app(p["ref"])
        if set(p["scopes"]) <= set(app["grants"].get(p["principal"], [])):
            return False
        self.api.graph(
            "POST",
            "/oauth2PermissionGrants",
            {
                "clientId": app["sp"],
                "consentType": "Principal",
                "principalId": p["principal"],
                "resourceId": self.found.graph_sp["id"],
                "scope": " ".join(p["scopes"]),
            },
        )
        return True

    def app_role(self, p: dict[str, Any]) -> bool:
        app = self._app(p["ref"])
        role_id = self.found.graph_sp["appRoles"][p["permission"]]
        if role_id in app["roles"]:
            return False
        self.api.graph(
            "POST",
            f"/servicePrincipals/{app['sp']}/appRoleAssignments",
            {"principalId": app["sp"], "resourceId": self.found.graph_sp["id"], "appRoleId": role_id},
        )
        return True

    def site(self, p: dict[str, Any]) -> bool:
        app = self._app(p["ref"])
        if (self.found.site or {}).get("grants", {}).get(app["appId"]) == p["role"]:
            return False
        self.api.graph(
            "POST",
            f"/sites/{p['site']}/permissions",
            {
                "roles": [p["role"]],
                "grantedToIdentities": [
                    {"application": {"id": app["appId"], "displayName": self.plan.inputs["observer_name"]}}
                ],
            },
        )
        return True

    def azure(self, p: dict[str, Any]) -> bool:
        app = self._app(p["ref"])
        return self._assign(app["sp"], p["role"], p["scope"], "the drill's observer")

    def _assign(self, principal: str, role: str, scope: str, whom: str) -> bool:
        guid = AZURE_ROLE_GUIDS[role]
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments"
        held = self.api.arm("GET", path, "roleAssignments", **{"$filter": f"principalId eq '{principal}'"})
        if any(str(a["properties"]["roleDefinitionId"]).endswith(guid) for a in held.get("value") or []):
            return False
        sub = scope.split("/")[2]
        props = {
            "roleDefinitionId": f"/subscriptions/{sub}{DEFINITIONS}/{guid}",
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "description": f"{NOTE}: {role} for {whom}; plan {self.plan.id}",
        }
        self.api.arm("PUT", f"{path}/{uuid.uuid4()}", "roleAssignments", {"properties": props})
        return True

    def diagnostic(self, p: dict[str, Any]) -> bool:
        return deploy_diagnostic(self.api, p)

    def action_group(self, p: dict[str, Any]) -> bool:
        return deploy_action_group(self.api, p)

    def rule(self, p: dict[str, Any]) -> bool:
        return deploy_rule(self.api, p, f"{NOTE}; plan {self.plan.id}")

    def rule_role(self, p: dict[str, Any]) -> bool:
        principal = rule_identity(self.api, p)
        return self._assign(principal, p["role"], p["scope"], f"the rule {p['rule']}'s managed identity")

    def run(self, say: Callable[[str], None]) -> None:
        steps = {
            "diagnostic": self.diagnostic,
            "action-group": self.action_group,
            "rule": self.rule,
            "rule-role": self.rule_role,
            "app": self.app,
            "sp": self.sp,
            "certificate": self.certificate,
            "federated": self.federated,
            "consent": self.consent,
            "app-role": self.app_role,
            "site": self.site,
            "azure": self.azure,
        }
        for c in self.plan.changes:
            if c.other_admin:
                self.out.left.append(f"{c.action}: {c.object} ({c.permission}) needs {c.role}")
                continue
            kind = c.id.split("/")[1]
            try:
                made = steps[kind](c.params)
            except CallError as exc:
                raise DrillUserError(
                    f"{c.action} ({c.object}) was refused: {exc}; nothing after it was "
                    "changed, run apply again once fixed"
                ) from exc
            (self.out.made if made else self.out.unchanged).append(c.id)
            if made:
                self._apps.pop(c.params.get("ref", ""), None)
            say(f"{'made     ' if made else 'unchanged'} {c.action}: {c.object}")
        for ref in ("drill-app", "observer"):
            self._apps.pop(ref, None)
            self._app(ref)


def apply_plan(api: Api, plan: Plan, playbook_dir: Path, say: Callable[[str], None]) -> tuple[Outcome, Found]:
    found = discover(api, inputs_of(plan))
    changed = drift(plan, found)
    if changed:
        raise DrillUserError(
            "the tenant changed since plan " + plan.id + ", nothing was applied; make a new "
            "plan:\n  " + "\n  ".join(changed)
        )
    out = Outcome()
    Applier(api, plan, found, playbook_dir, out).run(say)
    return out, found


def ledger_entry(plan: Plan, out: Outcome, who: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "setup",
        "plan": plan.id,
        "tenant": plan.inputs["tenant_id"],
        "admin": {"upn": who.get("upn"), "oid": who.get("oid")},
        "applied_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "made": out.made,
        "unchanged": out.unchanged,
        "left_for_another_admin": out.left,
        "objects": out.objects,
    }
