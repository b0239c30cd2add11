"""Tenant text in a mailed notice is inert (issue 29, item 11).

The attack: a Conditional Access policy named with ESC, CR/LF, a right-to-left override and a forged
"All checks PASSED" line. The daily audit read it, failed a check naming it, and mailed the name raw. Here
the real daily audit (`ScheduleRuntime.run_audit` with the product's Graph reader) reads the simulated
tenant over HTTPS and mails through Graph `sendMail`; the mail that arrives must carry the name as visible
escapes on the line that quotes it.
"""

from __future__ import annotations

from pathlib import Path

from schedule_support import RECIPIENT, FakeClock, World

from drill.evidence.signing import Signer
from drill.schedule.notify import GraphMailNotifier, LogNotifier
from drill.schedule.scheduler import ScheduleRuntime, Target
from drill.testing import capture_logs

FORGED = "All checks PASSED"
HOSTILE = f"CA002 \x1b[2J\x1b[32mfine\r\n{FORGED}\n\u202edesrever\u2028{FORGED}\x85{FORGED}"


def test_a_hostile_policy_name_reaches_the_mail_inert(world: World, tmp_path: Path) -> None:
    from drill.audit.read_graph import read_graph_sync
    from drill.clients import graph_scopes

    pb, cloud, sim = world.playbook, world.cloud, world.sim
    # A policy the break-glass accounts are no longer excluded from, under a hostile name.
    policy = next(
        p for p in sim.state.tenant.conditionalAccessPolicies if p["displayName"].startswith("CA002")
    )
    policy["displayName"] = HOSTILE
    policy["conditions"]["users"]["excludeGroups"] = []
    sim.state.mail.create_box(RECIPIENT)
    mail = GraphMailNotifier(
        world.credential, cloud.graph_endpoint, sender=str(pb.alert.mailbox), recipients=[RECIPIENT],
        scopes=graph_scopes(cloud, (".default",)), ca_bundle=cloud.ca_bundle,
    )  # fmt: skip
    signer = Signer.generate()
    runtime = ScheduleRuntime(
        [Target(pb, tmp_path / "reports" / "ledger.jsonl", [LogNotifier(), mail], signer=signer)],
        tmp_path / "state",
        signer,
        clock=FakeClock(sim.state.clock.now()),
        # The product's Graph reader (where policy names come from); ARM's reads are left out for speed,
        # and their checks fail as unread, which only adds lines to the same notice.
        audit_readers_for=lambda p: [lambda facts, pb: read_graph_sync(facts, pb, world.credential, cloud)],
    )
    with capture_logs() as logs:
        run = runtime.run_audit(str(pb.tenant.id))
    assert run is not None
    assert run.exit_code == 1

    (message,) = sim.state.mail.messages(RECIPIENT) or []
    body = message["body"]["content"]
    assert "\\x1b[2J\\x1b[32mfine\\x0d" in body  # shown, not acted on
    assert "\\u202edesrever" in body
    for raw in ("\x1b", "\r", "\u202e", "\u2028", "\x85"):
        assert raw not in body + message["subject"]
    lines = body.split("\n")
    quoting = [line for line in lines if "CA002" in line]
    assert quoting, body
    assert all(line.startswith("- ") for line in quoting)  # the name stays inside its check's line
    assert not any(line.strip().startswith(FORGED) for line in lines), body
    (logged,) = [e for e in logs if e["event"] == "schedule.notice"]
    assert "\x1b" not in logged["subject"]
