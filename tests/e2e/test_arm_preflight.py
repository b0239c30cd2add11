"""Issue 13 end to end: preflight reads the deployed monitoring from ARM (the simulator's management
surface, through azure-mgmt-monitor and azure-mgmt-alertsmanagement) before any key is touched.

The fault matrix in test_drill.py proves each ARM fault FAILs at preflight; these tests look closer at what
the failing or passing preflight says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_drill import run_drill

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SUB = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01"
RG_SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg-breakglass-monitoring"


def _steps(info: dict[str, Any]) -> dict[str, Any]:
    return {s["step"]: s for s in info["record"]["steps"]}


def test_observer_without_arm_read_fails_before_the_key_naming_each_role(tmp_path: Path) -> None:
    code, _writer, info = run_drill(tmp_path, fault="arm-observer-no-read", scale=10)
    assert code == 1
    steps = _steps(info)
    preflight = steps["preflight"]
    assert preflight["status"] == "fail"
    checks = {c["id"]: c for c in preflight["checks"]}
    diag = checks["arm_diagnostic_setting"]
    assert diag["status"] == "fail"
    assert "AuthorizationFailed" in diag["reason"]
    assert "Security Reader" in diag["reason"]
    rule = checks["arm_rule_exists:Break-glass account sign-in"]
    assert rule["status"] == "fail"
    assert f"give the observer Monitoring Reader on {RG_SCOPE}" in rule["reason"]
    # Keyless first: the ARM checks come before the key's, and nothing signed in.
    ids = [c["id"] for c in preflight["checks"]]
    assert ids.index("arm_diagnostic_setting") < ids.index("key_present")
    assert steps["signin"]["status"] == "skipped"


def test_rule_edited_in_the_portal_is_shown_as_drift(tmp_path: Path) -> None:
    """The rule's query was changed to match UserPrincipalName: preflight passes with a diff warning."""
    _code, _writer, info = run_drill(
        tmp_path, fault="alert-wrong-query", scale=10, sla={"log_row": 15, "alert": 6}
    )
    steps = _steps(info)
    assert steps["preflight"]["status"] == "pass", steps["preflight"]["reason"]
    drift = steps["preflight"]["evidence"]["query_drift"]["Break-glass account sign-in"]
    assert "+| where UserPrincipalName in" in drift.replace("+ ", "+")
    assert drift.startswith("--- queries/demo-breakglass-signin.kql")
    findings = [f for f in info["record"]["findings"] if "differs from the playbook's copy" in f["title"]]
    assert findings
    assert findings[0]["severity"] == "warning"


def test_healthy_preflight_records_the_deployed_rule(tmp_path: Path) -> None:
    code, _writer, info = run_drill(tmp_path, scale=10, sla={"log_row": 60, "alert": 120})
    assert code == 0, info["record"]["reason"]
    preflight = _steps(info)["preflight"]
    rules = preflight["evidence"]["monitoring"]["rules"]
    assert rules["Break-glass account sign-in"].lower() == (
        f"{RG_SCOPE}/providers/microsoft.insights/scheduledqueryrules/break-glass account sign-in".lower()
    )
    passed = {c["id"] for c in preflight["checks"] if c["status"] == "pass"}
    for check in ("arm_diagnostic_setting", "arm_rule_exists", "arm_rule_cadence", "arm_rule_notifies",
                  "arm_rule_not_fired"):  # fmt: skip
        assert any(c == check or c.startswith(check + ":") for c in passed), check
    assert "query_drift" not in preflight["evidence"]
