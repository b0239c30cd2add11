"""The unplanned-use watch against what an attacker can do on the simulated tenant (issue 29, items 1 and 14).

A client picks its own CorrelationId (`client-request-id`) and a recorded drill's ids are readable in the
ledger: replaying them hours later, or for the other account inside the drill's window, must still be an
unplanned use. A refresh token redeemed at the token endpoint (a real HTTPS request; msal as the client)
signs the account in without any interactive sign-in: only AADNonInteractiveUserSignInLogs shows it, and
the watch reads that table whenever the Entra diagnostic setting sends it, and says so when it does not.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msal
import requests
from cli_support import run_cli
from schedule_support import RECIPIENT, FakeClock, RecordingNotifier, World, drill_line

from drill.assets import DEMO_PLAYBOOK
from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.schedule.notify import GraphMailNotifier
from drill.schedule.probes import ObserverProbes
from drill.schedule.scheduler import ScheduleRuntime, Target
from drill.schedule.watch import NONINTERACTIVE

EA01 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a01"
EA02 = "0b6a2a35-6f33-4d7e-9a0e-4c1f4f1e0a02"
DRILL_APP = "2b7e1c4d-9f3a-4e5b-8c6d-0a1b2c3d4e01"  # the demo playbook's drill app (public client)
PLAYBOOK = DEMO_PLAYBOOK


def signin(world: World, user_id: str, at: datetime, correlation_id: str) -> None:
    """An interactive sign-in Entra recorded at `at`, carrying the CorrelationId its client chose."""
    from drill.sim.state import SignInEvent

    user = world.sim.state.tenant.user(user_id)
    world.sim.state.emit_signin(SignInEvent(
        created=at, user_id=user_id, user_principal_name=user["userPrincipalName"],
        user_display_name=user["displayName"], app_id="04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        app_display_name="Microsoft Azure CLI", result_type="0", correlation_id=correlation_id,
    ))  # fmt: skip


def role_change(world: World, at: datetime, correlation_id: str) -> None:
    """ea01 adds a user to Global Administrator: the AuditLogs row Entra writes, with the chosen id."""
    from drill.sim.state import AuditEvent

    world.sim.state.emit_audit(AuditEvent(
        created=at, category="RoleManagement", operation_name="Add member to role",
        initiated_by={"user": {"id": EA01, "userPrincipalName": "ea01@contoso.onmicrosoft.com"}},
        target_resources=[{"id": "7d3e9c1a-2b4f-4c6d-8e0f-1a2b3c4d5e01", "type": "User",
                           "modifiedProperties": [{"displayName": "Role.TemplateId",
                                                   "newValue": '"62e90394-69f5-4237-9190-012177145e10"'}]}],
        correlation_id=correlation_id,
    ))  # fmt: skip


def stolen_refresh_token(world: World, user_id: str) -> str:
    """The refresh token the simulator issued at an earlier sign-in of `user_id` (msal asks for
    offline_access by default), as issued by the token endpoint's own code; the attacker holds a copy."""
    from drill.sim.identity.oidc import user_tokens

    state = world.sim.state
    app, user = state.tenant.application(DRILL_APP), state.tenant.user(user_id)
    body = user_tokens(state, app=app, user=user, requested=["User.Read", "offline_access"],
                       auth={"amr": ["fido", "mfa"]}, nonce=None, session_id=str(uuid.uuid4()))  # fmt: skip
    return str(body["refresh_token"])


def session(world: World) -> requests.Session:
    http = requests.Session()
    http.trust_env = False
    http.verify = str(world.sim.ca_path)
    http.headers["Connection"] = "close"
    return http


def runtime(
    world: World, path: Path, state: Path, signer: Signer, clock: FakeClock, notifiers: list[Any]
) -> Any:
    return ScheduleRuntime(
        [Target(world.playbook, path, notifiers)], state, signer, clock=clock,
        activity_for=lambda p: ObserverProbes(p, world.credential, world.cloud),
    )  # fmt: skip


def status_json(path: Path, state: Path) -> dict[str, Any]:
    args = ["--ledger", str(path), "--state", str(state), "--json"]
    code, out, err = run_cli("schedule", "status", str(PLAYBOOK), *args)
    assert code == 0, err
    return next(r for r in json.loads(out) if r["account"] == "ea01")


def test_replayed_correlation_ids_outside_the_window_or_account_are_unplanned_with_one_notice(
    world: World, tmp_path: Path, signer: Signer
) -> None:
    from drill.clients import graph_scopes

    sim, pb, tid = world.sim, world.playbook, str(world.playbook.tenant.id)
    sim.state.mail.create_box(RECIPIENT)
    now = sim.state.clock.now()
    path, state = tmp_path / "reports" / "ledger.jsonl", tmp_path / "state"
    # A recorded drill of ea01, six hours ago: its sign-in and admin-task rows' CorrelationIds are in the
    # ledger (anyone who can read the ledger, a filed copy or a report knows them).
    c_signin, c_audit = str(uuid.uuid4()), str(uuid.uuid4())
    drill = drill_line("ea01", "PASS", now - timedelta(hours=6), tenant=tid, drill_id="d-replayed")
    drill["correlation_ids"] = [c_signin, c_audit]
    ledger.append(path, drill, signer)
    inside = now - timedelta(hours=6, minutes=10)
    signin(world, EA01, inside, c_signin)  # the drill's own sign-in: planned
    role_change(world, inside, c_audit)  # the drill's own directory change: planned
    # The attack, hours later, with the drill's ids.
    signin(world, EA01, now - timedelta(hours=2), c_signin)
    role_change(world, now - timedelta(hours=2), c_audit)
    # A real token request whose client chooses client-request-id (MSAL's WithCorrelationId does the same).
    token = session(world).post(
        f"{sim.base_url}/{tid}/oauth2/v2.0/token",
        data={"client_id": DRILL_APP, "grant_type": "refresh_token", "scope": "User.Read offline_access",
              "refresh_token": stolen_refresh_token(world, EA01)},
        headers={"client-request-id": c_signin},
    )  # fmt: skip
    assert token.status_code == 200, token.text
    # The same id for the wrong account inside the drill's window.
    signin(world, EA02, inside, c_signin)
    sim.state.clock.advance(60)  # every row ingested
    clock = FakeClock(now + timedelta(hours=3))  # every row older than the watch's settling time
    mail = GraphMailNotifier(
        world.credential, world.cloud.graph_endpoint, sender=str(pb.alert.mailbox), recipients=[RECIPIENT],
        scopes=graph_scopes(world.cloud, (".default",)), ca_bundle=world.cloud.ca_bundle,
    )  # fmt: skip
    recording = RecordingNotifier()

    outcome = runtime(world, path, state, signer, clock, [mail, recording]).watch_unplanned(tid)

    lines = ledger.read_entries(path, kind="unplanned-use")
    assert sorted((e["source"], e["account"], e["correlation_id"]) for e in lines) == sorted([
        ("SigninLogs", "ea01", c_signin), ("AuditLogs", "ea01", c_audit),
        (NONINTERACTIVE, "ea01", c_signin), ("SigninLogs", "ea02", c_signin),
    ])  # fmt: skip
    assert ledger.verify(path, {signer.fingerprint}).ok
    assert [n.severity for n in recording.notices] == ["critical"]  # one notice for the four rows
    assert sorted(recording.notices[0].facts["use_ids"]) == sorted(e["use_id"] for e in lines)
    assert [m["subject"] for m in sim.state.mail.messages(RECIPIENT) or []] == [
        "[breakglass-drill] UNPLANNED USE of break-glass account ea01, ea02"
    ]
    assert not outcome.ok
    assert outcome.problems == []
    # The next check (a restart) ledgers and tells nothing more; status lists every use unreviewed.
    again = runtime(world, path, state, signer, clock, [mail, recording]).watch_unplanned(tid)
    assert again.found == []
    assert again.notices == []
    assert len(ledger.read_entries(path, kind="unplanned-use")) == 4
    assert len(recording.notices) == 1
    row = status_json(path, state)
    assert len(row["unreviewed_unplanned_use"]) == 3
    assert row["ledger_rolled_back"] is None


def test_a_noninteractive_signin_alone_is_unplanned_and_status_names_the_tables_read(
    world: World, tmp_path: Path, signer: Signer
) -> None:
    sim, tid = world.sim, str(world.playbook.tenant.id)
    path, state = tmp_path / "reports" / "ledger.jsonl", tmp_path / "state"
    now = sim.state.clock.now()
    clock = FakeClock(now + timedelta(hours=3))
    recording = RecordingNotifier()
    app = msal.PublicClientApplication(DRILL_APP, authority=f"{sim.base_url}/{tid}", instance_discovery=False,
                                       http_client=session(world), token_cache=msal.TokenCache())  # fmt: skip
    rt = stolen_refresh_token(world, EA01)
    setting = sim.state.tenant.diagnosticSettings[0]
    logs = setting["logs"]

    # 1. The diagnostic setting does not send NonInteractiveUserSignInLogs: the redemption leaves no row the
    #    watch could read, and status says the table was not covered (not silently).
    setting["logs"] = [entry for entry in logs if entry["category"] != "NonInteractiveUserSignInLogs"]
    assert "access_token" in app.acquire_token_by_refresh_token(rt, ["User.Read"])
    sim.state.clock.advance(60)
    first = runtime(world, path, state, signer, clock, [recording]).watch_unplanned(tid)
    assert first.coverage is not None
    assert NONINTERACTIVE not in first.coverage.read
    assert first.ok
    assert ledger.read_entries(path, kind="unplanned-use") == []
    row = status_json(path, state)
    assert row["watch_tables_covered"] == ["SigninLogs", "AuditLogs"]
    assert "NonInteractiveUserSignInLogs" in row["watch_tables_not_covered"][NONINTERACTIVE]
    code, out, _ = run_cli("schedule", "status", str(PLAYBOOK), "--ledger", str(path), "--state", str(state))
    assert code == 0
    assert f"{NONINTERACTIVE} NOT covered" in " ".join(out.split())

    # 2. The setting sends it: the same stolen token, redeemed again by msal, is one unplanned use.
    setting["logs"] = logs
    assert "access_token" in app.acquire_token_by_refresh_token(rt, ["User.Read"])
    sim.state.clock.advance(60)
    assert [e.is_interactive for e in sim.state.signins] == [False, False]  # no interactive sign-in at all
    second = runtime(world, path, state, signer, clock, [recording]).watch_unplanned(tid)
    lines = ledger.read_entries(path, kind="unplanned-use")
    assert [(e["source"], e["account"]) for e in lines] == [(NONINTERACTIVE, "ea01")]
    assert lines[0]["what"] == "Non-interactive sign-in to Break-glass drill (result 0)"
    assert len(second.notices) == 1
    assert not second.ok
    row = status_json(path, state)
    assert row["watch_tables_covered"] == ["SigninLogs", NONINTERACTIVE, "AuditLogs"]
    assert row["watch_tables_not_covered"] == {}
    assert row["unreviewed_unplanned_use"] == [lines[0]["use_id"]]
