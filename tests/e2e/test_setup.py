"""`drill setup` end to end on a fresh tenant (drill/sim/fresh.py): plan, apply, the manual step, a clean
`drill preflight`, then a drill PASS with the playbook setup wrote; a second apply changes nothing, an apply
after the tenant changed is refused naming the change, the plan text is a snapshot, no admin token and no
private key but the observer's own 0600 key file is anywhere, an admin without a role gets a marked plan.

One module world (one drill, sped-up clock); the other tests run plan/apply only (no browser).
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_support import record_issued_tokens
from typer.testing import CliRunner

from drill.cli import app
from drill.errors import DrillUserError
from drill.evidence.bundle import BundleWriter
from drill.evidence.signing import Signer
from drill.run.demo import DEMO_PLAYBOOK, DemoWorld, build_context, demo_world
from drill.run.loop import execute
from drill.sim.fresh import fresh_tenant

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).parent / "snapshots" / "setup_plan.txt"
REDIRECT = "https://login.microsoftonline.test/common/oauth2/nativeclient"
SITE = "https://contoso.sharepoint.com/sites/Security"
CANARY = "6d7e8f90-1a2b-4c3d-8e4f-5a6b7c8d9e01"


class Approver:
    """Plays the administrator's browser half of the device code sign-in: approves each pending code."""

    def __init__(self, world: DemoWorld) -> None:
        self.world, self.user = world, "setup-admin@contoso.test"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        sim = self.world.sim
        while not self._stop.wait(0.05):
            for pending in list((sim.state.services.get("device_codes") or {}).values()):
                if pending.user_id is None and not pending.redeemed:
                    requests.post(
                        f"{sim.base_url}/_sim/identity/devicecode/approve",
                        verify=str(sim.ca_path),
                        json={"user_code": pending.user_code, "user": self.user},
                        timeout=10,
                    )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@dataclass
class Setup:
    world: DemoWorld
    dir: Path
    approver: Approver
    runs: dict[str, Any] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)

    def cli(self, *args: str) -> Any:
        """The command as `drill` runs it; a user error (one line from `drill`) becomes `.refusal`."""
        result = CliRunner().invoke(app, list(args))
        result.refusal = str(result.exception) if isinstance(result.exception, DrillUserError) else ""
        if (
            result.exception is not None
            and not result.refusal
            and not isinstance(result.exception, SystemExit)
        ):
            raise result.exception
        self.runs.setdefault("output", []).append(result.output + result.refusal)
        return result

    def plan(self, *extra: str, out: str = "plan.json") -> Any:
        tid = self.world.sim.state.tenant.id
        return self.cli(
            "setup",
            "plan",
            "--tenant",
            tid,
            "--account",
            "ea01@contoso.onmicrosoft.com",
            "--account",
            "ea02@contoso.onmicrosoft.com",
            "--cloud-from",
            str(DEMO_PLAYBOOK),
            "--playbook",
            str(self.dir / "playbook.yaml"),
            "--out",
            str(self.dir / out),
            "--redirect-uri",
            REDIRECT,
            "--site",
            SITE,
            "--canary-group",
            CANARY,
            *extra,
        )

    def apply(self, plan: str = "plan.json") -> Any:
        return self.cli("setup", "apply", str(self.dir / plan), "--playbook", str(self.dir / "playbook.yaml"))


def _exchange_admin_step(world: DemoWorld, playbook: Path) -> None:
    """The simulator's stand-in for the printed Exchange RBAC for Applications commands (no Exchange here):
    the observer may read and send mail in the alert mailbox."""
    from drill.playbook import load_playbook

    observer = str(load_playbook(playbook).observer.client_id)  # type: ignore[union-attr]
    app_ = world.sim.state.tenant.application(observer)
    assert app_ is not None
    app_["appRoles"] = [*app_["appRoles"], "Mail.Read", "Mail.Send"]


@contextmanager
def _world(base: Path, *, monitoring: bool) -> Iterator[tuple[DemoWorld, Path]]:
    """A fresh tenant (with or without its alerting), the env its playbook names, the working folder."""
    saved = dict(os.environ)
    with demo_world(
        base / "state", tenant_transform=lambda t: fresh_tenant(t, monitoring=monitoring)
    ) as world:
        os.environ |= {
            "DRILL_SIM_PORT": str(world.sim.port),
            "DRILL_SIM_CA": str(world.sim.ca_path),
            "DRILL_STATE_DIR": str(base / "drill-state"),
        }
        work = base / "work"
        work.mkdir()
        cwd = Path.cwd()
        os.chdir(work)  # evidence.output_dir is relative to the working directory
        try:
            yield world, work
        finally:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(saved)


def _drill(world: DemoWorld, work: Path) -> dict[str, Any]:
    """A drill of ea01 with the playbook setup wrote, on the sped-up clock: its record."""
    from drill.clouds import cloud_for
    from drill.playbook import load_playbook

    world.playbook = load_playbook(work / "playbook.yaml")
    world.cloud = cloud_for(world.playbook)
    world.sim.state.clock.set_scale(10)
    try:
        signing = work.parent / "signing"  # the evidence key: not one of the files setup wrote
        writer = BundleWriter(work / "reports", Signer.load(state_dir=signing), pdf=None)
        code = execute(build_context(world, "ea01", quiet=True), writer)
    finally:
        world.sim.state.clock.set_scale(1)
    assert writer.finished is not None
    record: dict[str, Any] = json.loads((writer.finished.path / "report.json").read_text())
    record["exit_code"] = code
    return record


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    base = tmp_path_factory.mktemp("setup")
    saved = dict(os.environ)
    with demo_world(base / "state", tenant_transform=lambda t: fresh_tenant(t, monitoring=True)) as world:
        os.environ |= {
            "DRILL_SIM_PORT": str(world.sim.port),
            "DRILL_SIM_CA": str(world.sim.ca_path),
            "DRILL_STATE_DIR": str(base / "drill-state"),
        }
        work = base / "work"
        work.mkdir()
        s = Setup(world, work, Approver(world))
        s.issued = record_issued_tokens(world)
        cwd = Path.cwd()
        os.chdir(work)  # evidence.output_dir is relative to the working directory
        try:
            s.runs["plan"] = s.plan()
            s.runs["apply"] = s.apply()
            _exchange_admin_step(world, work / "playbook.yaml")
            s.runs["preflight"] = s.cli("preflight", str(work / "playbook.yaml"))
            yield s
        finally:
            os.chdir(cwd)
            s.approver.stop()
            os.environ.clear()
            os.environ.update(saved)


def test_plan_apply_preflight_then_a_drill_passes(setup: Setup) -> None:

    assert setup.runs["plan"].exit_code == 0, setup.runs["plan"].output
    applied = setup.runs["apply"].output
    assert setup.runs["apply"].exit_code in (0, 1), applied  # its preflight ran before the manual step
    assert "made      register app: app 'Break-glass drill'" in applied, applied
    observer_sp = next(line for line in applied.splitlines() if "New-ManagementRoleAssignment" in line)
    assert "<observer service principal id>" not in observer_sp  # apply prints the exact command
    assert setup.runs["preflight"].exit_code == 0, setup.runs["apply"].output + setup.runs["preflight"].output
    # the ledger's signed setup line names who, what, when and the objects
    ledger = [json.loads(x) for x in (setup.dir / "reports" / "ledger.jsonl").read_text().splitlines()]
    line = ledger[-1]
    assert line["kind"] == "setup"
    assert line["admin"]["upn"] == "setup-admin@contoso.test"
    assert line["applied_at"]
    assert line["sig"]
    assert "observer appId" in line["objects"]
    assert "drill-app/app" in line["made"]
    # every app made carries the note
    for app_ in setup.world.sim.state.tenant.applications[1:]:
        assert "registered by drill setup" in app_["notes"]
    # delegated scopes for the two accounts only (consentType Principal), none tenant-wide
    drill_app = setup.world.sim.state.tenant.applications[1]
    assert drill_app["delegatedScopes"] == []
    assert set(drill_app["principalScopes"]) == {a["id"] for a in setup.world.sim.state.tenant.users[:2]}
    # the drill, with the playbook setup wrote, on the sped-up clock
    record = _drill(setup.world, setup.dir)
    assert (record["exit_code"], record["verdict"]) == (0, "PASS"), [
        (s["id"], s["status"], s.get("reason")) for s in record["steps"]
    ]


def test_a_second_apply_changes_nothing(setup: Setup) -> None:
    before = json.dumps(setup.world.sim.state.tenant.applications, sort_keys=True, default=str)
    again = setup.apply()
    assert again.exit_code in (0, 1), again.output
    assert "made      " not in again.output, again.output
    assert "0 made" in again.output
    assert json.dumps(setup.world.sim.state.tenant.applications, sort_keys=True, default=str) == before


def test_an_apply_after_the_tenant_changed_is_refused_naming_the_change(setup: Setup) -> None:
    state = setup.world.sim.state
    policy = next(
        p
        for p in state.tenant.conditionalAccessPolicies
        if p.get("state") == "enabled"
        and setup.world.playbook.conditional_access.break_glass_group_id is not None
    )
    saved = dict(policy)
    policy["state"] = "disabled"  # another admin switches a policy naming the accounts off
    try:
        refused = setup.cli(
            "setup", "apply", str(setup.dir / "plan.json"), "--playbook", str(setup.dir / "playbook.yaml")
        )
    finally:
        policy.clear()
        policy.update(saved)
    assert refused.exit_code != 0
    assert f"Conditional Access policy {saved['displayName']}: was 'applies', now 'gone'" in refused.refusal
    assert "nothing was applied" in refused.refusal


def _normalise(text: str) -> str:
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
    text = re.sub(r"\d{4}-\d\d-\d\dT[\d:]+\+00:00", "<when>", text)
    return re.sub(r"[0-9a-f]{16}\b", "<hash>", text)


def test_the_plan_text_lists_every_change_with_object_permission_and_scope(setup: Setup) -> None:
    text = _normalise((setup.dir / "plan.txt").read_text())
    if os.environ.get("DRILL_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()
    plan = json.loads((setup.dir / "plan.json").read_text())
    for change in plan["changes"]:
        for part in ("object", "permission", "scope"):
            assert _normalise(change[part]) in text, (part, change)


def test_no_admin_token_and_no_private_key_but_the_observers_0600_file(setup: Setup) -> None:
    tokens = [t for t in setup.issued if len(t) > 40]
    assert tokens
    texts = ["\n".join(setup.runs["output"])]
    key_files = []
    for path in setup.dir.rglob("*"):
        if path.is_file():
            data = path.read_text(errors="replace")
            texts.append(data)
            if "PRIVATE KEY" in data:
                key_files.append(path)
    blob = "\n".join(texts)
    assert not [t for t in tokens if t in blob]
    assert key_files == [setup.dir / "observer-key.pem"]
    assert stat.S_IMODE((setup.dir / "observer-key.pem").stat().st_mode) == 0o600


def test_an_admin_without_a_role_gets_a_plan_marking_the_step(setup: Setup) -> None:
    setup.approver.user = "app-admin@contoso.test"  # Cloud Application Administrator only
    try:
        result = setup.plan("--playbook", str(setup.dir / "other.yaml"), out="other-plan.json")
    finally:
        setup.approver.user = "setup-admin@contoso.test"
    assert result.exit_code == 0, result.output
    plan = json.loads((setup.dir / "other-plan.json").read_text())
    marked = {c["id"]: c["role"] for c in plan["changes"] if c["other_admin"]}
    assert marked["observer/app-role/Directory.Read.All"] == "Privileged Role Administrator"
    assert marked["observer/site/write"] == "SharePoint Administrator"
    assert "drill-app/app" not in marked
    assert "NEEDS ANOTHER ADMIN: Privileged Role Administrator" in (setup.dir / "other-plan.txt").read_text()


def _federated_for_ci(setup: Setup) -> None:
    """Plan and apply a workload identity federation credential for the observer (a CI job's sign-in)."""
    issuer, subject = "https://token.actions.githubusercontent.com", "repo:contoso/drill:ref:refs/heads/main"
    ci = ["--playbook", str(setup.dir / "ci.yaml")]
    planned = setup.plan("--federated", f"{issuer} {subject}", *ci, out="ci-plan.json")
    assert planned.exit_code == 0, planned.output
    setup.cli("setup", "apply", str(setup.dir / "ci-plan.json"), *ci)
    observer = setup.world.sim.state.tenant.applications[2]
    assert [(f["issuer"], f["subject"]) for f in observer["federatedIdentityCredentials"]] == [
        (issuer, subject)
    ]
    assert "kind: workload-identity" in (setup.dir / "ci.yaml").read_text()


def test_a_federated_credential_then_every_setup_call_is_declared(setup: Setup) -> None:
    """A workload identity federation credential instead of a certificate; then what
    tests/e2e/test_permission_audit.py does for the drill and the observer, for setup's own calls (one test:
    under worksteal another worker's module world would not hold this one's calls)."""
    _federated_for_ci(setup)
    from drill.permissions import REGISTRY, Feature, Identity, Service, calls_matching
    from drill.sim.fresh import GRAPH_CLI_APP_ID
    from drill.sim.hits import hits

    graph = (Service.GRAPH, Service.MAIL, Service.SHAREPOINT)
    made: set[int] = set()
    undeclared = []
    for h in hits(setup.world.sim.state):
        if h["appid"] != GRAPH_CLI_APP_ID:
            continue
        services = graph if h["service"] == "graph" else (Service(h["service"]),)
        found = [
            m for sv in services for m in calls_matching(sv, h["method"], h["path"], Identity.SETUP_ADMIN)
        ]
        made |= {id(c) for _, c in found}
        if not found:
            undeclared.append((h["service"], h["method"], h["path"]))
    assert undeclared == []
    never = [(c.method, c.template) for g in REGISTRY if g.identity is Identity.SETUP_ADMIN for c in g.calls
             if id(c) not in made and Feature.MONITORING not in c.features]  # fmt: skip
    assert never == []


def test_with_monitoring_setup_deploys_the_seed_design_and_a_drill_passes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A tenant with no alerting at all: --monitoring deploys the diagnostic setting, both rules (the
    accounts' ids in their queries), their identities' reader roles and the action group; a drill PASSes."""
    with _world(tmp_path_factory.mktemp("monitored"), monitoring=False) as (world, work):
        s = Setup(world, work, Approver(world))
        try:
            tenant = world.sim.state.tenant
            az = tenant.azure
            ws = (
                f"/subscriptions/{az['subscriptionId']}/resourceGroups/{az['resourceGroup']}/providers/"
                f"Microsoft.OperationalInsights/workspaces/{tenant.workspace['name']}"
            )
            planned = s.plan("--monitoring", "--workspace", ws, "--mailbox", "soc-alerts@contoso.test")
            assert planned.exit_code == 0, planned.output + planned.refusal
            applied = s.apply()
            assert "made      deploy log search alert rule" in applied.output, (
                applied.output + applied.refusal
            )
            _exchange_admin_step(world, work / "playbook.yaml")
            preflight = s.cli("preflight", str(work / "playbook.yaml"))
            assert preflight.exit_code == 0, preflight.output
            assert [d["name"] for d in tenant.diagnosticSettings] == ["breakglass-drill"]
            rules = {r["name"]: r for r in tenant.alertRules}
            assert set(rules) == {"Break-glass drill sign-in", "Break-glass drill activity"}
            ids = [u["id"] for u in tenant.users[:2]]
            assert all(i in r["query"] for r in rules.values() for i in ids)
            assert "union" in rules["Break-glass drill activity"]["query"]
            assert rules["Break-glass drill sign-in"]["evaluationFrequency"] == "PT1M"
            identities = {r["identity"]["principalId"] for r in rules.values()}
            granted = {(g["principalId"], g["role"]) for g in az["roleAssignments"]}
            assert {(i, role) for i in identities for role in ("Log Analytics Reader", "Reader")} <= granted
            record = _drill(world, work)
            assert (record["exit_code"], record["verdict"]) == (0, "PASS"), [
                (st["id"], st["status"], st.get("reason")) for st in record["steps"]
            ]
        finally:
            s.approver.stop()


def test_monitoring_never_alters_an_existing_rule_it_shows_the_difference(setup: Setup) -> None:
    before = json.dumps(setup.world.sim.state.tenant.alertRules, sort_keys=True, default=str)
    clash = setup.plan("--monitoring", "--rule-prefix", "Break-glass account ", "--playbook",
                       str(setup.dir / "clash.yaml"), out="clash-plan.json")  # fmt: skip
    assert clash.exit_code != 0
    assert "alert rule Break-glass account sign-in exists and differs" in clash.refusal
    assert "--rule-prefix" in clash.refusal
    assert "+++ setup's" in clash.refusal
    assert json.dumps(setup.world.sim.state.tenant.alertRules, sort_keys=True, default=str) == before


def test_defender_grants_security_incident_read_only_when_asked(setup: Setup) -> None:
    """`--defender` (the workspace onboarded to the Defender portal) adds the incident step's Graph grant;
    the default plan does not ask for it."""
    other = ["--playbook", str(setup.dir / "defender.yaml")]
    result = setup.plan("--defender", *other, out="defender-plan.json")
    assert result.exit_code == 0, result.output
    with_defender = json.loads((setup.dir / "defender-plan.json").read_text())
    wanted = "observer/app-role/SecurityIncident.Read.All"
    change = next(c for c in with_defender["changes"] if c["id"] == wanted)
    assert "/security/incidents" in change["why"]
    assert "SecurityIncident.Read.All" in (setup.dir / "defender-plan.txt").read_text()
    default = json.loads((setup.dir / "plan.json").read_text())
    assert all("SecurityIncident" not in c["permission"] for c in default["changes"])
