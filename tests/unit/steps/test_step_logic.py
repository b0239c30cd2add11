"""Pure decisions inside the steps: GA classification, CA policy comparison, passkey detection, alert pick."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from drill.steps.alert import candidates
from drill.steps.context import GLOBAL_ADMIN
from drill.steps.ga_proof import classify
from drill.steps.log_rows import applied_policy_names, passkey_used, signin_query

USER = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"


def inst(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "roleDefinitionId": GLOBAL_ADMIN,
        "principalId": USER,
        "memberType": "Direct",
        "directoryScopeId": "/",
        "assignmentType": "Assigned",
        "endDateTime": None,
    }
    base.update(kw)
    return base


def test_direct_permanent_tenant_wide_passes() -> None:
    assert classify([inst()], [], USER) == (True, "direct, permanent, tenant-wide active assignment")


@pytest.mark.parametrize(
    ("instances", "eligible", "needle"),
    [
        ([], [inst()], "eligible only"),
        ([], [], "no Global Administrator assignment"),
        ([inst(endDateTime="2027-01-01T00:00:00Z")], [], "time-bound"),
        ([inst(memberType="Group")], [], "membership only"),
        ([inst(directoryScopeId="/administrativeUnits/x")], [], "not tenant-wide"),
        ([inst(assignmentType="Activated")], [], "PIM activation"),
        ([inst(roleDefinitionId="e8611ab8-c189-46e8-94e1-60213ab1f814")], [], "no Global Administrator"),
    ],
)
def test_each_weak_assignment_fails_saying_which(instances: list, eligible: list, needle: str) -> None:
    ok, reason = classify(instances, eligible, USER)
    assert not ok
    assert needle in reason


def test_applied_policies_count_report_only_matches_and_parse_strings() -> None:
    row = {
        "ConditionalAccessPolicies": json.dumps(
            [
                {"id": "a", "displayName": "A", "result": "success"},
                {"id": "b", "displayName": "B", "result": "notApplied"},
                {"id": "c", "displayName": "C", "result": "failure"},
                {"id": "d", "displayName": "D", "result": "reportOnlySuccess"},
                {"id": "e", "displayName": "E", "result": "reportOnlyNotApplied"},
                {"id": "f", "displayName": "F", "result": "notEnabled"},
            ]
        )
    }
    assert applied_policy_names(row) == {"a": "A", "c": "C", "d": "D"}


def test_passkey_detection_accepts_known_names_and_requires_success() -> None:
    ok = {
        "AuthenticationDetails": json.dumps(
            [{"authenticationMethod": "Passkey (device-bound)", "succeeded": True}]
        )
    }
    failed = {
        "AuthenticationDetails": json.dumps(
            [{"authenticationMethod": "FIDO2 security key", "succeeded": False}]
        )
    }
    other = {"AuthenticationDetails": json.dumps([{"authenticationMethod": "Password", "succeeded": True}])}
    assert passkey_used(ok)[0]
    assert not passkey_used(failed)[0]
    assert passkey_used(other) == (False, ["Password"])


def test_signin_query_matches_on_user_id_and_app() -> None:
    q = signin_query(USER, "app-id", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert f"UserId == '{USER}'" in q
    assert "AppId == 'app-id'" in q
    assert "datetime(2026-01-02T03:04:05Z)" in q
    # Matched on UserId only (passkey rows can carry the object id there); the column is projected for the
    # fidelity pack, never filtered on.
    assert not [line for line in q.splitlines() if "where" in line and "UserPrincipalName" in line]


def test_alert_candidates_require_subject_and_an_accepted_sender() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    msgs = [
        {"subject": "Weekly digest", "from": "azure-noreply@microsoft.com", "receivedDateTime": t0},
        {
            "subject": "[CRITICAL] Emergency Access Activity",
            "from": "attacker@evil.test",
            "receivedDateTime": t0,
        },
        {
            "subject": "[CRITICAL] Emergency Access Activity",
            "from": "alerts-noreply@mail.windowsazure.com",
            "receivedDateTime": t0 + timedelta(seconds=70),
        },
    ]
    senders = {"azure-noreply@microsoft.com", "alerts-noreply@mail.windowsazure.com"}
    assert candidates(msgs, "Emergency Access", senders) == [msgs[2]]
