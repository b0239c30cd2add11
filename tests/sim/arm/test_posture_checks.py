"""The monitoring checks (BG.DIAG.1, BG.AL.1-5) over what the reader reads from the simulator.

The demo tenant passes every one, with and without a Sentinel rule. That each posture variant fails
exactly its own check is shown over both readers in tests/e2e/test_audit.py.
The facts come over real HTTPS (azure-mgmt-*, azure-monitor-query) as the observer, as `drill audit` reads
them; the checks are drill/audit/checks_alerting.py's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from arm_support import observer_credential

from drill.assets import DEMO_PLAYBOOK
from drill.audit.checks_alerting import CHECKS
from drill.audit.facts import Facts
from drill.audit.model import Status
from drill.audit.read_monitoring import monitoring_reader
from drill.clouds import cloud_for
from drill.playbook import Playbook
from drill.playbook.load import load_playbook
from drill.sim.arm import posture_faults
from drill.sim.server import SimServer

REPO = Path(__file__).resolve().parents[3]


def _judge(sim: SimServer, secret: str, *, name_sentinel: bool = False) -> dict[str, Status]:
    env = {"DRILL_SIM_PORT": str(sim.port), "DRILL_SIM_CA": str(sim.ca_path)}
    pb: Playbook = load_playbook(DEMO_PLAYBOOK, env=env)
    if name_sentinel:
        audit = pb.audit.model_copy(update={"sentinel_rules": [posture_faults.SENTINEL_RULE]})
        pb = pb.model_copy(update={"audit": audit})
    cred = observer_credential(sim, secret, str(pb.tenant.id))
    facts = Facts(tenant_id=str(pb.tenant.id), read_at=datetime.now(UTC))
    monitoring_reader(cred, cloud_for(pb))(facts, pb)
    return {check: fn(facts, pb).status for check, fn in CHECKS.items()}


def _failing(statuses: dict[str, Status]) -> list[str]:
    return sorted(c for c, s in statuses.items() if s not in (Status.PASSED, Status.NOT_APPLICABLE))


def test_demo_tenant_passes_every_monitoring_check(sim: SimServer, observer_secret: str) -> None:
    statuses = _judge(sim, observer_secret)
    assert _failing(statuses) == []
    assert statuses["BG.AL.5"] == Status.NOT_APPLICABLE  # the demo playbook names no Sentinel rule


def test_demo_with_a_healthy_sentinel_rule_passes_bg_al_5(sim: SimServer, observer_secret: str) -> None:
    posture_faults.onboard_sentinel(sim.state)
    statuses = _judge(sim, observer_secret, name_sentinel=True)
    assert statuses["BG.AL.5"] == Status.PASSED
    assert _failing(statuses) == []


def test_a_named_sentinel_rule_on_a_workspace_without_sentinel_fails(
    sim: SimServer, observer_secret: str
) -> None:
    assert _failing(_judge(sim, observer_secret, name_sentinel=True)) == ["BG.AL.5"]
