"""Entra's diagnostic settings in each plausible form (issue 25, cases 4 and 5), over real HTTPS with the
real ARM SDK (drill/monitoring/arm.py's ArmReader on azure-mgmt-monitor's pipeline) and the audit's reader.

- split-by-category: one setting per category, same workspace. Preflight's verdict and BG.DIAG.1 unite the
  categories: PASS; and the AuditLogs fault still FAILs both under this form.
- forbidden-for-apps: ARM refuses applications. Preflight gets a 403 it turns into a finding (e2e drill);
  here the audit: WARNING when a PASS drill within the cycle proved the rows, ERROR without one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError
from test_posture_monitoring import _playbook, _read

from drill.audit.checks_alerting import diagnostic_setting as bg_diag_1
from drill.audit.model import Status
from drill.clouds import cloud_for
from drill.monitoring import checks
from drill.monitoring.arm import ArmReader
from drill.sim.arm.diagnostics import APP_READ, LAYOUT
from drill.sim.beliefs import apply_variant
from drill.sim.faults import apply_fault
from drill.sim.server import SimServer

from arm_support import observer_credential  # isort: skip


def _arm(sim: SimServer, secret: str) -> tuple[ArmReader, str]:
    pb = _playbook(sim)
    assert pb.monitoring is not None
    cred = observer_credential(sim, secret, str(pb.tenant.id))
    arm = ArmReader(cred, cloud_for(pb), str(pb.monitoring.subscription_id))
    return arm, pb.monitoring.workspace_resource_id


def test_two_settings_that_together_send_both_categories_pass_the_preflight(
    sim: SimServer, observer_secret: str
) -> None:
    apply_variant(sim.state, LAYOUT, "split-by-category")
    arm, workspace = _arm(sim, observer_secret)
    settings = arm.diagnostic_settings()
    assert len(settings) == 3
    assert all(len(s.enabled_categories) == 1 for s in settings)
    assert {s.workspace_id.lower() for s in settings} == {workspace.lower()}
    verdict = checks.diagnostic_setting(settings, workspace)
    assert verdict.ok, verdict.reason
    assert verdict.reason.startswith("together entra-to-law-")
    apply_fault(sim.state, "posture-diag-no-auditlogs")  # the fault still fails under this form
    broken = checks.diagnostic_setting(arm.diagnostic_settings(), workspace)
    assert not broken.ok
    assert "not AuditLogs" in broken.reason


def test_two_settings_that_together_send_both_categories_pass_the_audit(
    sim: SimServer, observer_secret: str
) -> None:
    apply_variant(sim.state, LAYOUT, "split-by-category")
    pb = _playbook(sim)
    facts = _read(sim, observer_secret, coverage=False)
    assert len(facts.diagnostic_settings) == 3
    outcome = bg_diag_1(facts, pb)
    assert outcome.status is Status.PASSED, outcome.summary
    assert "diagnostic settings entra-to-law-" in outcome.summary
    apply_fault(sim.state, "posture-diag-no-auditlogs")
    broken = bg_diag_1(_read(sim, observer_secret, coverage=False), pb)
    assert broken.status is Status.FAILED
    assert "not AuditLogs" in broken.summary


def test_applications_refused_the_settings_get_a_403_naming_the_documented_grant(
    sim: SimServer, observer_secret: str
) -> None:
    apply_variant(sim.state, APP_READ, "forbidden-for-apps")
    arm, _workspace = _arm(sim, observer_secret)
    with pytest.raises(HttpResponseError) as refused:
        arm.diagnostic_settings()
    assert refused.value.status_code == 403
    assert "microsoft.aadiam/diagnosticSettings/read" in str(refused.value)
    # The rules, in the same tenant, are still read: only the aadiam settings are refused.
    assert arm.rule("rg-breakglass-monitoring", "Break-glass account sign-in") is not None


@pytest.mark.parametrize("drilled_days_ago", [10, None], ids=["recent-pass", "no-pass"])
def test_audit_does_not_judge_an_unreadable_setting(
    sim: SimServer, observer_secret: str, drilled_days_ago: int | None
) -> None:
    """Not PASS (the setting was not seen), not FAILED (nothing wrong was seen): WARNING when each
    account's PASS drill within the cycle proved the rows arrive, ERROR (fails the audit) otherwise."""
    apply_variant(sim.state, APP_READ, "forbidden-for-apps")
    pb = _playbook(sim)
    facts = _read(sim, observer_secret, coverage=False)
    assert facts.diagnostic_settings_forbidden
    when = None if drilled_days_ago is None else datetime.now(UTC) - timedelta(days=drilled_days_ago)
    facts.last_pass = {a.name: when.isoformat() if when else None for a in pb.accounts}
    outcome = bg_diag_1(facts, pb)
    if drilled_days_ago is None:
        assert outcome.status is Status.ERROR
        assert "no PASS drill within the cycle" in outcome.summary
    else:
        assert outcome.status is Status.WARNING
        assert outcome.details["readable"] is False
        assert "Reader at scope /providers/Microsoft.aadiam" in outcome.offenders[0]


def test_azure_security_reader_does_not_read_the_settings(sim: SimServer, observer_secret: str) -> None:
    """Azure's Security Reader has no microsoft.aadiam action (built-in roles reference): 403."""
    app = sim.state.tenant.application("6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02")
    assert app is not None
    app["armRoles"] = [{**r, "role": "Security Reader"} if "aadiam" in r["scope"] else r
                       for r in app["armRoles"]]  # fmt: skip
    arm, _workspace = _arm(sim, observer_secret)
    with pytest.raises(HttpResponseError) as refused:
        arm.diagnostic_settings()
    assert refused.value.status_code == 403
