"""BG.DIAG.1 and BG.AL.1-5 over ARM REST JSON: a passing and a failing case for every check, and unread facts.

The healthy facts mirror the demo tenant: a one-minute sign-in rule and a five-minute activity rule, each
running as a managed identity with Log Analytics Reader and Reader, mailing the SOC mailbox with a subject.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drill.assets import DEMO_PLAYBOOK
from drill.audit.checks_alerting import CHECKS
from drill.audit.facts import Facts
from drill.audit.model import Status
from drill.playbook import Playbook, load_playbook

ROOT = Path(__file__).resolve().parents[3]
SUB = "/subscriptions/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01/resourceGroups/rg-breakglass-monitoring"
WORKSPACE = f"{SUB}/providers/Microsoft.OperationalInsights/workspaces/law-security-contoso"
SIGNIN_RULE = f"{SUB}/providers/Microsoft.Insights/scheduledQueryRules/Break-glass account sign-in"
ACTIVITY_RULE = f"{SUB}/providers/Microsoft.Insights/scheduledQueryRules/Break-glass account activity"
GROUP = f"{SUB}/providers/Microsoft.Insights/actionGroups/ag-soc-breakglass"
PRINCIPAL_1 = "11111111-2222-4333-8444-555555555501"
PRINCIPAL_2 = "11111111-2222-4333-8444-555555555502"
MAILBOX = "soc-alerts@contoso.test"
EVERYTHING = {"signin": True, "signin_failed": True, "noninteractive": True, "audit": True}
SIGNIN_ONLY = {"signin": True, "signin_failed": True, "noninteractive": False, "audit": False}


@pytest.fixture
def playbook(tmp_path: Path) -> Playbook:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    return load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": str(ca)})


def with_sentinel(pb: Playbook, *names: str) -> Playbook:
    return pb.model_copy(update={"audit": pb.audit.model_copy(update={"sentinel_rules": list(names)})})


def rule(rule_id: str, name: str, frequency: str, principal: str, subject: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "name": name,
        "type": "microsoft.insights/scheduledqueryrules",
        "kind": "LogAlert",
        "identity": {"type": "SystemAssigned", "principalId": principal, "tenantId": "t"},
        "properties": {
            "displayName": name,
            "enabled": True,
            "evaluationFrequency": frequency,
            "windowSize": "PT5M",
            "scopes": [WORKSPACE],
            "criteria": {
                "allOf": [
                    {
                        "query": "SigninLogs",
                        "timeAggregation": "Count",
                        "operator": "GreaterThan",
                        "threshold": 0.0,
                    }
                ]
            },
            "actions": {
                "actionGroups": [GROUP],
                "customProperties": {},
                "actionProperties": {"Email.Subject": subject},
            },
        },
    }


def role(name: str) -> dict[str, Any]:
    return {
        "id": f"{WORKSPACE}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "properties": {"scope": WORKSPACE, "principalId": PRINCIPAL_1},
        "roleName": name,
    }


def sentinel(name: str = "Break-glass sign-in (Sentinel)", **changes: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "displayName": name,
        "enabled": True,
        "queryFrequency": "PT5M",
        "queryPeriod": "PT5M",
        "triggerOperator": "GreaterThan",
        "triggerThreshold": 0,
        "suppressionEnabled": False,
        "suppressionDuration": "PT5H",
        "eventGroupingSettings": {"aggregationKind": "AlertPerResult"},
        "incidentConfiguration": {"createIncident": True},
    }
    props.update(changes)
    return {"id": f"{WORKSPACE}/providers/Microsoft.SecurityInsights/alertRules/r1", "kind": "Scheduled",
            "properties": props}  # fmt: skip


def healthy(**kwargs: Any) -> Facts:
    facts = Facts(
        tenant_id="6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00",
        read_at=datetime(2026, 12, 2, 6, 0, tzinfo=UTC),
        diagnostic_settings=[
            {
                "id": "/providers/microsoft.aadiam/diagnosticSettings/entra-to-law",
                "name": "entra-to-law",
                "properties": {
                    "workspaceId": WORKSPACE.lower(),
                    "logs": [
                        {"category": "SignInLogs", "enabled": True},
                        {"category": "NonInteractiveUserSignInLogs", "enabled": True},
                        {"category": "AuditLogs", "enabled": True},
                    ],
                },
            }
        ],
        alert_rules=[
            rule(
                SIGNIN_RULE, "Break-glass account sign-in", "PT1M", PRINCIPAL_1, "[CRITICAL] Emergency Access"
            ),
            rule(
                ACTIVITY_RULE,
                "Break-glass account activity",
                "PT5M",
                PRINCIPAL_2,
                "Emergency Access activity",
            ),
        ],
        identity_roles={
            PRINCIPAL_1: [role("Log Analytics Reader"), role("Reader")],
            PRINCIPAL_2: [role("Reader"), role("Log Analytics Reader"), role("Monitoring Reader")],
        },
        action_groups={
            GROUP.lower(): {
                "id": GROUP,
                "name": "ag-soc-breakglass",
                "properties": {
                    "enabled": True,
                    "emailReceivers": [{"name": "SOC", "emailAddress": MAILBOX, "status": "Enabled"}],
                },
            }
        },
        coverage={
            SIGNIN_RULE: {"ea01": dict(SIGNIN_ONLY), "ea02": dict(SIGNIN_ONLY)},
            ACTIVITY_RULE.lower(): {"ea01": dict(EVERYTHING), "ea02": dict(EVERYTHING)},
        },
    )
    for key, value in kwargs.items():
        setattr(facts, key, value)
    return facts


def props_of(facts: Facts, index: int) -> dict[str, Any]:
    return facts.alert_rules[index]["properties"]  # type: ignore[no-any-return]


def test_every_alerting_check_is_registered() -> None:
    assert set(CHECKS) == {"BG.DIAG.1", "BG.AL.1", "BG.AL.2", "BG.AL.3", "BG.AL.4", "BG.AL.5", "BG.AL.6"}


@pytest.mark.parametrize("check_id", ["BG.DIAG.1", "BG.AL.1", "BG.AL.2", "BG.AL.3", "BG.AL.4", "BG.AL.6"])
def test_healthy_facts_pass(playbook: Playbook, check_id: str) -> None:
    outcome = CHECKS[check_id](healthy(), playbook)
    assert outcome.status is Status.PASSED, (outcome.summary, outcome.offenders)


@pytest.mark.parametrize(
    ("check_id", "fact"),
    [
        ("BG.DIAG.1", "diagnostic_settings"),
        ("BG.AL.1", "alert_rules"),
        ("BG.AL.1", "coverage"),
        ("BG.AL.2", "coverage"),
        ("BG.AL.3", "identity_roles"),
        ("BG.AL.4", "action_groups"),
    ],
)
def test_unread_fact_is_an_error_naming_it(playbook: Playbook, check_id: str, fact: str) -> None:
    outcome = CHECKS[check_id](healthy(unread={fact: "403 AuthorizationFailed"}), playbook)
    assert outcome.status is Status.ERROR
    assert fact in outcome.summary
    assert "AuthorizationFailed" in outcome.summary


def test_al5_unread_sentinel_rules_is_an_error(playbook: Playbook) -> None:
    facts = healthy(unread={"sentinel_rules": "403"}, sentinel_rules=[sentinel()])
    outcome = CHECKS["BG.AL.5"](facts, with_sentinel(playbook, "Break-glass sign-in (Sentinel)"))
    assert outcome.status is Status.ERROR
    assert "sentinel_rules" in outcome.summary


# -- BG.DIAG.1 ---------------------------------------------------------------------------------------------


def test_diag_fails_without_non_interactive_sign_ins(playbook: Playbook) -> None:
    facts = healthy()
    facts.diagnostic_settings[0]["properties"]["logs"][1]["enabled"] = False
    outcome = CHECKS["BG.DIAG.1"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert outcome.offenders == ["entra-to-law: NonInteractiveUserSignInLogs not enabled"]


def test_diag_fails_when_the_setting_sends_elsewhere(playbook: Playbook) -> None:
    facts = healthy()
    facts.diagnostic_settings[0]["properties"]["workspaceId"] = WORKSPACE.replace("law-security", "law-other")
    outcome = CHECKS["BG.DIAG.1"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert "law-other" in outcome.offenders[0]


def test_diag_fails_with_no_setting(playbook: Playbook) -> None:
    outcome = CHECKS["BG.DIAG.1"](healthy(diagnostic_settings=[]), playbook)
    assert outcome.status is Status.FAILED


def test_diag_fails_without_monitoring_in_the_playbook(playbook: Playbook) -> None:
    outcome = CHECKS["BG.DIAG.1"](healthy(), playbook.model_copy(update={"monitoring": None}))
    assert outcome.status is Status.FAILED


# -- BG.AL.1 -----------------------------------------------------------------------------------------------


def test_al1_fails_when_no_rule_returns_an_audit_row(playbook: Playbook) -> None:
    facts = healthy()
    facts.coverage[ACTIVITY_RULE.lower()]["ea02"]["audit"] = False
    outcome = CHECKS["BG.AL.1"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert outcome.offenders == [
        "ea02: audit row returned by no enabled rule watching a workspace that receives AuditLogs"
    ]


def test_al1_a_disabled_rule_does_not_count(playbook: Playbook) -> None:
    facts = healthy()
    props_of(facts, 1)["enabled"] = False
    outcome = CHECKS["BG.AL.1"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert [o.split(" returned")[0] for o in sorted(outcome.offenders)] == [
        "ea01: audit row",
        "ea01: non-interactive sign-in",
        "ea02: audit row",
        "ea02: non-interactive sign-in",
    ]
    assert "Break-glass account activity" in outcome.summary


def test_al1_an_account_missing_from_the_coverage_is_uncovered(playbook: Playbook) -> None:
    facts = healthy(coverage={SIGNIN_RULE: {"ea01": dict(EVERYTHING)}})
    outcome = CHECKS["BG.AL.1"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert len(outcome.offenders) == 4  # ea02's four kinds


# -- BG.AL.2 -----------------------------------------------------------------------------------------------


def test_al2_fails_for_a_slow_covering_rule(playbook: Playbook) -> None:
    facts = healthy()
    props_of(facts, 1).update(evaluationFrequency="PT15M", windowSize="PT15M")
    outcome = CHECKS["BG.AL.2"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert outcome.offenders == ["Break-glass account activity: evaluated every PT15M (at most PT5M)"]


@pytest.mark.parametrize(
    ("operator", "threshold"), [("GreaterThan", 1.0), ("GreaterThanOrEqual", 2), ("LessThan", 0)]
)
def test_al2_fails_for_a_threshold_above_one_row(playbook: Playbook, operator: str, threshold: float) -> None:
    facts = healthy()
    props_of(facts, 0)["criteria"]["allOf"][0].update(operator=operator, threshold=threshold)
    outcome = CHECKS["BG.AL.2"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert "threshold" in outcome.offenders[0]


def test_al2_greater_or_equal_one_fires_on_one_row(playbook: Playbook) -> None:
    facts = healthy()
    props_of(facts, 0)["criteria"]["allOf"][0].update(operator="GreaterThanOrEqual", threshold=1)
    assert CHECKS["BG.AL.2"](facts, playbook).status is Status.PASSED


def test_al2_ignores_a_slow_rule_that_covers_nothing(playbook: Playbook) -> None:
    facts = healthy()
    extra = rule(
        f"{SUB}/providers/Microsoft.Insights/scheduledQueryRules/other", "other", "P1D", PRINCIPAL_1, "x"
    )
    facts.alert_rules.append(extra)
    facts.coverage[extra["id"]] = {"ea01": {"signin": False, "audit": False}}
    assert CHECKS["BG.AL.2"](facts, playbook).status is Status.PASSED


def test_al2_fails_when_no_rule_covers_anything(playbook: Playbook) -> None:
    outcome = CHECKS["BG.AL.2"](healthy(coverage={}), playbook)
    assert outcome.status is Status.FAILED


# -- BG.AL.3 -----------------------------------------------------------------------------------------------


def test_al3_fails_for_a_rule_without_identity(playbook: Playbook) -> None:
    facts = healthy()
    del facts.alert_rules[0]["identity"]
    outcome = CHECKS["BG.AL.3"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert outcome.offenders == ["Break-glass account sign-in: no managed identity (identity.type None)"]


def test_al3_fails_for_an_identity_without_reader(playbook: Playbook) -> None:
    facts = healthy()
    facts.identity_roles[PRINCIPAL_2] = [role("Log Analytics Reader")]
    outcome = CHECKS["BG.AL.3"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert outcome.offenders == ["Break-glass account activity: identity lacks Reader"]


def test_al3_user_assigned_identity_is_read_from_user_assigned_identities(playbook: Playbook) -> None:
    facts = healthy()
    facts.alert_rules[0]["identity"] = {
        "type": "UserAssigned",
        "userAssignedIdentities": {"/subscriptions/x/uami": {"principalId": PRINCIPAL_1, "clientId": "c"}},
    }
    assert CHECKS["BG.AL.3"](facts, playbook).status is Status.PASSED
    facts.identity_roles[PRINCIPAL_1] = []
    assert CHECKS["BG.AL.3"](facts, playbook).status is Status.FAILED


# -- BG.AL.4 -----------------------------------------------------------------------------------------------


def test_al4_fails_without_a_custom_subject(playbook: Playbook) -> None:
    facts = healthy()
    del props_of(facts, 1)["actions"]["actionProperties"]
    outcome = CHECKS["BG.AL.4"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert "Email.Subject" in outcome.offenders[0]


def test_al4_fails_when_the_receiver_is_another_mailbox(playbook: Playbook) -> None:
    facts = healthy()
    group = copy.deepcopy(facts.action_groups[GROUP.lower()])
    group["properties"]["emailReceivers"][0]["emailAddress"] = "someone-else@contoso.test"
    facts.action_groups[GROUP.lower()] = group
    outcome = CHECKS["BG.AL.4"](facts, playbook)
    assert outcome.status is Status.FAILED
    assert len(outcome.offenders) == 2


def test_al4_fails_for_a_disabled_receiver_or_group(playbook: Playbook) -> None:
    facts = healthy()
    facts.action_groups[GROUP.lower()]["properties"]["emailReceivers"][0]["status"] = "Disabled"
    assert CHECKS["BG.AL.4"](facts, playbook).status is Status.FAILED
    facts = healthy()
    facts.action_groups[GROUP.lower()]["properties"]["enabled"] = False
    assert CHECKS["BG.AL.4"](facts, playbook).status is Status.FAILED


def test_al4_fails_for_a_missing_action_group(playbook: Playbook) -> None:
    outcome = CHECKS["BG.AL.4"](healthy(action_groups={}), playbook)
    assert outcome.status is Status.FAILED
    assert any("does not exist" in o for o in outcome.offenders)


# -- BG.AL.5 -----------------------------------------------------------------------------------------------


def test_al5_not_applicable_when_the_playbook_names_no_rule(playbook: Playbook) -> None:
    outcome = CHECKS["BG.AL.5"](healthy(), playbook)
    assert outcome.status is Status.NOT_APPLICABLE
    assert "audit.sentinel_rules" in outcome.summary


def test_al5_passes_for_a_well_set_rule(playbook: Playbook) -> None:
    facts = healthy(sentinel_rules=[sentinel()])
    outcome = CHECKS["BG.AL.5"](facts, with_sentinel(playbook, "Break-glass sign-in (Sentinel)"))
    assert outcome.status is Status.PASSED, outcome.offenders


def test_al5_fails_when_sentinel_is_not_onboarded(playbook: Playbook) -> None:
    outcome = CHECKS["BG.AL.5"](healthy(sentinel_rules=None), with_sentinel(playbook, "BG"))
    assert outcome.status is Status.FAILED
    assert "not onboarded" in outcome.offenders[0]


def test_al5_fails_for_a_named_rule_that_does_not_exist(playbook: Playbook) -> None:
    outcome = CHECKS["BG.AL.5"](healthy(sentinel_rules=[sentinel()]), with_sentinel(playbook, "Other rule"))
    assert outcome.status is Status.FAILED


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"enabled": False}, "disabled"),
        ({"queryFrequency": "PT1H", "queryPeriod": "PT1H"}, "queryFrequency"),
        ({"triggerThreshold": 1}, "trigger"),
        ({"eventGroupingSettings": {"aggregationKind": "SingleAlert"}}, "event grouping"),
        ({"incidentConfiguration": {"createIncident": False}}, "incident creation off"),
        ({"suppressionEnabled": True}, "suppression"),
        ({"queryPeriod": "PT1M"}, "queryPeriod"),
    ],
)
def test_al5_fails_for_each_setting(playbook: Playbook, changes: dict[str, Any], fragment: str) -> None:
    facts = healthy(sentinel_rules=[sentinel(**changes)])
    outcome = CHECKS["BG.AL.5"](facts, with_sentinel(playbook, "Break-glass sign-in (Sentinel)"))
    assert outcome.status is Status.FAILED
    assert any(fragment in o for o in outcome.offenders), outcome.offenders


def test_al5_an_nrt_rule_has_no_frequency_or_trigger_to_judge(playbook: Playbook) -> None:
    nrt = sentinel()
    nrt["kind"] = "NRT"
    for key in ("queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold"):
        del nrt["properties"][key]
    pb = with_sentinel(playbook, "Break-glass sign-in (Sentinel)")
    assert CHECKS["BG.AL.5"](healthy(sentinel_rules=[nrt]), pb).status is Status.PASSED
    nrt["properties"]["eventGroupingSettings"] = {"aggregationKind": "SingleAlert"}
    assert CHECKS["BG.AL.5"](healthy(sentinel_rules=[nrt]), pb).status is Status.FAILED


def test_al5_another_rule_kind_fails(playbook: Playbook) -> None:
    fusion = sentinel()
    fusion["kind"] = "Fusion"
    outcome = CHECKS["BG.AL.5"](
        healthy(sentinel_rules=[fusion]), with_sentinel(playbook, "Break-glass sign-in (Sentinel)")
    )
    assert outcome.status is Status.FAILED
    assert any("kind Fusion" in o for o in outcome.offenders)
