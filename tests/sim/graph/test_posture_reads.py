"""The posture audit's Graph reader against the simulated demo tenant, over real HTTPS, as the observer.

`drill demo`'s world is used as is: both software keys registered through a real WebAuthn ceremony, the
observer signing in with client credentials (azure-identity) and reading through msgraph-sdk's adapter.
"""

from __future__ import annotations

import asyncio
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


def audit_read(world: Any) -> Facts:
    from drill.auth import observer_credential

    facts = Facts(tenant_id=str(world.playbook.tenant.id), read_at=datetime.now(UTC))
    credential = observer_credential(world.playbook, world.cloud)

    async def no_wait(_: float) -> None:
        return None

    try:
        asyncio.run(read_graph(facts, world.playbook, credential, world.cloud, sleep=no_wait))
    finally:
        credential.close()  # type: ignore[attr-defined]
    return facts


def graph_log(world: Any) -> list[str]:
    """The simulator's Graph request counter (HTTP requests, `$batch` envelopes counting once)."""
    return world.sim.state.services["graph"]["requests"]  # type: ignore[no-any-return]


def test_reads_the_demo_tenant_completely(tmp_path: Path) -> None:
    with demo_world(tmp_path) as world:
        before = graph_log(world)
        facts = audit_read(world)
        served = graph_log(world) - before
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
        assert user["accountEnabled"] is True and user["onPremisesSyncEnabled"] is None
        assert user["assignedLicenses"] == [] and acct.licenses == []
        kinds = sorted(m["@odata.type"] for m in acct.methods)
        assert kinds == ["#microsoft.graph.fido2AuthenticationMethod",
                         "#microsoft.graph.passwordAuthenticationMethod"]  # fmt: skip
        assert len(acct.fido2) == 1
        types = {(m["@odata.type"], m["id"]) for m in acct.member_of}
        assert ("#microsoft.graph.group", GROUP) in types
        assert ("#microsoft.graph.administrativeUnit", AU) in types
        applied = sorted(r["displayName"][:4] for r in acct.what_if if r["policyApplies"])
        assert applied == ["EA01", "EA02"]
    assert {ea01.fido2[0]["aaGuid"], ea02.fido2[0]["aaGuid"]} == AAGUIDS
    # Global Administrator: both accounts active and permanent, Alice eligible.
    assert sorted(a["principalId"] for a in facts.ga_assignments) == [EA01, EA02]
    assert {a["roleDefinitionId"] for a in facts.ga_assignments + facts.ga_eligibilities} == {GA}
    assert len(facts.ga_eligibilities) == 1
    # The group and the restricted unit holding the accounts and the group.
    assert facts.group is not None and facts.group["isAssignableToRole"] is True
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
    assert any(s["policyType"] == "custom" for s in facts.auth_strengths)
    assert len(facts.ca_policies) == 5
    # Few requests: three batch rounds (the first needs one envelope), no listing of users or groups.
    assert facts.requests["graph"] == served
    assert served <= 5, facts.requests
    assert facts.requests["graph_batched"] >= 24
