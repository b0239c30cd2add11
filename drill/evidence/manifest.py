"""The bundle's layout and its manifest: which files, their SHA-256, who signed.

Kept apart from the writer and the verifier so both read the same definition of a complete bundle.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drill.evidence.model import DrillRecord
from drill.evidence.signing import Signer
from drill.fsutil import sha256_file

SCHEMA = "breakglass-drill/manifest/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
REPORT_SCHEMA = "report.schema.json"
LOG = "log.jsonl"
PUBLIC_KEY = "public_key.pem"
SCREENSHOTS = "screenshots"
PARTIAL_SUFFIX = ".partial"
# Present in every complete bundle; report.pdf too unless the manifest records why it is absent.
REQUIRED = (REPORT_JSON, REPORT_HTML, REPORT_SCHEMA, LOG, PUBLIC_KEY)
DRILL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_drill_id(drill_id: str) -> str:
    """Drill ids name folders: refuse anything that could escape the evidence directory."""
    if not DRILL_ID.fullmatch(drill_id) or drill_id.endswith(PARTIAL_SUFFIX) or ".." in drill_id:
        raise ValueError(f"drill id {drill_id!r} is not a safe folder name ([A-Za-z0-9._-], max 128)")
    return drill_id


def bundle_files(folder: Path) -> list[str]:
    """Every regular file under the bundle except the manifest and its signature, as sorted POSIX paths."""
    out = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if rel in (MANIFEST, SIGNATURE) or path.is_dir():
            continue
        out.append(rel)
    return sorted(out)


def build(folder: Path, record: DrillRecord, signer: Signer, pdf_status: str) -> bytes:
    """The manifest bytes for a folder whose every other file is already written and synced."""
    return build_for(
        folder,
        signer,
        pdf_status,
        bundle_id=record.drill_id,
        account=record.account_name,
        verdict=record.verdict.value,
        reason=record.reason,
        started_at=record.started_at,
        ended_at=record.ended_at,
    )


def build_for(
    folder: Path,
    signer: Signer,
    pdf_status: str,
    *,
    bundle_id: str,
    account: str,
    verdict: str,
    reason: str,
    started_at: datetime,
    ended_at: datetime | None,
    kind: str | None = None,
) -> bytes:
    """Any bundle's manifest. `kind` is absent for drills (every bundle before audits existed had none)."""
    files: dict[str, Any] = {}
    for rel in bundle_files(folder):
        path = folder / rel
        files[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "drill_id": bundle_id,
        "account": account,
        "verdict": verdict,
        "reason": reason,
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat() if ended_at else None,
        "created_at": datetime.now(UTC).isoformat(),
        "pdf": pdf_status,
        "files": files,
        "signer": {
            "algorithm": "Ed25519",
            "public_key": signer.public_b64,
            "fingerprint": signer.fingerprint,
        },
    }
    if kind is not None:
        body["kind"] = kind
    return (json.dumps(body, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode()


SHIPPED_SCHEMA = Path(__file__).with_name("report.schema.json")


def report_schema() -> bytes:
    """The JSON Schema of report.json, shipped in every bundle (and in the package, `SHIPPED_SCHEMA`).

    Regenerate the package copy after changing the model: `python -m drill.evidence.manifest`.
    """
    schema = DrillRecord.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "breakglass-drill/report/1"
    return (json.dumps(schema, indent=2, sort_keys=True) + "\n").encode()


if __name__ == "__main__":
    SHIPPED_SCHEMA.write_bytes(report_schema())
