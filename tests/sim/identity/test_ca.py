"""Conditional Access evaluation as a pure function: conditions, states, grants, What-If reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drill.sim.identity import ca
from drill.sim.tenant import Tenant, tenant_from_dict

EA = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
ALICE = "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01"
GROUP = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e01"
GA = "62e90394-69f5-4237-9190-012177145e10"
APP = "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"
GRAPH = "00000003-0000-0000-c000-000000000000"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
AAGUID = "d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001"


def policy(
    pid: str,
    *,
    state: str = "enabled",
    users: dict[str, Any] | None = None,
    grant: dict[str, Any] | None = None,
    session: dict[str, Any] | None = None,
    apps: dict[str, Any] | None = None,
    client_types: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "id": pid,
        "displayName": pid,
        "state": state,
        "conditions": {
            "clientAppTypes": client_types or ["all"],
            "applications": apps or {"includeApplications": ["All"], "excludeApplications": []},
            "users": {
                "includeUsers": [],
                "excludeUsers": [],
                "includeGroups": [],
                "excludeGroups": [],
                "includeRoles": [],
                "excludeRoles": [],
                **(users or {}),
            },
        },
        "grantControls": grant,
        "sessionControls": session,
    }


def tenant(*policies: dict[str, Any], strengths: list[dict[str, Any]] | None = None) -> Tenant:
    return tenant_from_dict(
        {
            "tenant": {"id": "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00"},
            "users": [
                {"id": EA, "userPrincipalName": "ea@c.test"},
                {"id": ALICE, "userPrincipalName": "a@c.test"},
            ],
            "groups": [{"id": GROUP, "members": [EA]}],
            "roleAssignments": [
                {"principalId": EA, "roleDefinitionId": GA, "startDateTime": None, "endDateTime": None}
            ],
            "conditionalAccessPolicies": list(policies),
            "authenticationStrengthPolicies": strengths or [],
        }
    )


def ctx(user: str = EA, **kw: Any) -> ca.SignInContext:
    base: dict[str, Any] = {
        "user_id": user,
        "app_ids": (GRAPH, APP),
        "now": NOW,
        "methods": ("fido2",),
        "aaguid": AAGUID,
    }
    base.update(kw)
    return ca.SignInContext(**base)


def grant(*controls: str, operator: str = "OR", **more: Any) -> dict[str, Any]:
    return {"operator": operator, "builtInControls": list(controls), **more}


def results(t: Tenant, c: ca.SignInContext) -> dict[str, ca.PolicyResult]:
    return {r.policy["id"]: r for r in ca.evaluate(t, c)}


def test_users_include_exclude_groups_roles_and_all() -> None:
    t = tenant(
        policy(
            "all-but-group", users={"includeUsers": ["All"], "excludeGroups": [GROUP]}, grant=grant("mfa")
        ),
        policy("by-role", users={"includeRoles": [GA]}, grant=grant("mfa")),
        policy(
            "by-user-excluded-by-role", users={"includeUsers": [EA], "excludeRoles": [GA]}, grant=grant("mfa")
        ),
        policy("none", users={"includeUsers": ["None"]}, grant=grant("block")),
    )
    ea, alice = results(t, ctx()), results(t, ctx(ALICE))
    assert ea["all-but-group"].result == "notApplied"
    assert ea["all-but-group"].analysis_reasons == "users"
    assert alice["all-but-group"].result == "success"
    assert ea["by-role"].result == "success"
    assert alice["by-role"].result == "notApplied"
    assert ea["by-user-excluded-by-role"].result == "notApplied"
    assert ea["none"].result == "notApplied"


def test_states_and_report_only_results() -> None:
    t = tenant(
        policy("off", state="disabled", users={"includeUsers": ["All"]}, grant=grant("block")),
        policy(
            "ro-block",
            state="enabledForReportingButNotEnforced",
            users={"includeUsers": ["All"]},
            grant=grant("block"),
        ),
        policy(
            "ro-ok",
            state="enabledForReportingButNotEnforced",
            users={"includeUsers": ["All"]},
            grant=grant("mfa"),
        ),
        policy(
            "ro-miss",
            state="enabledForReportingButNotEnforced",
            users={"includeUsers": [ALICE]},
            grant=grant("block"),
        ),
    )
    r = results(t, ctx())
    assert [r[k].result for k in ("off", "ro-block", "ro-ok", "ro-miss")] == [
        "notEnabled",
        "reportOnlyFailure",
        "reportOnlySuccess",
        "reportOnlyNotApplied",
    ]
    outcome = ca.decide(list(r.values()))
    assert (outcome.status, outcome.error_code) == ("notApplied", None)
    what_if = results(t, ctx(methods=()))
    assert what_if["ro-ok"].result == "reportOnlyInterrupted"
    assert what_if["off"].analysis_reasons == "policyNotEnabled"


def test_block_compliant_device_and_operators() -> None:
    t = tenant(policy("dev", users={"includeUsers": ["All"]}, grant=grant("compliantDevice")))
    assert ca.decide(ca.evaluate(t, ctx())).error_code == 53000
    assert ca.decide(ca.evaluate(t, ctx(device_compliant=True))).status == "success"
    t = tenant(
        policy("and", users={"includeUsers": ["All"]}, grant=grant("mfa", "compliantDevice", operator="AND"))
    )
    assert ca.decide(ca.evaluate(t, ctx())).error_code == 53000  # mfa met by the key, the device is not
    assert ca.decide(ca.evaluate(t, ctx(device_compliant=True))).status == "success"
    t = tenant(policy("or", users={"includeUsers": ["All"]}, grant=grant("mfa", "compliantDevice")))
    assert ca.decide(ca.evaluate(t, ctx())).status == "success"
    t = tenant(policy("block", users={"includeUsers": ["All"]}, grant=grant("block")))
    out = ca.decide(ca.evaluate(t, ctx()))
    assert (out.error_code, out.applied_policies()[0]["enforcedGrantControls"]) == (53003, ["Block"])


@pytest.mark.parametrize(
    ("app_cond", "types", "applies", "reason"),
    [
        ({"includeApplications": [GRAPH]}, None, True, "notSet"),
        ({"includeApplications": ["All"], "excludeApplications": [APP]}, None, False, "application"),
        (
            {"includeApplications": [], "includeAuthenticationContextClassReferences": ["c1"]},
            None,
            False,
            "authenticationContext",
        ),
        ({"includeApplications": ["All"]}, ["exchangeActiveSync", "other"], False, "clientApps"),
    ],
)
def test_applications_and_client_app_types(
    app_cond: dict[str, Any], types: list[str] | None, applies: bool, reason: str
) -> None:
    t = tenant(
        policy("p", users={"includeUsers": ["All"]}, apps=app_cond, client_types=types, grant=grant("mfa"))
    )
    [r] = ca.evaluate(t, ctx(methods=()))
    assert (r.policy_applies, r.analysis_reasons) == (applies, reason)


def test_authentication_strength_with_aaguid_combination() -> None:
    strength = {
        "id": "s1",
        "displayName": "EA keys",
        "allowedCombinations": ["fido2"],
        "combinationConfigurations": [{"appliesToCombinations": ["fido2"], "allowedAAGUIDs": [AAGUID]}],
    }
    t = tenant(
        policy(
            "p",
            users={"includeGroups": [GROUP]},
            grant={"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "s1"}},
        ),
        strengths=[strength],
    )
    ok = ca.decide(ca.evaluate(t, ctx()))
    assert ok.status == "success"
    assert ok.strength == {
        "authenticationStrengthId": "s1",
        "displayName": "EA keys",
        "authenticationStrengthResult": "satisfied",
    }
    other = ca.decide(ca.evaluate(t, ctx(aaguid="cb69481e-8ff7-4039-93ec-0a2729a154a8")))
    assert other.error_code is None
    assert other.strength_unmet is not None
    assert (
        other.strength_unmet["authenticationStrengthResult"] == "cannotSatisfyDueToCombinationConfiguration"
    )
    builtin = tenant(
        policy(
            "b",
            users={"includeUsers": ["All"]},
            grant={
                "operator": "OR",
                "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"},
            },
        )
    )
    assert ca.decide(ca.evaluate(builtin, ctx(aaguid=None))).status == "success"


def test_session_controls_reported_when_applied() -> None:
    session = {
        "signInFrequency": {"isEnabled": True, "value": 4, "type": "hours"},
        "persistentBrowser": {"isEnabled": True, "mode": "never"},
    }
    t = tenant(policy("s", users={"includeGroups": [GROUP]}, session=session))
    item = ca.decide(ca.evaluate(t, ctx())).applied_policies()[0]
    assert item["result"] == "success"
    assert item["enforcedSessionControls"] == ["SignInFrequency", "PersistentBrowserSessionMode"]
    assert item["conditionsSatisfied"] == "users,application"


def test_condition_bits() -> None:
    assert ca.condition_bits("users,application") == 3
    assert ca.condition_bits("none") == 0
    assert ca.condition_bits("application,users,clientType") == 19


_USERS = st.sampled_from(
    [{"includeUsers": ["All"]}, {"includeGroups": [GROUP]}, {"includeRoles": [GA]}, {"includeUsers": [ALICE]},
     {"includeUsers": ["All"], "excludeGroups": [GROUP]}]
)  # fmt: skip
_GRANTS = st.sampled_from(
    [None, grant("block"), grant("mfa"), grant("compliantDevice"), grant("mfa", "compliantDevice")]
)
_POLICY = st.tuples(
    st.sampled_from(["enabled", "disabled", "enabledForReportingButNotEnforced"]), _USERS, _GRANTS
)


@given(enforced=st.lists(_POLICY, max_size=4), extra=st.lists(_POLICY, max_size=4))
@settings(max_examples=60, deadline=None)
def test_report_only_and_disabled_policies_never_change_the_outcome(
    enforced: list[tuple[str, dict[str, Any], dict[str, Any] | None]],
    extra: list[tuple[str, dict[str, Any], dict[str, Any] | None]],
) -> None:
    base = [policy(f"e{i}", state="enabled", users=u, grant=g) for i, (_, u, g) in enumerate(enforced)]
    noise = [
        policy(f"x{i}", state="disabled" if s == "enabled" else s, users=u, grant=g)
        for i, (s, u, g) in enumerate(extra)
    ]
    plain = ca.decide(ca.evaluate(tenant(*base), ctx()))
    noisy = ca.decide(ca.evaluate(tenant(*base, *noise), ctx()))
    assert (noisy.status, noisy.error_code) == (plain.status, plain.error_code)
    assert all(
        r.result.startswith(("reportOnly", "notEnabled")) for r in noisy.results if r.policy["id"][0] == "x"
    )
