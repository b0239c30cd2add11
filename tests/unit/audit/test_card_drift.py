"""Issue 28, documentation drift: the audit compares the emergency card last confirmed at a drill (the
signed ledger line's card code) with the card the playbook makes today, and notes every card now stale;
the daily audit's notice says so. Forged lines confirm nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import demo_playbook, healthy_facts

from drill.audit.cards import card_notes
from drill.audit.facts import Facts
from drill.audit.run import audit
from drill.evidence import ledger
from drill.evidence.card import card_codes
from drill.evidence.signing import Signer
from drill.playbook import Playbook
from drill.schedule.notify import Notice
from drill.schedule.scheduler import ScheduleRuntime, Target


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load(state_dir=tmp_path / "signing")


def _confirmed(pb: Playbook, account: str, code: str | None, when: datetime) -> dict[str, Any]:
    return {
        "kind": ledger.KIND_DRILL,
        "drill_id": f"drill-{account}-{when:%Y%m%d}",
        "account": account,
        "tenant_id": str(pb.tenant.id),
        "verdict": "PASS",
        "reason": "seeded",
        "started_at": when.isoformat(),
        "ended_at": when.isoformat(),
        "bundle": f"drill-{account}",
        "manifest_sha256": "0" * 64,
        "operator": "Demo Operator",
        "witness": "Demo Witness",
        "card": {"status": "current", "entered": code, "expected": code},
    }


def _seed(path: Path, pb: Playbook, signer: Signer) -> None:
    when = datetime.now(UTC) - timedelta(days=3)
    for account, code in card_codes(pb).items():
        ledger.append(path, _confirmed(pb, account, code, when), signer)


def _notes(pb: Playbook, path: Path, signer: Signer) -> list[str]:
    return [
        n for n in audit(pb, [], ledger_path=path, pinned={signer.fingerprint}).facts.notes if "card" in n
    ]


def _with(pb: Playbook, index: int, **changes: Any) -> Playbook:
    accounts = list(pb.accounts)
    accounts[index] = accounts[index].model_copy(update=changes)
    return pb.model_copy(update={"accounts": accounts})


def test_cards_confirmed_today_raise_no_note(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    path = tmp_path / ledger.LEDGER_NAME
    _seed(path, pb, signer)
    assert _notes(pb, path, signer) == []


def test_a_changed_storage_location_or_people_makes_that_card_stale(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    path = tmp_path / ledger.LEDGER_NAME
    _seed(path, pb, signer)
    old = card_codes(pb)["ea01"]
    moved = _with(pb, 0, storage_location="Safe C, envelope 9")
    (note,) = _notes(moved, path, signer)
    assert note.startswith("emergency card of ea01: STALE:")
    assert f"version {old}" in note
    assert f"today's is {card_codes(moved)['ea01']}" in note
    assert f"`drill card {pb.source} --account ea01`" in note
    (note,) = _notes(_with(pb, 1, authorised_people=["Demo Operator", "Carol New"]), path, signer)
    assert note.startswith("emergency card of ea02: STALE:")


def test_accounts_added_or_removed_are_noted(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    path = tmp_path / ledger.LEDGER_NAME
    _seed(path, pb, signer)
    renamed = _with(pb, 1, name="ea03", upn="ea03@contoso.onmicrosoft.com")
    notes = _notes(renamed, path, signer)
    assert len(notes) == 2
    assert notes[0].startswith("emergency card of ea03: never confirmed at a drill")
    assert notes[1].startswith("emergency card of ea02: STALE: ea02 is no longer in the playbook")


def test_a_forged_confirmation_confirms_nothing(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    path = tmp_path / ledger.LEDGER_NAME
    _seed(path, pb, Signer.load(state_dir=tmp_path / "forger"))
    notes = _notes(pb, path, signer)
    assert [n.split(":")[0] for n in notes] == ["emergency card of ea01", "emergency card of ea02"]
    assert all("never confirmed" in n for n in notes)


def test_a_playbook_that_cannot_print_cards_is_one_note() -> None:
    pb = demo_playbook().model_copy(update={"emergency": None})
    (note,) = card_notes([], pb)
    assert "no `emergency` section" in note


def test_the_daily_audit_notifies_stale_cards(tmp_path: Path, signer: Signer) -> None:
    pb = demo_playbook()
    path = tmp_path / "reports" / ledger.LEDGER_NAME
    _seed(path, pb, signer)
    sent: list[Notice] = []

    class Recorder:
        def send(self, notice: Notice) -> None:
            sent.append(notice)

    def reader(facts: Facts, _pb: Playbook) -> None:
        fixture = healthy_facts()
        for name in ("domains", "ga_assignments", "group", "group_members", "admin_units", "methods_policy"):
            setattr(facts, name, getattr(fixture, name))

    def runtime(playbook: Playbook) -> ScheduleRuntime:
        return ScheduleRuntime(
            [Target(playbook, path, [Recorder()], signer=signer)],
            tmp_path / f"state-{len(sent)}",
            signer,
            audit_readers_for=lambda _pb: [reader],
        )

    runtime(pb).run_audit(str(pb.tenant.id))
    assert not any("stale" in n.subject for n in sent)
    moved = _with(pb, 0, storage_location="Safe C, envelope 9")
    runtime(moved).run_audit(str(pb.tenant.id))
    (notice,) = [n for n in sent if "stale" in n.subject]
    assert notice.subject.endswith(", 1 emergency card(s) stale")
    assert "emergency card of ea01: STALE:" in notice.body
    assert "--account ea01" in notice.body
