"""BG.CA.1-5 on the demo facts and on named faults; both exclusion readings; and judge() over the demo facts
passing every Graph-side check (the other areas may still be placeholders on this branch)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from audit_support import (
    CA001,
    CA002,
    CA1,
    CA2,
    EA01,
    EA02,
    GA,
    GROUP,
    account,
    add_policy,
    demo_playbook,
    healthy_facts,
    judged_after,
    judged_healthy,
    judged_unread,
    policy,
)

from drill.audit import checks_accounts, checks_ca, checks_methods, checks_roles
from drill.audit.checks_ca import CHECKS
from drill.audit.facts import Facts
from drill.audit.model import Outcome, Status
from drill.playbook import Playbook

Mutate = Callable[[Facts, Playbook], object]
NEW = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c99"
GRAPH_SIDE = {
    **checks_accounts.CHECKS,
    **checks_roles.CHECKS,
    **checks_methods.CHECKS,
    **checks_ca.CHECKS,
}


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_healthy_demo_passes(check_id: str) -> None:
    outcome = judged_healthy(CHECKS[check_id])
    assert outcome.status is Status.PASSED, outcome.summary
    assert outcome.evidence


def _set(pid: str, path: str, value: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        target = policy(f, pid)
        keys = path.split(".")
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value

    return mutate


def _drop(pid: str) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        f.ca_policies = [p for p in f.ca_policies if p["id"] != pid]

    return mutate


def _new(users: dict[str, object], state: str = "enabled", block: bool = False) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        add_policy(f, NEW, "CA099 - New policy", users, state=state, block=block)

    return mutate


def _what_if(name: str, pid: str, applies: bool) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        for item in account(f, name).what_if:
            if item["id"] == pid:
                item["policyApplies"] = applies

    return mutate


STRENGTH_OR_MFA = {
    "operator": "OR",
    "builtInControls": ["mfa"],
    "authenticationStrength": {"id": "4d1f2e3a-5b6c-4d7e-8f90-a1b2c3d4e501"},
}
FAILING: list[tuple[str, str, Mutate, str]] = [
    ("BG.CA.1", "disabled", _set(CA1, "state", "disabled"), "not enabled"),
    ("BG.CA.1", "report-only", _set(CA1, "state", "enabledForReportingButNotEnforced"), "not enabled"),
    (
        "BG.CA.1",
        "one-app",
        _set(CA1, "conditions.applications.includeApplications", ["Office365"]),
        "all resources",
    ),
    ("BG.CA.1", "or-mfa", _set(CA1, "grantControls", STRENGTH_OR_MFA), "either one suffices"),
    (
        "BG.CA.1",
        "no-strength",
        _set(CA1, "grantControls", {"operator": "OR", "builtInControls": ["mfa"]}),
        "requires an authentication strength",
    ),
    (
        "BG.CA.1",
        "built-in-strength",
        _set(CA1, "grantControls.authenticationStrength", {"id": "00000000-0000-0000-0000-000000000004"}),
        "not a custom",
    ),
    (
        "BG.CA.1",
        "excludes-account",
        _set(CA1, "conditions.users.excludeUsers", [EA02]),
        "does not reach ea02",
    ),
    ("BG.CA.1", "missing", _drop(CA1), "not found"),
    ("BG.CA.2", "eight-hours", _set(CA2, "sessionControls.signInFrequency.value", 8), "not 4 hours"),
    ("BG.CA.2", "one-day", _set(CA2, "sessionControls.signInFrequency.type", "days"), "not 4 hours"),
    (
        "BG.CA.2",
        "every-time",
        _set(CA2, "sessionControls.signInFrequency.frequencyInterval", "everyTime"),
        "not 4 hours",
    ),
    ("BG.CA.2", "persistent", _set(CA2, "sessionControls.persistentBrowser.mode", "always"), "not never"),
    ("BG.CA.2", "no-session", _set(CA2, "sessionControls", None), "no break-glass policy sets session"),
    ("BG.CA.3", "mfa-all-users", _new({"includeUsers": ["All"]}), "CA099"),
    ("BG.CA.3", "block-all-users", _new({"includeUsers": ["All"]}, block=True), "1 of them blocking"),
    ("BG.CA.3", "by-role", _new({"includeRoles": [GA]}), "CA099"),
    ("BG.CA.3", "by-group", _new({"includeGroups": [GROUP]}), "CA099"),
    ("BG.CA.3", "directly", _new({"includeUsers": [EA01]}), "CA099"),
    ("BG.CA.3", "exclusion-removed", _set(CA001, "conditions.users.excludeGroups", []), "CA001"),
    ("BG.CA.3", "one-account-excluded", _new({"includeUsers": ["All"], "excludeUsers": [EA01]}), "CA099"),
    (
        "BG.CA.4",
        "report-only-all",
        _new({"includeUsers": ["All"]}, state="enabledForReportingButNotEnforced"),
        "CA099",
    ),
    ("BG.CA.5", "extra", _what_if("ea01", CA001, True), "CA001 - Require MFA"),
    ("BG.CA.5", "missing", _what_if("ea02", CA2, False), "does not apply"),
]


@pytest.mark.parametrize(
    ("check_id", "case", "mutate", "said"), FAILING, ids=[f"{c[0]}-{c[1]}" for c in FAILING]
)
def test_fault_fails(check_id: str, case: str, mutate: Mutate, said: str) -> None:
    outcome = judged_after(CHECKS[check_id], mutate)
    assert outcome.status is Status.FAILED, outcome.summary
    assert said in outcome.summary
    assert outcome.offenders


def test_every_check_has_a_failing_case() -> None:
    assert {c[0] for c in FAILING} == set(CHECKS)


UNREAD = [
    ("BG.CA.1", "ca_policies"),
    ("BG.CA.1", "auth_strengths"),
    ("BG.CA.2", "ca_policies"),
    ("BG.CA.3", "ca_policies"),
    ("BG.CA.3", "accounts.ea01.member_of"),
    ("BG.CA.3", "group_members"),
    ("BG.CA.4", "ca_policies"),
    ("BG.CA.4", "accounts.ea02.member_of"),
    ("BG.CA.5", "accounts.ea02.what_if"),
    ("BG.CA.5", "ca_policies"),
]


@pytest.mark.parametrize(("check_id", "fact"), UNREAD)
def test_unread_fact_is_an_error(check_id: str, fact: str) -> None:
    outcome = judged_unread(CHECKS[check_id], fact)
    assert outcome.status is Status.ERROR
    assert fact in outcome.summary


def test_every_check_has_an_unread_case() -> None:
    assert {c for c, _ in UNREAD} == set(CHECKS)


def test_both_readings_are_reported() -> None:
    facts = healthy_facts()
    _new({"includeUsers": ["All"]})(facts, demo_playbook())
    outcome = CHECKS["BG.CA.3"](facts, demo_playbook())
    assert outcome.status is Status.FAILED
    assert outcome.details["all_policies"] == {"offending": [f"CA099 - New policy ({NEW})"], "passed": False}
    assert outcome.details["blocking_only"] == {"offending": [], "passed": True}
    assert outcome.details["verdict_reading"] == "all_policies"
    assert outcome.details["why"][f"CA099 - New policy ({NEW})"] == {
        "ea01": ["includes All users"],
        "ea02": ["includes All users"],
    }


def test_blocking_reading_lists_the_blocking_policy() -> None:
    facts = healthy_facts()
    _set(CA002, "conditions.users.excludeGroups", [])(facts, demo_playbook())
    outcome = CHECKS["BG.CA.3"](facts, demo_playbook())
    assert outcome.details["blocking_only"]["offending"] == [f"CA002 - Block legacy authentication ({CA002})"]


@pytest.mark.parametrize(
    "users",
    [
        {"includeRoles": [GA], "excludeGroups": [GROUP]},
        {"includeUsers": ["GuestsOrExternalUsers"]},
        {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest"}},
        {"includeUsers": ["None"]},
    ],
)
def test_policies_that_do_not_reach_the_accounts_pass(users: dict[str, object]) -> None:
    facts = healthy_facts()
    _new(users, block=True)(facts, demo_playbook())
    assert CHECKS["BG.CA.3"](facts, demo_playbook()).status is Status.PASSED


@pytest.mark.parametrize(
    "users",
    [
        {"includeUsers": ["All"], "excludeUsers": [EA01, EA02]},
        {"includeUsers": ["All"], "excludeRoles": [GA]},
    ],
)
def test_exclusions_not_through_the_group_warn_without_failing(users: dict[str, object]) -> None:
    facts = healthy_facts()
    _new(users, block=True)(facts, demo_playbook())
    outcome = CHECKS["BG.CA.3"](facts, demo_playbook())
    assert outcome.status is Status.WARNING, outcome.summary
    assert "other than through the break-glass group" in outcome.summary


def test_guest_conditions_reach_a_guest_account() -> None:
    facts = healthy_facts()
    user = account(facts, "ea01").user
    assert user is not None
    user["userType"] = "Guest"
    _new({"includeUsers": ["GuestsOrExternalUsers"]})(facts, demo_playbook())
    assert CHECKS["BG.CA.3"](facts, demo_playbook()).status is Status.FAILED


def test_disabled_policy_is_not_judged() -> None:
    facts = healthy_facts()
    _new({"includeUsers": ["All"]}, state="disabled")(facts, demo_playbook())
    assert CHECKS["BG.CA.3"](facts, demo_playbook()).status is Status.PASSED
    assert CHECKS["BG.CA.4"](facts, demo_playbook()).status is Status.PASSED


def test_without_expected_policies_the_groups_policies_are_the_break_glass_ones() -> None:
    pb = demo_playbook()
    ca = pb.conditional_access.model_copy(update={"expected_policies": []})
    pb = pb.model_copy(update={"conditional_access": ca})
    for cid in sorted(CHECKS):
        assert CHECKS[cid](healthy_facts(), pb).status is Status.PASSED, cid


def test_what_if_lists_extra_and_missing_per_account() -> None:
    facts = healthy_facts()
    _what_if("ea01", CA001, True)(facts, demo_playbook())
    _what_if("ea02", CA1, False)(facts, demo_playbook())
    details = CHECKS["BG.CA.5"](facts, demo_playbook()).details
    assert details["ea01"] == {"extra": [f"CA001 - Require MFA for all users ({CA001})"], "missing": []}
    assert details["ea02"]["missing"] == [f"EA01 - Emergency access - require approved passkey ({CA1})"]


def test_judge_passes_every_graph_side_check_on_the_demo_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    from drill.audit import judge as judge_module
    from drill.audit.catalog import CATALOG
    from drill.audit.judge import judge

    # Areas still placeholders on this branch get a stub so judge() runs; once they land, nothing is stubbed.
    known = {cid for module in judge_module._MODULES for cid in module.CHECKS}
    stubs = {s.id: (lambda _f, _p: Outcome.passed("stub")) for s in CATALOG if s.id not in known}
    if stubs:
        monkeypatch.setattr(judge_module, "_MODULES", (*judge_module._MODULES, SimpleNamespace(CHECKS=stubs)))
    assert not set(GRAPH_SIDE) & set(stubs)
    results = {r.spec.id: r for r in judge(healthy_facts(), demo_playbook())}
    assert set(GRAPH_SIDE) <= set(results)
    failing = {
        cid: results[cid].outcome.summary for cid in GRAPH_SIDE if results[cid].status is not Status.PASSED
    }
    assert failing == {}


@pytest.mark.parametrize("check_id", sorted(GRAPH_SIDE))
def test_an_account_with_no_facts_at_all_is_never_a_pass(check_id: str) -> None:
    facts = healthy_facts()
    facts.accounts = [a for a in facts.accounts if a.name != "ea02"]
    outcome = GRAPH_SIDE[check_id](facts, demo_playbook())
    assert outcome.status is not Status.PASSED or check_id in NOT_PER_ACCOUNT, outcome.summary


# Checks that judge tenant objects only (no account is read for them).
NOT_PER_ACCOUNT = {
    "BG.GA.2",
    "BG.GRP.1",
    "BG.GRP.2",
    "BG.AU.1",
    "BG.PIM.1",
    "BG.PIM.2",
    "BG.PIM.3",
    "BG.PIM.4",
    "BG.PIM.5",
    "BG.PIM.6",
    "BG.AM.3",
}
