"""`--monitoring`: the seed's monitoring design, deployed through ARM when the tenant has none.

Entra's diagnostic setting (SignInLogs, NonInteractiveUserSignInLogs, AuditLogs to the workspace); a
one-minute
sign-in rule and a five-minute rule with the seed's union query over SigninLogs and AuditLogs, the accounts'
object ids filled in; each rule runs as its system-assigned managed identity holding Log Analytics Reader and
Reader on the workspace (what the posture audit checks); an action group mailing the alert mailbox, with the
custom subject. An existing rule is never altered: one of the same name that differs stops the plan with the
difference, asking for another name (`--rule-prefix`).
"""

from __future__ import annotations

import difflib
import re
from importlib import resources
from typing import Any

from drill.errors import DrillUserError
from drill.setup.api import Api, CallError
from drill.setup.changes import AZURE_ASSIGN, Change
from drill.setup.discover import SIGNIN_CATEGORIES, Found, Inputs

SUBJECT = "[CRITICAL] Emergency Access Activity"
SETTING = "breakglass-drill"
GROUP = "ag-breakglass-drill"
MONITORING_WRITER = "Monitoring Contributor"
RULE_ROLES = ("Log Analytics Reader", "Reader")
_IDS = re.compile(r"let BreakGlassIds = dynamic\(\[.*?\]\);", re.DOTALL)


def seed_query(name: str, object_ids: list[str]) -> str:
    """The seed's query with the accounts' object ids in its `BreakGlassIds` list."""
    text = resources.files("drill.setup").joinpath(f"queries/{name}.kql").read_text(encoding="utf-8")
    ids = ",\n".join(f'    "{i}"' for i in object_ids)
    return _IDS.sub(lambda _m: f"let BreakGlassIds = dynamic([\n{ids}\n]);", text, count=1)


def rules(inputs: Inputs, found: Found) -> list[dict[str, Any]]:
    ids = [a["id"] for a in found.accounts]
    p = inputs.rule_prefix
    return [
        {
            "name": f"{p}sign-in",
            "query": seed_query("signin", ids),
            "frequency": "PT1M",
            "window": "PT5M",
            "severity": 0,
            "subject": SUBJECT,
        },
        {
            "name": f"{p}activity",
            "query": seed_query("activity", ids),
            "frequency": "PT5M",
            "window": "PT10M",
            "severity": 1,
            "subject": SUBJECT,
        },
    ]


def _existing_rule(api: Api, rg: str, name: str) -> str | None:
    try:
        body = api.arm(
            "GET", f"{rg}/providers/Microsoft.Insights/scheduledQueryRules/{name}", "scheduledQueryRules"
        )
    except CallError as exc:
        if exc.status == 404:
            return None
        raise
    return str(body["properties"]["criteria"]["allOf"][0]["query"])


def plan_monitoring(api: Api, inputs: Inputs, found: Found) -> list[Change]:
    """The monitoring changes; also fills `found` with what will exist, so the playbook names it."""
    ws = inputs.workspace or (found.workspace or {}).get("id")
    if not ws or not found.workspace:
        raise DrillUserError("--monitoring needs the workspace: give --workspace <its ARM id>")
    mailbox = inputs.mailbox or found.mailbox
    if not mailbox:
        raise DrillUserError("--monitoring needs the alert mailbox: give --mailbox <address>")
    rg = ws.split("/providers/", 1)[0]
    out: list[Change] = []
    sends = set((found.diagnostic or {}).get("categories") or []) >= set(SIGNIN_CATEGORIES)
    if not (sends and (found.diagnostic or {}).get("workspace", "").lower() == ws.lower()):
        out.append(
            Change(
                "monitoring/diagnostic",
                "deploy Entra diagnostic setting",
                f"setting '{SETTING}'",
                ", ".join(SIGNIN_CATEGORIES),
                ws,
                "Entra's sign-in and audit logs reach the workspace",
                "Security Administrator",
                params={"name": SETTING, "workspace": ws},
            )
        )
    group_id = f"{rg}/providers/Microsoft.Insights/actionGroups/{GROUP}"
    out.append(
        Change(
            "monitoring/action-group",
            "deploy action group",
            f"action group '{GROUP}'",
            f"mail {mailbox}",
            rg,
            "the alert mails the mailbox the observer reads",
            MONITORING_WRITER,
            params={"id": group_id, "mailbox": mailbox},
        )
    )
    for r in rules(inputs, found):
        current = _existing_rule(api, rg, r["name"])
        if current is not None and current != r["query"]:
            change = "".join(
                difflib.unified_diff(
                    current.splitlines(True), r["query"].splitlines(True), "deployed", "setup's"
                )
            )
            raise DrillUserError(
                f"alert rule {r['name']} exists and differs from the seed's; setup never alters "
                f"a rule: give --rule-prefix for new names\n{change}"
            )
        out.append(
            Change(
                f"monitoring/rule/{r['name']}",
                "deploy log search alert rule",
                f"rule '{r['name']}'",
                f"every {r['frequency']} over {r['window']}, mails '{SUBJECT}'",
                rg,
                "fires on any break-glass sign-in (and, every five minutes, directory change)",
                MONITORING_WRITER,
                params={
                    **r,
                    "rg": rg,
                    "workspace": ws,
                    "group": group_id,
                    "location": found.workspace.get("location") or "westeurope",
                },
            )
        )
        for role in RULE_ROLES:
            out.append(
                Change(
                    f"monitoring/rule-role/{r['name']}/{role}",
                    "assign Azure role",
                    f"rule '{r['name']}' managed identity",
                    role,
                    ws,
                    "the rule's identity queries the workspace (the audit checks it)",
                    AZURE_ASSIGN,
                    params={"rule": r["name"], "rg": rg, "role": role, "scope": ws},
                )
            )
        found.rules.append(
            {
                "name": r["name"],
                "id": f"{rg}/providers/Microsoft.Insights/scheduledQueryRules/{r['name']}",
                "query": r["query"],
                "groups": [group_id],
                "frequency": r["frequency"],
                "enabled": True,
                "subject": SUBJECT,
                "planned": True,
            }
        )
    found.mailbox = mailbox
    return out
