"""BG.AM.1-6 and BG.AS.1: pass on the demo facts, fail on named faults, ERROR when a needed fact is unread."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from audit_support import (
    AAGUID_A,
    AAGUID_B,
    CA1,
    GROUP,
    STRENGTH,
    account,
    demo_playbook,
    fido2_config,
    healthy_facts,
    judged_after,
    judged_healthy,
    judged_unread,
    method_config,
    policy,
)

from drill.audit.checks_methods import CHECKS, vendor_of
from drill.audit.facts import Facts
from drill.audit.model import Status
from drill.playbook import Playbook

Mutate = Callable[[Facts, Playbook], object]
YUBI_5 = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
YUBI_5_NFC = "fa2b99dc-9e39-4257-8f92-4a30d23c4118"
PROFILE = "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_healthy_demo_passes(check_id: str) -> None:
    outcome = judged_healthy(CHECKS[check_id])
    assert outcome.status is Status.PASSED, outcome.summary
    assert outcome.evidence


def _fido2(**changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        fido2_config(f).update(changes)

    return mutate


def _restriction(**changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        fido2_config(f)["keyRestrictions"].update(changes)

    return mutate


def _profiles(target_profiles: list[str] | None, profiles: list[dict[str, object]]) -> Mutate:
    """Passkey profiles (v1.0 passkeyProfile) with the group's target naming `target_profiles`."""

    def mutate(f: Facts, _pb: Playbook) -> None:
        config = fido2_config(f)
        config["passkeyProfiles"] = profiles
        config["defaultPasskeyProfile"] = PROFILE
        if target_profiles is not None:
            config["includeTargets"][0]["allowedPasskeyProfiles"] = target_profiles

    return mutate


def _profile(
    pid: str = PROFILE, types: str = "deviceBound", aaguids: list[str] | None = None
) -> dict[str, object]:
    return {
        "id": pid,
        "name": f"Profile {pid[-1]}",
        "passkeyTypes": types,
        "attestationEnforcement": "disabled",
        "keyRestrictions": {
            "isEnforced": aaguids is not None,
            "enforcementType": "allow",
            "aaGuids": aaguids or [],
        },
    }


def _method(mid: str, **changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        method_config(f, mid).update(changes)

    return mutate


def _key(name: str, aaguid: str) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        for k in account(f, name).fido2 + [
            m for m in account(f, name).methods if m["@odata.type"].endswith("fido2AuthenticationMethod")
        ]:
            k["aaGuid"] = aaguid

    return mutate


def _no_keys(name: str) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        acc = account(f, name)
        acc.fido2 = []
        acc.methods = [m for m in acc.methods if not m["@odata.type"].endswith("fido2AuthenticationMethod")]

    return mutate


def _extra_method(f: Facts, _pb: Playbook) -> None:
    account(f, "ea01").methods.append(
        {"@odata.type": "#microsoft.graph.emailAuthenticationMethod", "id": "e1"}
    )


def _strength(**changes: object) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        next(s for s in f.auth_strengths if s["id"] == STRENGTH).update(changes)

    return mutate


def _strength_aaguids(aaguids: list[str]) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        s = next(s for s in f.auth_strengths if s["id"] == STRENGTH)
        s["combinationConfigurations"][0]["allowedAAGUIDs"] = aaguids

    return mutate


def _policy1_strength(sid: str | None) -> Mutate:
    def mutate(f: Facts, _pb: Playbook) -> None:
        grant = policy(f, CA1)["grantControls"]
        if sid is None:
            grant.pop("authenticationStrength")
        else:
            grant["authenticationStrength"] = {"id": sid}

    return mutate


def _one_vendor_in_playbook(_f: Facts, pb: Playbook) -> None:
    for i, a in enumerate(pb.accounts):
        key = a.key.model_copy(update={"vendor": "Simulated Vendor A"})
        pb.accounts[i] = a.model_copy(update={"key": key})


FAILING: list[tuple[str, str, Mutate, str]] = [
    ("BG.AM.1", "disabled", _fido2(state="disabled"), "not enabled"),
    (
        "BG.AM.1",
        "not-targeted",
        _fido2(includeTargets=[{"targetType": "group", "id": "other-group"}]),
        "does not reach",
    ),
    ("BG.AM.1", "excluded", _fido2(excludeTargets=[{"targetType": "group", "id": GROUP}]), "does not reach"),
    ("BG.AM.2", "left-out", _restriction(aaGuids=[AAGUID_A]), AAGUID_B),
    ("BG.AM.2", "empty-allow-list", _restriction(aaGuids=[]), "empty allow-list"),
    ("BG.AM.2", "blocked", _restriction(enforcementType="block", aaGuids=[AAGUID_B]), "block-list"),
    ("BG.AM.2", "profile-rejects", _profiles([PROFILE], [_profile(aaguids=[AAGUID_A])]), "passkey profile"),
    ("BG.AM.3", "group-not-targeted", _profiles(None, [_profile()]), "names no passkey profile"),
    (
        "BG.AM.3",
        "unknown-profile",
        _profiles(["00000000-0000-0000-0000-000000000009"], [_profile()]),
        "does not exist",
    ),
    ("BG.AM.3", "synced-only", _profiles([PROFILE], [_profile(types="synced")]), "device-bound"),
    (
        "BG.AM.4",
        "authenticator-reaches",
        _method("MicrosoftAuthenticator", excludeTargets=[]),
        "MicrosoftAuthenticator",
    ),
    (
        "BG.AM.4",
        "tap-targets-group",
        _method(
            "TemporaryAccessPass", excludeTargets=[], includeTargets=[{"targetType": "group", "id": GROUP}]
        ),
        "TemporaryAccessPass",
    ),
    ("BG.AM.5", "no-key", _no_keys("ea02"), "no FIDO2 key"),
    ("BG.AM.5", "wrong-model", _key("ea01", YUBI_5), "playbook's model"),
    ("BG.AM.5", "other-method", _extra_method, "emailAuthenticationMethod"),
    ("BG.AM.6", "same-model", _key("ea02", AAGUID_A), "1 vendor"),
    (
        "BG.AM.6",
        "two-yubikeys",
        lambda f, pb: (_key("ea01", YUBI_5)(f, pb), _key("ea02", YUBI_5_NFC)(f, pb)),
        "1 vendor",
    ),
    ("BG.AM.6", "playbook-one-vendor", _one_vendor_in_playbook, "one vendor"),
    ("BG.AS.1", "built-in", _policy1_strength("00000000-0000-0000-0000-000000000004"), "not custom"),
    ("BG.AS.1", "no-strength", _policy1_strength(None), "no break-glass CA policy"),
    (
        "BG.AS.1",
        "not-fido2-only",
        _strength(allowedCombinations=["fido2", "windowsHelloForBusiness"]),
        "fido2 only",
    ),
    ("BG.AS.1", "no-aaguids", _strength_aaguids([]), "allowedAAGUIDs"),
    ("BG.AS.1", "leaves-out-key", _strength_aaguids([AAGUID_A]), AAGUID_B),
    ("BG.AS.1", "no-combination-config", _strength(combinationConfigurations=[]), "allowedAAGUIDs"),
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
    ("BG.AM.1", "methods_policy"),
    ("BG.AM.1", "accounts.ea01.member_of"),
    ("BG.AM.2", "methods_policy"),
    ("BG.AM.2", "accounts.ea02.fido2"),
    ("BG.AM.3", "methods_policy"),
    ("BG.AM.4", "methods_policy"),
    ("BG.AM.4", "group_members"),
    ("BG.AM.5", "accounts.ea01.methods"),
    ("BG.AM.5", "accounts.ea01.fido2"),
    ("BG.AM.6", "accounts.ea02.fido2"),
    ("BG.AS.1", "auth_strengths"),
    ("BG.AS.1", "ca_policies"),
]


@pytest.mark.parametrize(("check_id", "fact"), UNREAD)
def test_unread_fact_is_an_error(check_id: str, fact: str) -> None:
    outcome = judged_unread(CHECKS[check_id], fact)
    assert outcome.status is Status.ERROR
    assert fact in outcome.summary


def test_every_check_has_an_unread_case() -> None:
    assert {c for c, _ in UNREAD} == set(CHECKS)


def test_key_lock_out_names_the_key() -> None:
    facts = healthy_facts()
    _restriction(aaGuids=[AAGUID_A])(facts, demo_playbook())
    outcome = CHECKS["BG.AM.2"](facts, demo_playbook())
    assert outcome.offenders == [
        f"ea02: EA02 primary (key-ea02) [{AAGUID_B}]: not on the allow-list in the Passkey (FIDO2) method"
    ]


def test_unenforced_restriction_passes() -> None:
    facts = healthy_facts()
    _restriction(isEnforced=False, aaGuids=[])(facts, demo_playbook())
    outcome = CHECKS["BG.AM.2"](facts, demo_playbook())
    assert outcome.status is Status.PASSED
    assert "no restriction is enforced" in outcome.summary


def test_no_registered_key_checks_the_playbook_aaguids() -> None:
    facts = healthy_facts()
    for name in ("ea01", "ea02"):
        _no_keys(name)(facts, demo_playbook())
    _restriction(aaGuids=[AAGUID_A])(facts, demo_playbook())
    outcome = CHECKS["BG.AM.2"](facts, demo_playbook())
    assert outcome.status is Status.FAILED
    assert "expected key" in outcome.summary


def test_profiles_scoped_to_the_group_pass() -> None:
    facts = healthy_facts()
    _profiles([PROFILE], [_profile(aaguids=[AAGUID_A, AAGUID_B])])(facts, demo_playbook())
    assert CHECKS["BG.AM.3"](facts, demo_playbook()).status is Status.PASSED
    assert CHECKS["BG.AM.2"](facts, demo_playbook()).status is Status.PASSED


def test_all_users_target_with_a_default_profile_that_rejects_a_key_fails() -> None:
    facts = healthy_facts()
    config = fido2_config(facts)
    config["includeTargets"] = [{"targetType": "group", "id": "all_users"}]
    _profiles(None, [_profile(aaguids=[AAGUID_A])])(facts, demo_playbook())
    outcome = CHECKS["BG.AM.2"](facts, demo_playbook())
    assert outcome.status is Status.FAILED
    assert AAGUID_B in outcome.summary


def test_fido2_for_all_users_passes_with_a_note() -> None:
    facts = healthy_facts()
    fido2_config(facts)["includeTargets"] = [{"targetType": "group", "id": "all_users"}]
    outcome = CHECKS["BG.AM.1"](facts, demo_playbook())
    assert outcome.status is Status.PASSED
    assert "note" in outcome.details


def test_method_without_include_targets_reaches_everyone_unless_excluded() -> None:
    facts = healthy_facts()
    method_config(facts, "Sms")["excludeTargets"] = [{"targetType": "group", "id": "someone-else"}]
    outcome = CHECKS["BG.AM.4"](facts, demo_playbook())
    assert outcome.status is Status.FAILED
    assert outcome.offenders == ["Sms (reaches ea01, ea02)"]


@pytest.mark.parametrize(
    ("aaguid", "vendor"),
    [
        (YUBI_5, "Yubico"),
        (YUBI_5_NFC, "Yubico"),
        (AAGUID_A, "Vendor A"),
        (AAGUID_B, "Vendor B"),
        ("12345678-1234-1234-1234-123456789012", None),
        ("not-a-guid", None),
    ],
)
def test_vendor_of(aaguid: str, vendor: str | None) -> None:
    assert vendor_of(aaguid) == vendor


def test_unknown_distinct_aaguids_count_as_two_vendors_when_the_playbook_agrees() -> None:
    facts = healthy_facts()
    _key("ea01", "12345678-1234-1234-1234-123456789012")(facts, demo_playbook())
    _key("ea02", "22345678-1234-1234-1234-123456789012")(facts, demo_playbook())
    assert CHECKS["BG.AM.6"](facts, demo_playbook()).status is Status.PASSED
