"""Issue 28, BG.PROC.4: every authorised person took part, as operator or witness, in a verified PASS drill
within `schedule.practice_months`. It names who has not, passes once they take part, and a forged ledger
line (signed by another key) does not count, exactly as for BG.PROC.1: the audit reads verified lines only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import demo_playbook

from drill.audit.checks_procedures import CHECKS
from drill.audit.facts import Facts
from drill.audit.model import Status
from drill.audit.practice import add_months, practice
from drill.audit.run import audit
from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.playbook import Playbook

READ_AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
TENANT = "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00"


def _playbook(months: int = 12) -> Playbook:
    """The demo playbook with a third person authorised for ea02 (as after a hire)."""
    pb = demo_playbook()
    ea02 = pb.accounts[1].model_copy(update={"authorised_people": ["Demo Operator", "Carol New"]})
    schedule = pb.schedule.model_copy(update={"practice_months": months})
    return pb.model_copy(update={"accounts": [pb.accounts[0], ea02], "schedule": schedule})


def _drill(
    drill_id: str, when: datetime, operator: str | None, witness: str | None, **extra: Any
) -> dict[str, Any]:
    return {
        "kind": ledger.KIND_DRILL,
        "drill_id": drill_id,
        "account": "ea01",
        "tenant_id": TENANT,
        "verdict": "PASS",
        "reason": "seeded",
        "started_at": (when - timedelta(minutes=3)).isoformat(),
        "ended_at": when.isoformat(),
        "bundle": drill_id,
        "manifest_sha256": "0" * 64,
        "operator": operator,
        "witness": witness,
        **extra,
    }


def _check(drills: list[dict[str, Any]], pb: Playbook) -> Any:
    return CHECKS["BG.PROC.4"](Facts(tenant_id=TENANT, read_at=READ_AT, passed_drills=drills), pb)


def test_fails_naming_who_never_practised_and_passes_after_they_take_part() -> None:
    pb = _playbook()
    first = [_drill("d1", READ_AT - timedelta(days=30), "Demo Operator", "Demo Witness")]
    outcome = _check(first, pb)
    assert outcome.status is Status.FAILED
    assert outcome.offenders == ["Carol New: never took part in a verified PASS drill"]
    assert "1 of 3 authorised people" in outcome.summary
    carol = next(e for e in outcome.evidence if e["person"] == "Carol New")
    assert carol["accounts"] == ["ea02"]
    # Carol witnesses the next drill (typed with other spacing and case): now everyone has practised.
    later = [*first, _drill("d2", READ_AT - timedelta(days=1), "Demo Witness", "  carol   NEW ")]
    outcome = _check(later, pb)
    assert outcome.status is Status.PASSED, outcome.offenders
    carol = next(e for e in outcome.evidence if e["person"] == "Carol New")
    assert (carol["lastDrill"], carol["role"]) == ("d2", "witness")


def test_practice_runs_out_after_the_configured_months() -> None:
    pb = _playbook(months=6)
    everyone = ("Demo Operator", "Demo Witness"), ("Carol New", None)
    edge = add_months(READ_AT, -6)
    on_time = [_drill(f"d{i}", edge, op, wit) for i, (op, wit) in enumerate(everyone)]
    assert _check(on_time, pb).status is Status.PASSED  # exactly six months: still in the period
    late = [_drill(f"d{i}", edge - timedelta(seconds=1), op, wit) for i, (op, wit) in enumerate(everyone)]
    outcome = _check(late, pb)
    assert outcome.status is Status.FAILED
    assert len(outcome.offenders) == 3
    assert "more than 6 months ago" in outcome.offenders[0]
    assert _check(late, _playbook(months=12)).status is Status.PASSED


def test_people_authorised_for_two_accounts_are_listed_once() -> None:
    people = practice([], _playbook())
    assert [(p.person, p.accounts) for p in people] == [
        ("Demo Operator", ("ea01", "ea02")),
        ("Demo Witness", ("ea01",)),
        ("Carol New", ("ea02",)),
    ]
    assert all(p.due_at is None for p in people)


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(datetime(2026, 3, 31, tzinfo=UTC), -1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 15, tzinfo=UTC), 12) == datetime(2027, 1, 15, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 15, tzinfo=UTC), -13) == datetime(2024, 12, 15, tzinfo=UTC)


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load(state_dir=tmp_path / "signing")


def test_through_the_audit_only_verified_pass_lines_of_the_tenant_count(
    tmp_path: Path, signer: Signer
) -> None:
    """The ledger the audit reads: a forged line, a FAIL drill and another tenant's drill name Carol; none
    counts. Her genuine PASS drill does."""
    pb = _playbook()
    path = tmp_path / ledger.LEDGER_NAME
    now = datetime.now(UTC)
    ledger.append(path, _drill("genuine", now - timedelta(days=3), "Demo Operator", "Demo Witness"), signer)
    forger = Signer.load(state_dir=tmp_path / "forger")
    ledger.append(path, _drill("forged", now - timedelta(days=2), "Carol New", None), forger)
    ledger.append(path, _drill("failed", now - timedelta(days=2), "Carol New", None, verdict="FAIL"), signer)
    ledger.append(path, _drill("elsewhere", now, "Carol New", None, tenant_id="another-tenant"), signer)

    def practice_check(run: Any) -> Any:
        return next(r for r in run.results if r.spec.id == "BG.PROC.4")

    got = practice_check(audit(pb, [], ledger_path=path, pinned={signer.fingerprint}))
    assert got.status is Status.FAILED
    assert got.outcome.offenders == ["Carol New: never took part in a verified PASS drill"]
    ledger_problems = audit(pb, [], ledger_path=path, pinned={signer.fingerprint}).facts.notes
    assert any("not a trusted key" in note for note in ledger_problems)

    # A fresh ledger (the forged line would keep the mixed-signer problem): her genuine drill counts.
    clean = tmp_path / "clean" / ledger.LEDGER_NAME
    ledger.append(clean, _drill("genuine", now - timedelta(days=3), "Demo Operator", "Demo Witness"), signer)
    ledger.append(clean, _drill("hers", now - timedelta(days=1), "Carol New", "Demo Witness"), signer)
    got = practice_check(audit(pb, [], ledger_path=clean, pinned={signer.fingerprint}))
    assert got.status is Status.PASSED, got.outcome.offenders
