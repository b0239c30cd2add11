"""Writing one posture audit's signed evidence folder, with the drill bundle's order and guarantees.

The audit bundle is a bundle like a drill's: `report.json` (an `AuditRecord`), `report.html`, `report.pdf`,
`report.schema.json`, `log.jsonl`, `public_key.pem`, then `manifest.json` (kind `audit`) and `manifest.sig`
written last, the folder renamed from `.partial` atomically, and only then the ledger line. So `drill verify`
checks it with the same code, and a crash leaves an INCOMPLETE folder, never an unsigned PASS.

An audit has no steps to checkpoint (it reads, judges and writes in one go), so there is no `begin`: the
folder exists only while being written, and nothing is ever reconciled or re-signed after a crash.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drill.evidence import ledger, manifest
from drill.evidence._redact import redact, redact_text
from drill.evidence.audit_record import AuditRecord, report_schema
from drill.evidence.signing import Signer
from drill.fsutil import atomic_write, fsync_dir, private_mkdir, sha256_file

PdfRenderer = Callable[[str], bytes]


@dataclass(frozen=True)
class FinishedAudit:
    path: Path
    verdict: str
    reason: str
    manifest_sha256: str
    fingerprint: str
    ledger_path: Path
    ledger_line: dict[str, Any]
    pdf_status: str
    ledger_head: str


def redacted_audit(record: AuditRecord) -> AuditRecord:
    """Every string and object an audit lands on disk passes the evidence redactor (twice-redaction rule)."""
    data = redact(record.model_dump(mode="json"))
    return AuditRecord.model_validate(data)


def audit_entry(record: AuditRecord, bundle: str, manifest_sha256: str) -> dict[str, Any]:
    """The ledger line: enough to compute drift and show history without opening the bundle."""
    return {
        "kind": ledger.KIND_AUDIT,
        "drill_id": record.audit_id,
        "tenant_id": record.tenant_id,
        "verdict": record.verdict.value,
        "reason": record.reason,
        "started_at": record.started_at.isoformat(),
        "ended_at": record.ended_at.isoformat(),
        "bundle": bundle,
        "manifest_sha256": manifest_sha256,
        "counts": dict(record.counts),
        "checks": {c.id: c.status for c in record.checks},
        "drift": [d.model_dump(mode="json") for d in record.drift],
    }


def write_audit_bundle(
    record: AuditRecord,
    reports_dir: Path,
    signer: Signer,
    *,
    render_html: Callable[[AuditRecord, str], str],
    pdf: PdfRenderer | None,
    ledger_path: Path | None = None,
    log_lines: list[dict[str, Any]] | None = None,
    extra_files: Callable[[AuditRecord], dict[str, bytes]] | None = None,
) -> FinishedAudit:
    """`extra_files` renders further signed files (Maester JSON, JUnit) from the redacted record."""
    manifest.check_drill_id(record.audit_id)
    ledger_path = ledger_path or reports_dir / ledger.LEDGER_NAME
    private_mkdir(reports_dir)
    final = reports_dir / record.audit_id
    partial = reports_dir / (record.audit_id + manifest.PARTIAL_SUFFIX)
    if final.exists() or partial.exists():
        raise ValueError(f"evidence for audit {record.audit_id} already exists in {reports_dir}")
    private_mkdir(partial, exist_ok=False)
    fsync_dir(reports_dir)
    record = redacted_audit(record)
    log = "".join(
        json.dumps(redact(line), ensure_ascii=False, default=str) + "\n" for line in (log_lines or [])
    )
    atomic_write(partial / manifest.LOG, log.encode())
    atomic_write(partial / manifest.REPORT_SCHEMA, report_schema())
    atomic_write(partial / manifest.PUBLIC_KEY, signer.public_pem())
    html = render_html(record, signer.fingerprint)
    pdf_status = "disabled"
    if pdf is not None:
        try:
            atomic_write(partial / manifest.REPORT_PDF, pdf(html))
            pdf_status = "rendered"
        except Exception as exc:  # noqa: BLE001 - a renderer failure is recorded, never a lost audit
            pdf_status = f"failed: {redact_text(str(exc))[:300]}"
    for name, data in (extra_files(record) if extra_files else {}).items():
        if "/" in name or name in manifest.REQUIRED or name in (manifest.MANIFEST, manifest.SIGNATURE):
            raise ValueError(f"an audit bundle cannot take an extra file named {name!r}")
        atomic_write(partial / name, data)
    atomic_write(partial / manifest.REPORT_JSON, (record.model_dump_json(indent=2) + "\n").encode())
    atomic_write(partial / manifest.REPORT_HTML, html.encode())
    body = manifest.build_for(
        partial,
        signer,
        pdf_status,
        bundle_id=record.audit_id,
        account="*",
        verdict=record.verdict.value,
        reason=record.reason,
        started_at=record.started_at,
        ended_at=record.ended_at,
        kind=ledger.KIND_AUDIT,
    )
    atomic_write(partial / manifest.MANIFEST, body)
    atomic_write(partial / manifest.SIGNATURE, (signer.sign(body) + "\n").encode())
    partial.rename(final)
    fsync_dir(reports_dir)
    digest = sha256_file(final / manifest.MANIFEST)
    line = ledger.append(ledger_path, audit_entry(record, final.name, digest), signer)
    return FinishedAudit(
        final,
        record.verdict.value,
        record.reason,
        digest,
        signer.fingerprint,
        ledger_path,
        line,
        pdf_status,
        ledger.head_of(ledger_path),
    )
