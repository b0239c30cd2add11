"""Issue 25: the product reads every plausible shape of the alert objects through the real Azure SDKs.

azure-mgmt-monitor and azure-mgmt-alertsmanagement against the simulator, one test per belief, each run
under every form the simulator serves (drill/sim/DIFFERENCES.md, belief table). A rehearsal sign-in
(fault alert-already-fired) makes the rules stateful and Fired, so there are instances to list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from arm_support import SUB, observer_credential

from drill.assets import DEMO_PLAYBOOK
from drill.clouds import cloud_for
from drill.monitoring import checks
from drill.monitoring.arm import ArmReader
from drill.playbook.load import load_playbook
from drill.sim.beliefs import apply_variant
from drill.sim.faults import apply_fault
from drill.sim.server import SimServer

REPO = Path(__file__).resolve().parents[3]
RULE = "Break-glass account sign-in"


def _reader(sim: SimServer, secret: str) -> ArmReader:
    env = {"DRILL_SIM_PORT": str(sim.port), "DRILL_SIM_CA": str(sim.ca_path)}
    cloud = cloud_for(load_playbook(DEMO_PLAYBOOK, env=env))
    return ArmReader(observer_credential(sim, secret, sim.state.tenant.id), cloud, SUB)


def _group(sim: SimServer) -> str:
    from drill.sim.arm import ids

    return ids.resource_group(sim.state)


def _fired(sim: SimServer, secret: str, **variants: str) -> tuple[ArmReader, Any, list[Any]]:
    for belief, form in variants.items():
        apply_variant(sim.state, belief, form)
    apply_fault(sim.state, "alert-already-fired")
    arm = _reader(sim, secret)
    rule = arm.rule(_group(sim), RULE)
    assert rule is not None
    return arm, rule, arm.fired_alerts(rule, time_range="1d")


@pytest.mark.parametrize("form", ["flat", "nested"])
def test_the_instance_window_and_dimensions_are_read_wherever_the_condition_sits(
    sim: SimServer, observer_secret: str, form: str
) -> None:
    _arm, rule, alerts = _fired(sim, observer_secret, **{"alert-instance-condition": form})
    assert alerts, "the rehearsal's alert is listed"
    alert = alerts[0]
    assert alert.rule_id.lower() == rule.id.lower()
    assert alert.window_start is not None
    assert alert.window_end is not None
    assert alert.window_start < alert.window_end
    assert alert.fired is not None
    assert alert.window_end <= alert.fired


@pytest.mark.parametrize("form", ["arm-id", "rule-name"])
def test_the_rules_instances_are_found_whether_alert_rule_holds_its_id_or_its_name(
    sim: SimServer, observer_secret: str, form: str
) -> None:
    _arm, rule, alerts = _fired(sim, observer_secret, **{"alert-instance-rule-ref": form})
    assert [a.monitor_condition for a in alerts] == ["Fired"]
    expected = rule.name if form == "rule-name" else rule.id
    assert alerts[0].rule_id.lower() == expected.lower()


@pytest.mark.parametrize("form", ["autoMitigate", "omitted-when-default", "resolve-configuration"])
def test_a_stateful_rule_already_fired_is_caught_in_every_form(
    sim: SimServer, observer_secret: str, form: str
) -> None:
    """The rule auto-resolves however ARM says so (or says nothing: the documented default)."""
    from datetime import UTC, datetime

    _arm, rule, alerts = _fired(sim, observer_secret, **{"rule-auto-resolve": form})
    assert rule.auto_mitigate is True
    verdict = checks.rule_not_fired("r", rule, alerts, datetime.now(UTC))
    assert not verdict.ok
    assert "Automatically resolve alerts" in verdict.reason
    assert (
        verdict.evidence["statefulFrom"]
        == {
            "autoMitigate": "autoMitigate",
            "omitted-when-default": "absent (the documented default: true)",
            "resolve-configuration": "ruleResolveConfiguration.autoResolved",
        }[form]
    )


@pytest.mark.parametrize("form", ["autoMitigate", "omitted-when-default", "resolve-configuration"])
def test_a_stateless_rule_reads_as_stateless_in_every_form(
    sim: SimServer, observer_secret: str, form: str
) -> None:
    apply_variant(sim.state, "rule-auto-resolve", form)
    rule = _reader(sim, observer_secret).rule(_group(sim), RULE)
    assert rule is not None
    assert rule.auto_mitigate is False  # the demo rules do not auto-resolve


def test_the_instance_list_is_filtered_by_the_workspaces_group_not_the_rules(
    sim: SimServer, observer_secret: str
) -> None:
    """Rules in rg-monitoring, workspace in rg-logs: listing by the rule's group (the old behaviour) finds
    nothing, so the drill could never tie its mail to an instance; the target's group finds it."""
    arm, rule, alerts = _fired(sim, observer_secret, **{"monitoring-resource-groups": "split"})
    assert rule.id.lower().split("/providers/")[0].endswith("/resourcegroups/rg-monitoring")
    assert [s.lower().split("/providers/")[0] for s in rule.scopes] == [
        f"/subscriptions/{SUB}/resourcegroups/rg-logs"
    ]
    assert [a.monitor_condition for a in alerts] == ["Fired"]
    old = list(arm.alerts.alerts.get_all(target_resource_group="rg-monitoring", alert_rule=rule.id,
                                         include_context=True, time_range="1d"))  # fmt: skip
    assert old == []


def test_listing_by_the_workspaces_group_needs_a_role_there(sim: SimServer, observer_secret: str) -> None:
    """Under split the observer reads the rules in rg-monitoring; without a role on rg-logs the list of the
    workspace's alerts is refused (403), which is why preflight names the workspace's group to grant."""
    from azure.core.exceptions import HttpResponseError

    apply_variant(sim.state, "monitoring-resource-groups", "split")
    app = sim.state.tenant.application("6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02")
    assert app is not None
    app["armRoles"] = [g for g in app["armRoles"] if not g["scope"].lower().endswith("/rg-logs")]
    arm = _reader(sim, observer_secret)
    rule = arm.rule("rg-monitoring", RULE)
    assert rule is not None
    with pytest.raises(HttpResponseError) as refused:
        arm.fired_alerts(rule)
    assert refused.value.status_code == 403
