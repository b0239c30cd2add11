"""Who holds a role in the simulated tenant: the one-pass reading agrees with the per-user one.

`breakglass_user_ids` once asked `active_assignments` for every user, and that scans every group per user:
quadratic on bench/audit_scale.py's 100,000-user tenant. It now asks `direct_holders` once. These tests
hold the two readings to the same answer on the demo tenant and on its variations (a role held through a
group, expired, not yet started, another role), so the speed-up cannot change who is a break-glass account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drill.assets import DEMO_TENANT
from drill.sim.clock import SimClock
from drill.sim.identity.routes import breakglass_user_ids
from drill.sim.state import SimState
from drill.sim.tenant import GLOBAL_ADMIN, Tenant, load_tenant

DEMO = DEMO_TENANT
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
EA01, EA02 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01", "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"


def _per_user(tenant: Tenant, role: str) -> set[str]:
    """The reading the index replaces: every user, each asked for its assignments in force."""
    return {
        u["id"]
        for u in tenant.users
        if any(
            a["roleDefinitionId"] == role and a["principalId"] == u["id"]
            for a in tenant.active_assignments(u["id"], NOW)
        )
    }


def _via_group(t: Tenant) -> None:
    ga = next(a for a in t.roleAssignments if a["principalId"] == EA02)
    t.groups.append(
        {"id": "group-ga", "displayName": "GA holders", "isAssignableToRole": True, "members": [EA02]}
    )
    ga.update(principalId="group-ga", memberType="Group")


def _assignment(t: Tenant, **changes: str) -> None:
    next(a for a in t.roleAssignments if a["principalId"] == EA02).update(changes)


VARIATIONS = {
    "demo": lambda t: None,
    "through a group": _via_group,
    "expired": lambda t: _assignment(t, endDateTime="2026-01-01T00:00:00Z"),
    "not yet started": lambda t: _assignment(t, startDateTime="2027-01-01T00:00:00Z"),
    "another role": lambda t: _assignment(t, roleDefinitionId="194ae4cb-b126-40b2-bd5b-6091b380977d"),
    "ends later": lambda t: _assignment(t, endDateTime="2027-01-01T00:00:00Z"),
}


@pytest.mark.parametrize("name", VARIATIONS)
def test_direct_holders_agree_with_the_per_user_reading(name: str, tmp_path: Path) -> None:
    tenant = load_tenant(DEMO)
    VARIATIONS[name](tenant)
    users = {u["id"] for u in tenant.users}
    assert tenant.direct_holders(GLOBAL_ADMIN, NOW) & users == _per_user(tenant, GLOBAL_ADMIN)
    state = SimState(tenant, SimClock(start=NOW), tmp_path)
    expected = [EA01, EA02] if name in ("demo", "ends later") else [EA01]
    assert breakglass_user_ids(state) == expected
