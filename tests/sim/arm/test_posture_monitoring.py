"""The posture audit's monitoring reader over real HTTPS against the simulator, as the observer.

azure-mgmt-monitor, azure-mgmt-authorization and azure-monitor-query talk to the simulator exactly as to
Azure; the demo tenant reads clean, each posture variant changes what the check needs, and a missing role
is recorded in `facts.unread` with the role to grant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from arm_support import observer_credential

from drill.assets import DEMO_PLAYBOOK
from drill.audit.checks_alerting import rules_cover_accounts
from drill.audit.facts import Facts
from drill.audit.model import Status
from drill.audit.read_monitoring import NO_ARM, monitoring_reader, read_monitoring, read_monitoring_with
from drill.clouds import cloud_for
from drill.playbook import Playbook
from drill.playbook.load import load_playbook
from drill.sim.arm import posture_faults
from drill.sim.faults import apply_fault
from drill.sim.server import SimServer

REPO = Path(__file__).resolve().parents[3]
KINDS = ("signin", "signin_failed", "noninteractive", "audit")  # what drill/audit/synthetic.py proves
SIGNIN_RULE, ACTIVITY_RULE = "Break-glass account sign-in", "Break-glass account activity"
IDENTITY = {
    SIGNIN_RULE: "7e6d5c4b-3a29-4181-9f0e-1d2c3b4a5f01",
    ACTIVITY_RULE: "7e6d5c4b-3a29-4181-9f0e-1d2c3b4a5f02",
}


def _playbook(sim: SimServer, change: Callable[[Playbook], Playbook] | None = None) -> Playbook:
    env = {"DRILL_SIM_PORT": str(sim.port), "DRILL_SIM_CA": str(sim.ca_path)}
    pb = load_playbook(DEMO_PLAYBOOK, env=env)
    return change(pb) if change else pb


class _NoLogs:
    """A Log Analytics client for tests about ARM facts only: the synthetic-row queries (a dozen per read,
    the slow part) are not run, and coverage is left unread, as the reader leaves any failed query."""

    def query_workspace(self, *_args: Any, **_kwargs: Any) -> Any:
        from azure.core.exceptions import ServiceRequestError

        raise ServiceRequestError("not queried in this test")


def _read(sim: SimServer, secret: str, pb: Playbook | None = None, *, coverage: bool = True) -> Facts:
    pb = pb or _playbook(sim)
    cloud = cloud_for(pb)
    cred = observer_credential(sim, secret, str(pb.tenant.id))
    facts = Facts(tenant_id=str(pb.tenant.id), read_at=datetime.now(UTC))
    if coverage:
        monitoring_reader(cred, cloud)(facts, pb)  # as drill/audit/run.py's default_readers calls it
        return facts
    from drill.monitoring.arm import ArmReader

    read_monitoring_with(facts, pb, lambda sub: ArmReader(cred, cloud, sub), _NoLogs())
    assert facts.unread.pop("coverage").startswith("the synthetic-row queries failed")
    return facts


def _rule(facts: Facts, name: str) -> dict[str, Any]:
    return next(r for r in facts.alert_rules if r["name"] == name)


def _coverage(facts: Facts, name: str) -> dict[str, dict[str, bool]]:
    return facts.coverage[_rule(facts, name)["id"]]


def test_demo_tenant_reads_clean_in_arm_json(sim: SimServer, observer_secret: str) -> None:
    facts = _read(sim, observer_secret)
    assert facts.unread == {}
    # Entra's diagnostic setting, as ARM lists it
    [setting] = facts.diagnostic_settings
    categories = {log["category"] for log in setting["properties"]["logs"] if log["enabled"]}
    assert categories == {"SignInLogs", "NonInteractiveUserSignInLogs", "AuditLogs"}
    # both rules, in REST JSON with their managed identity, criteria, frequency and actions
    assert {r["name"] for r in facts.alert_rules} == {SIGNIN_RULE, ACTIVITY_RULE}
    for name, principal in IDENTITY.items():
        rule = _rule(facts, name)
        assert rule["identity"]["type"] == "SystemAssigned"
        assert rule["identity"]["principalId"] == principal
        props = rule["properties"]
        assert props["criteria"]["allOf"][0]["operator"] == "GreaterThan"
        assert props["evaluationFrequency"] in ("PT1M", "PT5M")
        assert props["actions"]["actionProperties"]["Email.Subject"]
        roles = {a["roleName"] for a in facts.identity_roles[principal]}
        assert roles == {"Log Analytics Reader", "Reader"}
        assert all(a["properties"]["scope"].endswith("/workspaces/law-security-contoso")
                   for a in facts.identity_roles[principal])  # fmt: skip
    # the action group, keyed by its lower-cased id
    [group] = facts.action_groups.values()
    assert group["properties"]["emailReceivers"][0]["emailAddress"] == "soc-alerts@contoso.test"
    # no Sentinel on the demo workspace: None, not an empty list, and a note saying why
    assert facts.sentinel_rules is None
    assert any("not onboarded to Microsoft Sentinel" in n for n in facts.notes)
    # the two rules together cover both accounts' sign-ins and directory changes
    # (failed sign-ins too; non-interactive ones through the activity rule, which reads that table)
    signin_only = {"signin": True, "signin_failed": True, "noninteractive": False, "audit": False}
    assert _coverage(facts, SIGNIN_RULE) == {"ea01": signin_only, "ea02": signin_only}
    assert _coverage(facts, ACTIVITY_RULE) == {
        "ea01": dict.fromkeys(KINDS, True),
        "ea02": dict.fromkeys(KINDS, True),
    }
    assert facts.requests["arm"] >= 7
    assert facts.requests["logs"] >= 10


def test_observer_without_azure_rbac_is_told_which_role_to_grant(
    sim: SimServer, observer_secret: str
) -> None:
    apply_fault(sim.state, "arm-observer-no-read")
    facts = _read(sim, observer_secret)
    assert "Reader at scope /providers/Microsoft.aadiam" in facts.unread["diagnostic_settings"]
    assert "elevated access" in facts.unread["diagnostic_settings"]
    assert facts.diagnostic_settings_forbidden
    assert "Monitoring Reader on /subscriptions/" in facts.unread["alert_rules"]
    assert "AuthorizationFailed" in facts.unread["alert_rules"]
    assert facts.alert_rules == []
    assert facts.coverage == {}


def test_role_reads_demand_their_own_scope(sim: SimServer, observer_secret: str) -> None:
    """Monitoring Reader on the resource group reads the rules but not RBAC at another resource group."""
    from azure.core.exceptions import HttpResponseError

    from drill.monitoring.arm import ArmReader

    pb = _playbook(sim)
    facts = _read(sim, observer_secret, pb, coverage=False)
    assert facts.identity_roles
    cred = observer_credential(sim, observer_secret, str(pb.tenant.id))
    arm = ArmReader(cred, cloud_for(pb), str(pb.monitoring.subscription_id))  # type: ignore[union-attr]
    other = f"/subscriptions/{pb.monitoring.subscription_id}/resourceGroups/rg-other"  # type: ignore[union-attr]
    with pytest.raises(HttpResponseError) as refused:
        arm.role_assignments(other, IDENTITY[SIGNIN_RULE])
    assert refused.value.status_code == 403
    assert "Microsoft.Authorization/roleAssignments/read" in str(refused.value)


@pytest.mark.parametrize("fault", posture_faults.CHECK_VARIANTS["BG.AL.1"])
def test_coverage_variants_lose_an_account_or_a_kind(
    sim: SimServer, observer_secret: str, fault: str
) -> None:
    apply_fault(sim.state, fault)
    facts = _read(sim, observer_secret)
    assert facts.unread == {}
    covered = {
        (account, kind)
        for per_rule in facts.coverage.values()
        for account, kinds in per_rule.items()
        for kind, ok in kinds.items()
        if ok
    }
    everything = {(a, k) for a in ("ea01", "ea02") for k in KINDS}
    outcome = rules_cover_accounts(facts, _playbook(sim))
    assert outcome.status is Status.FAILED, outcome.summary
    if fault == "posture-alert-other-workspace":  # every row is caught, by a rule watching the wrong place
        assert "scoped to a workspace the logs do not reach" in outcome.summary
        return
    assert covered < everything, f"{fault} should leave something uncovered, covered {sorted(covered)}"


def test_id_typo_loses_exactly_the_mistyped_account(sim: SimServer, observer_secret: str) -> None:
    apply_fault(sim.state, "posture-alert-id-typo")
    facts = _read(sim, observer_secret)
    for name in (SIGNIN_RULE, ACTIVITY_RULE):
        assert _coverage(facts, name)["ea02"] == dict.fromkeys(KINDS, False)
        assert _coverage(facts, name)["ea01"]["signin"] is True


def test_has_any_on_upns_misses_the_passkey_sign_in_row(sim: SimServer, observer_secret: str) -> None:
    apply_fault(sim.state, "posture-alert-has-any-upn")
    facts = _read(sim, observer_secret)
    assert _coverage(facts, ACTIVITY_RULE)["ea01"] == {
        "signin": False,
        "signin_failed": True,  # the failed attempt's row carries the UPN
        "noninteractive": False,
        "audit": True,
    }
    assert any("object id in UserPrincipalName" in n for n in facts.notes)


def _frequency(f: Facts) -> bool:
    return bool(_rule(f, ACTIVITY_RULE)["properties"]["evaluationFrequency"] == "PT15M")


def _threshold(f: Facts) -> bool:
    return bool(_rule(f, SIGNIN_RULE)["properties"]["criteria"]["allOf"][0]["threshold"] == 2)


def _roles(f: Facts) -> bool:
    return f.identity_roles[IDENTITY[SIGNIN_RULE]] == []


def _no_identity(f: Facts) -> bool:
    return f.identity_roles == {} and all("identity" not in r for r in f.alert_rules)


def _no_subject(f: Facts) -> bool:
    actions = _rule(f, SIGNIN_RULE)["properties"]["actions"] or {}
    return not (actions.get("actionProperties") or {}).get("Email.Subject")


def _no_auditlogs(f: Facts) -> bool:
    return "AuditLogs" not in {lg["category"] for lg in f.diagnostic_settings[0]["properties"]["logs"]}


@pytest.mark.parametrize(
    ("fault", "read"),
    [
        ("posture-alert-slow", _frequency),
        ("posture-alert-threshold-2", _threshold),
        ("posture-alert-identity-no-reader", _roles),
        ("posture-alert-no-identity", _no_identity),
        ("posture-alert-no-subject", _no_subject),
        ("posture-diag-no-auditlogs", _no_auditlogs),
    ],
)
def test_variants_show_in_what_is_read(
    sim: SimServer, observer_secret: str, fault: str, read: Callable[[Facts], bool]
) -> None:
    assert not read(_healthy(sim, observer_secret)), f"{fault}: the healthy demo already looks broken"
    apply_fault(sim.state, fault)
    assert read(_read(sim, observer_secret, coverage=False))


_HEALTHY: list[Facts] = []


def _healthy(sim: SimServer, secret: str) -> Facts:
    """The demo tenant as read once in this worker (the predicates only look at content, not ports)."""
    if not _HEALTHY:
        _HEALTHY.append(_read(sim, secret, coverage=False))
    return _HEALTHY[0]


def test_sentinel_rule_is_read_when_the_workspace_is_onboarded(sim: SimServer, observer_secret: str) -> None:
    posture_faults.onboard_sentinel(sim.state)
    facts = _read(sim, observer_secret, coverage=False)
    [rule] = facts.sentinel_rules or []
    props = rule["properties"]
    assert rule["kind"] == "Scheduled"
    assert props["displayName"] == posture_faults.SENTINEL_RULE
    timing = (
        props["queryFrequency"],
        props["queryPeriod"],
        props["triggerOperator"],
        props["triggerThreshold"],
    )
    assert timing == ("PT5M", "PT5M", "GreaterThan", 0)
    assert props["eventGroupingSettings"]["aggregationKind"] == "AlertPerResult"
    assert props["incidentConfiguration"]["createIncident"] is True


def test_weak_sentinel_rule_variant(sim: SimServer, observer_secret: str) -> None:
    apply_fault(sim.state, "posture-sentinel-weak-rule")
    props = (_read(sim, observer_secret, coverage=False).sentinel_rules or [{}])[0]["properties"]
    assert props["queryFrequency"] == "PT1H"
    assert props["triggerThreshold"] == 5
    assert props["eventGroupingSettings"]["aggregationKind"] == "SingleAlert"
    assert props["incidentConfiguration"]["createIncident"] is False


def test_playbook_without_monitoring_marks_every_monitoring_fact_unread(
    sim: SimServer, observer_secret: str
) -> None:
    def bare(pb: Playbook) -> Playbook:
        audit = pb.audit.model_copy(update={"sentinel_rules": [posture_faults.SENTINEL_RULE]})
        return pb.model_copy(update={"monitoring": None, "audit": audit})

    facts = _read(sim, observer_secret, _playbook(sim, bare))
    assert set(facts.unread) == {
        "diagnostic_settings", "alert_rules", "identity_roles", "action_groups", "coverage", "sentinel_rules",
    }  # fmt: skip
    assert facts.requests.get("arm", 0) == 0
    assert facts.requests.get("logs", 0) == 0


def test_rule_named_in_the_playbook_but_not_deployed_is_noted(sim: SimServer, observer_secret: str) -> None:
    def extra(pb: Playbook) -> Playbook:
        assert pb.monitoring is not None
        rules = [*pb.monitoring.rules, "Break-glass rule never deployed"]
        return pb.model_copy(update={"monitoring": pb.monitoring.model_copy(update={"rules": rules})})

    facts = _read(sim, observer_secret, _playbook(sim, extra), coverage=False)
    assert "alert_rules" not in facts.unread
    assert len(facts.alert_rules) == 2
    assert any("Break-glass rule never deployed does not exist" in n for n in facts.notes)


def test_every_posture_variant_is_registered_and_mapped_to_a_monitoring_check() -> None:
    from drill.audit.catalog import BY_ID
    from drill.sim.faults import all_faults

    known = all_faults()
    mapped = {name for names in posture_faults.CHECK_VARIANTS.values() for name in names}
    assert mapped <= set(known)
    assert {f.name for f in posture_faults.FAULTS} <= mapped
    assert set(posture_faults.CHECK_VARIANTS) <= set(BY_ID)
    assert set(posture_faults.CHECK_VARIANTS) == {"BG.DIAG.1", *(f"BG.AL.{n}" for n in range(1, 7))}


def test_user_assigned_identity_roles_are_read_by_its_principal(sim: SimServer, observer_secret: str) -> None:
    shared = "7e6d5c4b-3a29-4181-9f0e-1d2c3b4a5f09"
    for rule in sim.state.tenant.alertRules:
        rule["identity"] = {"type": "UserAssigned", "userAssigned": [{"name": "id-breakglass-alerts",
                                                                      "principalId": shared}]}  # fmt: skip
    for grant in sim.state.tenant.azure["roleAssignments"]:
        grant["principalId"] = shared
    facts = _read(sim, observer_secret, coverage=False)
    identity = _rule(facts, SIGNIN_RULE)["identity"]
    assert identity["type"] == "UserAssigned"
    [(resource_id, user)] = identity["userAssignedIdentities"].items()
    assert resource_id.endswith("/userAssignedIdentities/id-breakglass-alerts")
    assert user["principalId"] == shared
    assert list(facts.identity_roles) == [shared]
    assert {a["roleName"] for a in facts.identity_roles[shared]} == {"Log Analytics Reader", "Reader"}


def test_a_cloud_without_arm_endpoint_leaves_every_monitoring_fact_unread(sim: SimServer) -> None:
    import dataclasses

    pb = _playbook(sim)
    cloud = dataclasses.replace(cloud_for(pb), arm_endpoint="")
    facts = Facts(tenant_id=str(pb.tenant.id), read_at=datetime.now(UTC))
    read_monitoring(facts, pb, object(), cloud)  # type: ignore[arg-type]  # never used: nothing is read
    assert facts.unread["alert_rules"] == NO_ARM
    assert facts.unread["coverage"] == NO_ARM
    assert facts.alert_rules == []


def test_an_unreachable_workspace_query_api_is_unread_not_raised(
    sim: SimServer, observer_secret: str
) -> None:
    """Log Analytics down (connection refused): coverage is unread with the cause, ARM facts still read."""
    import dataclasses

    pb = _playbook(sim)
    cloud = dataclasses.replace(cloud_for(pb), logs_endpoint="https://127.0.0.1:9")
    cred = observer_credential(sim, observer_secret, str(pb.tenant.id))
    facts = Facts(tenant_id=str(pb.tenant.id), read_at=datetime.now(UTC))
    monitoring_reader(cred, cloud)(facts, pb)
    assert len(facts.alert_rules) == 2
    # The one line naming the host and what to check (issue 25), not the SDK's error text.
    assert facts.unread["coverage"].startswith("cannot reach 127.0.0.1:9: nothing accepts connections")
    assert list(facts.unreachable) == ["127.0.0.1:9"]
    assert facts.coverage == {}
