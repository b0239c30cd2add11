"""The audit bundle: signed like a drill's, verified by the same code, and every tampering detected."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drill.evidence import ledger, manifest
from drill.evidence.audit_bundle import FinishedAudit, write_audit_bundle
from drill.evidence.audit_record import AuditCheck, AuditRecord, DriftItem, MappingRef, decide
from drill.evidence.html import render_audit
from drill.evidence.model import Verdict
from drill.evidence.signing import Signer
from drill.evidence.verify import verify_bundle, verify_ledger

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script>\x1b[31m" onmouseover="x'


def _check(check_id: str, status: str = "passed", **extra: object) -> AuditCheck:
    return AuditCheck.model_validate(
        {
            "id": check_id,
            "area": "Accounts",
            "title": f"Title of {check_id}",
            "severity": "high",
            "status": status,
            "summary": f"summary of {check_id}",
            "rationale": "why",
            "remediation": "fix it",
            "mappings": [
                MappingRef(framework="NIST SP 800-53 Rev. 5", control="AC-2", title="Account Management")
            ],
            **extra,
        }
    )


def record(*checks: AuditCheck, audit_id: str = "audit-20261202T060000Z-abc123") -> AuditRecord:
    verdict, reason = decide(list(checks), {c.id for c in checks})
    return AuditRecord(
        audit_id=audit_id,
        tenant_id="6f1c1a3e-0b1e-4a3c-9a5e-3d2b7c9e1f00",
        tenant_domain="contoso.test",
        started_at=T0,
        read_at=T0,
        ended_at=T0 + timedelta(seconds=3),
        verdict=verdict,
        reason=reason,
        checks=list(checks),
        counts={"passed": sum(c.status == "passed" for c in checks)},
    )


def write(rec: AuditRecord, reports: Path, signer: Signer, pdf: bool = False) -> FinishedAudit:
    return write_audit_bundle(
        rec,
        reports,
        signer,
        render_html=render_audit,
        pdf=(lambda _html: b"%PDF-1.4 test\n") if pdf else None,
        extra_files=lambda r: {
            "maester.json": json.dumps({"Tests": [c.id for c in r.checks]}).encode(),
            "junit.xml": b'<testsuites name="audit"/>\n',
        },
    )


def test_a_written_audit_verifies_and_is_in_the_ledger(reports: Path, signer: Signer) -> None:
    done = write(record(_check("BG.ACC.1"), _check("BG.ACC.2")), reports, signer, pdf=True)
    result = verify_bundle(done.path, trusted={signer.fingerprint})
    assert result.status == "VALID", result.problems
    assert result.audit is not None
    assert result.audit.verdict is Verdict.PASS
    body = json.loads((done.path / manifest.MANIFEST).read_text())
    assert body["kind"] == "audit"
    assert body["verdict"] == "PASS"
    assert "maester.json" in body["files"]
    line = ledger.read_entries(done.ledger_path, kind=ledger.KIND_AUDIT)[-1]
    assert line["checks"] == {"BG.ACC.1": "passed", "BG.ACC.2": "passed"}
    assert line["manifest_sha256"] == done.manifest_sha256
    report = verify_ledger(done.ledger_path, trusted={signer.fingerprint}, require_bundles=True)
    assert report.ok, report.problems


def test_a_failed_check_fails_the_audit_and_an_advisory_warning_does_not() -> None:
    assert (
        decide([_check("A"), _check("B", "warning"), _check("C", "not_applicable")], {"A", "B", "C"})[0]
        is Verdict.PASS
    )
    assert decide([_check("A"), _check("B", "failed")], {"A", "B"})[0] is Verdict.FAIL
    assert decide([_check("A"), _check("B", "error")], {"A", "B"})[0] is Verdict.FAIL
    verdict, reason = decide([_check("A")], {"A", "B"})
    assert verdict is Verdict.FAIL
    assert "B" in reason


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (
            lambda p: (p / "report.json").write_text(
                (p / "report.json").read_text().replace('"failed"', '"passed"')
            ),
            "report.json",
        ),
        (lambda p: (p / "maester.json").unlink(), "maester.json"),
        (lambda p: (p / "extra.txt").write_text("added"), "extra.txt"),
        (lambda p: (p / "report.html").write_bytes((p / "report.html").read_bytes()[:100]), "report.html"),
    ],
    ids=["flip-a-status", "delete-a-file", "add-a-file", "truncate-the-html"],
)
def test_tampering_is_detected(reports: Path, signer: Signer, tamper: object, problem: str) -> None:
    done = write(record(_check("BG.ACC.1"), _check("BG.ACC.2", "failed")), reports, signer)
    tamper(done.path)  # type: ignore[operator]
    result = verify_bundle(done.path, trusted={signer.fingerprint})
    assert result.status == "INVALID"
    assert any(problem in p for p in result.problems), result.problems


def test_a_substituted_audit_signed_by_another_key_is_refused(
    reports: Path, signer: Signer, tmp_path: Path
) -> None:
    other = Signer.load(state_dir=tmp_path / "other")
    forged = write(record(_check("BG.ACC.1"), audit_id="audit-forged"), tmp_path / "elsewhere", other)
    planted = reports / forged.path.name
    reports.mkdir(parents=True, exist_ok=True)
    shutil.copytree(forged.path, planted)
    result = verify_bundle(planted, trusted={signer.fingerprint}, check_ledger=False)
    assert result.status == "INVALID"
    assert any("not a trusted key" in p for p in result.problems)


def test_an_audit_report_relabelled_as_a_drill_is_refused(reports: Path, signer: Signer) -> None:
    done = write(record(_check("BG.ACC.1")), reports, signer)
    body = json.loads((done.path / manifest.MANIFEST).read_text())
    body["kind"] = "something-else"
    raw = (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()
    (done.path / manifest.MANIFEST).write_bytes(raw)
    (done.path / manifest.SIGNATURE).write_text(signer.sign(raw) + "\n")  # even re-signed by the right key
    result = verify_bundle(done.path, trusted={signer.fingerprint}, check_ledger=False)
    assert result.status == "INVALID"
    assert any("unknown bundle kind" in p for p in result.problems)


def test_the_html_escapes_tenant_text_and_shows_mappings_evidence_and_drift(
    reports: Path, signer: Signer
) -> None:
    check = _check(
        "BG.CA.3",
        "failed",
        summary=HOSTILE,
        offenders=[HOSTILE],
        evidence=[{"displayName": HOSTILE, "id": "8a7b"}],
    )
    rec = record(check).model_copy(
        update={
            "previous_audit": "audit-1",
            "drift": [DriftItem(id="BG.CA.3", title="t", before="passed", after="failed")],
        }
    )
    html = render_audit(rec, "fp")
    assert "<script>alert(1)</script>" not in html
    assert "\x1b" not in html
    assert "&lt;script&gt;" in html
    assert "NIST SP 800-53 Rev. 5 AC-2" in html
    assert 'id="drift"' in html
    assert "8a7b" in html


def test_secrets_in_evidence_are_redacted_on_disk(reports: Path, signer: Signer) -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"
    check = _check("BG.AL.3", evidence=[{"clientSecret": "s3cr3t-value-123", "note": f"Bearer {jwt}"}])
    done = write(record(check), reports, signer)
    for path in done.path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"s3cr3t-value-123" not in data, path
            assert jwt.encode() not in data, path


def test_drill_report_serves_an_audits_signed_junit_and_nothing_it_cannot_vouch_for(
    reports: Path, signer: Signer
) -> None:
    from cli_support import run_cli

    done = write(record(_check("BG.ACC.1"), _check("BG.ACC.2", "failed")), reports, signer)
    code, out, _err = run_cli("report", str(done.path), "--format", "junit", "--trust", signer.fingerprint)
    assert code == 0
    root = ET.fromstring(out)  # noqa: S314 (our own output)
    assert root.get("name") == "audit"  # the signed file's, with only the attestation added
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props == {"evidence": f"VALID, signed by {signer.fingerprint} (pinned by --trust)"}
    assert root.find(".//testcase") is None
    code, _out, err = run_cli("report", str(done.path), "--format", "markdown", "--trust", signer.fingerprint)
    assert code == 2
    assert "posture-audit bundle" in err
    (done.path / "junit.xml").write_text('<testsuites name="forged-all-green"/>\n')
    code, out, _err = run_cli("report", str(done.path), "--format", "junit", "--trust", signer.fingerprint)
    assert code != 0
    assert "forged-all-green" not in out
