"""The same drill against a real tenant (moto's `aws_verified` idea): skipped unless `--live PLAYBOOK`.

    pytest tests/live --live playbooks/contoso.yaml -s            # keyless checks only
    DRILL_LIVE_ACCOUNT=bg-1 pytest tests/live --live ... -s       # plus a full attended drill
    DRILL_LIVE_VARIANT=picker-kmsi ...                            # the tenant's sign-in variant (see below)

The full drill needs the operator at the terminal (PIN, touch) and the key inserted; its bundle goes to
the playbook's evidence folder like any drill. Its recorded page sequence is then compared with the
simulator's for the same variant (`drill/sim/identity/variants.py`; default `fido-direct-kmsi`, the demo
tenant's path): a difference is where the simulator's pages must be corrected.

Both tests write a fidelity pack (on by default here: the shapes the tenant answered, nothing secret or
identifying) to `DRILL_LIVE_FIDELITY_PACK` (default `<evidence folder>/fidelity-pack/<test>`; `off` turns it
off), and print `drill sim compare-pack`'s report: which beliefs the tenant confirms or refutes.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from drill.evidence.model import Status


def test_keyless_preflight_against_the_tenant(live_playbook: Path) -> None:
    from drill.fidelity import recording
    from drill.run.live import _context
    from drill.steps import preflight

    ctx = _context(live_playbook, None)
    pack = _pack_folder(live_playbook, "preflight")
    with recording(pack):
        result = asyncio.run(preflight.run(ctx, with_key=False))
    _print_comparison(pack)
    failed = [f"{c.id}: {c.reason}" for c in result.checks if c.status is not Status.PASS]
    assert failed == []


def test_attended_drill_passes(live_playbook: Path) -> None:
    account = os.environ.get("DRILL_LIVE_ACCOUNT")
    if not account:
        pytest.skip("set DRILL_LIVE_ACCOUNT to run an attended drill (operator and key present)")
    from drill.run.live import run_live

    pack = _pack_folder(live_playbook, "drill")
    code = run_live(
        live_playbook,
        account,
        operator=os.environ.get("USER", "tester"),
        witness=None,
        output=None,
        fidelity_pack=pack,
    )
    _print_comparison(pack)
    assert code == 0
    _same_pages_as_the_simulator(live_playbook)


def _pack_folder(live_playbook: Path, name: str) -> Path | None:
    from drill.playbook import load_playbook

    chosen = os.environ.get("DRILL_LIVE_FIDELITY_PACK", "")
    if chosen.lower() == "off":
        return None
    base = Path(chosen) if chosen else load_playbook(live_playbook).output_dir / "fidelity-pack"
    return base / name


def _print_comparison(pack: Path | None) -> None:
    """What the tenant's shapes say about our beliefs, for the person running the lane (not asserted: a
    difference is something to learn, and the first real tenants are how we learn it)."""
    if pack is None:
        return
    from drill.run.demo import compare_pack_report

    print("\n".join(compare_pack_report(pack, against=None)))


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
