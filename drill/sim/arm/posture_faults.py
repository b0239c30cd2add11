"""Posture variants of the demo tenant's monitoring: each makes exactly one audit check fail (issue 14).

Each is a fault (drill/sim/state.py) changing the tenant fixture in place, as the drill's faults do, so
the audit reads the broken object over the same ARM and Log Analytics surfaces. CHECK_VARIANTS maps a
check id to the variants (and older faults) that make exactly that check fail on the demo tenant.
`onboard_sentinel` gives the workspace a Sentinel rule for the tests of BG.AL.5 (the demo has none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drill.sim.loganalytics.alerts import rule_query
from drill.sim.state import Fault, SimState

EA02 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"
EA02_TYPO = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a20"  # two digits swapped: reads right, matches nobody
SENTINEL_RULE = "Break-glass account sign-in (Sentinel)"
SENTINEL_RULE_ID = "5e2f1c0d-8b7a-4c69-9e58-3d2c1b0a9f01"
HEALTHY_SENTINEL_RULE: dict[str, Any] = {
    "name": SENTINEL_RULE_ID,
    "displayName": SENTINEL_RULE,
    "queryFile": "../queries/demo-breakglass-alert.kql",
    "queryFrequency": "PT5M",
    "queryPeriod": "PT5M",
    "triggerOperator": "GreaterThan",
    "triggerThreshold": 0,
    "aggregationKind": "AlertPerResult",
    "createIncident": True,
    "severity": "High",
}


def onboard_sentinel(state: SimState, **changes: Any) -> None:
    """Onboard the workspace to Sentinel with one break-glass analytics rule (`changes` override it)."""
    state.tenant.azure["sentinel"] = {"alertRules": [{**HEALTHY_SENTINEL_RULE, **changes}]}


def _rewrite_queries(
    change: Callable[[str], str], *, rules: tuple[str, ...] = ()
) -> Callable[[SimState], None]:
    def apply(state: SimState) -> None:
        for rule in state.tenant.alertRules:
            query = rule_query(state, rule)
            rule.pop("queryFile", None)
            rule["query"] = change(query)

    return apply


def _upns(state: SimState) -> str:
    return ", ".join(
        f'"{u["userPrincipalName"]}"'
        for u in state.tenant.users
        if str(u.get("displayName", "")).startswith("Emergency")
    )


def _has_any_upn(state: SimState) -> None:
    """Rules matching UPNs with has_any: the text names both accounts, a passkey sign-in row slips by."""
    upns = _upns(state)
    for rule in state.tenant.alertRules:
        rule.pop("queryFile", None)
        rule["query"] = (
            f"let BreakGlass = dynamic([{upns}]);\n"
            "SigninLogs\n| where UserPrincipalName has_any (BreakGlass)\n"
            "| project TimeGenerated, UserPrincipalName, Source = 'SigninLogs'"
        )
        if rule.get("evaluationFrequency") != "PT1M":
            rule["query"] += (
                "\n| union (AuditLogs"
                "\n    | extend UserPrincipalName = tostring(InitiatedBy.user.userPrincipalName)"
                "\n    | where UserPrincipalName has_any (BreakGlass)"
                "\n    | project TimeGenerated, UserPrincipalName, Source = 'AuditLogs')"
            )


def _signin_only(state: SimState) -> None:
    signin = next(r for r in state.tenant.alertRules if r.get("evaluationFrequency") == "PT1M")
    query = rule_query(state, signin)
    for rule in state.tenant.alertRules:
        rule.pop("queryFile", None)
        rule["query"] = query


def _each_rule(change: Callable[[dict[str, Any]], None]) -> Callable[[SimState], None]:
    def apply(state: SimState) -> None:
        for rule in state.tenant.alertRules:
            change(rule)

    return apply


def _roles_elsewhere(state: SimState) -> None:
    """The identities' reader roles sit on another resource group's workspace, none on ours."""
    for grant in state.tenant.azure.get("roleAssignments") or []:
        grant["scope"] = str(grant["scope"]).replace("/resourceGroups/rg-breakglass-monitoring/",
                                                     "/resourceGroups/rg-sandbox/")  # fmt: skip


def _no_auditlogs(state: SimState) -> None:
    for setting in state.tenant.diagnosticSettings:
        setting["logs"] = [log for log in setting.get("logs") or [] if log.get("category") != "AuditLogs"]


def _activity_rule(change: Callable[[dict[str, Any]], None]) -> Callable[[SimState], None]:
    """Change the five-minute activity rule only: the sign-in rule keeps covering sign-ins."""

    def apply(state: SimState) -> None:
        change(next(r for r in state.tenant.alertRules if r.get("evaluationFrequency") != "PT1M"))

    return apply


def _scoped_elsewhere(state: SimState) -> None:
    """The activity rule watches a sandbox workspace the Entra logs never reach."""
    from drill.sim.arm import ids

    sandbox = ids.workspace_id(state).replace("/resourceGroups/rg-breakglass-monitoring/",
                                              "/resourceGroups/rg-sandbox/")  # fmt: skip
    _activity_rule(lambda r: r.update(scopes=[sandbox]))(state)


FAULTS = [
    Fault("posture-diag-no-auditlogs", "arm", "the Entra diagnostic setting no longer sends AuditLogs",
          _no_auditlogs),
    Fault("posture-alert-id-typo", "arm", "both rules' queries carry ea02's object id, two digits swapped",
          _rewrite_queries(lambda q: q.replace(EA02, EA02_TYPO))),
    Fault("posture-alert-has-any-upn", "arm", "the rules match UPNs with has_any: both accounts named, but a "
          "passkey sign-in logged with the object id in UserPrincipalName returns nothing", _has_any_upn),
    Fault("posture-alert-signin-only", "arm", "both rules run the sign-in query: no rule sees directory "
          "changes", _signin_only),
    Fault("posture-alert-slow", "arm", "the activity rule runs every 15 minutes",
          _each_rule(lambda r: r.update(evaluationFrequency="PT15M", windowSize="PT15M")
                     if r.get("evaluationFrequency") == "PT5M" else None)),
    Fault("posture-alert-threshold-2", "arm", "the rules fire only on more than 2 rows",
          _each_rule(lambda r: r.update(threshold={"operator": "GreaterThan", "value": 2}))),
    Fault("posture-alert-identity-no-reader", "arm", "the rules' managed identities hold their reader roles "
          "on a sandbox workspace, none on the watched one", _roles_elsewhere),
    Fault("posture-alert-no-identity", "arm", "the rules have no managed identity",
          _each_rule(lambda r: r.pop("identity", None))),
    Fault("posture-alert-no-subject", "arm", "the rules set no custom e-mail subject",
          _each_rule(lambda r: r.update(customEmailSubject=None))),
    Fault("posture-alert-other-workspace", "arm", "the activity rule is scoped to a sandbox workspace the "
          "Entra logs never reach", _scoped_elsewhere),
    Fault("posture-alert-success-only", "arm", "both rules keep only successful sign-ins (ResultType "
          "== \"0\")",
          _rewrite_queries(lambda q: q.replace("| where UserId in (BreakGlassIds)",
                                               '| where UserId in (BreakGlassIds) and ResultType == "0"'))),
    Fault("posture-alert-muted", "arm", "the activity rule mutes its actions for an hour after each alert",
          _activity_rule(lambda r: r.update(muteActionsDuration="PT1H"))),
    Fault("posture-sentinel-weak-rule", "arm", "the workspace's Sentinel rule runs hourly over a day, "
          "fires on more than 5 results as one alert, and creates no incident",
          lambda s: onboard_sentinel(s, queryFrequency="PT1H", queryPeriod="P1D", triggerThreshold=5,
                                     aggregationKind="SingleAlert", createIncident=False)),
]  # fmt: skip

CHECK_VARIANTS: dict[str, list[str]] = {
    "BG.DIAG.1": ["posture-diag-no-auditlogs", "diag-other-workspace"],
    "BG.AL.1": [
        "posture-alert-id-typo",
        "posture-alert-has-any-upn",
        "posture-alert-signin-only",
        "posture-alert-other-workspace",
        "posture-alert-success-only",
    ],
    "BG.AL.2": ["posture-alert-slow", "posture-alert-threshold-2"],
    "BG.AL.3": ["posture-alert-identity-no-reader", "posture-alert-no-identity"],
    "BG.AL.4": ["posture-alert-no-subject", "action-group-no-mailbox"],
    "BG.AL.6": ["posture-alert-muted"],
    # With a playbook naming SENTINEL_RULE in audit.sentinel_rules.
    "BG.AL.5": ["posture-sentinel-weak-rule"],
}

# variant -> the checks that fail with its own. Alert coverage counts only a rule whose workspace receives the
# Entra log category of the row (issue 26): logs that stop reaching the workspace leave the rules watching
# nothing of that kind, and with no sign-in reaching it no rule covers anything for BG.AL.2-4 and 6 to judge.
_NO_COVERING_RULE = ["BG.AL.1", "BG.AL.2", "BG.AL.3", "BG.AL.4", "BG.AL.6"]
ALSO_FAILS: dict[str, list[str]] = {
    "posture-diag-no-auditlogs": ["BG.AL.1"],
    "diag-other-workspace": _NO_COVERING_RULE,
}
