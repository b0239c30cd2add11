"""The posture audit's Graph reader against the simulated demo tenant, over real HTTPS, as the observer.

`drill demo`'s world is used as is: both software keys registered through a real WebAuthn ceremony, the
observer signing in with client credentials (azure-identity) and reading through msgraph-sdk's adapter.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from graph_support import EA01, EA02, GA

from drill.audit.facts import Facts
from drill.audit.read_graph import read_graph
from drill.run.demo import demo_world

GROUP = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e01"
AU = "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c01"
MANAGER_ROLE = "5e1f0a2b-3c4d-4e5f-8a9b-0c1d2e3f4a01"
AAGUIDS = {"d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001", "d8a1c3e2-0002-4b1d-a5e1-5a1d0000b002"}

pytestmark = pytest.mark.slow


def audit_read(world: Any, *, wait: bool = False) -> Facts:
    from drill.auth import observer_credential

    facts = Facts(tenant_id=str(world.playbook.tenant.id), read_at=datetime.now(UTC))
    credential = observer_credential(world.playbook, world.cloud)

    async def no_wait(_: float) -> None:
        return None

    try:
        sleep = asyncio.sleep if wait else no_wait
        asyncio.run(read_graph(facts, world.playbook, credential, world.cloud, sleep=sleep))
    finally:
        credential.close()  # type: ignore[attr-defined]
    return facts


def graph_log(world: Any) -> int:
    """The simulator's Graph request counter (HTTP requests, `$batch` envelopes counting once)."""
    return world.sim.state.services["graph"]["requests"]  # type: ignore[no-any-return]


def request_log(world: Any) -> list[dict[str, Any]]:
    """Every request Graph answered, the ones inside `$batch` envelopes too."""
    return list(world.sim.state.services["graph"].get("log", []))


def test_reads_the_demo_tenant_completely(tmp_path: Path) -> None:
    with demo_world(tmp_path) as world:
        before, logged = graph_log(world), len(request_log(world))
        facts = audit_read(world)
        served = graph_log(world) - before
        log = request_log(world)[logged:]
    assert facts.unread == {}, facts.unread
    assert facts.notes == []
    # Domains: the initial onmicrosoft.com domain, the default custom one.
    assert {(d["id"], d["isInitial"], d["isDefault"]) for d in facts.domains} == {
        ("contoso.test", False, True), ("contoso.onmicrosoft.com", True, False)}  # fmt: skip
    [ea01, ea02] = facts.accounts
    assert (ea01.object_id, ea02.object_id) == (EA01, EA02)
    for acct in (ea01, ea02):
        user = acct.user or {}
        assert user["passwordPolicies"] == "DisablePasswordExpiration"
        assert user["accountEnabled"] is True
        assert user["onPremisesSyncEnabled"] is None
        assert user["assignedLicenses"] == []
        assert acct.licenses == []
        kinds = sorted(m["@odata.type"] for m in acct.methods)
        assert kinds == ["#microsoft.graph.fido2AuthenticationMethod",
                         "#microsoft.graph.passwordAuthenticationMethod"]  # fmt: skip
        assert len(acct.fido2) == 1
        types = {(m["@odata.type"], m["id"]) for m in acct.member_of}
        assert ("#microsoft.graph.group", GROUP) in types
        assert ("#microsoft.graph.administrativeUnit", AU) in types
        roles = [
            m["roleTemplateId"]
            for m in acct.member_of
            if m["@odata.type"] == "#microsoft.graph.directoryRole"
        ]
        assert roles == [GA]  # what CA includeRoles/excludeRoles name
        applied = sorted(r["displayName"][:4] for r in acct.what_if if r["policyApplies"])
        assert applied == ["EA01", "EA02"]
    assert {ea01.fido2[0]["aaGuid"], ea02.fido2[0]["aaGuid"]} == AAGUIDS
    # Global Administrator: both accounts active and permanent, Alice eligible.
    assert sorted(a["principalId"] for a in facts.ga_assignments) == [EA01, EA02]
    assert {a["roleDefinitionId"] for a in facts.ga_assignments + facts.ga_eligibilities} == {GA}
    assert len(facts.ga_eligibilities) == 1
    # The group and the restricted unit holding the accounts and the group.
    assert facts.group is not None
    assert facts.group["isAssignableToRole"] is True
    assert "@odata.context" not in facts.group
    assert {m["id"] for m in facts.group_members} == {EA01, EA02}
    [unit] = facts.admin_units
    assert unit["isMemberManagementRestricted"] is True
    assert {m["id"] for m in unit["members"]} == {EA01, EA02, GROUP}
    # The custom role eligible at the unit's scope, and its PIM rules.
    assert [e["roleDefinitionId"] for e in facts.unit_eligibilities] == [MANAGER_ROLE]
    assert facts.unit_assignments == []
    assert [r["displayName"] for r in facts.unit_roles] == ["Emergency access account manager"]
    rules = {r["id"]: r for r in facts.role_policies[MANAGER_ROLE]["rules"]}
    assert rules["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT1H"
    assert rules["Approval_EndUser_Assignment"]["setting"]["isApprovalRequired"] is True
    assert "Justification" in rules["Enablement_EndUser_Assignment"]["enabledRules"]
    assert rules["AuthenticationContext_EndUser_Assignment"]["claimValue"] == "c1"
    assert [c["id"] for c in facts.auth_contexts] == ["c1"]
    # Methods policy: passkeys for the group, every other method excluding it.
    configs = {c["id"]: c for c in facts.methods_policy["authenticationMethodConfigurations"]}
    assert configs["Fido2"]["includeTargets"][0]["id"] == GROUP
    assert set(configs["Fido2"]["keyRestrictions"]["aaGuids"]) == AAGUIDS
    for cid, config in configs.items():
        if cid != "Fido2":
            assert {t["id"] for t in config["excludeTargets"]} == {GROUP}, cid
    campaign = facts.methods_policy["registrationEnforcement"]["authenticationMethodsRegistrationCampaign"]
    assert [t["id"] for t in campaign["excludeTargets"]] == [GROUP]
    assert any(s["policyType"] == "custom" for s in facts.auth_strengths)
    assert len(facts.ca_policies) == 5
    # Few requests: three batch rounds (the first needs one envelope), no listing of users or groups.
    assert facts.requests["graph"] == served
    assert served <= 5, facts.requests
    assert facts.requests["graph_batched"] >= 24
    # The simulator's log: batched, selected, named objects only (never a list of users or groups).
    paths = [(e["method"], e["path"]) for e in log]
    assert paths.count(("POST", "/$batch")) == served
    assert ("GET", "/users") not in paths
    assert ("GET", "/groups") not in paths
    assert len(log) == served + facts.requests["graph_batched"]
    for e in log:
        if e["path"] in (f"/users/{EA01}", f"/users/{EA02}", "/domains", f"/groups/{GROUP}"):
            assert "$select" in e["query"], e
        if e["path"].endswith("ScheduleInstances") or e["path"].endswith("roleManagementPolicyAssignments"):
            assert "$filter" in e["query"], e


def _acct(facts: Facts, i: int = 1) -> Any:
    return facts.accounts[i]


def _configs(facts: Facts) -> dict[str, Any]:
    return {c["id"]: c for c in facts.methods_policy["authenticationMethodConfigurations"]}


def _rules(facts: Facts) -> dict[str, Any]:
    return {r["id"]: r for r in facts.role_policies[MANAGER_ROLE]["rules"]}


def _policy(facts: Facts, prefix: str) -> Any:
    return next(p for p in facts.ca_policies if p["displayName"].startswith(prefix))


# variant -> what the observer must now read (False on the healthy demo tenant)
SEEN: dict[str, Any] = {
    "posture-account-deleted": lambda f: _acct(f).user is None,
    "posture-account-synced": lambda f: _acct(f).user["onPremisesSyncEnabled"] is True,
    "posture-upn-custom-domain": lambda f: _acct(f).user["userPrincipalName"].endswith("@contoso.test"),
    "posture-personal-name": lambda f: _acct(f).user["displayName"] == "John Smith",
    "posture-account-disabled": lambda f: _acct(f).user["accountEnabled"] is False,
    "posture-password-expires": lambda f: (
        _acct(f).user["passwordPolicies"] is None
        and {d["passwordValidityPeriodInDays"] for d in f.domains} == {90, 2147483647}
    ),
    "posture-extra-method-sms": lambda f: (
        "#microsoft.graph.phoneAuthenticationMethod" in {m["@odata.type"] for m in _acct(f).methods}
    ),
    "posture-account-licensed": lambda f: (
        [x["skuId"] for x in _acct(f).licenses] == ["06ebc4ee-1bb5-47dd-8120-11324bc54e06"]
    ),
    "posture-ga-time-bound": lambda f: any(
        a["principalId"] == EA02 and a["endDateTime"] for a in f.ga_assignments
    ),
    "posture-ga-over-ceiling": lambda f: len(f.ga_assignments) + len(f.ga_eligibilities) == 6,
    "posture-group-not-role-assignable": lambda f: f.group["isAssignableToRole"] is False,
    "posture-group-extra-member": lambda f: len(f.group_members) == 3,
    "posture-au-not-restricted": lambda f: f.admin_units[0]["isMemberManagementRestricted"] is False,
    "posture-au-without-group": lambda f: GROUP not in {m["id"] for m in f.admin_units[0]["members"]},
    "posture-unit-role-standing": lambda f: (
        not f.unit_eligibilities and [a["roleDefinitionId"] for a in f.unit_assignments] == [MANAGER_ROLE]
    ),
    "posture-unit-role-standing-beside-pim": lambda f: (
        [e["roleDefinitionId"] for e in f.unit_eligibilities] == [MANAGER_ROLE]
        and [a["assignmentType"] for a in f.unit_assignments] == ["Assigned"]
    ),
    "posture-account-guest": lambda f: (
        _acct(f).user["userType"] == "Guest" and "#EXT#" in _acct(f).user["userPrincipalName"]
    ),
    "posture-account-b2b-member": lambda f: _acct(f).user["creationType"] == "Invitation",
    "posture-ca1-browser-only": lambda f: _policy(f, "EA01")["conditions"]["clientAppTypes"] == ["browser"],
    "posture-pim-8h-activation": lambda f: (
        _rules(f)["Expiration_EndUser_Assignment"]["maximumDuration"] == "PT8H"
    ),
    "posture-pim-no-approval": lambda f: (
        not _rules(f)["Approval_EndUser_Assignment"]["setting"]["isApprovalRequired"]
    ),
    "posture-pim-no-justification": lambda f: (
        "Justification" not in _rules(f)["Enablement_EndUser_Assignment"]["enabledRules"]
    ),
    "posture-pim-no-auth-context": lambda f: (
        not _rules(f)["AuthenticationContext_EndUser_Assignment"]["isEnabled"]
    ),
    "posture-context-policy-no-device": lambda f: (
        "compliantDevice" not in _policy(f, "CA010")["grantControls"]["builtInControls"]
    ),
    "posture-fido2-disabled": lambda f: _configs(f)["Fido2"]["state"] == "disabled",
    "posture-key-restriction-locks-out": lambda f: (
        _acct(f).fido2[0]["aaGuid"] not in _configs(f)["Fido2"]["keyRestrictions"]["aaGuids"]
    ),
    "posture-passkey-profile-elsewhere": lambda f: (
        len(_configs(f)["Fido2"].get("passkeyProfiles") or []) == 1
    ),
    "posture-authenticator-targets-group": lambda f: (
        _configs(f)["MicrosoftAuthenticator"]["excludeTargets"] == []
    ),
    "posture-account-without-key": lambda f: _acct(f).fido2 == [] and len(_acct(f, 0).fido2) == 2,
    "posture-keys-one-vendor": lambda f: _acct(f).fido2[0]["aaGuid"] == _acct(f, 0).fido2[0]["aaGuid"],
    "posture-strength-any-key": lambda f: (
        next(s for s in f.auth_strengths if s["policyType"] == "custom")["combinationConfigurations"] == []
    ),
    "posture-ca1-builtin-strength": lambda f: (
        _policy(f, "EA01")["grantControls"]["authenticationStrength"]["id"]
        == "00000000-0000-0000-0000-000000000002"
    ),
    "posture-ca1-app-excluded": lambda f: (
        _policy(f, "EA01")["conditions"]["applications"]["excludeApplications"]
        == ["00000002-0000-0ff1-ce00-000000000000"]
    ),
    "posture-ca1-mobile-only": lambda f: (
        [r["displayName"][:4] for r in _acct(f).what_if if r["policyApplies"]] == ["EA02"]
        and _policy(f, "EA01")["conditions"]["platforms"]["includePlatforms"] == ["android", "iOS"]
    ),
    "posture-ca2-12h-frequency": lambda f: (
        _policy(f, "EA02")["sessionControls"]["signInFrequency"]["value"] == 12
    ),
    "posture-legacy-block-includes-group": lambda f: (
        GROUP not in _policy(f, "CA002")["conditions"]["users"]["excludeGroups"]
    ),
    "posture-report-only-includes-group": lambda f: any(
        p["state"] == "enabledForReportingButNotEnforced" for p in f.ca_policies
    ),
    "posture-whatif-account-excluded": lambda f: (
        [r["displayName"][:4] for r in _acct(f).what_if if r["policyApplies"]] == ["EA02"]
    ),
}


def test_every_posture_variant_is_read_as_graph_serves_it(tmp_path: Path) -> None:
    """Each variant changes what the observer reads, and nothing it reads becomes unreadable."""
    from drill.audit.catalog import CATALOG
    from drill.sim.faults import all_faults, apply_fault
    from drill.sim.graph.posture_faults import ALSO_FAILS, CHECK_VARIANTS, FAULTS

    variants = sorted(f.name for f in FAULTS)
    assert all(name.startswith("posture-") and name in all_faults() for name in variants)
    assert sorted(SEEN) == variants
    assert sorted({v for names in CHECK_VARIANTS.values() for v in names}) == variants
    areas = ("ACC", "GA", "GRP", "AU", "PIM", "AM", "AS", "CA")
    graph_checks = [s.id for s in CATALOG if s.id.split(".")[1] in areas]
    assert sorted(CHECK_VARIANTS) == sorted(graph_checks)
    # every check has a variant that breaks it alone, but where the design ties checks together
    alone = {c for c, names in CHECK_VARIANTS.items() if any(n not in ALSO_FAILS for n in names)}
    # BG.CA.5: What If is the simulator's own policy reading, which BG.CA.1 (narrowing) and BG.CA.3 (effective
    # exclusion) now read too, so nothing breaks What If alone.
    assert sorted(set(graph_checks) - alone) == ["BG.ACC.1", "BG.ACC.7", "BG.AM.6", "BG.CA.5", "BG.PIM.1"]
    with demo_world(tmp_path) as world:
        state = world.sim.state
        healthy = state.tenant.copy()
        baseline = audit_read(world)
        for name in variants:
            assert not SEEN[name](baseline), f"{name} already holds on the demo tenant"
            state.tenant = healthy.copy()
            state.faults.clear()
            # As if a second had passed: the Conditional Access limit (1 read a second, no Retry-After) is
            # shown by its own tests; here it would only make each variant wait.
            state.services["graph"].pop("ca_last", None)
            apply_fault(state, name)
            facts = audit_read(world)
            assert facts.unread == {}, (name, facts.unread)
            assert SEEN[name](facts), name


def test_refusals_and_missing_objects_are_unread_never_empty(tmp_path: Path) -> None:
    """An observer without a permission reads an ERROR (unread with Graph's words), not an empty list."""
    with demo_world(tmp_path) as world:
        state = world.sim.state
        observer = state.tenant.application(str(world.playbook.observer.client_id))  # type: ignore[union-attr]
        assert observer is not None
        keep = {"Mail.Read", "Directory.Read.All", "Policy.Read.All"}
        observer["appRoles"] = [r for r in observer["appRoles"] if r in keep]
        state.tenant.users[:] = [u for u in state.tenant.users if u["id"] != EA02]
        facts = audit_read(world)
    ea01, ea02 = facts.accounts
    assert ea02.user is None  # the account is missing: not unreadable
    assert not any(k.startswith("accounts.ea02") for k in facts.unread)
    assert facts.unread["accounts.ea01.methods"].startswith("HTTP 403 Authorization_RequestDenied")
    assert facts.unread["accounts.ea01.fido2"].startswith("HTTP 403")
    assert ea01.methods == []
    assert "domains" not in facts.unread  # Directory.Read.All reads domains
    assert facts.unread["ga_assignments"].startswith("HTTP 403 UnknownError")  # PIM's wording
    assert "PermissionScopeNotGranted" in facts.unread["ga_assignments"]
    assert "role_policies" in facts.unread
    assert facts.unread["auth_contexts"].startswith("HTTP 403 AccessDenied")  # Policy.Read.All is not enough
    assert {"group", "group_members", "ca_policies", "methods_policy"}.isdisjoint(facts.unread)


def test_throttled_batch_items_are_retried_then_reported(tmp_path: Path) -> None:
    with demo_world(tmp_path) as world:
        state = world.sim.state
        state.faults["graph-throttled"] = {"remaining": 4, "retryAfter": 1}
        healed = audit_read(world)
        state.faults["graph-throttled"] = {"remaining": 10_000, "retryAfter": 1}
        broken = audit_read(world)
    assert healed.unread == {}
    assert healed.requests["graph_batched"] > 24  # the four throttled requests went again
    assert broken.unread
    reasons = broken.unread.values()
    assert all("HTTP 429 TooManyRequests" in why or "depends on" in why for why in reasons), broken.unread
    assert "accounts.ea01.user" in broken.unread
    assert broken.domains == []  # and the unread names say why


def test_without_entra_id_p2_the_reader_falls_back_and_says_so(tmp_path: Path) -> None:
    with demo_world(tmp_path) as world:
        world.sim.state.tenant.pim_licensed = False
        facts = audit_read(world)
    assert facts.unread == {}
    [note] = facts.notes
    assert "AadPremiumLicenseRequired" in note
    assert sorted(a["principalId"] for a in facts.ga_assignments) == [EA01, EA02]
    assert {(a["assignmentType"], a["memberType"]) for a in facts.ga_assignments} == {("Assigned", "Direct")}
    assert facts.ga_eligibilities == []
    assert facts.unit_eligibilities == []
    assert facts.role_policies == {}


def test_no_token_means_everything_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drill.run.demo import OBSERVER_SECRET_ENV

    with demo_world(tmp_path) as world:
        monkeypatch.setenv(OBSERVER_SECRET_ENV, "not-the-secret")
        facts = audit_read(world)
    assert facts.domains == []
    assert facts.unread["domains"].startswith("no answer from Graph ClientAuthenticationError")
    assert "not-the-secret" not in " ".join(facts.unread.values())
    assert {"ca_policies", "methods_policy", "group", "accounts.ea01.user"} <= set(facts.unread)


def test_every_ca_policy_page_is_read(tmp_path: Path) -> None:
    """A tenant with 300 policies: the reader follows @odata.nextLink (pages of 100) and reads them all,
    one page a second: Conditional Access allows one request per second per tenant, 429 without
    Retry-After beyond (the simulator refuses faster pages, so a reader that hurried would show here)."""
    with demo_world(tmp_path) as world:
        policies = world.sim.state.tenant.conditionalAccessPolicies
        template = policies[2]  # CA001, excluding the break-glass group
        for n in range(300 - len(policies)):
            policies.append(
                {**template, "id": f"00000000-0000-4000-8000-{n:012d}", "displayName": f"CA{n:04d}"}
            )
        logged = len(request_log(world))
        facts = audit_read(world, wait=True)
        log = request_log(world)[logged:]
        throttled = world.sim.state.services["graph"].get("ca_throttled", 0)
    assert facts.unread == {}
    assert len(facts.ca_policies) == 300
    assert len({p["id"] for p in facts.ca_policies}) == 300
    pages = [e for e in log if e["path"] == "/identity/conditionalAccess/policies"]
    assert len(pages) == 3  # no page was refused and asked again
    assert throttled == 0
    assert all("$skiptoken" in e["query"] for e in pages[1:])
    assert all(b["at"] - a["at"] >= 1.0 for a, b in itertools.pairwise(pages))


def test_conditional_access_answers_429_without_retry_after_beyond_one_request_a_second(
    tmp_path: Path,
) -> None:
    """The simulator's side of that limit: a second read within the second is refused, as Graph does."""
    with demo_world(tmp_path) as world:
        fast = [audit_read(world) for _ in range(2)]  # no pacing between the two audits' first pages
        throttled = world.sim.state.services["graph"].get("ca_throttled", 0)
    assert throttled >= 1
    assert all(f.unread == {} for f in fast)  # the reader's batch retry still read them (after 1 s)


def test_healthy_variations_read_as_one_consistent_answer(tmp_path: Path) -> None:
    """Issue 26's healthy tenants through the simulator: exclusion through a parent group, exclusion by user
    id beside the group, an extra report-only policy excluding the group, and a one-member group holding GA.
    What If (nested groups honoured) and the policy reading agree: BG.CA.3 warns, BG.CA.5 passes."""
    from drill.audit.judge import registry
    from drill.audit.model import Status

    parent, ga_group = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e98", "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e97"
    alice = "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01"
    with demo_world(tmp_path) as world:
        t = world.sim.state.tenant
        t.groups.append(
            {
                "id": parent,
                "displayName": "CA exemptions",
                "isAssignableToRole": False,
                "securityEnabled": True,
                "mailEnabled": False,
                "groupTypes": [],
                "members": [GROUP],
            }
        )
        t.groups.append(
            {
                "id": ga_group,
                "displayName": "Tier-0 admins",
                "isAssignableToRole": True,
                "securityEnabled": True,
                "mailEnabled": False,
                "groupTypes": [],
                "members": [alice],
            }
        )
        t.roleAssignments.append(
            {
                **t.roleAssignments[0],
                "id": "ga-group-a",
                "principalId": ga_group,
                "roleAssignmentOriginId": "ga-group",
                "roleAssignmentScheduleId": "ga-group",
            }
        )
        others = [
            p
            for p in t.conditionalAccessPolicies
            if GROUP in ((p.get("conditions") or {}).get("users") or {}).get("excludeGroups", [])
        ]
        others[0]["conditions"]["users"]["excludeGroups"] = [parent]  # only through the parent group
        others[1]["conditions"]["users"]["excludeUsers"] = [EA01, EA02]  # by user id beside the group
        pilot = {
            **others[1],
            "id": "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c99",
            "displayName": "CA099 - Pilot",
            "state": "enabledForReportingButNotEnforced",
        }
        t.conditionalAccessPolicies.append(pilot)
        facts = audit_read(world)
        pb = world.playbook
    assert facts.unread == {}
    checks = registry()
    got = {cid: checks[cid](facts, pb) for cid in ("BG.CA.3", "BG.CA.4", "BG.CA.5", "BG.GA.1", "BG.GA.2")}
    assert got["BG.CA.3"].status is Status.WARNING, got["BG.CA.3"].summary
    assert list(got["BG.CA.3"].details["not_through_group"]) == [
        f"{others[0]['displayName']} ({others[0]['id']})"
    ]
    for cid in ("BG.CA.4", "BG.CA.5", "BG.GA.1", "BG.GA.2"):
        assert got[cid].status is Status.PASSED, (cid, got[cid].summary)
    assert facts.ga_principals[ga_group]["members"][0]["id"] == alice
    readings = got["BG.GA.2"].details["readings"]
    assert (readings["principals"]["count"], readings["people"]["count"]) == (4, 3)  # Alice once
