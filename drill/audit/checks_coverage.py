"""BG.AL.1, alert coverage, and what the alerting checks share: a rule's properties, name and coverage, and
where the Entra logs reach.

Coverage is what each deployed query returned over synthetic rows (drill/audit/synthetic.py), per account and
kind: a successful sign-in (in two forms), a failed one, a non-interactive one and a directory change. A row
counts only for a rule whose `scopes` reach a workspace that receives that row's Entra log category
(drill.monitoring.deployed: the diagnostic settings read), so a rule watching a workspace the logs never reach
covers nothing; with the settings unread, the playbook's workspace is taken as reached and BG.DIAG.1 says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drill.audit.checks_common import unread
from drill.audit.model import Obj, Outcome
from drill.monitoring.deployed import DiagnosticSetting, setting_from_json

if TYPE_CHECKING:
    from drill.audit.facts import Facts
    from drill.playbook import Playbook

DIAG_CATEGORIES = ("SignInLogs", "NonInteractiveUserSignInLogs", "AuditLogs")


def arm_props(obj: Obj) -> Obj:
    props = obj.get("properties")
    return props if isinstance(props, dict) else {}


def same_id(a: object, b: object) -> bool:
    """ARM ids compare case-insensitively (ARM itself lower-cases some segments in answers)."""
    return str(a or "").lower().rstrip("/") == str(b or "").lower().rstrip("/")


def rule_label(rule: Obj) -> str:
    return str(arm_props(rule).get("displayName") or rule.get("name") or rule.get("id") or "unnamed rule")


# Coverage kinds (drill/audit/synthetic.py) and the Entra log category each needs in the rule's workspace.
KIND_CATEGORY = {
    "signin": "SignInLogs",
    "signin_failed": "SignInLogs",
    "noninteractive": "NonInteractiveUserSignInLogs",
    "audit": "AuditLogs",
}
KIND_WORDS = {
    "signin": "successful sign-in",
    "signin_failed": "failed sign-in",
    "noninteractive": "non-interactive sign-in",
    "audit": "audit row",
}


def _settings(facts: Facts) -> list[DiagnosticSetting] | None:
    """The Entra diagnostic settings read, None when they could not be read."""
    if "diagnostic_settings" in facts.unread:
        return None
    return [setting_from_json(item) for item in facts.diagnostic_settings]


def _within(scope: str, workspace: str) -> bool:
    """A log alert's scope reaches the workspace only when it is the workspace. A resource group or
    subscription scope runs a resource-centric query, which keeps the rows whose _ResourceId lies under the
    scope, and Entra's rows carry the tenant's /tenants/{id}/providers/Microsoft.aadiam id (BELIEF,
    DIFFERENCES.md): such a rule is not counted, which can only fail, never pass, wrongly."""
    s, w = scope.lower().rstrip("/"), workspace.lower().rstrip("/")
    return bool(s) and w == s


def log_reach(facts: Facts, playbook: Playbook) -> tuple[dict[str, set[str]], str]:
    """Per Entra log category, the workspaces it reaches, and how that was told."""
    settings = _settings(facts)
    if settings is None:
        home = playbook.monitoring.workspace_resource_id if playbook.monitoring else ""
        how = "diagnostic settings unread: the playbook's workspace is taken as reached (BG.DIAG.1 judges it)"
        return {c: {home} for c in DIAG_CATEGORIES}, how
    out: dict[str, set[str]] = {c: set() for c in DIAG_CATEGORIES}
    for d in settings:
        for c in DIAG_CATEGORIES:
            if c in d.enabled_categories and d.workspace_id:
                out[c].add(d.workspace_id)
    return out, "read from Entra's diagnostic settings"


def rule_reaches(rule: Obj, workspaces: set[str]) -> bool:
    scopes = [str(x) for x in arm_props(rule).get("scopes") or []]
    return any(_within(scope, ws) for scope in scopes for ws in workspaces if ws)


def _required_kinds(facts: Facts, playbook: Playbook) -> tuple[str, ...]:
    """Non-interactive sign-ins are required when the settings send them to a workspace, or are unread."""
    settings = _settings(facts)
    sends_noninteractive = settings is None or any(
        "NonInteractiveUserSignInLogs" in d.enabled_categories for d in settings
    )
    if sends_noninteractive:
        return ("signin", "signin_failed", "noninteractive", "audit")
    return ("signin", "signin_failed", "audit")


def coverage_of(facts: Facts, rule: Obj) -> dict[str, dict[str, bool]]:
    for rule_id, by_account in facts.coverage.items():
        if same_id(rule_id, rule.get("id")):
            return by_account
    return {}


# -- BG.AL.1 ---------------------------------------------------------------------------------------


def rules_cover_accounts(facts: Facts, playbook: Playbook) -> Outcome:
    """Every account's rows of every required kind are returned by at least one enabled rule whose scope
    reaches a workspace that receives that kind's Entra log category."""
    if (err := unread(facts, "alert_rules", "coverage")) is not None:
        return err
    enabled = [r for r in facts.alert_rules if arm_props(r).get("enabled") is True]
    disabled = [rule_label(r) for r in facts.alert_rules if arm_props(r).get("enabled") is not True]
    reached, how = log_reach(facts, playbook)
    kinds = _required_kinds(facts, playbook)
    elsewhere: set[str] = set()
    table: dict[str, dict[str, list[str]]] = {}
    offenders: list[str] = []
    for account in playbook.accounts:
        row: dict[str, list[str]] = {kind: [] for kind in kinds}
        for rule in enabled:
            caught = coverage_of(facts, rule).get(account.name, {})
            for kind in row:
                if caught.get(kind) is not True:
                    continue
                if rule_reaches(rule, reached[KIND_CATEGORY[kind]]):
                    row[kind].append(rule_label(rule))
                else:
                    elsewhere.add(rule_label(rule))
        table[account.name] = row
        offenders.extend(
            f"{account.name}: {KIND_WORDS[kind]} returned by no enabled rule watching a workspace that "
            f"receives {KIND_CATEGORY[kind]}"
            for kind, rules in row.items()
            if not rules
        )
    evidence: list[Obj] = [
        {
            "rule": rule.get("id"),
            "displayName": rule_label(rule),
            "enabled": arm_props(rule).get("enabled"),
            "scopes": arm_props(rule).get("scopes"),
            "coverage": coverage_of(facts, rule),
        }
        for rule in facts.alert_rules
    ]
    details: dict[str, Any] = {
        "coverage": table,
        "required": list(kinds),
        "workspaces_reached": {c: sorted(w) for c, w in reached.items()},
        "reached_from": how,
        "scoped_elsewhere": sorted(elsewhere),
    }
    if offenders:
        notes = []
        if disabled:
            notes.append(f"disabled, not counted: {', '.join(disabled)}")
        if elsewhere:
            notes.append(f"scoped to a workspace the logs do not reach: {', '.join(sorted(elsewhere))}")
        note = f" ({'; '.join(notes)})" if notes else ""
        return Outcome.failed(
            f"{len(offenders)} account rows are not covered by the enabled rules{note}",
            evidence,
            offenders,
            **details,
        )
    return Outcome.passed(
        f"the {len(enabled)} enabled rules return every account's {', '.join(KIND_WORDS[k] for k in kinds)}",
        evidence,
        **details,
    )
