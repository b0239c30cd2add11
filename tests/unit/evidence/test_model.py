"""decide_verdict: PASS only when finished and every required step and check passed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from drill.evidence.model import Check, DrillRecord, Status, StepResult, Verdict, decide_verdict

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def step(name: str, status: Status = Status.PASS, *checks: Check, required: bool = True) -> StepResult:
    return StepResult(
        step=name,
        title=name,
        status=status,
        reason=f"{name} {status.value}",
        started_at=NOW,
        ended_at=NOW,
        duration_s=0.0,
        checks=list(checks),
        required=required,
    )


def check(cid: str, status: Status = Status.PASS, required: bool = True) -> Check:
    return Check(id=cid, title=cid, status=status, reason=f"{cid} {status.value}", required=required)


def test_all_passed_and_finished_is_pass() -> None:
    assert decide_verdict([step("a", Status.PASS, check("x")), step("b")], True)[0] is Verdict.PASS


def test_optional_failures_do_not_fail_the_drill() -> None:
    steps = [
        step("a", Status.PASS, check("x"), check("y", Status.FAIL, required=False)),
        step("announce", Status.ERROR, required=False),
    ]
    assert decide_verdict(steps, True) == (Verdict.PASS, "every required step and check passed")


@pytest.mark.parametrize("status", [Status.FAIL, Status.ERROR, Status.SKIPPED])
def test_required_step_not_passed_fails_naming_it(status: Status) -> None:
    verdict, reason = decide_verdict([step("a"), step("b", status), step("c", Status.FAIL)], True)
    assert verdict is Verdict.FAIL
    assert reason == f"b: b {status.value}"


def test_failed_check_inside_a_passing_step_fails_naming_the_check() -> None:
    verdict, reason = decide_verdict([step("a", Status.PASS, check("x"), check("y", Status.FAIL))], True)
    assert (verdict, reason) == (Verdict.FAIL, "a/y: y fail")


def test_unfinished_is_incomplete_even_after_a_failure() -> None:
    assert decide_verdict([step("a")], False)[0] is Verdict.INCOMPLETE
    verdict, reason = decide_verdict([step("a", Status.FAIL)], False)
    assert verdict is Verdict.INCOMPLETE
    assert "a: a fail" in reason


def test_nothing_required_ran_is_never_pass() -> None:
    assert decide_verdict([], True)[0] is Verdict.FAIL
    assert decide_verdict([step("announce", required=False)], True)[0] is Verdict.FAIL


def test_record_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        DrillRecord.model_validate(
            {
                "drill_id": "x",
                "verdict": "PASS",
                "reason": "",
                "account_name": "a",
                "started_at": NOW.isoformat(),
                "pin": "1234",
            }
        )


def test_record_round_trips_through_json() -> None:
    rec = DrillRecord(
        drill_id="x",
        verdict=Verdict.FAIL,
        reason="r",
        account_name="a",
        started_at=NOW,
        steps=[step("a", Status.FAIL, check("c", Status.FAIL))],
    )
    assert DrillRecord.model_validate_json(rec.model_dump_json()) == rec


def test_shipped_json_schema_matches_the_model() -> None:
    from drill.evidence.manifest import SHIPPED_SCHEMA, report_schema

    assert SHIPPED_SCHEMA.read_bytes() == report_schema(), "run: python -m drill.evidence.manifest"
