"""Issue 25: the alert faults still FAIL under the plausible shapes of Microsoft's answers that change what
they break (drill/sim/DIFFERENCES.md). The healthy drill under every form of every belief is
tests/e2e/test_variant_matrix.py's (each row also checks that the alert window came from the ARM instance).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_drill import FAST_LATE, SHORT, run_drill

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Faults that break the alert link, each run under the forms that change what it breaks:
# - alert-already-fired is caught by reading whether the rule auto-resolves and listing its Fired
#   instances; `omitted-when-default` (no autoMitigate: the old reader called that stateless), `split`
#   (the old list by the rule's group found nothing) and `rule-name` (alertRule not the rule's id) each
#   hid it from the old preflight. The matrix runs the default forms.
# - alert-resolved-only is caught the same way; under `resolve-configuration` the rule says it
#   auto-resolves only in ruleResolveConfiguration, and under `custom-minimal` the Resolved mail cannot be
#   told from a Fired one, so only the instances can refuse it.
# - mail-dropped leaves a Fired instance covering the row but no mail: under `custom-minimal` and a nested
#   condition the instance alone must not pass the step.
# ingestion-later-than-window is not rerun: no instance and no mail ever exist, so no form can change
# what there is to accept. alert-other-account fails at log_rows, before any alert shape is read.
FAULTS = {
    "alert-already-fired": ("preflight", SHORT, (
        "rule-auto-resolve=omitted-when-default", "monitoring-resource-groups=split",
        "alert-instance-rule-ref=rule-name", "alert-instance-condition=nested",
        "alert-mail-template=custom-minimal")),
    "alert-resolved-only": ("preflight", FAST_LATE, (
        "rule-auto-resolve=resolve-configuration", "monitoring-resource-groups=split",
        "alert-instance-condition=nested", "alert-mail-template=custom-minimal")),
    "mail-dropped": ("alert", SHORT, (
        "alert-mail-template=custom-minimal", "alert-instance-condition=nested",
        "alert-instance-rule-ref=rule-name", "monitoring-resource-groups=split")),
}  # fmt: skip


@pytest.mark.parametrize("fault", list(FAULTS))
def test_alert_faults_still_fail_under_the_forms_that_change_them(fault: str, tmp_path: Path) -> None:
    expected, (wait_scale, special), variants = FAULTS[fault]
    sla = {"log_row": 15, "alert": 25, **special}
    code, _writer, info = run_drill(tmp_path, fault=fault, scale=10, sla=sla, wait_scale=wait_scale,
                                    variants=variants)  # fmt: skip
    record = info["record"]
    assert record["verdict"] == "FAIL", f"{fault} must never pass"
    assert code == 1
    assert record["reason"].startswith(expected), (fault, record["reason"])
    if expected == "preflight":
        assert "Automatically resolve alerts" in record["reason"]
