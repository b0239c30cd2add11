"""Issue 13 end to end: preflight reads the deployed monitoring from ARM (the simulator's management
surface, through azure-mgmt-monitor and azure-mgmt-alertsmanagement) before any key is touched.

The fault matrix in test_drill.py proves each ARM fault FAILs at preflight; the checks below look closer at
what the failing or passing preflight says. Those of a fault the matrix already runs ride on the matrix's own
drill (`CLOSER_LOOK`, called by test_drill.py), and the healthy one on test_drill.py's healthy drill: a second
drill of the same fault would only repeat it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SUB = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01"
RG_SCOPE = f"/subscriptions/{SUB}/resourceGroups/rg-breakglass-monitoring"


def _steps(info: dict[str, Any]) -> dict[str, Any]:
    return {s["step"]: s for s in info["record"]["steps"]}


def observer_without_arm_read_fails_before_the_key_naming_each_role(code: int, info: dict[str, Any]) -> None:
    assert code == 1
    steps = _steps(info)
    preflight = steps["preflight"]
    assert preflight["status"] == "fail"
    checks = {c["id"]: c for c in preflight["checks"]}
    # Entra's diagnostic settings refused: a finding naming the documented grant, not a blocker (issue 25).
    assert "arm_diagnostic_setting" not in checks
    assert preflight["evidence"]["diagnostic_setting"]["readable"] is False
    [diag] = [f for f in info["record"]["findings"] if f["title"].startswith("Entra diagnostic settings")]
    assert "AuthorizationFailed" in diag["detail"]
    assert "Reader at scope /providers/Microsoft.aadiam" in diag["detail"]
    rule = checks["arm_rule_exists:Break-glass account sign-in"]
    assert rule["status"] == "fail"
    assert f"give the observer Monitoring Reader on {RG_SCOPE}" in rule["reason"]
    # Keyless first: the ARM checks come before the key's, and nothing signed in.
    ids = [c["id"] for c in preflight["checks"]]
    assert ids.index("arm_rule_exists:Break-glass account sign-in") < ids.index("key_present")
    assert steps["signin"]["status"] == "skipped"


def rule_edited_in_the_portal_is_shown_as_drift(_code: int, info: dict[str, Any]) -> None:
    """The rule's query was changed to match UserPrincipalName: preflight passes with a diff warning."""
    steps = _steps(info)
    assert steps["preflight"]["status"] == "pass", steps["preflight"]["reason"]
    drift = steps["preflight"]["evidence"]["query_drift"]["Break-glass account sign-in"]
    assert "+| where UserPrincipalName in" in drift.replace("+ ", "+")
    assert drift.startswith("--- queries/demo-breakglass-signin.kql")
    findings = [f for f in info["record"]["findings"] if "differs from the playbook's copy" in f["title"]]
    assert findings
    assert findings[0]["severity"] == "warning"
    # ... and the log rows step runs the deployed query over the rule's window: it misses this sign-in.
    assert steps["log_rows"]["status"] == "fail"
    assert "the deployed rule would not return this sign-in" in steps["log_rows"]["reason"]
    copy = next(c for c in steps["log_rows"]["checks"] if c["id"] == "alert_query")
    assert copy["status"] == "pass"  # the playbook's copy still matches: only an expectation now
    assert copy["required"] is False


def healthy_preflight_records_the_deployed_rule(code: int, info: dict[str, Any]) -> None:
    assert code == 0, info["record"]["reason"]
    preflight = _steps(info)["preflight"]
    rules = preflight["evidence"]["monitoring"]["rules"]
    assert rules["Break-glass account sign-in"].lower() == (
        f"{RG_SCOPE}/providers/microsoft.insights/scheduledqueryrules/break-glass account sign-in".lower()
    )
    passed = {c["id"] for c in preflight["checks"] if c["status"] == "pass"}
    for check in ("arm_diagnostic_setting", "arm_rule_exists", "arm_rule_cadence", "arm_rule_notifies",
                  "arm_rule_not_fired", "arm_rule_scope"):  # fmt: skip
        assert any(c == check or c.startswith(check + ":") for c in passed), check
    assert "query_drift" not in preflight["evidence"]
    steps = _steps(info)
    deployed = next(c for c in steps["log_rows"]["checks"] if c["id"].startswith("deployed_rule_query:"))
    assert deployed["status"] == "pass", deployed
    instance = next(c for c in steps["alert"]["checks"] if c["id"] == "alert_instance")
    assert instance["status"] == "pass", instance
    assert instance["evidence"]["rule"] == rules["Break-glass account sign-in"]
    assert instance["evidence"]["firedDateTime"]
    assert instance["evidence"]["latency_s"] is not None
    assert instance["evidence"]["mail_alert_id_matches"] is True


def _drill_with(
    tmp_path: Path, update: Callable[[Any], Any], *, fault: str | None = None, variants: Sequence[str] = ()
) -> dict[str, Any]:
    """A demo drill at 10x (30x after the sign-in) whose playbook `update` changes; returns the record."""
    from test_drill import speed_up_after_signin

    from drill.evidence.bundle import BundleWriter
    from drill.evidence.signing import Signer
    from drill.run.demo import build_context, demo_world
    from drill.run.loop import execute

    out = tmp_path / "reports"
    with demo_world(tmp_path / "state", fault=fault, variants=variants) as world:
        world.sim.state.clock.set_scale(10)
        speed_up_after_signin(world, 30)
        world.playbook = update(world.playbook)
        ctx = build_context(world, "ea01", quiet=True)
        writer = BundleWriter(out, Signer.load(state_dir=tmp_path / "signing"), pdf=None)
        code = execute(ctx, writer)
    assert writer.finished is not None
    record = json.loads((writer.finished.path / "report.json").read_text())
    return {"record": record, "code": code}


def _seed_style(pb: Any) -> Any:
    """Watch the demo tenant's five-minute `let` + `union` rule (SigninLogs and AuditLogs) instead."""
    rule = "Break-glass account activity"
    return pb.model_copy(
        update={
            "alert": pb.alert.model_copy(
                update={"rules": [rule], "subject_match": "(Emergency Access|Break-glass account activity)"}
            ),
            "monitoring": pb.monitoring.model_copy(update={"rules": [rule]}),
            "log_analytics": pb.log_analytics.model_copy(
                update={"alert_query_file": Path("queries/demo-breakglass-alert.kql")}
            ),
            # A five-minute rule notifies up to five minutes after the row arrives (simulated seconds).
            "sla": pb.sla.model_copy(update={"log_row": 60, "alert": 420}),
        }
    )


def test_seed_style_five_minute_rule_passes_and_another_rules_mail_is_not_accepted(tmp_path: Path) -> None:
    info = _drill_with(tmp_path, _seed_style)
    record = info["record"]
    assert record["verdict"] == "PASS", record["reason"]
    steps = _steps(info)
    checks = {c["id"]: c for c in steps["preflight"]["checks"]}
    cadence = checks["arm_rule_cadence:Break-glass account activity"]
    assert cadence["status"] == "pass"
    assert "every 5 minutes" in cadence["reason"]
    assert "1 minute is recommended" in cadence["reason"]
    assert "query_drift" not in steps["preflight"]["evidence"]  # the playbook's copy is the deployed query
    alert = steps["alert"]
    accepted = next(c for c in alert["checks"] if c["id"] == "alert_mail")
    assert accepted["evidence"]["rule"] == "Break-glass account activity"
    # The one-minute sign-in rule mails the same mailbox first, with a matching subject: not accepted.
    other = [m for m in alert["evidence"]["rejected_mails"] if m["rule"] == "Break-glass account sign-in"]
    assert other, alert["evidence"]["rejected_mails"]
    assert "is not one of the playbook's alert.rules" in other[0]["reason"]
    instance = next(c for c in alert["checks"] if c["id"] == "alert_instance")
    assert instance["status"] == "pass"
    assert instance["evidence"]["rule"].lower().endswith("/scheduledqueryrules/break-glass account activity")


def mail_for_another_account_is_not_accepted(code: int, info: dict[str, Any]) -> None:
    """The rule fires for the other break-glass account right after the drill: the drill fails, and the
    deployed rule's query is what shows it never returned this sign-in."""
    assert code == 1
    steps = _steps(info)
    assert steps["alert"]["status"] != "pass"
    check = next(c for c in steps["log_rows"]["checks"] if c["id"].startswith("deployed_rule_query:"))
    assert check["status"] == "fail"
    assert "the deployed rule would not return this sign-in" in check["reason"]


# fault -> its closer look, run by test_drill.py's fault matrix on the matrix's own drill of that fault
CLOSER_LOOK: dict[str, Callable[[int, dict[str, Any]], None]] = {
    "arm-observer-no-read": observer_without_arm_read_fails_before_the_key_naming_each_role,
    "alert-wrong-query": rule_edited_in_the_portal_is_shown_as_drift,
    "alert-other-account": mail_for_another_account_is_not_accepted,
}
