"""The full chain of issue 17 items 1-3: a planted PASS never becomes evidence.

Reproduced on main before the fix: a PASS bundle for an account never drilled, self-signed by another key,
was put in the reports folder. The next real drill's reconcile appended it to the ledger signed by the
workstation key, `drill verify --trust <workstation key>` said VALID, and `drill schedule status` showed
the account as passed. Here the same plant meets a real drill (real Chromium, the simulated tenant, the
software key), then the real `drill verify` and `drill schedule status` commands.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import run_cli

from drill.evidence import ledger
from drill.evidence.bundle import BundleWriter
from drill.evidence.model import Check, DrillRecord, Status, StepResult, Verdict
from drill.evidence.signing import Signer
from drill.fsutil import sha256_file
from drill.run.demo import DEMO_PLAYBOOK, build_context, demo_world
from drill.run.loop import execute

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PLANT = "drill-20261201-060000-ea02"


def plant_pass(reports: Path, tenant_id: str, forger: Signer, elsewhere: Path) -> Path:
    """What an attacker who can write the reports folder makes: the product's own writer, their own key."""
    now = datetime.now(UTC) - timedelta(hours=1)
    step = StepResult(
        step="signin",
        title="Sign-in",
        status=Status.PASS,
        reason="every check passed",
        started_at=now,
        ended_at=now + timedelta(seconds=9),
        duration_s=9.0,
        checks=[Check(id="signed_in", title="Signed in", status=Status.PASS, reason="token issued")],
    )
    record = DrillRecord(
        drill_id=PLANT,
        verdict=Verdict.PASS,
        reason="every required step and check passed",
        tenant_id=tenant_id,
        account_name="ea02",
        account_upn="ea02@contoso.onmicrosoft.com",
        started_at=now,
        ended_at=now + timedelta(minutes=5),
        steps=[step],
    )
    writer = BundleWriter(reports, forger, ledger_path=elsewhere, pdf=None, history=False)
    writer.begin(record.model_copy(update={"steps": [], "verdict": Verdict.INCOMPLETE}))
    return writer.finalize(record).path


def test_a_planted_pass_is_reported_by_verify_and_never_counted_by_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workstation_dir = tmp_path / "workstation"
    monkeypatch.setenv("DRILL_STATE_DIR", str(workstation_dir))
    workstation = Signer.load(state_dir=workstation_dir)
    reports = tmp_path / "reports"
    book = reports / "ledger.jsonl"
    forger = Signer.generate()

    with demo_world(tmp_path / "state") as world:
        # A tenant 10x faster, with the fault matrix's SLAs for a PASS: the chain, not the clock, is tested.
        world.sim.state.clock.set_scale(10)
        sla = world.playbook.sla.model_copy(update={"log_row": 60, "alert": 120})
        world.playbook = world.playbook.model_copy(update={"sla": sla})
        plant = plant_pass(reports, str(world.playbook.tenant.id), forger, tmp_path / "forger-ledger.jsonl")
        writer = BundleWriter(reports, workstation, pdf=None)
        code = execute(build_context(world, "ea01", quiet=True), writer)
    assert code == 0
    assert writer.finished is not None
    assert writer.finished.verdict is Verdict.PASS
    summary = "\n".join(writer.finished.summary())
    assert f"--expect-head {ledger.head_of(book)}" in summary  # the anchor an auditor records

    # 1. the drill's reconcile did not adopt the plant: the ledger holds the real drill only
    assert [e["drill_id"] for e in ledger.read_entries(book)] == [writer.finished.path.name]

    # 2. drill verify --trust <workstation key> reports the plant, and the real bundle is VALID
    pin = ["--trust", workstation.fingerprint]
    code, out, _ = run_cli("verify", str(reports), *pin)
    assert code == 1, out
    assert f"INVALID: {plant}" in out
    assert f"signed by {forger.fingerprint}, which is not a trusted key" in out
    assert f"has no line for drill {PLANT}" in out
    assert f"VALID: {writer.finished.path} (verdict PASS; signed by {workstation.fingerprint})" in out

    # 3. drill schedule status does not count it: ea02 was never drilled
    status = ["schedule", "status", str(DEMO_PLAYBOOK), "--ledger", str(book), "--json"]
    code, out, err = run_cli(*status)
    assert code == 0, err
    rows = {r["account"]: r for r in json.loads(out)}
    assert rows["ea01"]["verdict"] == "PASS"
    assert rows["ea01"]["overdue"] is False
    assert rows["ea02"]["last_pass_at"] is None
    assert rows["ea02"]["overdue"] is True

    # 4. the attacker goes further and appends a line for the plant, signed by their key: still nothing
    record = DrillRecord.model_validate_json((plant / "report.json").read_bytes())
    digest = sha256_file(plant / "manifest.json")
    ledger.append(book, ledger.drill_entry(record, PLANT, digest), forger)
    code, out, _ = run_cli("verify", str(reports))  # even unpinned: one ledger, two signers
    assert code == 1
    assert "mixed signers" in out
    code, out, _ = run_cli("verify", str(reports), *pin)
    assert code == 1
    assert f"{book}:2: signed by {forger.fingerprint}, which is not a trusted key" in out
    code, out, _ = run_cli(*status)
    rows = {r["account"]: r for r in json.loads(out)}
    assert rows["ea02"]["last_pass_at"] is None
    assert rows["ea02"]["overdue"] is True
    assert any("not a trusted key" in p for p in rows["ea02"]["ledger_problems"])
