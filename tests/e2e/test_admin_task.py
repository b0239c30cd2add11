"""Issue 15, end to end: the break-glass account performs a privileged write, restores it, and the write's
AuditLogs row is found and returned by the alert query. Real Chromium, the software key, msgraph-sdk and
azure-monitor-query against the simulated tenant; nothing mocked.

Every run also checks that no drill marker is left on the group afterwards, whatever the verdict. The healthy
run is test_drill.py's real-speed drill, which carries both files' checks (check_write_restore_and_watch).
Timings follow the fault matrix (tests/e2e/test_drill.py): a 10x simulator clock, short waits where the
run must fail.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e_support import record_issued_tokens

from drill.evidence import ledger
from drill.evidence.bundle import BundleWriter
from drill.evidence.signing import Signer
from drill.run.demo import build_context, demo_world
from drill.run.loop import execute
from drill.steps import admin_task
from drill.testing import scan_for_secrets

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
GROUP = "6d7e8f90-1a2b-4c3d-8e4f-5a6b7c8d9e01"  # the canary group (playbooks/demo.yaml admin_task)
EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"


def run(
    tmp_path: Path,
    fault: str | None,
    sla: dict[str, int],
    scale: float = 10,
) -> dict[str, Any]:
    """One demo drill of ea01 under a fault."""
    signer = Signer.load(state_dir=tmp_path / "signing")
    with demo_world(tmp_path / "state", fault=fault) as world:
        state = world.sim.state
        state.clock.set_scale(scale)
        world.playbook = world.playbook.model_copy(update={"sla": world.playbook.sla.model_copy(update=sla)})
        before = state.tenant.group(GROUP)["description"]
        issued = record_issued_tokens(world)
        ctx = build_context(world, "ea01", quiet=True)
        writer = BundleWriter(tmp_path / "reports", signer, pdf=None)
        code = execute(ctx, writer)
        after = state.tenant.group(GROUP)["description"]
        audits = [e for e in state.audits if e.operation_name == "Update group"]
        secrets = [world.pin, os.environ.get("DRILL_DEMO_OBSERVER_SECRET", ""), *issued]
    assert writer.finished is not None
    assert scan_for_secrets([writer.finished.path], [s for s in secrets if s]) == []
    record = json.loads((writer.finished.path / "report.json").read_text())
    steps = {s["step"]: s for s in record["steps"]}
    html = (writer.finished.path / "report.html").read_text()
    return {"code": code, "record": record, "steps": steps, "before": before, "after": after,
            "audits": audits, "drill_id": ctx.drill_id, "html": html,
            "ledger": writer.ledger_path}  # fmt: skip


def watch_after_drill(world: Any, signer: Signer, ledger_path: Path) -> dict[str, Any]:
    """The scheduler's watch, three hours later, over the drill's own rows and one rogue sign-in."""
    from drill.auth import observer_credential
    from drill.schedule.notify import LogNotifier
    from drill.schedule.probes import ObserverProbes
    from drill.schedule.scheduler import ScheduleRuntime, Target
    from drill.sim.state import SignInEvent

    state, pb = world.sim.state, world.playbook
    later = state.clock.now() + timedelta(hours=3)
    credential = observer_credential(pb, world.cloud)
    rt = ScheduleRuntime(
        [Target(pb, ledger_path, [LogNotifier()], signer=signer)], ledger_path.parent / "schedule", signer,
        clock=lambda: later, activity_for=lambda p: ObserverProbes(p, credential, world.cloud),
    )  # fmt: skip
    tid = str(pb.tenant.id)
    quiet = rt.watch_unplanned(tid).notices
    rogue = SignInEvent(
        created=state.clock.now() - timedelta(hours=3), user_id=EA01,
        user_principal_name="ea01@contoso.onmicrosoft.com",
        user_display_name="Emergency Access 01", app_id="04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        app_display_name="Microsoft Azure CLI", result_type="0",
    )  # fmt: skip
    state.emit_signin(rogue)
    flagged = rt.watch_unplanned(tid).notices
    return {"quiet": quiet, "flagged": flagged, "rogue": rogue.correlation_id}


def check_write_restore_and_watch(code: int, info: dict[str, Any], html: str, ledger_path: Path) -> None:
    """What the healthy drill (tests/e2e/test_drill.py's real-speed run, shared so it runs once) must show
    of the admin task: the write, its restore and audit row with their times, and the watch over it."""
    record = info["record"]
    step = {s["step"]: s for s in record["steps"]}["admin_task"]
    assert record["verdict"] == "PASS", record["reason"]
    assert code == 0
    checks = {c["id"]: c for c in step["checks"]}
    assert {"write_applied", "restore", "audit_row", "audit_alert_query"} <= set(checks)
    assert all(c["status"] == "pass" for c in checks.values()), checks
    mark = admin_task.marker(info["ctx"].drill_id)
    assert mark in checks["write_applied"]["evidence"]["new"]
    assert checks["restore"]["evidence"]["value"] == info["before"]
    row = checks["audit_row"]["evidence"]
    assert (row["LoggedByService"], row["Category"], row["OperationName"]) == (
        "Core Directory", "GroupManagement", "Update group")  # fmt: skip
    assert row["initiatedBy"] == record["account_object_id"]
    timings = step["evidence"]["audit_timings"]
    for key in ("write_at", "activity_at", "ingested_at", "seen_at", "ingestion_latency_s"):
        assert timings[key] is not None, key
    assert timings["ingestion_latency_s"] >= 4.0  # the demo workspace ingests after 5 s
    assert checks["audit_alert_query"]["evidence"]["matching_rows"] >= 1
    # Entra audited the write and the restore; nothing is left behind.
    assert len(info["audits"]) == 2
    assert info["after"] == info["before"]
    assert mark not in (info["after"] or "")
    # The bundle shows the write, the restore and the audit row with their times (report.html too).
    for text in ("write_applied", "audit_timings", "ingestion_latency_s", mark):
        assert text in html, text
    # The ledger line carries the drill's CorrelationIds (sign-in row and audit row) for the watch ...
    [line] = [e for e in ledger.read_entries(ledger_path) if e["kind"] == "drill"]
    assert row["CorrelationId"] in line["correlation_ids"]
    # ... which therefore counts every row of this drill as planned, and flags a sign-in nobody planned.
    # (The demo registered ea02's passkey outside any drill: Entra audits that as ea02's own activity, and
    # the watch rightly asks for a review of it. Nothing of ea01's drill is flagged.)
    watched = info["watched"]
    assert [n.account for n in watched["quiet"]] == ["ea02"]
    assert [n.severity for n in watched["flagged"]] == ["critical"]
    uses = [e for e in ledger.read_entries(ledger_path) if e["kind"] == "unplanned-use"]
    assert [u["correlation_id"] for u in uses if u["account"] == "ea01"] == [watched["rogue"]]
    assert [n.facts["use_ids"] for n in watched["flagged"]] == [
        [u["use_id"] for u in uses if u["account"] == "ea01"]
    ]


# fault -> words the admin_task reason must carry (it says what to fix)
FAULTS = {
    "admin-write-restricted-au": "restricted management administrative unit",
    "admin-restore-refused": "put it back by hand: group 'Break-glass drill canary'",
    # AuditLogs not exported: a setting without AuditLogs is caught by preflight (ARM, issue 13); one that
    # still lists it while no row arrives is caught only here, by waiting for the write's row.
    "auditlogs-export-stalled": "no AuditLogs row for the write",
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_admin_task_faults_fail_at_admin_task_and_leave_no_marker(fault: str, tmp_path: Path) -> None:
    # The alert step runs first and must pass: its latency check counts simulated seconds (up to ~70).
    out = run(tmp_path, fault, {"log_row": 15, "alert": 150})
    record, steps = out["record"], out["steps"]
    assert record["verdict"] == "FAIL"
    assert out["code"] == 1
    assert record["reason"].startswith("admin_task"), record["reason"]
    assert FAULTS[fault] in steps["admin_task"]["reason"], steps["admin_task"]["reason"]
    for name in ("preflight", "signin", "ga_proof", "log_rows", "alert", "cleanup"):
        assert steps[name]["status"] == "pass", (name, steps[name]["reason"])
    assert out["after"] == out["before"], "the drill marker must not outlive the drill"
    if fault == "admin-restore-refused":
        # The reason names the object, the property and the exact value to put back.
        reason = steps["admin_task"]["reason"]
        assert GROUP in reason
        assert "property description" in reason
        assert json.dumps(out["before"]) in reason
