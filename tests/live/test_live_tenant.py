"""The same drill against a real tenant (moto's `aws_verified` idea): skipped unless `--live PLAYBOOK`.

    pytest tests/live --live playbooks/contoso.yaml -s            # keyless checks only
    DRILL_LIVE_ACCOUNT=bg-1 pytest tests/live --live ... -s       # plus a full attended drill

The full drill needs the operator at the terminal (PIN, touch) and the key inserted; its bundle goes to
the playbook's evidence folder like any drill.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from drill.evidence.model import Status


def test_keyless_preflight_against_the_tenant(live_playbook: Path) -> None:
    from drill.run.live import _context
    from drill.steps import preflight

    ctx = _context(live_playbook, None)
    result = asyncio.run(preflight.run(ctx, with_key=False))
    failed = [f"{c.id}: {c.reason}" for c in result.checks if c.status is not Status.PASS]
    assert failed == []


def test_attended_drill_passes(live_playbook: Path) -> None:
    account = os.environ.get("DRILL_LIVE_ACCOUNT")
    if not account:
        pytest.skip("set DRILL_LIVE_ACCOUNT to run an attended drill (operator and key present)")
    from drill.run.live import run_live

    code = run_live(
        live_playbook, account, operator=os.environ.get("USER", "tester"), witness=None, output=None
    )
    assert code == 0
