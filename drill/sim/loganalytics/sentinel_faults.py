"""The demo tenant's Sentinel watch (one Scheduled analytics rule running the seed-style union query) and one
fault for each way it fails a drill (issue 24). Each fault onboards the workspace first if it is not, so a
test or `drill sim serve --fault` gets the broken rule whatever the fixture said.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drill.sim.loganalytics.sentinel import engine
from drill.sim.state import Fault, SimState

RULE_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e51"
RULE_NAME = "Break-glass account activity (Sentinel)"
QUERY_FILE = "../queries/demo-breakglass-sentinel.kql"
AUTOMATION_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c61"


def healthy_rule() -> dict[str, Any]:
    """Every 5 minutes over 5, any result, an alert per event, incidents on, no grouping, no suppression."""
    return {
        "name": RULE_ID,
        "displayName": RULE_NAME,
        "enabled": True,
        "queryFile": QUERY_FILE,
        "queryFrequency": "PT5M",
        "queryPeriod": "PT5M",
        "triggerOperator": "GreaterThan",
        "triggerThreshold": 0,
        "aggregationKind": "AlertPerResult",
        "createIncident": True,
        "severity": "High",
        "suppressionEnabled": False,
        "suppressionDuration": "PT5H",
        "grouping": {
            "enabled": False,
            "reopenClosedIncident": False,
            "lookbackDuration": "PT5H",
            "matchingMethod": "AllEntities",
        },
    }


def onboard(azure: dict[str, Any]) -> dict[str, Any]:
    """The tenant fixture's `azure` section with the healthy Sentinel watch (kept if already onboarded)."""
    sentinel: dict[str, Any] = azure.setdefault("sentinel", {})
    rules = sentinel.setdefault("alertRules", [])
    if not any(r.get("name") == RULE_ID for r in rules):
        rules.append(healthy_rule())
    sentinel.setdefault("automationRules", [])
    return sentinel


def _rule(state: SimState) -> dict[str, Any]:
    sentinel = onboard(state.tenant.azure)
    return next(r for r in sentinel["alertRules"] if r["name"] == RULE_ID)


def _change(**changes: Any) -> Any:
    def apply(state: SimState) -> None:
        _rule(state).update(changes)

    return apply


def _auto_disabled(state: SimState) -> None:
    """Sentinel disables a rule that keeps failing and prefixes its name with AUTO DISABLED."""
    rule = _rule(state)
    rule.update(enabled=False, displayName=f"AUTO DISABLED {RULE_NAME}")


def _misses_account(state: SimState) -> None:
    """The query lists only the other break-glass account's id: this sign-in is never returned."""
    rule = _rule(state)
    rule.pop("queryFile", None)
    rule["query"] = (
        'SigninLogs\n| where UserId in (dynamic(["0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"]))\n'
        "| extend AccountCustomEntity = UserPrincipalName, IPCustomEntity = IPAddress\n"
        "| project TimeGenerated, AccountCustomEntity, IPCustomEntity, UserId"
    )


def _rehearsal(state: SimState, seconds_ago: float) -> None:
    """A rehearsal sign-in of the first break-glass account `seconds_ago`, and the rule run over it now."""
    from drill.sim.loganalytics.alerts import log_rehearsal_signin

    now = state.clock.now()
    log_rehearsal_signin(state, seconds_ago)
    sentinel = engine(state)
    rule = _rule(state)
    run = sentinel.runs.setdefault(rule["name"], _fresh_run(state, rule))
    sentinel.evaluate(rule, run, now)


def _fresh_run(state: SimState, rule: dict[str, Any]) -> Any:
    from drill.sim.loganalytics.sentinel import RuleRun, duration

    return RuleRun(state.clock.now() + duration(rule.get("queryFrequency"), "PT5M"))


def _folded(state: SimState) -> None:
    """All events grouped into one alert and the rule suppressed for 5 hours after it: a rehearsal sign-in
    two minutes earlier raised the alert, so this sign-in's events fold into nothing new."""
    _rule(state).update(aggregationKind="SingleAlert", suppressionEnabled=True, suppressionDuration="PT5H")
    _rehearsal(state, 120)


def _grouped_into_closed(state: SimState) -> None:
    """Alert grouping on (5 hours, all entities) and the rehearsal's incident closed by the SOC: this
    sign-in's alert joins that closed incident."""
    _rule(state).update(
        grouping={
            "enabled": True,
            "reopenClosedIncident": False,
            "lookbackDuration": "PT5H",
            "matchingMethod": "AllEntities",
        },
        joinClosedIncidents=True,
    )
    _rehearsal(state, 120)
    sentinel = engine(state)
    for incident in sentinel.incidents:
        closed = max(state.clock.now(), incident.created + timedelta(seconds=1))
        sentinel.close(
            incident,
            closed,
            "BenignPositive",
            "SuspiciousButExpected",
            "rehearsal",
            "soc-analyst@contoso.test",
        )


def _automation_closes(state: SimState) -> None:
    """An automation rule closes every incident of the break-glass rule as it is created."""
    sentinel = onboard(state.tenant.azure)
    from drill.sim.loganalytics.sentinel import rule_arm_id

    sentinel["automationRules"] = [
        {
            "name": AUTOMATION_ID,
            "displayName": "Close noisy break-glass incidents",
            "order": 1,
            "enabled": True,
            "triggersOn": "Incidents",
            "triggersWhen": "Created",
            "analyticRuleIds": [rule_arm_id(state, _rule(state))],
            "actions": [
                {
                    "actionType": "ModifyProperties",
                    "status": "Closed",
                    "classification": "BenignPositive",
                    "classificationReason": "SuspiciousButExpected",
                    "classificationComment": "Expected break-glass activity",
                }
            ],
        }
    ]


def _late(state: SimState) -> None:
    """Sentinel's alert pipeline lags 20 minutes behind each run: the incident comes after the SLA."""
    onboard(state.tenant.azure)["alertDelaySeconds"] = 1200


FAULTS = [
    Fault(
        "sentinel-rule-disabled",
        "sentinel",
        "the Sentinel analytics rule is disabled",
        _change(enabled=False),
    ),
    Fault(
        "sentinel-rule-auto-disabled",
        "sentinel",
        "Sentinel auto-disabled the analytics rule (AUTO DISABLED)",
        _auto_disabled,
    ),
    Fault(
        "sentinel-query-misses-account",
        "sentinel",
        "the analytics rule's query lists only the other break-glass account's object id",
        _misses_account,
    ),
    Fault(
        "sentinel-events-folded",
        "sentinel",
        "event grouping 'all events into a single alert' with 5 hours' "
        "suppression, fired by a rehearsal sign-in two minutes earlier",
        _folded,
    ),
    Fault(
        "sentinel-incident-creation-off",
        "sentinel",
        "the analytics rule does not create incidents",
        _change(createIncident=False),
    ),
    Fault(
        "sentinel-grouped-into-closed",
        "sentinel",
        "alert grouping joins the sign-in's alert to the rehearsal's incident, already closed",
        _grouped_into_closed,
    ),
    Fault(
        "sentinel-automation-closes",
        "sentinel",
        "an automation rule closes the rule's incidents on creation",
        _automation_closes,
    ),
    Fault(
        "sentinel-incident-late",
        "sentinel",
        "Sentinel raises the alert 20 minutes after each run: the incident arrives after the SLA",
        _late,
    ),
]
