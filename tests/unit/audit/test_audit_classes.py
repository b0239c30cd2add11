"""Issue 26's classes over the facts model: tenant variations the checks were not written against.

Each misconfiguration class comes in at least two variations and must fail its own check; the healthy
variations (split diagnostic settings, a one-member group holding GA, exclusions by group and by user id
together, an extra report-only policy excluding the group) must pass every check they touch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from audit_support import (
    CA001,
    CA1,
    EA01,
    EA02,
    GROUP,
    WORKSPACE,
    account,
    add_policy,
    demo_playbook,
    healthy_facts,
    policy,
)

from drill.audit.catalog import CATALOG
from drill.audit.facts import Facts
from drill.audit.judge import registry
from drill.audit.model import Status
from drill.playbook import Playbook

Mutate = Callable[[Facts, Playbook], object]
CHECKS = registry()
OTHER_WORKSPACE = WORKSPACE.replace("law-security-contoso", "law-sandbox")
PARENT = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e99"
BOB = "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e02"
GA_GROUP = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e42"


def _user(name: str, **changes: Any) -> Mutate:
    return lambda f, _pb: (account(f, name).user or {}).update(changes)


def _rule_props(index: int, **changes: Any) -> Mutate:
    return lambda f, _pb: f.alert_rules[index]["properties"].update(changes)


def _coverage(kind: str, value: bool) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        for by_account in f.coverage.values():
            for kinds in by_account.values():
                kinds[kind] = value

    return mutate


def _standing(**changes: Any) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        f.unit_assignments.append({**f.unit_eligibilities[0], "id": "standing", **changes})

    return mutate


def _narrow(**conditions: Any) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        cond = policy(f, CA1)["conditions"]
        for key, value in conditions.items():
            if key in ("excludeApplications", "includeApplications"):
                cond["applications"][key] = value
            else:
                cond[key] = value

    return mutate


def _nested_exclusion(f: Facts, _pb: Playbook) -> None:
    """The other policies exclude a parent group that holds the break-glass group, not the group itself."""
    for acc in f.accounts:
        acc.member_of.append(
            {"@odata.type": "#microsoft.graph.group", "id": PARENT, "displayName": "CA exempt"}
        )
    for p in f.ca_policies:
        users = p["conditions"]["users"]
        if GROUP in users["excludeGroups"]:
            users["excludeGroups"] = [PARENT]


def _by_user_id_only(f: Facts, _pb: Playbook) -> None:
    users = policy(f, CA001)["conditions"]["users"]
    users["excludeGroups"], users["excludeUsers"] = [], [EA01, EA02]


def _not_excluded(f: Facts, _pb: Playbook) -> None:
    policy(f, CA001)["conditions"]["users"]["excludeGroups"] = []


def _report_only_reaching(f: Facts, _pb: Playbook) -> None:
    add_policy(f, "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c77", "CA050 - Pilot", {"includeUsers": ["All"]},
               state="enabledForReportingButNotEnforced")  # fmt: skip


# (class, variation, check that must fail, mutation)
MISCONFIGURED: list[tuple[str, str, str, Mutate]] = [
    ("1-scope", "rules scoped to another workspace",
     "BG.AL.1", lambda f, pb: [_rule_props(i, scopes=[OTHER_WORKSPACE])(f, pb) for i in (0, 1)]),
    ("1-scope", "logs sent elsewhere, rules on ours",
     "BG.AL.1", lambda f, _pb: f.diagnostic_settings[0]["properties"].update(workspaceId=OTHER_WORKSPACE)),
    ("2-standing", "permanent active assignment", "BG.PIM.6", _standing(assignmentType="Assigned")),
    ("2-standing", "time-bound active assignment",
     "BG.PIM.6", _standing(assignmentType="Assigned", endDateTime="2027-01-01T00:00:00Z")),
    ("3-guest", "userType Guest", "BG.ACC.9", _user("ea02", userType="Guest")),
    ("3-guest", "B2B member (creationType Invitation)", "BG.ACC.9",
     _user("ea02", creationType="Invitation")),
    ("3-guest", "#EXT# UPN on the initial domain", "BG.ACC.9",
     _user("ea02", userPrincipalName="ea02_fabrikam.com#EXT#@contoso.onmicrosoft.com")),
    ("4-mute", "activity rule muted for an hour", "BG.AL.6", _rule_props(1, muteActionsDuration="PT1H")),
    ("4-mute", "sign-in rule muted for a day", "BG.AL.6", _rule_props(0, muteActionsDuration="P1D")),
    ("5-narrow", "only some platforms", "BG.CA.1",
     _narrow(platforms={"includePlatforms": ["windows", "macOS"], "excludePlatforms": []})),
    ("5-narrow", "all platforms but one excluded", "BG.CA.1",
     _narrow(platforms={"includePlatforms": ["all"], "excludePlatforms": ["android"]})),
    ("5-narrow", "only browser clients", "BG.CA.1", _narrow(clientAppTypes=["browser"])),
    ("5-narrow", "an app excluded", "BG.CA.1",
     _narrow(excludeApplications=["797f4846-ba00-4fd7-ba43-dac1f8f63013"])),
    ("5-narrow", "trusted locations only", "BG.CA.1",
     _narrow(locations={"includeLocations": ["AllTrusted"], "excludeLocations": []})),
    ("5-narrow", "a device filter", "BG.CA.1",
     _narrow(devices={"deviceFilter": {"mode": "include", "rule": 'device.isCompliant -eq True'}})),
    ("6-failed", "no rule sees a failed sign-in", "BG.AL.1", _coverage("signin_failed", False)),
    ("6-noninteractive", "no rule sees a non-interactive sign-in", "BG.AL.1",
     _coverage("noninteractive", False)),
    ("7-exclusion", "not excluded at all", "BG.CA.3", _not_excluded),
    ("7-exclusion", "report-only policy reaching the accounts", "BG.CA.4", _report_only_reaching),
]  # fmt: skip


@pytest.mark.parametrize(
    ("klass", "variation", "check_id", "mutate"), MISCONFIGURED, ids=[f"{m[0]}:{m[1]}" for m in MISCONFIGURED]
)
def test_misconfiguration_fails_its_check(klass: str, variation: str, check_id: str, mutate: Mutate) -> None:
    facts, pb = healthy_facts(), demo_playbook()
    mutate(facts, pb)
    outcome = CHECKS[check_id](facts, pb)
    assert outcome.status is Status.FAILED, (variation, outcome.summary)
    assert outcome.offenders


def test_every_class_has_two_variations() -> None:
    per_class: dict[str, int] = {}
    for klass, *_ in MISCONFIGURED:
        per_class[klass.split("-")[0]] = per_class.get(klass.split("-")[0], 0) + 1
    assert sorted(per_class) == ["1", "2", "3", "4", "5", "6", "7"]
    assert min(per_class.values()) >= 2


def test_a_pim_activation_is_not_standing_access() -> None:
    facts, pb = healthy_facts(), demo_playbook()
    _standing(assignmentType="Activated", endDateTime="2026-01-15T10:00:00Z")(facts, pb)
    assert CHECKS["BG.PIM.6"](facts, pb).status is Status.PASSED


def test_muted_for_zero_is_not_muted() -> None:
    facts, pb = healthy_facts(), demo_playbook()
    _rule_props(1, muteActionsDuration="PT0M")(facts, pb)
    assert CHECKS["BG.AL.6"](facts, pb).status is Status.PASSED


def test_every_client_app_type_listed_is_every_sign_in() -> None:
    facts, pb = healthy_facts(), demo_playbook()
    _narrow(clientAppTypes=["browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other"])(
        facts, pb
    )
    assert CHECKS["BG.CA.1"](facts, pb).status is Status.PASSED


def test_non_interactive_coverage_is_needed_only_when_the_settings_send_it() -> None:
    facts, pb = healthy_facts(), demo_playbook()
    _coverage("noninteractive", False)(facts, pb)
    for log in facts.diagnostic_settings[0]["properties"]["logs"]:
        if log["category"] == "NonInteractiveUserSignInLogs":
            log["enabled"] = False
    outcome = CHECKS["BG.AL.1"](facts, pb)
    assert outcome.status is Status.PASSED, outcome.summary
    assert outcome.details["required"] == ["signin", "signin_failed", "audit"]


def test_a_rule_scoped_to_the_resource_group_is_not_counted() -> None:
    """A resource-group scope runs resource-centric queries, which do not see Entra's tenant-level rows
    (BELIEF): not counted, so the belief can only fail an audit, never pass one."""
    facts, pb = healthy_facts(), demo_playbook()
    rg = WORKSPACE.split("/providers/")[0]
    for i in (0, 1):
        _rule_props(i, scopes=[rg])(facts, pb)
    outcome = CHECKS["BG.AL.1"](facts, pb)
    assert outcome.status is Status.FAILED
    assert "scoped to a workspace the logs do not reach" in outcome.summary


# -- class 7: nested exclusions -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "mutate", [_nested_exclusion, _by_user_id_only], ids=["parent-group", "user-id-only"]
)
def test_exclusion_not_through_the_group_warns_and_does_not_fail(mutate: Mutate) -> None:
    facts, pb = healthy_facts(), demo_playbook()
    mutate(facts, pb)
    outcome = CHECKS["BG.CA.3"](facts, pb)
    assert outcome.status is Status.WARNING, outcome.summary
    assert "other than through the break-glass group" in outcome.summary
    assert outcome.details["all_policies"]["passed"] is True


def test_ca3_catalogue_text_says_what_it_judges() -> None:
    spec = next(s for s in CATALOG if s.id == "BG.CA.3")
    assert "warns if not through the group" in spec.title
    assert "nested groups" in spec.rationale
    assert "warns, without failing" in spec.rationale
    assert "break-glass group itself" in spec.remediation


# -- healthy tenants the audit was not written against -------------------------------------------------------
def _split_settings(f: Facts, _pb: Playbook) -> None:
    one = f.diagnostic_settings[0]
    f.diagnostic_settings = []
    for category in ("SignInLogs", "NonInteractiveUserSignInLogs", "AuditLogs"):
        part = copy.deepcopy(one)
        part["name"] = f"entra-{category.lower()}"
        part["properties"]["logs"] = [
            {**log, "enabled": log["category"] == category} for log in one["properties"]["logs"]
        ]
        f.diagnostic_settings.append(part)


def _one_member_ga_group(f: Facts, _pb: Playbook) -> None:
    """A role-assignable group holds GA; Bob, its one member, also has an inherited memberType Group one."""
    base = f.ga_assignments[0]
    f.ga_assignments.append({**base, "id": "grp", "principalId": GA_GROUP, "memberType": "Direct"})
    f.ga_assignments.append({**base, "id": "grp-bob", "principalId": BOB, "memberType": "Group"})
    f.ga_principals[GA_GROUP] = {
        "id": GA_GROUP,
        "@odata.type": "#microsoft.graph.group",
        "members": [{"id": BOB, "displayName": "Bob Admin", "userPrincipalName": "bob@contoso.test"}],
    }


def _group_and_user_ids(f: Facts, _pb: Playbook) -> None:
    policy(f, CA001)["conditions"]["users"]["excludeUsers"] = [EA01, EA02]


def _report_only_excluding_group(f: Facts, _pb: Playbook) -> None:
    add_policy(f, "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c78", "CA051 - Pilot block",
               {"includeUsers": ["All"], "excludeGroups": [GROUP]}, state="enabledForReportingButNotEnforced",
               block=True)  # fmt: skip


HEALTHY: list[tuple[str, Mutate, tuple[str, ...]]] = [
    ("split diagnostic settings", _split_settings, ("BG.DIAG.1", "BG.AL.1")),
    ("one-member group holding GA", _one_member_ga_group, ("BG.GA.1", "BG.GA.2")),
    ("exclusions by group and by user id", _group_and_user_ids, ("BG.CA.3", "BG.CA.4", "BG.CA.5")),
    (
        "report-only policy excluding the group",
        _report_only_excluding_group,
        ("BG.CA.3", "BG.CA.4", "BG.CA.5"),
    ),
]


@pytest.mark.parametrize(("name", "mutate", "checks"), HEALTHY, ids=[h[0] for h in HEALTHY])
def test_healthy_variation_passes(name: str, mutate: Mutate, checks: tuple[str, ...]) -> None:
    facts, pb = healthy_facts(), demo_playbook()
    mutate(facts, pb)
    for check_id in checks:
        outcome = CHECKS[check_id](facts, pb)
        assert outcome.status is Status.PASSED, (name, check_id, outcome.summary)


def test_ga_ceiling_shows_both_readings_and_lists_the_people() -> None:
    facts, pb = healthy_facts(), demo_playbook()
    _one_member_ga_group(facts, pb)
    outcome = CHECKS["BG.GA.2"](facts, pb)
    readings = outcome.details["readings"]
    assert readings["principals"]["count"] == 4  # ea01, ea02, the group, Alice (eligible)
    assert readings["people"]["count"] == 4  # ea01, ea02, Bob, Alice: Bob once, the group not at all
    assert any("Bob Admin <bob@contoso.test>" in who for who in readings["people"]["who"])
    assert "a group counts as one" in readings["principals"]["how"]


def test_ga_ceiling_judges_by_the_larger_count() -> None:
    """A group of three people is one principal but three people: the people reading decides."""
    facts, pb = healthy_facts(), demo_playbook()
    _one_member_ga_group(facts, pb)
    facts.ga_principals[GA_GROUP]["members"] += [
        {"id": f"7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e1{n}", "displayName": f"Admin {n}"} for n in range(2)
    ]
    outcome = CHECKS["BG.GA.2"](facts, pb)
    assert outcome.details["readings"]["principals"]["count"] == 4
    assert outcome.details["readings"]["people"]["count"] == 6
    assert outcome.status is Status.FAILED


def test_what_if_report_only_policy_is_left_to_ca4() -> None:
    facts, pb = healthy_facts(), demo_playbook()
    _report_only_reaching(facts, pb)
    for acc in facts.accounts:
        acc.what_if.append({**facts.ca_policies[-1], "policyApplies": True, "analysisReasons": "notSet"})
    outcome = CHECKS["BG.CA.5"](facts, pb)
    assert outcome.status is Status.PASSED, outcome.summary
    assert outcome.details["ea01"]["report_only_applies"]


def test_every_catalogue_entry_names_its_reading() -> None:
    assert all(spec.reading for spec in CATALOG)
    by_id = {spec.id: spec.reading for spec in CATALOG}
    assert "stricter" in by_id["BG.CA.3"]
    assert "blocking" in by_id["BG.CA.3"]
    assert "people" in by_id["BG.GA.2"]
    assert "principals" in by_id["BG.GA.2"]
    assert {"BG.ACC.9", "BG.PIM.6", "BG.AL.6"} <= set(by_id)


def test_guest_signs_need_the_read() -> None:
    facts, pb = healthy_facts(), demo_playbook()
    (account(facts, "ea01").user or {}).pop("userType")
    outcome = CHECKS["BG.ACC.9"](facts, pb)
    assert outcome.status is Status.FAILED
    assert "userType was not read" in outcome.summary
