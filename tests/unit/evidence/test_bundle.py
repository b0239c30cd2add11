"""Bundles over the healthy and failing drills: complete, signed, chained, redacted, never a false PASS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evidence_support import WriteBundle
from records_support import FAILURES, SECRETS, failing, healthy

from drill.evidence import ledger, manifest
from drill.evidence.bundle import BundleWriter, reconcile
from drill.evidence.model import Status, Verdict
from drill.evidence.scan import scan_folder
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle, verify_ledger


def _scan(folder: Path) -> list[str]:
    """Every planted secret found in any file of the folder (PDF text via its raw bytes is compressed;
    test_pdf.py checks the PDF's text)."""
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("latin-1")
            hits += [f"{path.name}: {s[:12]}" for s in SECRETS if s in text]
    return hits


def _pattern_scan(folder: Path) -> list[str]:
    return scan_folder(folder, SECRETS)


def test_healthy_and_failing_bundles_verify_and_chain(write_bundle: WriteBundle, reports: Path) -> None:
    records = [healthy(), *(failing(kind) for kind in FAILURES)]
    done = [write_bundle(r, [{"event": "step done", "step": s.step} for s in r.steps]) for r in records]
    for record, bundle in zip(records, done, strict=True):
        assert bundle.verdict is record.verdict
        files = json.loads((bundle.path / manifest.MANIFEST).read_text())["files"]
        on_disk = sorted(
            p.relative_to(bundle.path).as_posix()
            for p in bundle.path.rglob("*")
            if p.is_file() and p.name not in (manifest.MANIFEST, manifest.SIGNATURE)
        )
        assert sorted(files) == on_disk
        for required in (*manifest.REQUIRED, manifest.REPORT_PDF):
            assert required in files
        assert sum(1 for f in files if f.startswith("screenshots/")) == len(record.steps)
        result = verify_bundle(bundle.path)
        assert result.status == "VALID", result.problems
        assert result.notes == []  # includes the secret scan, PDF text too
        assert result.verdict == record.verdict.value
        assert _scan(bundle.path) == []
        assert _pattern_scan(bundle.path) == []
    assert _pattern_scan(reports / "history") == []
    report = verify_ledger(reports / "ledger.jsonl")
    assert report.ok, report.problems
    assert [e["drill_id"] for e in report.entries] == [r.drill_id for r in records]
    assert [e["verdict"] for e in report.entries] == ["PASS", "FAIL", "FAIL", "FAIL", "FAIL", "INCOMPLETE"]
    history = (reports / "history" / "bg-primary.html").read_text()
    assert "<svg" in history
    assert "drill-late_alert" in history


def test_failing_record_names_the_first_failure() -> None:
    rec = failing("ga_eligible")
    assert rec.verdict is Verdict.FAIL
    assert rec.reason.startswith("ga_proof/ga_active_permanent: assignment is eligible")


def test_pass_claim_is_rechecked_when_finishing(write_bundle: WriteBundle) -> None:
    rec = healthy("drill-false-pass")
    rec.steps[3].checks[0].status = Status.FAIL  # the orchestrator said PASS; a required check did not pass
    bundle = write_bundle(rec)
    assert bundle.verdict is Verdict.FAIL
    assert "ga_proof/ga_active_permanent" in bundle.reason
    assert verify_bundle(bundle.path).verdict == "FAIL"


def test_missing_screenshot_turns_pass_into_fail(reports: Path, signer: Signer, session_pdf: bytes) -> None:
    rec = healthy("drill-missing-shot")
    rec.steps[2].screenshots = ["screenshots/99-never-written.png"]
    writer = BundleWriter(reports, signer, pdf=lambda html: session_pdf)
    writer.begin(rec)
    bundle = writer.finalize(rec)
    assert bundle.verdict is Verdict.FAIL
    assert "screenshots/99-never-written.png" in bundle.reason


def test_progress_is_incomplete_on_disk_until_finish(reports: Path, signer: Signer) -> None:
    rec = healthy("drill-progress")
    writer = BundleWriter(reports, signer, pdf=None)
    writer.begin(rec.model_copy(update={"steps": []}))
    partial = reports / "drill-progress.partial"
    assert writer.path == partial
    for step in rec.steps[:3]:
        writer.step(step)
        on_disk = json.loads((partial / "report.json").read_text())
        assert on_disk["verdict"] == "INCOMPLETE"  # even though the record handed in says PASS
        assert on_disk["steps"][-1]["step"] == step.step
    assert _scan(partial) == []
    result = verify_bundle(partial)
    assert result.status == "INCOMPLETE"
    assert any("manifest.json: missing" in p for p in result.problems)
    bundle = writer.finalize(rec)
    assert bundle.pdf_status == "disabled"
    assert not partial.exists()
    assert writer.path == reports / "drill-progress"
    assert verify_bundle(bundle.path).status == "VALID"


def test_pdf_failure_is_a_finding_not_a_lost_drill(reports: Path, signer: Signer) -> None:
    def broken(html: str) -> bytes:
        raise RuntimeError(f"chromium died; token {SECRETS[1]}")

    writer = BundleWriter(reports, signer, pdf=broken)
    rec = healthy("drill-nopdf")
    writer.begin(rec)
    bundle = writer.finalize(rec)
    assert bundle.pdf_status.startswith("failed: chromium died")
    assert not (bundle.path / "report.pdf").exists()
    assert verify_bundle(bundle.path).status == "VALID"
    report = json.loads((bundle.path / "report.json").read_text())
    assert report["findings"][-1]["title"] == "report.pdf not rendered"
    assert _scan(bundle.path) == []


def test_secrets_in_log_are_redacted(write_bundle: WriteBundle) -> None:
    lines: list[dict[str, object]] = [
        {"event": "pin entered", "pin": SECRETS[0]},
        {"event": f"redirect https://x/cb?code={SECRETS[2]}&state=1"},
        {"event": "token", "access_token": SECRETS[1]},
        {"event": "headers", "headers": {"Cookie": "ESTSAUTHPERSISTENT=" + SECRETS[3]}},
        {"event": "observer", "client_secret": SECRETS[4]},
        {"event": "AADSTS", "code": "AADSTS50076"},
    ]
    bundle = write_bundle(healthy("drill-log"), lines)
    log = (bundle.path / "log.jsonl").read_text()
    assert len(log.splitlines()) == len(lines)
    assert "AADSTS50076" in log  # error codes are evidence, not secrets
    assert _scan(bundle.path) == []


def test_drill_ids_cannot_escape_the_reports_folder(reports: Path, signer: Signer) -> None:
    writer = BundleWriter(reports, signer, pdf=None)
    for bad in ("../x", "a/b", "x.partial", ""):
        with pytest.raises(ValueError):
            writer.begin(healthy(bad))


def test_same_drill_id_is_never_overwritten(write_bundle: WriteBundle) -> None:
    write_bundle(healthy("drill-once"))
    with pytest.raises(ValueError):
        write_bundle(healthy("drill-once"))


def test_reconcile_appends_a_bundle_the_ledger_missed(
    write_bundle: WriteBundle, reports: Path, signer: Signer
) -> None:
    write_bundle(healthy("drill-a"))
    bundle_b = write_bundle(healthy("drill-b"))
    # simulate a crash between the folder rename and the ledger append: drop drill-b's line
    path = reports / "ledger.jsonl"
    path.write_bytes(path.read_bytes().splitlines(keepends=True)[0])
    assert reconcile(reports, path, signer) == ["drill-b"]
    assert reconcile(reports, path, signer) == []
    entries = ledger.read_entries(path)
    assert [e["drill_id"] for e in entries] == ["drill-a", "drill-b"]
    assert entries[1]["manifest_sha256"] == bundle_b.manifest_sha256
    assert verify_ledger(path).ok


def test_writer_for_uses_the_workstation_key_and_summary_says_where(tmp_path: Path) -> None:
    from drill.evidence.bundle import writer_for

    writer = writer_for(tmp_path / "out", None, state_dir=tmp_path / "state", pdf=None)
    rec = healthy("drill-summary")
    writer.begin(rec)
    assert (tmp_path / "out" / "README.md").is_file()
    writer.finish(rec)
    done = writer.finished
    assert done is not None
    lines = done.summary()
    assert lines[0] == "PASS: every required step and check passed"
    assert f"evidence: {tmp_path / 'out' / 'drill-summary'}" in lines
    assert any(done.fingerprint in line for line in lines)
    assert lines[-1] == "report.pdf: disabled"
    again = writer_for(tmp_path / "out", None, state_dir=tmp_path / "state")
    assert again.signer.fingerprint == done.fingerprint  # generated once per workstation
