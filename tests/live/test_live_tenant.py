"""The same drill against a real tenant (moto's `aws_verified` idea): skipped unless `--live PLAYBOOK`.

    pytest tests/live --live playbooks/contoso.yaml -s            # keyless checks only
    DRILL_LIVE_ACCOUNT=bg-1 pytest tests/live --live ... -s       # plus a full attended drill
    DRILL_LIVE_VARIANT=picker-kmsi ...                            # the tenant's sign-in variant (see below)

The full drill needs the operator at the terminal (PIN, touch) and the key inserted; its bundle goes to
the playbook's evidence folder like any drill. Its recorded page sequence is then compared with the
simulator's for the same variant (`drill/sim/identity/variants.py`; default `fido-direct-kmsi`, the demo
tenant's path): a difference is where the simulator's pages must be corrected.
"""

from __future__ import annotations

import asyncio
import json
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
    _same_pages_as_the_simulator(live_playbook)


def _same_pages_as_the_simulator(live_playbook: Path) -> None:
    """The attended drill's page sequence, against the simulator's for DRILL_LIVE_VARIANT."""
    from drill.evidence import ledger
    from drill.playbook import load_playbook
    from drill.sim.identity.variants import SEQUENCES, differences

    variant = os.environ.get("DRILL_LIVE_VARIANT", "fido-direct-kmsi")
    if variant not in SEQUENCES:
        pytest.fail(f"DRILL_LIVE_VARIANT={variant!r}: choose one of {sorted(SEQUENCES)}")
    out = load_playbook(live_playbook).output_dir
    drill_id = ledger.read_entries(out / ledger.LEDGER_NAME, kind=ledger.KIND_DRILL)[-1]["drill_id"]
    record = json.loads((out / drill_id / "report.json").read_text(encoding="utf-8"))
    signin = next(s for s in record["steps"] if s["step"] == "signin")
    assert differences(variant, signin["evidence"]["page_sequence"]) == []
