"""Against the simulated tenant over real HTTPS: reminder mail through Graph sendMail as the observer (the
azure-identity client-credentials path of the product), and the observer's keyless probes, healthy and with
Global Administrator removed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from schedule_support import RECIPIENT, FakeClock, World, drill_line

from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.schedule.keyless import keyless_check
from drill.schedule.notify import GraphMailNotifier, LogNotifier
from drill.schedule.probes import ObserverProbes
from drill.schedule.scheduler import ScheduleRuntime, Target
from drill.testing import capture_logs


def test_reminders_are_mailed_through_graph_once(world: World, tmp_path: Path) -> None:
    from drill.clients import graph_scopes

    pb, cloud, sim = world.playbook, world.cloud, world.sim
    sim.state.mail.create_box(RECIPIENT)  # the on-call person's mailbox (the demo tenant has none)
    mail = GraphMailNotifier(
        world.credential,
        cloud.graph_endpoint,
        sender=str(pb.alert.mailbox),
        recipients=[RECIPIENT],
        scopes=graph_scopes(cloud, (".default",)),
        ca_bundle=cloud.ca_bundle,
    )
    clock = FakeClock(sim.state.clock.now())
    signer = Signer.generate()
    path = tmp_path / "reports" / "ledger.jsonl"
    tid = str(pb.tenant.id)
    ledger.append(path, drill_line("ea01", "PASS", clock.now - timedelta(days=85), tenant=tid), signer)
    rt = ScheduleRuntime([Target(pb, path, [LogNotifier(), mail])], tmp_path / "state", signer, clock=clock)
    with capture_logs() as logs:
        sent = rt.check_reminders()
        assert rt.check_reminders() == []
    assert [n.account for n in sent] == ["ea01", "ea02", None, None]  # then the two people's practice
    got = sorted(m["subject"] for m in sim.state.mail.messages(RECIPIENT) or [])
    assert got == [
        "[breakglass-drill] Break-glass drill for ea01 due in 7 days",
        "[breakglass-drill] Demo Operator has never practised a break-glass drill",
        "[breakglass-drill] Demo Witness has never practised a break-glass drill",
        "[breakglass-drill] OVERDUE: ea02 has no passing break-glass drill",
    ]
    message = next(m for m in sim.state.mail.messages(RECIPIENT) or [] if "ea01" in m["subject"])
    assert message["from"]["emailAddress"]["address"] == pb.alert.mailbox
    assert [e["subject"] for e in logs if e["event"] == "schedule.notice"] == [n.subject for n in sent]


def test_observer_probes_pass_on_a_healthy_tenant_and_catch_a_removed_ga(world: World) -> None:
    from drill.sim.faults import apply_fault

    probes = ObserverProbes(world.playbook, world.credential, world.cloud)
    now = world.sim.state.clock.now()
    healthy = keyless_check(world.playbook, probes, now)
    assert [(c.id, c.ok) for c in healthy.checks] == [
        ("observer_logs", True),
        ("observer_mailbox", True),
        ("alert_query", True),
        ("account_ea01", True),
        ("account_ea02", True),
    ], [c.reason for c in healthy.checks]
    apply_fault(world.sim.state, "ga-removed")
    drifted = keyless_check(world.playbook, probes, now)
    assert [c.id for c in drifted.failed] == ["account_ea01", "account_ea02"]
    expected = "ea01@contoso.onmicrosoft.com: no Global Administrator assignment at all"
    assert drifted.failed[0].reason == expected


def test_the_keyless_ga_probe_falls_back_to_role_assignments_without_a_pim_licence(world: World) -> None:
    """As in the drill's GA proof: no Entra ID P2 is no false FAIL, and a removed GA still fails."""
    from drill.sim.faults import apply_fault

    probes = ObserverProbes(world.playbook, world.credential, world.cloud)
    apply_fault(world.sim.state, "pim-licence-missing")
    result = probes.account(world.playbook.account("ea01"))
    assert result.ok, result.reason
    assert "no PIM licence" in result.reason
    assert result.evidence["api"] == "roleAssignments (no PIM licence)"
    apply_fault(world.sim.state, "ga-removed")
    removed = probes.account(world.playbook.account("ea01"))
    assert not removed.ok
    assert "no Global Administrator assignment at all" in removed.reason
