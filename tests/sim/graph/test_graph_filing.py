"""Compliance filing to the simulated SharePoint through the product's filer: msgraph-sdk as the observer
(client credentials), httpx on the uploadUrl, real HTTPS. Each failure leaves the verdict as it was, is
reported, and a later `file_bundle` (what `drill file` runs) completes the filing."""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from drill.assets import DEMO_PLAYBOOK
from drill.evidence import ledger
from drill.evidence.bundle import BundleWriter
from drill.evidence.filing import FolderFiler, SharePointFiler, file_bundle, receipts
from drill.evidence.model import DrillRecord, Status, StepResult, Verdict
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle
from drill.sim.faults import apply_fault
from drill.sim.server import SimServer

OBSERVER_APP = "6c5d4e3f-2a1b-4c9d-8e7f-0a1b2c3d4e02"
SITE = "https://contoso.sharepoint.com/sites/Security"


def _bundle(tmp_path: Path, signer: Signer, big: bool = False) -> Path:
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    step = StepResult(
        step="signin", title="Sign-in", status=Status.PASS, reason="ok", started_at=t0,
        ended_at=t0 + timedelta(seconds=9), duration_s=9.0,
    )  # fmt: skip
    record = DrillRecord(
        drill_id="drill-20261202-030000-ea01", verdict=Verdict.INCOMPLETE, reason="running",
        account_name="ea01", started_at=t0,
    )  # fmt: skip
    writer = BundleWriter(tmp_path / "reports", signer, pdf=None)
    writer.begin(record)
    shots = [writer.add_screenshot("page", os.urandom(900 * 1024 if big else 2000))]
    writer.step(step.model_copy(update={"screenshots": shots}))
    done = record.model_copy(
        update={"steps": [step.model_copy(update={"screenshots": shots})], "verdict": Verdict.FAIL,
                "reason": "a required step did not run", "ended_at": t0 + timedelta(seconds=60)}
    )  # fmt: skip
    return writer.finalize(done).path


def _filer(sim: SimServer, secret: str) -> SharePointFiler:
    import azure.identity as ai
    import httpx

    from drill.clients import graph_client_at

    def graph() -> Any:
        cred = ai.ClientSecretCredential(
            sim.state.tenant.id, OBSERVER_APP, secret, authority=sim.base_url,
            connection_verify=str(sim.ca_path), disable_instance_discovery=True,
        )  # fmt: skip
        return graph_client_at(
            cred, sim.base_url, ["https://graph.microsoft.com/.default"], ca_bundle=str(sim.ca_path),
            keep_alive=False,
        )  # fmt: skip

    def http() -> Any:
        ctx = ssl.create_default_context(cafile=str(sim.ca_path))
        return httpx.AsyncClient(verify=ctx, trust_env=False, headers={"Connection": "close"})

    async def no_wait(_s: float) -> None:
        return None

    return SharePointFiler(
        SITE, "Documents", "Break-glass drills", graph, http, fragment=320 * 1024, sleep=no_wait
    )


def _verdict(bundle: Path, book: Path) -> str:
    lines = ledger.read_entries(book, kind=ledger.KIND_DRILL)
    assert [e["verdict"] for e in lines] == ["FAIL"]
    return str(verify_bundle(bundle).verdict)


def test_sharepoint_filing_receipt_read_back_and_idempotent_retry(
    sim: SimServer, observer_secret: str, tmp_path: Path
) -> None:
    signer = Signer.load(state_dir=tmp_path / "state")
    bundle = _bundle(tmp_path, signer, big=True)
    book = bundle.parent / ledger.LEDGER_NAME
    filer = _filer(sim, observer_secret)
    [first] = file_bundle(bundle, [filer], signer, book)
    assert first.ok, first.detail
    assert first.receipt is not None
    assert not first.receipt.already_filed
    [again] = file_bundle(bundle, [filer], signer, book)  # `drill file` after success: nothing re-uploaded
    assert again.ok
    assert again.receipt is not None
    assert again.receipt.already_filed
    got = receipts(book, bundle.name)
    assert len(got) == 2
    assert got[0]["manifest_sha256"] == ledger.read_entries(book, kind="drill")[0]["manifest_sha256"]
    assert ledger.verify(book, {signer.fingerprint}).ok
    copy = filer.read_back(bundle.name, tmp_path / "readback")
    result = verify_bundle(copy, trusted={signer.fingerprint}, ledger_path=book)
    assert result.status == "VALID", result.problems
    assert _verdict(bundle, book) == "FAIL"
    # A file slipped into the filed folder after signing is read back too, and verify names it.
    from drill.sim.graph import sites

    sp = sites.store(sim.state)
    [drive] = sp["drives"].values()
    site = next(iter(sp["sites"].values()))
    extra = f"Break-glass drills/{bundle.name}/screenshots/99-extra.png"
    drive["items"][extra] = sites._new_item(site, drive, extra, b"planted")
    tampered = verify_bundle(filer.read_back(bundle.name, tmp_path / "again"), trusted={signer.fingerprint})
    assert tampered.status == "INVALID"
    assert any("99-extra.png: not listed in the manifest" in p for p in tampered.problems), tampered.problems


@pytest.mark.parametrize(
    ("fault", "needle"),
    [
        ("filing-quota-exceeded", "507"),
        ("filing-access-denied", "403"),
        ("filing-name-conflict", "never overwritten"),
    ],
)
def test_sharepoint_filing_failures_are_loud_and_retry_completes(
    sim: SimServer, observer_secret: str, tmp_path: Path, fault: str, needle: str
) -> None:
    signer = Signer.load(state_dir=tmp_path / "state")
    bundle = _bundle(tmp_path, signer)
    book = bundle.parent / ledger.LEDGER_NAME
    share = tmp_path / "share"
    apply_fault(sim.state, fault)
    sp, folder = file_bundle(bundle, [_filer(sim, observer_secret), FolderFiler(share)], signer, book)
    assert not sp.ok
    assert needle in sp.detail, sp.detail
    assert folder.ok, folder.detail  # one target failing never stops the others
    assert [r["destination"] for r in receipts(book, bundle.name)] == [folder.target]
    assert _verdict(bundle, book) == "FAIL"  # the verdict is the drill's, whatever filing did
    if fault == "filing-name-conflict":
        # someone else's file stays where it is: the retry still refuses, and nothing was overwritten
        [retry] = file_bundle(bundle, [_filer(sim, observer_secret)], signer, book)
        assert not retry.ok
        assert "never overwritten" in retry.detail
        # the site owner moves the other file aside: then `drill file` completes
        from drill.sim.graph import sites

        [drive] = sites.store(sim.state)["drives"].values()
        planted = sim.state.faults[fault]["planted"]
        assert drive["items"].pop(planted)["content"].startswith(b"a different file")
    sim.state.faults.pop(fault)  # quota freed / grant restored / name freed: `drill file` completes
    sp2, folder2 = file_bundle(bundle, [_filer(sim, observer_secret), FolderFiler(share)], signer, book)
    assert sp2.ok, sp2.detail
    assert folder2.ok
    assert folder2.receipt is not None
    assert folder2.receipt.already_filed
    assert len(receipts(book, bundle.name)) == 3


@pytest.mark.parametrize(
    ("fault", "at"),
    [("filing-5xx-mid-upload", "mid-file"), ("filing-5xx-mid-upload", None), ("filing-throttled", None)],
)
def test_sharepoint_upload_resumes_after_5xx_and_429(
    sim: SimServer, observer_secret: str, tmp_path: Path, fault: str, at: str | None
) -> None:
    signer = Signer.load(state_dir=tmp_path / "state")
    bundle = _bundle(tmp_path, signer, big=True)
    book = bundle.parent / ledger.LEDGER_NAME
    apply_fault(sim.state, fault)
    if at:  # the 503 lands on a fragment after the first of a three-fragment file
        sim.state.faults[fault]["at"] = at
    [sp] = file_bundle(bundle, [_filer(sim, observer_secret)], signer, book)
    assert sp.ok, sp.detail
    assert sim.state.faults[fault].get("served") == 1  # the fault really fired mid-upload
    assert _verdict(bundle, book) == "FAIL"


def test_drill_file_cli_retries_after_a_failure_and_drill_verify_reads_the_copy_back(
    sim: SimServer, observer_secret: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commands an operator types: `drill file` (demo playbook: a folder and the site) and
    `drill verify` of both filed copies, the SharePoint one read back through Graph."""
    from typer.testing import CliRunner

    from drill.cli import app

    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DRILL_SIM_PORT": str(sim.port), "DRILL_SIM_CA": str(sim.ca_path),
        "DRILL_DEMO_OBSERVER_SECRET": observer_secret, "DRILL_STATE_DIR": str(tmp_path / "state"),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    signer = Signer.load(state_dir=tmp_path / "state")
    bundle = _bundle(tmp_path, signer)
    book = bundle.parent / ledger.LEDGER_NAME
    playbook = str(DEMO_PLAYBOOK)
    apply_fault(sim.state, "filing-access-denied")
    first = CliRunner().invoke(app, ["file", str(bundle), "--playbook", playbook])
    assert first.exit_code == 1, first.output
    assert "FILING FAILED: SharePoint" in first.output
    assert "HTTP 403" in first.output, first.output
    failed = ledger.read_entries(book, kind="filing-failed")
    assert [e["drill_id"] for e in failed] == [bundle.name]
    sim.state.faults.pop("filing-access-denied")
    second = CliRunner().invoke(app, ["file", str(bundle), "--playbook", playbook])
    assert second.exit_code == 0, second.output
    assert len(receipts(book, bundle.name)) == 3  # folder twice (once already there), SharePoint once
    assert ledger.verify(book, {signer.fingerprint}).ok
    assert _verdict(bundle, book) == "FAIL"
    pin = ["--trust", signer.fingerprint, "--ledger", str(book)]
    folder = CliRunner().invoke(app, ["verify", str(tmp_path / "reports-filed" / bundle.name), *pin])
    assert folder.exit_code == 0, folder.output
    assert "receipt:" in folder.output
    remote = CliRunner().invoke(app, ["verify", "--sharepoint", bundle.name, "--playbook", playbook, *pin])
    assert remote.exit_code == 0, remote.output
    assert "receipt:" in remote.output
    assert "VALID" in remote.output
