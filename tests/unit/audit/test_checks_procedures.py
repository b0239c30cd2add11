"""BG.PROC.*: the ledger and the playbook's key records, each check with a passing and a failing case."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from drill.assets import DEMO_PLAYBOOK
from drill.audit.checks_procedures import CHECKS
from drill.audit.facts import Facts
from drill.audit.model import Status
from drill.playbook import Playbook, load_playbook

ROOT = Path(__file__).resolve().parents[3]
READ_AT = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def playbook(tmp_path: Path) -> Playbook:
    """The demo playbook with the procedures a clean tenant records: separate safes, two people per key."""
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    pb = load_playbook(DEMO_PLAYBOOK, env={"DRILL_SIM_PORT": "1", "DRILL_SIM_CA": str(ca)})
    accounts = [
        pb.accounts[0].model_copy(
            update={"storage_location": "Safe A, HQ", "authorised_people": ["Alice Admin", "Bob Backup"]}
        ),
        pb.accounts[1].model_copy(
            update={"storage_location": "Safe B, DR site", "authorised_people": ["Carol CISO", "Dan Duty"]}
        ),
    ]
    return pb.model_copy(update={"accounts": accounts})


def with_accounts(pb: Playbook, **updates: Any) -> Playbook:
    accounts = [pb.accounts[0].model_copy(update=updates), pb.accounts[1]]
    return pb.model_copy(update={"accounts": accounts})


def facts(**kwargs: Any) -> Facts:
    base: dict[str, Any] = {
        "last_pass": {"ea01": "2026-11-20T10:00:00Z", "ea02": "2026-10-01T09:00:00+00:00"},
    }
    base.update(kwargs)
    return Facts(tenant_id="6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00", read_at=READ_AT, **base)


def test_every_procedure_check_is_registered() -> None:
    assert set(CHECKS) == {"BG.PROC.1", "BG.PROC.2", "BG.PROC.3", "BG.PROC.4"}


# -- BG.PROC.1 ---------------------------------------------------------------------------------------------


def test_proc1_passes_when_every_account_passed_within_the_cycle(playbook: Playbook) -> None:
    outcome = CHECKS["BG.PROC.1"](facts(), playbook)
    assert outcome.status is Status.PASSED, outcome.summary


def test_proc1_fails_for_an_overdue_account(playbook: Playbook) -> None:
    # 90-day cycle: 2026-08-01 is 123 days before the audit.
    outcome = CHECKS["BG.PROC.1"](
        facts(last_pass={"ea01": "2026-08-01T00:00:00Z", "ea02": "2026-11-01T00:00:00Z"}), playbook
    )
    assert outcome.status is Status.FAILED
    assert len(outcome.offenders) == 1
    assert outcome.offenders[0].startswith("ea01:")


def test_proc1_fails_for_an_account_that_never_passed(playbook: Playbook) -> None:
    outcome = CHECKS["BG.PROC.1"](facts(last_pass={"ea01": "2026-11-20T10:00:00Z", "ea02": None}), playbook)
    assert outcome.status is Status.FAILED
    assert outcome.offenders == ["ea02: never passed a drill"]


def test_proc1_fails_for_an_account_missing_from_the_ledger(playbook: Playbook) -> None:
    outcome = CHECKS["BG.PROC.1"](facts(last_pass={"ea01": "2026-11-20T10:00:00Z"}), playbook)
    assert outcome.status is Status.FAILED
    assert "ea02" in outcome.offenders[0]


def test_proc1_the_cycle_boundary_is_inclusive(playbook: Playbook) -> None:
    exactly = "2026-09-03T06:00:00Z"  # 90 days before READ_AT
    outcome = CHECKS["BG.PROC.1"](facts(last_pass={"ea01": exactly, "ea02": exactly}), playbook)
    assert outcome.status is Status.PASSED
    late = "2026-09-03T05:59:59Z"
    outcome = CHECKS["BG.PROC.1"](facts(last_pass={"ea01": late, "ea02": exactly}), playbook)
    assert outcome.status is Status.FAILED


def test_proc1_unreadable_ledger_is_an_error_naming_the_fact(playbook: Playbook) -> None:
    outcome = CHECKS["BG.PROC.1"](facts(unread={"last_pass": "ledger.jsonl: permission denied"}), playbook)
    assert outcome.status is Status.ERROR
    assert "last_pass" in outcome.summary
    assert "permission denied" in outcome.summary


# -- BG.PROC.2 ---------------------------------------------------------------------------------------------


def test_proc2_passes_for_distinct_locations(playbook: Playbook) -> None:
    assert CHECKS["BG.PROC.2"](facts(), playbook).status is Status.PASSED


def test_proc2_fails_for_a_shared_location_ignoring_case_and_spaces(playbook: Playbook) -> None:
    pb = with_accounts(playbook, storage_location="  safe b,   DR SITE ")
    outcome = CHECKS["BG.PROC.2"](facts(), pb)
    assert outcome.status is Status.FAILED
    assert "ea01, ea02" in outcome.offenders[0]


# -- BG.PROC.3 ---------------------------------------------------------------------------------------------


def test_proc3_passes_with_two_people_per_key(playbook: Playbook) -> None:
    assert CHECKS["BG.PROC.3"](facts(), playbook).status is Status.PASSED


def test_proc3_fails_with_one_person(playbook: Playbook) -> None:
    outcome = CHECKS["BG.PROC.3"](facts(), with_accounts(playbook, authorised_people=["Alice Admin"]))
    assert outcome.status is Status.FAILED
    assert outcome.offenders == ["ea01: 1 authorised person(s)"]


def test_proc3_the_same_person_twice_counts_once(playbook: Playbook) -> None:
    pb = with_accounts(playbook, authorised_people=["Alice Admin", " alice  admin"])
    assert CHECKS["BG.PROC.3"](facts(), pb).status is Status.FAILED
