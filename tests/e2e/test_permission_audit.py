"""Every call the product makes is in the permissions registry, and the audit and the scheduler report a
missing grant as one finding naming it.

One simulated tenant for the module: a demo drill (with an announcement and SharePoint filing), the
posture audit, the scheduler's watch, keyless check and reminder mail all run against it; the simulator
records every (path, caller) it served, and each must be declared in the registry for that identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drill.auth import observer_credential
from drill.clients import graph_scopes
from drill.evidence.bundle import BundleWriter
from drill.evidence.signing import Signer
from drill.permissions import REGISTRY, Identity, Service, calls_matching
from drill.permissions.selfcheck import missing_permissions
from drill.playbook.model import Announce
from drill.run.audit import permissions_granted
from drill.run.demo import DemoWorld, build_context, demo_filers, demo_world
from drill.run.file_evidence import filing_after_verdict
from drill.run.loop import execute
from drill.sim.faults import apply_fault
from drill.sim.hits import hits

pytestmark = pytest.mark.e2e

# Declared calls the demo does not make, each with the reason (a registry entry never hit must say why).
NOT_EXERCISED = {
    ("GET", "/roleManagement/directory/roleAssignments", Identity.DRILL_APP):
        "the GA proof's fallback when the tenant has no PIM licence (tests/e2e/test_drill.py no-P2 fault)",
    ("GET", "/roleManagement/directory/roleAssignments", Identity.OBSERVER):
        "the audit's and the keyless check's fallback when the tenant has no PIM licence",
    ("GET", "/servicePrincipals/{id}/appRoleAssignedTo", Identity.OBSERVER):
        "read only when the drill app requires user assignment",
}  # fmt: skip
GRAPH_SERVICES = (Service.GRAPH, Service.MAIL, Service.SHAREPOINT)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    with demo_world(tmp_path_factory.mktemp("coverage") / "state") as w:
        yield w


def exercise(world: DemoWorld, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Hits of a drill, an audit, the watch, the keyless check and a reminder mail, on the healthy tenant.

    Called by one test only: under `--dist worksteal` a module fixture may be built once per worker, and this
    one runs a whole drill."""
    from drill.audit.run import audit, default_readers
    from drill.schedule.keyless import keyless_check
    from drill.schedule.notify import GraphMailNotifier, Notice
    from drill.schedule.probes import ObserverProbes

    tmp = tmp_path_factory.mktemp("coverage-run")
    state = world.sim.state
    pristine = state.tenant.copy()
    state.clock.set_scale(10)
    pb = world.playbook = world.playbook.model_copy(
        update={"announce": Announce(to=["soc-alerts@contoso.test"])}
    )
    out = tmp / "reports"
    writer = BundleWriter(out, Signer.load(state_dir=tmp / "signing"), pdf=None)
    filing = filing_after_verdict(writer, lambda: demo_filers(world, out), lambda b: f"drill file {b}")
    execute(build_context(world, "ea01", quiet=True), writer, on_done=filing)
    assert writer.finished is not None
    state.clock.set_scale(1)
    credential = observer_credential(pb, world.cloud)
    assert permissions_granted(pb, credential, world.cloud)
    audit(pb, default_readers(credential, world.cloud), ledger_path=tmp / "ledger.jsonl", pinned=set())
    probes = ObserverProbes(pb, credential, world.cloud)
    now = datetime.now(UTC)
    probes.activity([str(a.object_id) for a in pb.accounts], now - timedelta(hours=1), now)
    keyless_check(pb, probes, now)
    scopes = graph_scopes(world.cloud, (".default",))
    notifier = GraphMailNotifier(credential, world.cloud.graph_endpoint, sender=str(pb.alert.mailbox),
                                 recipients=[str(pb.alert.mailbox)], scopes=scopes,
                                 ca_bundle=world.cloud.ca_bundle)  # fmt: skip
    notifier.send(Notice("t/reminder/1", "info", "Reminder", "a drill is due"))
    _sentinel_preflight(world)
    _defender_read(world, credential)
    state.tenant = pristine
    return hits(state)


def _sentinel_preflight(world: DemoWorld) -> None:
    """Preflight's Sentinel reads (the analytics rule by id, the automation rules) on the workspace onboarded
    to Sentinel; the incident step's reads are Log Analytics queries, which the drill above already made.
    The Sentinel drills themselves run in tests/e2e/test_sentinel_drill.py."""
    import asyncio

    from drill.run.demo import with_watch
    from drill.sim.loganalytics.sentinel_faults import onboard
    from drill.steps.base import StepBuilder
    from drill.steps.sentinel_preflight import check_sentinel

    onboard(world.sim.state.tenant.azure)
    ctx = build_context(world, "ea01", quiet=True)
    ctx.playbook = with_watch(ctx.playbook, world.sim.state, "both")
    sb = StepBuilder("preflight", "preflight")
    asyncio.run(check_sentinel(ctx, sb, lambda: 60.0, str))
    assert ctx.sentinel.get("rule"), [c.reason for c in sb.checks]


def _defender_read(world: DemoWorld, credential: Any) -> None:
    """The incident step's Graph reads with the workspace onboarded to the Defender portal (the list, and
    one incident by id as a redirected one is followed), through the product's own reader; the drills
    that judge them run in tests/e2e/test_sentinel_faults.py."""
    import asyncio
    from types import SimpleNamespace

    from kiota_abstractions.api_error import APIError

    from drill.clients import graph_client
    from drill.steps.defender_match import Wanted
    from drill.steps.defender_read import DefenderRead

    client = graph_client(credential, world.cloud, graph_scopes(world.cloud, (".default",)))
    wait = SimpleNamespace(ctx=SimpleNamespace(counters={"graph_requests": 0}))
    want = Wanted("none", "none", "none", "none", "none", datetime.now(UTC))
    read = DefenderRead(wait, client, want)  # type: ignore[arg-type]

    async def go() -> None:
        assert await read._pages(want.signed_in - timedelta(days=1)) == []
        with pytest.raises(APIError) as refused:  # no incident on this tenant: the request was still made
            await read._one("7001")
        assert refused.value.response_status_code == 404

    asyncio.run(go())


def _identity(world: DemoWorld, hit: dict[str, Any]) -> Identity | None:
    if hit["appid"] == str(world.playbook.drill_app.client_id):
        return Identity.DRILL_APP
    if hit["appid"] == str(getattr(world.playbook.observer, "client_id", "")):
        return Identity.OBSERVER
    return None


def _declared(world: DemoWorld, hit: dict[str, Any]) -> list[Any]:
    who = _identity(world, hit)
    services = GRAPH_SERVICES if hit["service"] == "graph" else (Service(hit["service"]),)
    return [m for s in services for m in calls_matching(s, hit["method"], hit["path"], who)] if who else []


def test_every_call_is_declared_and_every_declaration_is_made(
    world: DemoWorld, tmp_path_factory: pytest.TempPathFactory
) -> None:
    exercised = exercise(world, tmp_path_factory)
    # A drill that stopped early would hide the calls after it: cleanup's revoke and SharePoint filing come
    # last, so both must be among the hits, with ARM and Log Analytics reads.
    paths = [h["path"] for h in exercised]
    assert any(p.endswith("/revokeSignInSessions") for p in paths)
    assert any(p.endswith(":/createUploadSession") for p in paths)
    assert any(p.endswith("/sendMail") for p in paths)
    assert {h["service"] for h in exercised} == {"graph", "arm", "logs"}

    undeclared = sorted({(h["service"], h["method"], h["path"], h["appid"]) for h in exercised
                         if not _declared(world, h)})  # fmt: skip
    assert undeclared == []

    made = {id(c) for h in exercised for _, c in _declared(world, h)}
    never = [
        (c.method, c.template, g.identity)
        for g in REGISTRY
        for c in g.calls
        if id(c) not in made
        and (c.method, c.template, g.identity) not in NOT_EXERCISED
        and g.identity is not Identity.SETUP_ADMIN  # drill setup's calls: tests/e2e/test_setup.py
    ]
    assert never == [], never


def test_a_missing_graph_permission_is_one_audit_finding(
    world: DemoWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    state = world.sim.state
    pristine = state.tenant.copy()
    try:
        apply_fault(state, "grant-missing-observer-policy-read-all")
        capsys.readouterr()
        granted = permissions_granted(
            world.playbook, observer_credential(world.playbook, world.cloud), world.cloud
        )
        printed = capsys.readouterr().out.splitlines()
    finally:
        state.tenant = pristine
        state.faults.clear()
    assert granted is False
    findings = [line for line in printed if line.startswith("MISSING PERMISSION")]
    assert len(findings) == 1, printed
    assert "Policy.Read.All" in findings[0]
    assert "the observer" in findings[0]
    assert "grant admin consent" in findings[0]
    assert not any("ERROR" in line for line in printed)


def test_the_scheduler_reports_the_same_single_finding(world: DemoWorld) -> None:
    from drill.permissions import features_of

    state = world.sim.state
    pristine = state.tenant.copy()
    try:
        apply_fault(state, "grant-missing-observer-log-analytics-reader")
        pb = world.playbook
        lines = missing_permissions(pb, world.cloud, observer_credential(pb, world.cloud),
                                    features_of(pb, drill=False, scheduler=True))  # fmt: skip
    finally:
        state.tenant = pristine
        state.faults.clear()
    assert len(lines) == 1, lines
    assert "Log Analytics Reader" in lines[0]
    assert "az role assignment create" in lines[0]
