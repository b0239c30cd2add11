"""`drill verify`: recompute every hash, check the signature and the chain, and name what does not match.

A bundle is VALID only if its signed manifest lists exactly the files present with matching SHA-256, the
report agrees with the manifest, and (when a ledger is at hand) the ledger recorded this manifest. A folder
without a manifest and signature is INCOMPLETE by definition: the writer publishes both last.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from drill.evidence import ledger, manifest
from drill.evidence.audit_record import AuditRecord
from drill.evidence.model import DrillRecord, Verdict, first_failure
from drill.evidence.signing import fingerprint, public_key_from_b64, verify_signature
from drill.fsutil import sha256_file

Status = Literal["VALID", "INVALID", "INCOMPLETE"]


@dataclass
class BundleResult:
    """Problems name the file (relative to the bundle) or the ledger line at fault."""

    path: Path
    status: Status = "VALID"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdict: str | None = None
    fingerprint: str | None = None
    manifest_sha256: str | None = None
    record: DrillRecord | None = None
    audit: AuditRecord | None = None

    def fail(self, what: str) -> None:
        self.problems.append(what)
        self.status = "INVALID"


def verify_bundle(
    folder: Path,
    *,
    trusted: set[str] | None = None,
    ledger_path: Path | None = None,
    check_ledger: bool = True,
) -> BundleResult:
    """Check one bundle folder against its manifest, signature and (by default) the ledger.

    `ledger_path` defaults to `ledger.jsonl` beside the folder when one exists; a bundle missing from a
    ledger named explicitly is a failure, missing from the one found beside it only a note.
    """
    result = BundleResult(folder)
    if not folder.is_dir():
        result.fail(f"{folder}: not a bundle folder")
        return result
    auto_ledger = ledger_path is None
    if not check_ledger:
        ledger_path = None
    elif ledger_path is None:
        candidate = folder.parent / ledger.LEDGER_NAME
        ledger_path = candidate if candidate.is_file() else None
    for name in (manifest.MANIFEST, manifest.SIGNATURE):
        if not (folder / name).is_file():
            result.status = "INCOMPLETE"
            result.problems.append(
                f"{name}: missing: the bundle is INCOMPLETE (interrupted, or the file was deleted)"
            )
    if folder.name.endswith(manifest.PARTIAL_SUFFIX):
        result.status = "INCOMPLETE"
        result.problems.append(f"{folder.name}: still a .partial folder: the drill never finished writing")
    if result.status == "INCOMPLETE":
        _peek_claim(folder, result)
        return result
    body = (folder / manifest.MANIFEST).read_bytes()
    result.manifest_sha256 = sha256_file(folder / manifest.MANIFEST)
    data = _parse_manifest(body, result)
    if data is None:
        return result
    signer = data.get("signer") if isinstance(data.get("signer"), dict) else {}
    public = signer.get("public_key") if isinstance(signer, dict) else None
    if not isinstance(public, str):
        result.fail(f"{manifest.MANIFEST}: no signer public key")
        return result
    try:
        result.fingerprint = fingerprint(public_key_from_b64(public).public_bytes_raw())
    except ValueError:
        result.fail(f"{manifest.MANIFEST}: malformed signer public key")
        return result
    ledger_line = _ledger_line(ledger_path, folder.name, trusted) if ledger_path else None
    sig = (folder / manifest.SIGNATURE).read_text(encoding="ascii", errors="replace")
    if not verify_signature(public, body, sig):
        if ledger_line is not None and ledger_line[1].get("manifest_sha256") != result.manifest_sha256:
            result.fail(
                f"{manifest.MANIFEST}: altered (signature fails and its hash differs from the ledger)"
            )
        elif ledger_line is not None:
            result.fail(f"{manifest.SIGNATURE}: altered (does not verify; manifest.json matches the ledger)")
        else:
            result.fail(
                f"{manifest.SIGNATURE}: does not verify over {manifest.MANIFEST} (one of them was altered)"
            )
    if trusted is not None and result.fingerprint not in trusted:
        result.fail(f"{manifest.MANIFEST}: signed by {result.fingerprint}, which is not a trusted key")
    _check_files(folder, data, result)
    _check_public_key(folder, public, result)
    _check_report(folder, data, result)
    if result.status == "VALID":
        from drill.evidence.scan import scan_folder

        result.notes += [f"secret-shaped text: {hit}" for hit in scan_folder(folder)]
    if ledger_path is not None:
        if ledger_line is None:
            msg = f"{ledger_path}: has no line for drill {folder.name}"
            if auto_ledger:
                result.notes.append(msg + " (crash before the ledger append? the next drill reconciles it)")
            else:
                result.fail(msg)
        elif ledger_line[1].get("manifest_sha256") != result.manifest_sha256:
            result.fail(f"{manifest.MANIFEST}: SHA-256 differs from {ledger_path}:{ledger_line[0]}")
    return result


def _peek_claim(folder: Path, result: BundleResult) -> None:
    try:
        claim = json.loads((folder / manifest.REPORT_JSON).read_bytes()).get("verdict")
    except (OSError, ValueError, AttributeError):
        return
    result.notes.append(f"report.json says {claim}, which counts for nothing without a signed manifest")


def _parse_manifest(body: bytes, result: BundleResult) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        result.fail(f"{manifest.MANIFEST}: not JSON (altered)")
        return None
    if not isinstance(data, dict) or data.get("schema") != manifest.SCHEMA:
        result.fail(f"{manifest.MANIFEST}: not a {manifest.SCHEMA} manifest")
        return None
    if (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=True) + "\n").encode() != body:
        result.fail(f"{manifest.MANIFEST}: not in the form the writer produces (edited)")
    result.verdict = data.get("verdict") if isinstance(data.get("verdict"), str) else None
    return data


def _check_files(folder: Path, data: dict[str, Any], result: BundleResult) -> None:
    files = data.get("files")
    if not isinstance(files, dict):
        result.fail(f"{manifest.MANIFEST}: no file list")
        return
    present = set(manifest.bundle_files(folder))
    for rel in sorted(files):
        entry = files[rel]
        path = folder / rel
        if ".." in Path(rel).parts or Path(rel).is_absolute():
            result.fail(f"{manifest.MANIFEST}: unsafe path {rel!r}")
        elif not path.is_file():
            result.fail(f"{rel}: listed in the manifest but missing (deleted)")
        elif not isinstance(entry, dict) or entry.get("sha256") != sha256_file(path):
            result.fail(f"{rel}: SHA-256 does not match the manifest (altered)")
        elif entry.get("size") != path.stat().st_size:
            result.fail(f"{rel}: size does not match the manifest (altered)")
    for rel in sorted(present - set(files)):
        result.fail(f"{rel}: not listed in the manifest (added after signing)")
    required = list(manifest.REQUIRED)
    if data.get("pdf") == "rendered":
        required.append(manifest.REPORT_PDF)
    else:
        result.notes.append(f"report.pdf absent: {data.get('pdf')}")
    for rel in required:
        if rel not in files:
            result.fail(f"{rel}: required but not in the manifest")


def _check_public_key(folder: Path, public_b64: str, result: BundleResult) -> None:
    path = folder / manifest.PUBLIC_KEY
    if not path.is_file():
        return  # already reported as missing
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError:
        result.fail(f"{manifest.PUBLIC_KEY}: not a PEM public key (altered)")
        return
    if (
        not isinstance(key, Ed25519PublicKey)
        or key.public_bytes_raw() != public_key_from_b64(public_b64).public_bytes_raw()
    ):
        result.fail(f"{manifest.PUBLIC_KEY}: differs from the manifest's signer key")


def _check_report(folder: Path, data: dict[str, Any], result: BundleResult) -> None:
    path = folder / manifest.REPORT_JSON
    if not path.is_file():
        return
    if data.get("kind") == ledger.KIND_AUDIT:
        _check_audit_report(path, folder, data, result)
        return
    if data.get("kind") is not None:
        result.fail(f"{manifest.MANIFEST}: unknown bundle kind {str(data.get('kind'))[:40]!r}")
        return
    try:
        record = DrillRecord.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        result.fail(f"{manifest.REPORT_JSON}: does not match the report schema ({exc.error_count()} errors)")
        return
    result.record = record
    if record.verdict.value != data.get("verdict"):
        result.fail(f"{manifest.REPORT_JSON}: verdict {record.verdict.value} differs from the manifest's")
    if record.verdict is Verdict.PASS and (failure := first_failure(record.steps)) is not None:
        # The steps must carry the PASS themselves: a not-observable check without its passed proof (or any
        # failed required check) under a PASS is a record the drill could not have written.
        result.fail(f"{manifest.REPORT_JSON}: verdict PASS but {failure}")
    if record.drill_id != data.get("drill_id") or record.drill_id != folder.name:
        result.fail(f"{manifest.REPORT_JSON}: drill id does not match the manifest and folder name")


def _check_audit_report(path: Path, folder: Path, data: dict[str, Any], result: BundleResult) -> None:
    try:
        audit = AuditRecord.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        count = exc.error_count()
        result.fail(f"{manifest.REPORT_JSON}: does not match the audit report schema ({count} errors)")
        return
    result.audit = audit
    if audit.verdict.value != data.get("verdict"):
        result.fail(f"{manifest.REPORT_JSON}: verdict {audit.verdict.value} differs from the manifest's")
    if audit.audit_id != data.get("drill_id") or audit.audit_id != folder.name:
        result.fail(f"{manifest.REPORT_JSON}: audit id does not match the manifest and folder name")


def _ledger_line(path: Path, drill_id: str, trusted: set[str] | None) -> tuple[int, dict[str, Any]] | None:
    """The ledger's (last) line for this bundle; when a key is pinned, only a line that key signed counts,
    so a line someone else appended with this id can neither stand in for the record nor contradict it
    (`verify_ledger` reports that line)."""
    if not path.is_file():
        return None
    found = None
    for number, raw in enumerate(path.read_bytes().splitlines(), 1):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and entry.get("kind") in (ledger.KIND_DRILL, ledger.KIND_AUDIT)
            and entry.get("drill_id") == drill_id
            and (trusted is None or ledger.signed_by(entry, trusted))
        ):
            found = (number, entry)
    return found


def verify_ledger(
    path: Path,
    *,
    trusted: set[str] | None = None,
    check_bundles: bool = True,
    expect_head: str | None = None,
    require_bundles: bool = False,
) -> ledger.LedgerReport:
    """The chain and signatures, plus (optionally) each drill line against its bundle's manifest hash.

    `expect_head` is a head hash recorded earlier (ticket, CMDB): a ledger that no longer holds it was
    truncated or rewritten. A drill line whose bundle folder is not beside the ledger is a problem with
    `require_bundles` (a whole evidence folder is being verified, so a deleted FAIL bundle must show) and
    a note otherwise (bundles may have been filed elsewhere).
    """
    report = ledger.verify(path, trusted)
    if expect_head is not None and path.is_file():
        problem = ledger.check_head(report, expect_head)
        if problem:
            report.problems.append(problem)
    if not check_bundles or not path.is_file():
        return report
    numbered = []
    for number, raw in enumerate(path.read_bytes().splitlines(), 1):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue  # already reported by ledger.verify
        if isinstance(entry, dict):
            numbered.append((number, entry))
    for number, entry in numbered:
        if entry.get("kind") not in (ledger.KIND_DRILL, ledger.KIND_AUDIT) or not isinstance(
            entry.get("bundle"), str
        ):
            continue
        if not manifest.DRILL_ID.fullmatch(entry["bundle"]):
            report.notes.append(f"{path}:{number}: bundle {entry['bundle']!r} is not a drill id; not checked")
            continue
        folder = path.parent / entry["bundle"]
        target = folder / manifest.MANIFEST
        if not target.is_file():
            missing = f"{path}:{number}: bundle {entry['bundle']} ({entry.get('verdict')}) is missing"
            if require_bundles:
                report.problems.append(f"{missing} from {path.parent} (deleted?)")
            else:
                report.notes.append(f"{missing} beside the ledger (filed elsewhere?)")
            continue
        if sha256_file(target) != entry.get("manifest_sha256"):
            report.problems.append(
                f"{path}:{number}: bundle {entry['bundle']}/manifest.json does not match this line"
            )
    return report


def _bundle_folders(folder: Path) -> list[Path]:
    return [
        p
        for p in sorted(folder.iterdir())
        if p.is_dir()
        and (manifest.DRILL_ID.fullmatch(p.name) or p.name.endswith(manifest.PARTIAL_SUFFIX))
        and p.name != "history"
    ]


def verify_reports_dir(
    folder: Path, *, trusted: set[str] | None = None, expect_head: str | None = None
) -> tuple[list[BundleResult], ledger.LedgerReport | None]:
    """Every bundle folder under an evidence directory, and its ledger, each checked against the other.

    Both directions count: a complete bundle the ledger lacks is INVALID (planted, or its line removed),
    and so is a ledger line whose bundle is gone (a FAIL deleted). Without a ledger, every complete
    bundle lacks one. The ledger report is None only when there is neither a ledger nor a bundle.
    """
    book = folder / ledger.LEDGER_NAME
    has_book = book.is_file()
    results = [
        verify_bundle(p, trusted=trusted, ledger_path=book if has_book else None, check_ledger=has_book)
        for p in _bundle_folders(folder)
    ]
    if has_book:
        return results, verify_ledger(book, trusted=trusted, expect_head=expect_head, require_bundles=True)
    if not results:
        return results, None
    for result in results:
        if result.status == "VALID":
            result.fail(f"{book}: missing, so no ledger records drill {result.path.name}")
    report = ledger.LedgerReport(book)
    report.problems.append(f"{book}: missing (deleted?): the bundles beside it are in no ledger")
    return results, report
