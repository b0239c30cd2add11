"""BG.GA.1-2, BG.GRP.1-2, BG.AU.1, BG.PIM.1-5: pass on the demo facts, fail on named faults, ERROR unread."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from audit_support import (
    AU,
    EA01,
    EA02,
    GA,
    GROUP,
    ROLE,
    account,
    demo_playbook,
    healthy_facts,
    judged_after,
    judged_healthy,
    judged_unread,
    pim_rule,
    policy,
)

from drill.audit.checks_roles import CHECKS
from drill.audit.facts import Facts
from drill.audit.model import Status
from drill.playbook import Playbook
from drill.steps.ga_proof import classify

Mutate = Callable[[Facts, Playbook], object]
CA010 = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c05"


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_healthy_demo_passes(check_id: str) -> None:
    outcome = judged_healthy(CHECKS[check_id])
    assert outcome.status is Status.PASSED, outcome.summary
    assert outcome.evidence


def _ga(principal: str, **changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        for i in f.ga_assignments:
            if i["principalId"] == principal:
                i.update(changes)

    return mutate


def _ga_eligible_only(f: Facts, _pb: Playbook) -> None:
    moved = [i for i in f.ga_assignments if i["principalId"] == EA02]
    f.ga_assignments = [i for i in f.ga_assignments if i["principalId"] != EA02]
    f.ga_eligibilities.extend({k: v for k, v in i.items() if k != "assignmentType"} for i in moved)


def _more_admins(n: int) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        for k in range(n):
            f.ga_eligibilities.append(
                {
                    "id": f"e{k}",
                    "principalId": f"00000000-0000-4000-8000-0000000000{k:02d}",
                    "roleDefinitionId": GA,
                    "directoryScopeId": "/",
                    "memberType": "Direct",
                    "endDateTime": None,
                }
            )

    return mutate


def _group(**changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        assert f.group is not None
        f.group.update(changes)

    return mutate


def _no_group(f: Facts, _pb: Playbook) -> None:
    f.group = None


def _extra_member(f: Facts, _pb: Playbook) -> None:
    f.group_members.append(
        {
            "@odata.type": "#microsoft.graph.user",
            "id": "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01",
            "displayName": "Alice (daily admin)",
        }
    )


def _missing_member(f: Facts, _pb: Playbook) -> None:
    f.group_members = [m for m in f.group_members if m["id"] != EA02]


def _unit(**changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        f.admin_units[0].update(changes)

    return mutate


def _unit_without(member: str) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        f.admin_units[0]["members"] = [m for m in f.admin_units[0]["members"] if m["id"] != member]

    return mutate


def _builtin_role(f: Facts, _pb: Playbook) -> None:
    f.unit_roles[0]["isBuiltIn"] = True


def _eligible_tenant_wide(f: Facts, _pb: Playbook) -> None:
    f.unit_eligibilities[0]["directoryScopeId"] = "/"


def _rule(rule_id: str, **changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        pim_rule(f, rule_id).update(changes)

    return mutate


def _no_policy(f: Facts, _pb: Playbook) -> None:
    f.role_policies.clear()


def _context_policy(**changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        p = policy(f, CA010)
        for path, value in changes.items():
            target = p
            keys = path.split("__")
            for k in keys[:-1]:
                target = target[k]
            target[keys[-1]] = value

    return mutate


APPROVAL = "Approval_EndUser_Assignment"
FAILING: list[tuple[str, str, Mutate, str]] = [
    ("BG.GA.1", "group-inherited", _ga(EA01, memberType="Group"), "not direct"),
    ("BG.GA.1", "time-bound", _ga(EA01, endDateTime="2026-06-01T00:00:00Z"), "time-bound"),
    ("BG.GA.1", "scoped", _ga(EA01, directoryScopeId=f"/administrativeUnits/{AU}"), "not tenant-wide"),
    ("BG.GA.1", "activated", _ga(EA01, assignmentType="Activated"), "PIM activation"),
    ("BG.GA.1", "eligible-only", _ga_eligible_only, "eligible only"),
    ("BG.GA.2", "over-ceiling", _more_admins(2), "5 Global Administrator"),
    ("BG.GRP.1", "not-role-assignable", _group(isAssignableToRole=False), "isAssignableToRole"),
    (
        "BG.GRP.1",
        "dynamic",
        _group(groupTypes=["DynamicMembership"], membershipRule='user.department -eq "IT"'),
        "dynamic",
    ),
    ("BG.GRP.1", "absent", _no_group, "does not exist"),
    ("BG.GRP.2", "extra", _extra_member, "Alice"),
    ("BG.GRP.2", "missing", _missing_member, "Emergency Access 02"),
    ("BG.AU.1", "not-restricted", _unit(isMemberManagementRestricted=False), "not restricted"),
    ("BG.AU.1", "group-outside", _unit_without(GROUP), "Emergency Access Accounts"),
    ("BG.AU.1", "account-outside", _unit_without(EA01), "Emergency Access 01"),
    ("BG.PIM.1", "built-in-only", _builtin_role, "no custom role"),
    ("BG.PIM.1", "tenant-wide", _eligible_tenant_wide, "no custom role"),
    ("BG.PIM.2", "8-hours", _rule("Expiration_EndUser_Assignment", maximumDuration="PT8H"), "PT8H"),
    ("BG.PIM.2", "no-policy", _no_policy, "no role management policy"),
    (
        "BG.PIM.3",
        "no-approval",
        _rule(APPROVAL, setting={"isApprovalRequired": False, "approvalStages": []}),
        "not required",
    ),
    (
        "BG.PIM.3",
        "no-approvers",
        _rule(APPROVAL, setting={"isApprovalRequired": True, "approvalStages": [{"primaryApprovers": []}]}),
        "no approver",
    ),
    (
        "BG.PIM.4",
        "no-justification",
        _rule("Enablement_EndUser_Assignment", enabledRules=["Ticketing"]),
        "Justification",
    ),
    (
        "BG.PIM.5",
        "no-context",
        _rule("AuthenticationContext_EndUser_Assignment", isEnabled=False),
        "no authentication",
    ),
    (
        "BG.PIM.5",
        "unknown-context",
        _rule("AuthenticationContext_EndUser_Assignment", claimValue="c9"),
        "does not exist",
    ),
    (
        "BG.PIM.5",
        "weak-strength",
        _context_policy(grantControls__authenticationStrength={"id": "00000000-0000-0000-0000-000000000002"}),
        "phishing-resistant",
    ),
    ("BG.PIM.5", "or-operator", _context_policy(grantControls__operator="OR"), "OR"),
    (
        "BG.PIM.5",
        "no-compliant-device",
        _context_policy(grantControls__builtInControls=[]),
        "compliant device",
    ),
    (
        "BG.PIM.5",
        "time-based",
        _context_policy(
            sessionControls__signInFrequency={
                "isEnabled": True,
                "value": 4,
                "type": "hours",
                "frequencyInterval": "timeBased",
            }
        ),
        "every time",
    ),
    ("BG.PIM.5", "report-only", _context_policy(state="enabledForReportingButNotEnforced"), "state"),
    (
        "BG.PIM.5",
        "no-policy-on-context",
        _context_policy(conditions__applications__includeAuthenticationContextClassReferences=[]),
        "no CA policy targets",
    ),
    (
        "BG.PIM.6",
        "standing-assignment",
        lambda f, _pb: f.unit_assignments.append(
            {**f.unit_eligibilities[0], "id": "standing", "assignmentType": "Assigned"}
        ),
        "bypass PIM",
    ),
]


@pytest.mark.parametrize(
    ("check_id", "case", "mutate", "said"), FAILING, ids=[f"{c[0]}-{c[1]}" for c in FAILING]
)
def test_fault_fails(check_id: str, case: str, mutate: Mutate, said: str) -> None:
    outcome = judged_after(CHECKS[check_id], mutate)
    assert outcome.status is Status.FAILED, outcome.summary
    assert said in outcome.summary


def test_every_check_has_a_failing_case() -> None:
    assert {c[0] for c in FAILING} == set(CHECKS)


UNREAD = [
    ("BG.GA.1", "ga_assignments"),
    ("BG.GA.1", "ga_eligibilities"),
    ("BG.GA.2", "ga_assignments"),
    ("BG.GA.2", "ga_eligibilities"),
    ("BG.GRP.1", "group"),
    ("BG.GRP.2", "group_members"),
    ("BG.AU.1", "admin_units"),
    ("BG.PIM.1", "unit_roles"),
    ("BG.PIM.1", "unit_eligibilities"),
    ("BG.PIM.2", "role_policies"),
    ("BG.PIM.3", "role_policies"),
    ("BG.PIM.4", "role_policies"),
    ("BG.PIM.5", "role_policies"),
    ("BG.PIM.5", "auth_contexts"),
    ("BG.PIM.5", "ca_policies"),
    ("BG.PIM.6", "unit_assignments"),
    ("BG.GA.2", "ga_principals"),
]


@pytest.mark.parametrize(("check_id", "fact"), UNREAD)
def test_unread_fact_is_an_error(check_id: str, fact: str) -> None:
    outcome = judged_unread(CHECKS[check_id], fact)
    assert outcome.status is Status.ERROR
    assert fact in outcome.summary


def test_every_check_has_an_unread_case() -> None:
    assert {c for c, _ in UNREAD} == set(CHECKS)


def test_ga_judged_exactly_as_the_drill_judges_it() -> None:
    facts = healthy_facts()
    _ga(EA01, memberType="Group")(facts, demo_playbook())
    outcome = CHECKS["BG.GA.1"](facts, demo_playbook())
    mine = [i for i in facts.ga_assignments if i["principalId"] == EA01]
    _, drill_reason = classify(mine, [], EA01)
    assert outcome.details["reasons"]["ea01"] == drill_reason
    assert outcome.offenders == ["Emergency Access 01 (0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01)"]


def test_ga_without_pim_licence_uses_role_assignments() -> None:
    facts = healthy_facts()
    facts.ga_assignments = [
        {"id": "a1", "principalId": EA01, "roleDefinitionId": GA, "directoryScopeId": "/"},
        {"id": "a2", "principalId": EA02, "roleDefinitionId": GA, "directoryScopeId": "/"},
    ]
    outcome = CHECKS["BG.GA.1"](facts, demo_playbook())
    assert outcome.status is Status.PASSED
    assert "permanence not provable" in outcome.details["read_through"]


def test_missing_account_fails_ga() -> None:
    facts = healthy_facts()
    account(facts, "ea02").user = None
    outcome = CHECKS["BG.GA.1"](facts, demo_playbook())
    assert outcome.status is Status.FAILED
    assert "does not exist" in outcome.summary


@pytest.mark.parametrize(
    ("extra", "met", "unmet"),
    [
        (0, {"playbook_ceiling", "recommended_design", "microsoft", "scubagear_ms_aad_7_1"}, set()),
        (2, {"scubagear_ms_aad_7_1"}, {"playbook_ceiling", "recommended_design", "microsoft"}),
        (6, set(), {"playbook_ceiling", "recommended_design", "microsoft", "scubagear_ms_aad_7_1"}),
    ],
)
def test_ga_ceiling_reports_each_standard(extra: int, met: set[str], unmet: set[str]) -> None:
    facts = healthy_facts()
    _more_admins(extra)(facts, demo_playbook())
    standards = CHECKS["BG.GA.2"](facts, demo_playbook()).details["standards"]
    assert {k for k, v in standards.items() if v["met"]} == met
    assert {k for k, v in standards.items() if not v["met"]} == unmet


def test_ga_ceiling_counts_a_principal_once() -> None:
    facts = healthy_facts()
    facts.ga_eligibilities.append({**facts.ga_assignments[0], "id": "dup"})
    assert CHECKS["BG.GA.2"](facts, demo_playbook()).details["count"] == 3


def test_ga_ceiling_below_scuba_minimum_still_passes_playbook() -> None:
    facts = healthy_facts()
    facts.ga_eligibilities = []
    facts.ga_assignments = facts.ga_assignments[:1]
    outcome = CHECKS["BG.GA.2"](facts, demo_playbook())
    assert outcome.status is Status.PASSED
    assert outcome.details["standards"]["scubagear_ms_aad_7_1"]["met"] is False


def test_no_group_in_playbook_fails() -> None:
    pb = demo_playbook()
    ca = pb.conditional_access.model_copy(update={"break_glass_group_id": None})
    pb = pb.model_copy(update={"conditional_access": ca})
    assert CHECKS["BG.GRP.1"](healthy_facts(), pb).status is Status.FAILED


def test_pim_with_no_management_role_fails_every_rule() -> None:
    facts = healthy_facts()
    facts.unit_eligibilities = []
    for cid in ("BG.PIM.2", "BG.PIM.3", "BG.PIM.4", "BG.PIM.5"):
        assert CHECKS[cid](facts, demo_playbook()).status is Status.FAILED, cid


def test_custom_strength_of_phishing_resistant_modes_passes_pim5() -> None:
    facts = healthy_facts()
    facts.auth_strengths.append(
        {
            "id": "custom-pr",
            "displayName": "Keys and WHfB",
            "policyType": "custom",
            "allowedCombinations": ["fido2", "windowsHelloForBusiness"],
        }
    )
    _context_policy(grantControls__authenticationStrength={"id": "custom-pr"})(facts, demo_playbook())
    assert CHECKS["BG.PIM.5"](facts, demo_playbook()).status is Status.PASSED
    facts.auth_strengths[-1]["allowedCombinations"].append("password,microsoftAuthenticatorPush")
    assert CHECKS["BG.PIM.5"](facts, demo_playbook()).status is Status.FAILED


def test_unit_role_policy_keyed_case_insensitively() -> None:
    facts = healthy_facts()
    facts.role_policies = {ROLE.upper(): facts.role_policies[ROLE]}
    assert CHECKS["BG.PIM.2"](facts, demo_playbook()).status is Status.PASSED
