"""The admin task's pure parts: the marker, which audit row is the write, and the manual fix it names."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from drill.steps import admin_task


def _row(old: str | None, new: str | None) -> dict[str, object]:
    prop = {"displayName": "Description", "oldValue": json.dumps([old]), "newValue": json.dumps([new])}
    return {"Id": "x", "TargetResources": json.dumps([{"id": "g", "modifiedProperties": [prop]}])}


def test_marker_is_appended_and_names_the_drill() -> None:
    mark = admin_task.marker("abc123")
    assert "abc123" in mark
    assert admin_task.marked("Break-glass accounts", mark) == f"Break-glass accounts {mark}"
    assert admin_task.marked(None, mark) == mark


def test_the_write_row_is_the_one_whose_new_value_carries_the_marker() -> None:
    mark = admin_task.marker("d1")
    restore = _row(f"desc {mark}", "desc")
    write = _row("desc", f"desc {mark}")
    assert admin_task.write_row([restore, write], mark) is write
    assert admin_task.write_row([restore], mark) is None
    assert admin_task.write_row([{"Id": "y", "TargetResources": "not json"}], mark) is None


def test_manual_fix_names_object_property_and_exact_value() -> None:
    group = {"id": "3c9d", "displayName": "Emergency Access Accounts"}
    text = admin_task.manual_fix(group, 'Break-glass "accounts"')
    assert "3c9d" in text
    assert "property description" in text
    assert json.dumps('Break-glass "accounts"') in text
    assert "null" in admin_task.manual_fix(group, None)


def test_audit_query_filters_on_the_initiator_and_the_group() -> None:
    kql = admin_task.audit_query("u1", "g1", datetime(2026, 1, 1, tzinfo=UTC))
    assert "OperationName == 'Update group'" in kql
    assert "InitiatedBy.user.id) == 'u1'" in kql
    assert "has 'g1'" in kql
    assert "ingestion_time()" in kql


def test_the_deployed_rules_together_must_return_the_audit_row() -> None:
    """Issue 13 + 15: with the rules read from ARM, one deployed query must return the write's audit row."""
    import asyncio
    from types import SimpleNamespace

    from drill.steps.base import StepBuilder

    def table(rows: list[list[object]]) -> SimpleNamespace:
        return SimpleNamespace(tables=[SimpleNamespace(columns=["Id", "Activity"], rows=rows)])

    answers = {
        "SigninLogs | where 1 == 1": table([["a-sign-in", "Sign-in"]]),
        "AuditLogs | where 1 == 1": table([["audit-1", "Update group"]]),
    }
    signin = SimpleNamespace(name="sign-in rule", id="/rules/s", query="SigninLogs | where 1 == 1")
    activity = SimpleNamespace(name="activity rule", id="/rules/a", query="AuditLogs | where 1 == 1")
    ctx = SimpleNamespace(playbook=SimpleNamespace(sla=SimpleNamespace(log_row=5)))
    row = {"Id": "audit-1", "CorrelationId": "c-1"}

    def judged(rules: list[SimpleNamespace]) -> tuple[str, str]:
        sb = StepBuilder("admin_task", "admin task")
        asyncio.run(admin_task._deployed_rules_query(ctx, sb, answers.__getitem__, row, rules))  # type: ignore[arg-type]
        (check,) = sb.checks
        return check.status.value, check.reason

    assert judged([signin, activity]) == ("pass", "returned by activity rule")
    status, reason = judged([signin])
    assert status == "fail"
    assert "none of the deployed rules (sign-in rule)" in reason
    assert "seed-style" in reason


@pytest.mark.parametrize(
    ("new_value", "kind"),
    [('["old [breakglass-drill d1]"]', "json-array"), ("old [breakglass-drill d1]", "plain")],
)
def test_the_write_row_and_its_value_encoding_are_found_in_both_forms(new_value: str, kind: str) -> None:
    """Belief audit-modified-values: the marker is found whether Entra writes JSON text or the value."""
    from drill.steps.admin_task import values_kind, write_row

    row = {
        "TargetResources": [
            {"modifiedProperties": [{"displayName": "Description", "oldValue": None, "newValue": new_value}]}
        ]
    }
    assert write_row([row], "[breakglass-drill d1]") is row
    assert values_kind(row) == kind
