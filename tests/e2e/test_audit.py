"""The posture audit end to end: the product's readers over real HTTPS against the simulated tenant.

One simulated tenant per module (keys registered through real WebAuthn ceremonies, as `drill demo` does);
each variant restores the pristine tenant, applies one posture fault, and audits again. The demo tenant
must audit clean, and every check must fail on at least one variant: a check that cannot fail proves nothing.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e_support import record_issued_tokens

from drill.audit.catalog import CATALOG
from drill.audit.model import Status
from drill.audit.run import AuditRun, audit, default_readers
from drill.auth import observer_credential
from drill.evidence import ledger
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle
from drill.run.audit import execute_audit
from drill.run.demo import DemoWorld, demo_world
from drill.sim.faults import all_faults, apply_fault

pytestmark = pytest.mark.e2e
IDS = [spec.id for spec in CATALOG]


def also_fails() -> dict[str, list[str]]:
    from drill.sim.arm import posture_faults as arm_posture
    from drill.sim.graph import posture_faults as graph_posture

    return {**graph_posture.ALSO_FAILS, **arm_posture.ALSO_FAILS}


def variants() -> dict[str, list[str]]:
    from drill.sim.arm import posture_faults as arm_posture
    from drill.sim.graph import posture_faults as graph_posture

    out: dict[str, list[str]] = {}
    for module in (graph_posture, arm_posture):
        for check_id, names in module.CHECK_VARIANTS.items():
            out.setdefault(check_id, []).extend(names)
    return out


def graph_variants() -> set[str]:
    from drill.sim.graph import posture_faults as graph_posture

    return {name for names in graph_posture.CHECK_VARIANTS.values() for name in names}


VARIANTS = variants()
GRAPH_VARIANTS = graph_variants()
MONITORING_FIELDS = (
    "diagnostic_settings", "alert_rules", "identity_roles", "action_groups", "sentinel_rules", "coverage"
)  # fmt: skip
ALSO_FAILS = also_fails()
ADVISORY = {spec.id for spec in CATALOG if spec.advisory}
# Procedures live in the playbook and the ledger, not the tenant: their variants are playbook/ledger edits.
LOCAL_VARIANTS = {"BG.PROC.1", "BG.PROC.2", "BG.PROC.3", "BG.PROC.4"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    with demo_world(tmp_path_factory.mktemp("audit") / "state") as w:
        yield w


@pytest.fixture(scope="module")
def pristine(world: DemoWorld) -> Any:
    return world.sim.state.tenant.copy()


@pytest.fixture
def tenant(world: DemoWorld, pristine: Any) -> DemoWorld:
    """The world with the pristine tenant back and no fault active."""
    state = world.sim.state
    with state.lock:
        state.tenant = pristine.copy()
        state.faults.clear()
        # As if a second had passed since the last audit: Conditional Access allows one read a second
        # (the limit has its own tests in tests/sim/graph/test_posture_reads.py).
        state.services.get("graph", {}).pop("ca_last", None)
    return world


@pytest.fixture(scope="module")
def monitoring_read(world: DemoWorld, pristine: Any) -> Any:
    """The monitoring reader's facts on the pristine tenant, read once per module.

    A Graph-side variant changes only directory objects, which nothing the monitoring reader asks for
    (ARM resources, the deployed queries over synthetic rows) depends on; replaying this read for those
    variants saves the dozen synthetic queries each audit runs. ARM-side variants read for real.
    """
    from drill.audit.run import empty_facts

    pb = world.playbook
    state = world.sim.state
    with state.lock:
        state.tenant = pristine.copy()
        state.faults.clear()
    facts = empty_facts(pb, datetime.now(UTC))
    default_readers(observer_credential(pb, world.cloud), world.cloud)[1](facts, pb)
    assert not facts.unread, facts.unread

    def replay(target: Any, _pb: Any) -> None:
        for name in MONITORING_FIELDS:
            setattr(target, name, copy.deepcopy(getattr(facts, name)))

    return replay


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load(state_dir=tmp_path / "signing")


def seed_passes(ledger_path: Path, world: DemoWorld, signer: Signer, days_ago: int = 10) -> None:
    """Signed PASS drill lines for both accounts, as `drill run` leaves them (BG.PROC.1 reads these)."""
    pb = world.playbook
    ended = datetime.now(UTC) - timedelta(days=days_ago)
    for account in pb.accounts:
        ledger.append(
            ledger_path,
            {
                "kind": ledger.KIND_DRILL,
                "drill_id": f"seeded-{account.name}",
                "account": account.name,
                "tenant_id": str(pb.tenant.id),
                "verdict": "PASS",
                "reason": "seeded for the audit test",
                "operator": "Demo Operator",
                "witness": "Demo Witness",
                "started_at": (ended - timedelta(minutes=3)).isoformat(),
                "ended_at": ended.isoformat(),
                "bundle": f"seeded-{account.name}",
                "manifest_sha256": "0" * 64,
            },
            signer,
        )


def run_audit(world: DemoWorld, ledger_path: Path, signer: Signer, playbook: Any = None) -> AuditRun:
    pb = playbook or world.playbook
    readers = default_readers(observer_credential(pb, world.cloud), world.cloud)
    return audit(pb, readers, ledger_path=ledger_path, pinned={signer.fingerprint})


def graph_then_replay(world: DemoWorld, playbook: Any, monitoring_read: Any) -> list[Any]:
    """The real Graph reader, and the module's one monitoring read replayed (for tests whose tenant change,
    if any, is on the Graph side: see the `monitoring_read` fixture)."""
    graph = default_readers(observer_credential(playbook, world.cloud), world.cloud)[0]
    return [graph, monitoring_read]


def statuses(run: AuditRun) -> dict[str, Status]:
    return {r.spec.id: r.status for r in run.results}


def test_every_check_has_a_failing_variant() -> None:
    missing = [i for i in IDS if i not in VARIANTS and i not in LOCAL_VARIANTS]
    assert not missing, f"checks without a simulator variant: {missing}"
    faults = all_faults()
    unknown = [n for names in VARIANTS.values() for n in names if n not in faults]
    assert not unknown


def test_the_demo_tenant_audits_clean_and_signs_its_bundle(
    tenant: DemoWorld, tmp_path: Path, signer: Signer
) -> None:
    issued = record_issued_tokens(tenant)
    reports = tmp_path / "reports"
    seed_passes(reports / ledger.LEDGER_NAME, tenant, signer)
    pb = tenant.playbook
    readers = default_readers(observer_credential(pb, tenant.cloud), tenant.cloud)
    run = execute_audit(
        pb,
        readers,
        reports,
        signer,
        pdf=None,
        maester=tmp_path / "out" / "maester.json",
        junit=tmp_path / "out" / "junit.xml",
        print_table=lambda _report: None,
    )
    bad = {r.spec.id: r.outcome.summary for r in run.results if r.status not in (Status.PASSED,)}
    # Sentinel is optional and the demo playbook names no Sentinel rule: not applicable, with the reason.
    assert bad.keys() <= {"BG.AL.5"}, bad
    assert statuses(run)["BG.AL.5"] is Status.NOT_APPLICABLE
    assert run.exit_code == 0
    assert run.record.verdict.value == "PASS"
    assert run.finished is not None
    result = verify_bundle(run.finished.path, trusted={signer.fingerprint})
    assert result.status == "VALID", result.problems
    maester = json.loads((tmp_path / "out" / "maester.json").read_text())
    assert len(maester["Tests"]) == len(IDS)
    assert (tmp_path / "out" / "junit.xml").read_bytes() == (run.finished.path / "junit.xml").read_bytes()
    import os

    from drill.run.demo import OBSERVER_SECRET_ENV
    from drill.testing import scan_for_secrets

    secrets = [tenant.pin, os.environ[OBSERVER_SECRET_ENV], *issued]  # PIN, observer secret, every token
    assert not scan_for_secrets([reports, tmp_path / "out"], secrets)


CASES = [(check_id, fault) for check_id, names in sorted(VARIANTS.items()) for fault in names]


@pytest.mark.parametrize(("check_id", "fault"), CASES, ids=[f"{c}-{f}" for c, f in CASES])
def test_each_check_fails_on_its_variant(
    tenant: DemoWorld, tmp_path: Path, signer: Signer, monitoring_read: Any, check_id: str, fault: str
) -> None:
    ledger_path = tmp_path / ledger.LEDGER_NAME
    seed_passes(ledger_path, tenant, signer)
    playbook = tenant.playbook
    if check_id == "BG.AL.5":  # the Sentinel variants matter only to a playbook that names its rule
        playbook = sentinel_playbook(tenant)
    apply_fault(tenant.sim.state, fault)
    if fault in GRAPH_VARIANTS:
        readers = graph_then_replay(tenant, playbook, monitoring_read)
        run = audit(playbook, readers, ledger_path=ledger_path, pinned={signer.fingerprint})
    else:
        run = run_audit(tenant, ledger_path, signer, playbook)
    got = statuses(run)
    outcome = run.results[IDS.index(check_id)].outcome
    if check_id in ADVISORY:  # advisory: reported, never fails the audit
        assert got[check_id] is Status.WARNING, outcome
        assert run.exit_code == 0
        return
    assert got[check_id] is Status.FAILED, outcome
    assert run.exit_code == 1
    # Exactly that check fails, plus the ones the design ties to the same object (ALSO_FAILS says which).
    failing = {i for i, status in got.items() if status in (Status.FAILED, Status.ERROR)}
    assert failing == {check_id, *ALSO_FAILS.get(fault, [])} - ADVISORY, {
        r.spec.id: r.outcome.summary for r in run.results if r.spec.id in failing
    }


def sentinel_playbook(world: DemoWorld) -> Any:
    from drill.sim.arm.posture_faults import SENTINEL_RULE

    pb = world.playbook
    return pb.model_copy(update={"audit": pb.audit.model_copy(update={"sentinel_rules": [SENTINEL_RULE]})})


def test_procedure_checks_fail_on_an_old_drill_a_shared_safe_and_a_lone_keyholder(
    tenant: DemoWorld, tmp_path: Path, signer: Signer, monitoring_read: Any
) -> None:
    ledger_path = tmp_path / ledger.LEDGER_NAME
    seed_passes(ledger_path, tenant, signer, days_ago=400)
    pb = tenant.playbook
    accounts = copy.deepcopy(pb.accounts)
    accounts[1] = accounts[1].model_copy(
        update={"storage_location": accounts[0].storage_location, "authorised_people": ["Only One"]}
    )
    changed = pb.model_copy(update={"accounts": accounts})
    readers = graph_then_replay(tenant, changed, monitoring_read)
    run = audit(changed, readers, ledger_path=ledger_path, pinned={signer.fingerprint})
    got = statuses(run)
    assert got["BG.PROC.1"] is Status.FAILED
    assert got["BG.PROC.2"] is Status.FAILED
    assert got["BG.PROC.3"] is Status.FAILED
    practice = next(r for r in run.results if r.spec.id == "BG.PROC.4")
    assert practice.status is Status.FAILED  # 400 days ago is outside 12 months
    assert any(o.startswith("Only One: never took part") for o in practice.outcome.offenders)


def test_a_forged_pass_line_does_not_count(
    tenant: DemoWorld, tmp_path: Path, signer: Signer, monitoring_read: Any
) -> None:
    """Only lines signed by the pinned key prove a drill: a PASS written with another key is ignored."""
    ledger_path = tmp_path / ledger.LEDGER_NAME
    seed_passes(ledger_path, tenant, Signer.load(state_dir=tmp_path / "forger"))
    readers = graph_then_replay(tenant, tenant.playbook, monitoring_read)
    run = audit(tenant.playbook, readers, ledger_path=ledger_path, pinned={signer.fingerprint})
    assert statuses(run)["BG.PROC.1"] is Status.FAILED
    assert statuses(run)["BG.PROC.4"] is Status.FAILED  # nobody practised in a forged drill


def test_the_html_report_shows_every_control_with_mappings_and_evidence_in_chromium(
    tenant: DemoWorld, tmp_path: Path, signer: Signer, monitoring_read: Any
) -> None:
    """Render a failing audit's report.html in Chromium, screenshot it, and read what an auditor sees."""
    import asyncio

    reports = tmp_path / "reports"
    seed_passes(reports / ledger.LEDGER_NAME, tenant, signer)
    apply_fault(tenant.sim.state, VARIANTS["BG.CA.3"][0])  # a Graph-side variant
    pb = tenant.playbook
    readers = graph_then_replay(tenant, pb, monitoring_read)
    run = execute_audit(pb, readers, reports, signer, pdf=None, print_table=lambda _report: None)
    assert run.finished is not None
    html = (run.finished.path / "report.html").read_text(encoding="utf-8")
    shot = tmp_path / "audit-report.png"
    seen = asyncio.run(_render(html, shot))
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    assert seen["controls"] == len(IDS)
    assert seen["verdict"] == "FAIL"
    ca3 = seen["ca3"]
    assert isinstance(ca3, str)
    assert "CIS Microsoft 365 Foundations Benchmark 1.1.2" in ca3
    assert "NIST SP 800-53 Rev. 5 AC-2" in ca3
    assert "Offending objects" in ca3  # the policies that do not exclude the accounts, by name
    assert seen["evidence_open"] is True  # evidence is shown, not folded: the PDF prints only what is open
    assert seen["pass_evidence_open"] is True  # a pass shows the objects it was judged on too


async def _render(html: str, shot: Path) -> dict[str, object]:
    from playwright.async_api import async_playwright

    from drill.browser.locate import choose_browser
    from drill.evidence.pdf import CHROMIUM_ARGS

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(choose_browser(headless=True).executable), args=list(CHROMIUM_ARGS)
        )
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.route("**/*", lambda route: route.abort())
            await page.route(
                "https://drill.invalid/report.html", lambda r: r.fulfill(body=html, content_type="text/html")
            )
            await page.goto("https://drill.invalid/report.html")
            await page.screenshot(path=str(shot), full_page=True)
            return {
                "controls": await page.locator("div.control").count(),
                "verdict": (await page.locator("#verdict .word").inner_text()).strip(),
                "ca3": await page.locator("[id='BG.CA.3']").inner_text(),
                "evidence_open": await page.locator("[id='BG.CA.3'] details").last.evaluate("d => d.open"),
                "pass_evidence_open": await page.locator("[id='BG.ACC.1'] details").last.evaluate(
                    "d => d.open"
                ),
            }
        finally:
            await browser.close()


def test_the_drill_audit_command_prints_the_table_signs_the_bundle_and_exits_1_on_a_failure(
    tenant: DemoWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command itself, on the demo playbook: nothing drilled in this folder, so BG.PROC.1 fails."""
    from cli_support import run_cli

    from drill.run.demo import DEMO_PLAYBOOK

    monkeypatch.setenv("DRILL_SIM_PORT", str(tenant.sim.port))
    monkeypatch.setenv("DRILL_SIM_CA", str(tenant.sim.ca_path))
    monkeypatch.setenv("DRILL_STATE_DIR", str(tmp_path / "workstation"))
    out = tmp_path / "reports"
    exports = tmp_path / "exports" / "ci"  # new folders: created owner-only, as the copies (issue 29 item 10)
    old = os.umask(0o022)  # the usual umask, which made them 0755 and 0644
    try:
        code, stdout, _err = run_cli(
            "audit", str(DEMO_PLAYBOOK), "--output", str(out), "--no-pdf",
            "--maester", str(exports / "m.json"), "--junit", str(exports / "junit.xml"),
        )  # fmt: skip
    finally:
        os.umask(old)
    assert code == 1
    assert "BG.PROC.1" in stdout
    assert "AUDIT FAIL" in stdout
    bundles = [p for p in out.iterdir() if p.is_dir() and p.name.startswith("audit-")]
    assert len(bundles) == 1
    assert verify_bundle(bundles[0]).status == "VALID"
    modes = {
        p.relative_to(tmp_path).as_posix(): stat.S_IMODE(p.lstat().st_mode) for p in exports.parent.rglob("*")
    }
    assert modes == {"exports/ci": 0o700, "exports/ci/m.json": 0o600, "exports/ci/junit.xml": 0o600}
    assert stat.S_IMODE(exports.parent.stat().st_mode) == 0o700
    for name, signed in (("m.json", "maester.json"), ("junit.xml", "junit.xml")):  # byte for byte
        assert (exports / name).read_bytes() == (bundles[0] / signed).read_bytes()
    assert json.loads((exports / "m.json").read_text())["Result"] == "Failed"


def test_a_broken_playbook_is_a_usage_error_with_its_line(tmp_path: Path) -> None:
    from cli_support import run_cli

    from drill.run.demo import DEMO_PLAYBOOK

    text = DEMO_PLAYBOOK.read_text(encoding="utf-8").replace("cycle_days: 90", "cycle_days: ninety")
    line = text.splitlines().index("  cycle_days: ninety") + 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    code, _out, err = run_cli("audit", str(bad))
    assert code == 2
    assert f"bad.yaml:{line}:" in err
    assert "Traceback" not in err


def test_drill_demo_audit_audits_the_demo_tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`drill demo --audit`: the simulator's design passes; with no drill in this folder's ledger yet,
    only BG.PROC.1 and BG.PROC.4 fail (the README says to run the two demo drills first)."""
    from cli_support import run_cli

    monkeypatch.setenv("DRILL_STATE_DIR", str(tmp_path / "workstation"))
    out = tmp_path / "reports"
    code, stdout, _err = run_cli("demo", "--audit", "--output", str(out))
    assert code == 1
    line = ledger.read_entries(out / ledger.LEDGER_NAME, kind=ledger.KIND_AUDIT)[-1]
    failing = sorted(k for k, v in line["checks"].items() if v in ("failed", "error"))
    assert failing == ["BG.PROC.1", "BG.PROC.4"]
    assert "AUDIT FAIL" in stdout
    code, _out, err = run_cli("demo", "--audit", "--account", "ea02", "--output", str(out))
    assert code == 2
    assert "drop --account" in err
