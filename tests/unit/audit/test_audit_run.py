"""The audit end to end over fixture facts: judge everything, sign, ledger, drift, and the daily schedule.

Readers are the seam: here they copy fixture facts in; tests/e2e/test_audit.py drives the real ones over
HTTPS against the simulator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import demo_playbook, healthy_facts

from drill.audit.catalog import CATALOG
from drill.audit.facts import Facts
from drill.audit.judge import judge
from drill.audit.model import Status
from drill.audit.run import audit, write
from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle
from drill.playbook import Playbook
from drill.schedule.notify import Notice
from drill.schedule.scheduler import ScheduleRuntime, Target

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def copying(source: Callable[[], Facts]) -> Callable[[Facts, Playbook], None]:
    """A reader that fills the audit's facts from a fixture, keeping what the runner already set."""

    def read(facts: Facts, _pb: Playbook) -> None:
        fixture = source()
        for f in dataclasses.fields(Facts):
            if f.name not in ("tenant_id", "read_at", "last_pass", "passed_drills", "notes"):
                setattr(facts, f.name, getattr(fixture, f.name))

    return read


def seed_passes(ledger_path: Path, pb: Playbook, signer: Signer, when: datetime) -> None:
    for account in pb.accounts:
        ledger.append(
            ledger_path,
            {
                "kind": ledger.KIND_DRILL,
                "drill_id": f"seeded-{account.name}-{when:%Y%m%d}",
                "account": account.name,
                "tenant_id": str(pb.tenant.id),
                "verdict": "PASS",
                "reason": "seeded",
                "operator": "Demo Operator",
                "witness": "Demo Witness",
                "started_at": when.isoformat(),
                "ended_at": when.isoformat(),
                "bundle": f"seeded-{account.name}",
                "manifest_sha256": "0" * 64,
            },
            signer,
        )


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load(state_dir=tmp_path / "signing")


def test_the_healthy_design_passes_every_check() -> None:
    results = judge(healthy_facts(), demo_playbook())
    assert [r.spec.id for r in results] == [s.id for s in CATALOG]
    bad = {r.spec.id: r.outcome.summary for r in results if r.status is not Status.PASSED}
    assert bad.keys() == {"BG.AL.5"}, bad  # Sentinel: the demo playbook names no rule
    assert next(r for r in results if r.spec.id == "BG.AL.5").status is Status.NOT_APPLICABLE


def test_a_reader_that_crashes_fails_the_audit_with_its_reason(tmp_path: Path, signer: Signer) -> None:
    def broken(_facts: Facts, _pb: Playbook) -> None:
        raise ConnectionError("graph.microsoft.com unreachable")

    run = audit(demo_playbook(), [broken], ledger_path=tmp_path / "ledger.jsonl", pinned={signer.fingerprint})
    assert run.exit_code == 1
    assert "graph.microsoft.com unreachable" in run.facts.unread["broken"]
    assert run.record.verdict.value == "FAIL"
    # Nothing judged on facts that were never read: every tenant check errors (an empty policy list must
    # not read as "excluded from every policy"); only the ledger and playbook checks are judged.
    judged = {r.spec.id: r.status for r in run.results if r.status is not Status.ERROR}
    assert set(judged) <= {"BG.PROC.1", "BG.PROC.2", "BG.PROC.3", "BG.PROC.4", "BG.AL.5"}, judged
    assert judged.get("BG.AL.5", Status.NOT_APPLICABLE) is Status.NOT_APPLICABLE  # the playbook names none


def test_the_ledger_feeds_procedures_and_records_drift(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    ledger_path = tmp_path / "reports" / "ledger.jsonl"
    seed_passes(ledger_path, pb, signer, datetime.now(UTC) - timedelta(days=5))
    first = audit(pb, [copying(healthy_facts)], ledger_path=ledger_path, pinned={signer.fingerprint})
    assert first.exit_code == 0, [
        (r.spec.id, r.outcome.summary) for r in first.results if r.status.value != "passed"
    ]
    write(first, tmp_path / "reports", signer, pdf=None, ledger_path=ledger_path)
    assert first.finished is not None
    assert verify_bundle(first.finished.path, trusted={signer.fingerprint}).status == "VALID"
    assert first.record.previous_audit is None

    def drifted() -> Facts:
        facts = healthy_facts()
        facts.accounts[1].user = {**(facts.accounts[1].user or {}), "accountEnabled": False}
        return facts

    second = audit(pb, [copying(drifted)], ledger_path=ledger_path, pinned={signer.fingerprint})
    write(second, tmp_path / "reports", signer, pdf=None, ledger_path=ledger_path)
    assert second.exit_code == 1
    assert second.record.previous_audit == first.record.audit_id
    changed = {d.id: (d.before, d.after) for d in second.record.drift}
    assert changed["BG.ACC.5"] == ("passed", "failed")
    line = ledger.read_entries(ledger_path, kind=ledger.KIND_AUDIT)[-1]
    assert {"id": "BG.ACC.5", "title": "Accounts are enabled", "before": "passed", "after": "failed"} in line[
        "drift"
    ]


def test_a_pass_signed_by_another_key_does_not_count_as_a_drill(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    ledger_path = tmp_path / "ledger.jsonl"
    seed_passes(ledger_path, pb, Signer.load(state_dir=tmp_path / "forger"), datetime.now(UTC))
    run = audit(pb, [copying(healthy_facts)], ledger_path=ledger_path, pinned={signer.fingerprint})
    status = {r.spec.id: r.status for r in run.results}
    assert status["BG.PROC.1"] is Status.FAILED
    assert any("ledger" in note for note in run.facts.notes)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Notice] = []

    def send(self, notice: Notice) -> None:
        self.sent.append(notice)


def test_the_daily_schedule_runs_the_audit_and_notifies_drift(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    reports = tmp_path / "reports"
    ledger_path = reports / "ledger.jsonl"
    seed_passes(ledger_path, pb, signer, datetime.now(UTC) - timedelta(days=5))
    clock = {"now": datetime.now(UTC)}
    source: dict[str, Callable[[], Facts]] = {"facts": healthy_facts}
    recorder = Recorder()
    runtime = ScheduleRuntime(
        [Target(pb, ledger_path, [recorder], signer=signer)],
        tmp_path / "state",
        signer,
        clock=lambda: clock["now"],
        audit_readers_for=lambda _pb: [copying(lambda: source["facts"]())],
    )
    first = runtime.run_audit(str(pb.tenant.id))
    assert first is not None
    assert first.exit_code == 0
    assert recorder.sent == []  # clean and nothing changed: nobody is woken

    def no_keys_allowed() -> Facts:
        facts = healthy_facts()
        fido2 = next(
            c for c in facts.methods_policy["authenticationMethodConfigurations"] if c["id"] == "Fido2"
        )
        fido2["keyRestrictions"] = {**fido2.get("keyRestrictions", {}), "isEnforced": True, "aaGuids": []}
        return facts

    source["facts"] = no_keys_allowed
    clock["now"] += timedelta(days=1)
    second = runtime.run_audit(str(pb.tenant.id))
    assert second is not None
    assert second.exit_code == 1
    assert [n.severity for n in recorder.sent] == ["critical"]
    assert "BG.AM.2" in recorder.sent[0].body
    assert "passed -> failed" in recorder.sent[0].body
    audits = ledger.read_entries(ledger_path, kind=ledger.KIND_AUDIT)
    assert [a["verdict"] for a in audits] == ["PASS", "FAIL"]
    assert any(d["id"] == "BG.AM.2" for d in audits[-1]["drift"])
    from drill.schedule.due import account_statuses
    from drill.schedule.status import StatusRow

    statuses = account_statuses(ledger.read_entries(ledger_path), str(pb.tenant.id), ["ea01"], 90)
    shown = StatusRow("contoso.test", statuses[0], clock["now"]).last_keyless
    assert "audit FAIL (BG.AM.2" in shown  # `drill schedule status` shows the newest daily audit


def test_the_daily_audit_records_a_missing_observer_as_a_failed_audit(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    ledger_path = tmp_path / "reports" / "ledger.jsonl"

    def no_observer(_pb: Playbook) -> list[Any]:
        raise RuntimeError("DRILL_OBSERVER_SECRET is not set")

    runtime = ScheduleRuntime(
        [Target(pb, ledger_path, [], signer=signer)],
        tmp_path / "state",
        signer,
        audit_readers_for=no_observer,
    )
    run = runtime.run_audit(str(pb.tenant.id))
    assert run is not None
    assert run.exit_code == 1
    assert "DRILL_OBSERVER_SECRET is not set" in " ".join(run.facts.unread.values())
    assert ledger.read_entries(ledger_path, kind=ledger.KIND_AUDIT)[-1]["verdict"] == "FAIL"
