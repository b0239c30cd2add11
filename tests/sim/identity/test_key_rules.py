"""The FIDO2 method policy as the relying party reads it: targets, key restrictions, passkey profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drill.sim.clock import SimClock
from drill.sim.identity.webauthn_rp import aaguid_refusal, key_rules
from drill.sim.state import SimState
from drill.sim.tenant import tenant_from_dict

EA = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
GROUP = "3c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e01"
A = "d8a1c3e2-0001-4b1d-a5e1-5a1d0000a001"
B = "d8a1c3e2-0002-4b1d-a5e1-5a1d0000b002"


def state(fido2: dict[str, Any], tmp_path: Path) -> SimState:
    tenant = tenant_from_dict(
        {
            "tenant": {"id": "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00"},
            "users": [{"id": EA, "userPrincipalName": "ea@c.test"}],
            "groups": [{"id": GROUP, "members": [EA]}],
            "authenticationMethodsPolicy": {"fido2": fido2},
        }
    )
    return SimState(tenant=tenant, clock=SimClock(), state_dir=tmp_path)


def test_targets_decide_whether_the_method_is_enabled(tmp_path: Path) -> None:
    on = {"state": "enabled", "includeTargets": [{"id": GROUP}]}
    assert key_rules(state(on, tmp_path), EA).enabled
    assert not key_rules(state({**on, "state": "disabled"}, tmp_path), EA).enabled
    assert not key_rules(state({**on, "excludeTargets": [{"id": EA}]}, tmp_path), EA).enabled
    assert not key_rules(
        state({"state": "enabled", "includeTargets": [{"id": "other"}]}, tmp_path), EA
    ).enabled
    assert key_rules(
        state({"state": "enabled", "includeTargets": [{"id": "all_users"}]}, tmp_path), EA
    ).enabled


@pytest.mark.parametrize(
    ("restriction", "refused_a", "refused_b"),
    [
        ({"isEnforced": True, "enforcementType": "allow", "aaGuids": [A]}, False, True),
        ({"isEnforced": True, "enforcementType": "block", "aaGuids": [A]}, True, False),
        ({"isEnforced": False, "enforcementType": "allow", "aaGuids": []}, False, False),
    ],
)
def test_key_restrictions(
    tmp_path: Path, restriction: dict[str, Any], refused_a: bool, refused_b: bool
) -> None:
    rules = key_rules(
        state(
            {"state": "enabled", "includeTargets": [{"id": GROUP}], "keyRestrictions": restriction}, tmp_path
        ),
        EA,
    )
    assert (aaguid_refusal(rules, A) is not None, aaguid_refusal(rules, B.upper()) is not None) == (
        refused_a,
        refused_b,
    )


def test_passkey_profiles_add_restrictions_and_attestation(tmp_path: Path) -> None:
    fido2 = {
        "state": "enabled",
        "isAttestationEnforced": False,
        "includeTargets": [{"id": GROUP, "allowedPasskeyProfiles": ["ea-keys"]}],
        "passkeyProfiles": [
            {"id": "default", "attestationEnforcement": "disabled"},
            {
                "id": "ea-keys",
                "attestationEnforcement": "registrationAndSignIn",
                "keyRestrictions": {"isEnforced": True, "enforcementType": "allow", "aaGuids": [B]},
            },
        ],
        "defaultPasskeyProfile": "default",
    }
    rules = key_rules(state(fido2, tmp_path), EA)
    assert rules.attestation_enforced
    assert aaguid_refusal(rules, A) is not None
    assert aaguid_refusal(rules, B) is None
    fido2["includeTargets"] = [{"id": GROUP}]
    default = key_rules(state(fido2, tmp_path), EA)
    assert not default.attestation_enforced
    assert aaguid_refusal(default, A) is None
