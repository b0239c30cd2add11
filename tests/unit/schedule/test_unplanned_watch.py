"""The unplanned-use watch against the simulated tenant over real HTTPS (azure-monitor-query as the observer,
Graph sendMail for the notice): a break-glass sign-in outside any drill gives one signed ledger line and one
critical notice, mailed and logged, and nothing more after a restart or days later (time travel); a review
closes it in `drill schedule status`."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from schedule_support import RECIPIENT, FakeClock, RecordingNotifier, World, drill_line
from typer.testing import CliRunner

from drill.assets import DEMO_PLAYBOOK
from drill.errors import DrillUserError
from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.schedule.notify import GraphMailNotifier, LogNotifier
from drill.schedule.probes import ObserverProbes
from drill.schedule.scheduler import ScheduleRuntime, Target
from drill.schedule.status import collect, render
from drill.schedule.watch import Activity, Coverage, Reading, planned_by, record_review
from drill.testing import capture_logs

EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
DEMO_PLAYBOOK = DEMO_PLAYBOOK


def inject_signin(world: World, at: datetime, correlation_id: str | None = None) -> Any:
    """A successful ea01 sign-in that Entra recorded at `at` (outside the drill code entirely)."""
    from drill.sim.state import SignInEvent

    event = SignInEvent(
        created=at, user_id=EA01, user_principal_name="ea01@contoso.onmicrosoft.com",
        user_display_name="Emergency Access 01", app_id="04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        app_display_name="Microsoft Azure CLI", result_type="0",
        correlation_id=correlation_id or str(uuid.uuid4()),
    )  # fmt: skip
    world.sim.state.emit_signin(event)
    return event


def runtime(
    world: World, path: Path, state: Path, signer: Signer, clock: FakeClock, notifiers: list[Any]
) -> Any:
    pb = world.playbook
    return ScheduleRuntime(
        [Target(pb, path, notifiers)], state, signer, clock=clock,
        activity_for=lambda p: ObserverProbes(p, world.credential, world.cloud),
    )  # fmt: skip


def test_unplanned_signin_one_line_one_notice_never_again(
    world: World, tmp_path: Path, signer: Signer
) -> None:
    from drill.clients import graph_scopes

    pb, cloud, sim = world.playbook, world.cloud, world.sim
    tid = str(pb.tenant.id)
    sim.state.mail.create_box(RECIPIENT)  # the announce list
    now = sim.state.clock.now()
    clock = FakeClock(now)
    path = tmp_path / "reports" / "ledger.jsonl"
    # Two drills of ea01 in the ledger: one whose evidence recorded a CorrelationId, one without.
    far = drill_line("ea01", "PASS", now - timedelta(days=1), tenant=tid, drill_id="d-corr")
    far["correlation_ids"] = ["corr-of-a-drill"]
    near = drill_line("ea01", "FAIL", now - timedelta(hours=7), tenant=tid, drill_id="d-window")
    ledger.append(path, far, signer)
    ledger.append(path, near, signer)
    inject_signin(world, now - timedelta(days=1, minutes=5), "corr-of-a-drill")  # planned: d-corr's own row
    inject_signin(world, now - timedelta(hours=7, minutes=10))  # planned: inside d-window
    rogue = inject_signin(world, now - timedelta(hours=4))  # nobody planned this one
    sim.state.clock.advance(60)  # every row ingested
    mail = GraphMailNotifier(
        world.credential, cloud.graph_endpoint, sender=str(pb.alert.mailbox), recipients=[RECIPIENT],
        scopes=graph_scopes(cloud, (".default",)), ca_bundle=cloud.ca_bundle,
    )  # fmt: skip
    recording = RecordingNotifier()
    with capture_logs() as logs:
        sent = (
            runtime(world, path, tmp_path / "state", signer, clock, [LogNotifier(), mail, recording])
            .watch_unplanned(tid)
            .notices
        )
    assert len(sent) == 1
    assert sent[0].severity == "critical"
    lines = [e for e in ledger.read_entries(path) if e["kind"] == "unplanned-use"]
    assert len(lines) == 1
    assert lines[0]["correlation_id"] == rogue.correlation_id
    assert lines[0]["account"] == "ea01"
    assert ledger.verify(path, {signer.fingerprint}).ok  # signed by the workstation key like every line
    boxes = sim.state.mail.messages(RECIPIENT) or []
    assert [m["subject"] for m in boxes] == ["[breakglass-drill] UNPLANNED USE of break-glass account ea01"]
    assert [e["subject"] for e in logs if e["event"] == "schedule.notice"] == [sent[0].subject]

    # A restart (new runtime, same state folder and ledger), then days later: nothing more.
    for advance in (timedelta(0), timedelta(days=1), timedelta(days=4)):
        clock.advance(advance)
        again = runtime(world, path, tmp_path / "state", signer, clock, [LogNotifier(), mail, recording])
        assert again.watch_unplanned(tid).notices == []
    assert len([e for e in ledger.read_entries(path) if e["kind"] == "unplanned-use"]) == 1
    assert len(recording.notices) == 1
    assert len(sim.state.mail.messages(RECIPIENT) or []) == 1

    # Status shows it until it is reviewed; `drill review` records a signed review line.
    use_id = lines[0]["use_id"]
    blocks = collect([pb], path, clock.now)
    assert [u["use_id"] for u in blocks[0].unreviewed] == [use_id]
    assert any("UNREVIEWED UNPLANNED USE" in str(r) for r in render(blocks, clock.now))
    cli = CliRunner()
    from drill.cli import app

    status = cli.invoke(app, ["schedule", "status", str(DEMO_PLAYBOOK), "--ledger", str(path), "--json"])
    assert status.exit_code == 0, status.output
    row = next(r for r in json.loads(status.output) if r["account"] == "ea01")
    assert row["unreviewed_unplanned_use"] == [use_id]
    args = ["review", use_id, "--classification", "emergency", "--notes", "tenant lockout, INC-42"]
    done = cli.invoke(app, [*args, "--playbook", str(DEMO_PLAYBOOK), "--ledger", str(path)])
    assert done.exit_code == 0, done.output
    review = ledger.read_entries(path, kind="review")
    assert [(r["use_id"], r["classification"]) for r in review] == [(use_id, "emergency")]
    assert ledger.verify(path, {signer.fingerprint}).ok
    blocks = collect([pb], path, clock.now)
    assert blocks[0].unreviewed == []
    assert not any("UNREVIEWED" in str(r) for r in render(blocks, clock.now))
    with pytest.raises(DrillUserError, match="already reviewed"):
        record_review(path, str(pb.tenant.id), use_id, "misuse", "again", "me", signer, clock.now)


def test_review_refuses_unknown_ids_bad_input_and_forged_uses(tmp_path: Path, signer: Signer) -> None:
    path = tmp_path / "ledger.jsonl"
    tid = "6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00"
    now = datetime.now().astimezone()
    forger = Signer.generate()
    other = tmp_path / "forged.jsonl"
    ledger.append(other, {"kind": "unplanned-use", "use_id": "Uforged", "tenant_id": tid}, forger)
    with pytest.raises(DrillUserError, match="no unplanned use"):
        record_review(other, tid, "Uforged", "planned-drill", "fine", "me", signer, now)  # not our key
    ledger.append(path, {"kind": "unplanned-use", "use_id": "Ureal", "tenant_id": tid}, signer)
    with pytest.raises(DrillUserError, match="no unplanned use"):
        record_review(path, tid, "Unope", "planned-drill", "fine", "me", signer, now)
    with pytest.raises(DrillUserError, match="--notes is empty"):
        record_review(path, tid, "Ureal", "planned-drill", "  ", "me", signer, now)
    with pytest.raises(DrillUserError, match="--classification"):
        record_review(path, tid, "Ureal", "oops", "x", "me", signer, now)


def test_watch_that_cannot_read_logs_says_so_once_a_day(tmp_path: Path, signer: Signer, world: World) -> None:
    class Broken:
        def activity(self, *args: Any) -> list[Activity]:
            raise ConnectionError("workspace unreachable")

    clock = FakeClock(world.sim.state.clock.now())
    recording = RecordingNotifier()
    rt = ScheduleRuntime([Target(world.playbook, tmp_path / "l.jsonl", [recording])], tmp_path / "s", signer,
                         clock=clock, activity_for=lambda p: Broken())  # fmt: skip
    tid = str(world.playbook.tenant.id)
    rt.watch_unplanned(tid)
    rt.watch_unplanned(tid)
    assert [n.subject for n in recording.notices] == [
        "[breakglass-drill] The unplanned-use watch could not read the logs"
    ]


def test_planned_by_matches_ids_then_the_drilled_accounts_window() -> None:
    at = datetime.fromisoformat("2026-03-01T10:00:00+00:00")
    act = Activity("AuditLogs", "row", "c1", at, EA01, "Update group")
    drills = [{"kind": "drill", "account": "ea01", "started_at": "2026-03-01T09:55:00+00:00",
               "ended_at": "2026-03-01T09:58:00+00:00"}]  # fmt: skip
    assert planned_by(act, drills, {EA01: "ea01"}) is drills[0]  # inside window + slack
    assert planned_by(act, drills, {EA01: "ea02"}) is None  # another account's drill
    late = Activity("AuditLogs", "row2", "c2", at + timedelta(hours=1), EA01, "Update group")
    assert planned_by(late, drills, {EA01: "ea01"}) is None
    # Its CorrelationId recorded by the drill does not make a row outside the drill's window planned.
    assert planned_by(late, [{**drills[0], "correlation_ids": ["c2"]}], {EA01: "ea01"}) is None
    # Inside the window, a row carrying an id another drill recorded belongs to that drill only.
    other = {**drills[0], "drill_id": "d2", "started_at": "2026-02-01T09:00:00+00:00",
             "ended_at": "2026-02-01T09:10:00+00:00", "correlation_ids": ["c1"]}  # fmt: skip
    assert planned_by(act, [drills[0], other], {EA01: "ea01"}) is None
    assert planned_by(act, [{**drills[0], "correlation_ids": ["c1"]}, other], {EA01: "ea01"}) is not None


class _Seen:
    """The activity the workspace holds (a stand-in for the observer's query, fixed for this test)."""

    def __init__(self, rows: list[Activity]) -> None:
        self.rows = rows

    def activity(self, user_ids: Any, since: datetime, until: datetime) -> Reading:
        rows = [a for a in self.rows if since <= a.at <= until and a.user_id in user_ids]
        return Reading(rows, Coverage(("SigninLogs", "AADNonInteractiveUserSignInLogs", "AuditLogs")))


def test_the_daily_job_runs_the_watch_and_a_restarted_scheduler_sends_nothing_more(
    make_playbook: Any, clock: FakeClock, signer: Signer, tmp_path: Path
) -> None:
    """Through APScheduler: the keyless job runs the watch; after a restart and a day's catch-up run, the
    same use is neither ledgered nor notified again."""
    import threading

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    from drill.schedule.scheduler import DrillScheduler

    pb = make_playbook(accounts=("bg-1",))
    tid, path, state = str(pb.tenant.id), tmp_path / "reports" / "ledger.jsonl", tmp_path / "state"
    user = str(pb.accounts[0].object_id)
    seen = _Seen([Activity("SigninLogs", "row-1", "c-1", clock.now - timedelta(hours=5), user, "Sign-in")])
    recording = RecordingNotifier()

    def one_round() -> list[Any]:
        done = threading.Event()
        errors: list[Any] = []

        def listener(event: Any) -> None:
            if event.job_id == f"keyless:{tid}":
                errors.append(getattr(event, "exception", None))
                done.set()

        rt = ScheduleRuntime([Target(pb, path, [recording])], state, signer, clock=clock,
                             activity_for=lambda _: seen)  # fmt: skip
        sched = DrillScheduler(rt)
        sched.scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        try:
            sched.start()
            job = sched.scheduler.get_job(f"keyless:{tid}")
            sched.scheduler.modify_job(job.id, next_run_time=datetime.now().astimezone())  # due now
            assert done.wait(30)
        finally:
            sched.shutdown()
        return errors

    def unplanned() -> list[str]:  # the reminder job also runs (bg-1 was never drilled): not counted here
        return [n.severity for n in recording.notices if "/unplanned/" in n.key]

    assert one_round() == [None]
    assert unplanned() == ["critical"]
    clock.advance(timedelta(days=1))
    assert one_round() == [None]  # a restarted scheduler, a day later
    assert unplanned() == ["critical"]
    assert len(ledger.read_entries(path, kind="unplanned-use")) == 1


def test_log_text_in_a_use_is_shown_escaped_in_status_and_notice(tmp_path: Path, signer: Signer) -> None:
    from drill.playbook import load_playbook
    from drill.schedule.watch_check import unplanned_notice

    pb = load_playbook(DEMO_PLAYBOOK, env={})
    path = tmp_path / "ledger.jsonl"
    use = {
        "kind": "unplanned-use",
        "use_id": "Uesc",
        "tenant_id": str(pb.tenant.id),
        "account": "ea01",
        "what": "Sign-in to \x1b[2Jevil\r (result 0)",
        "source": "SigninLogs",
        "at": "t",
        "correlation_id": "c",
    }
    ledger.append(path, use, signer)
    texts = [
        str(r) for r in render(collect([pb], path, datetime.now().astimezone()), datetime.now().astimezone())
    ]
    shown = next(t for t in texts if "Uesc" in t)
    assert "\x1b" not in shown
    assert "\\x1b[2J" in shown
    notice = unplanned_notice([use])
    assert "\x1b" not in notice.body
    assert "\r" not in notice.body
