"""Filing a finished bundle where auditors look for it, and a signed receipt for each copy.

The bundle in the output folder is always the primary copy. Filing copies it to every target of the
playbook (`filing_target.FolderFiler`, `filing_sharepoint.SharePointFiler`), reads the copy back and checks
it against the manifest, the signature (this workstation's key, pinned) and the ledger; only then is a
receipt (destination, where the copy is, the SHA-256 of manifest.json as stored there) appended to the
ledger as a signed line. A failure never changes the verdict: it is returned, printed loudly by the caller
and recorded, and `drill file BUNDLE` retries later. Nothing here signs a bundle it did not write: a bundle
must verify against the ledger and this writer's own key before it is filed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drill.evidence import ledger
from drill.evidence.filing_sharepoint import SharePointFiler
from drill.evidence.filing_target import KIND_FILING, Filer, FilingError, FolderFiler, Receipt
from drill.evidence.signing import Signer

__all__ = [
    "KIND_FILING",
    "Filer",
    "FilingError",
    "FilingResult",
    "FolderFiler",
    "Receipt",
    "SharePointFiler",
    "file_bundle",
    "filers_for",
    "receipt_entry",
    "receipts",
]


@dataclass(frozen=True)
class FilingResult:
    target: str
    ok: bool
    detail: str  # where it went, or why not
    receipt: Receipt | None = None
    attempted: bool = True  # False: the bundle itself did not verify, so nothing was sent anywhere


def receipt_entry(drill_id: str, receipt: Receipt) -> dict[str, Any]:
    """The ledger line of one filing (signed and chained like every line)."""
    return {
        "kind": KIND_FILING,
        "drill_id": drill_id,
        "destination": receipt.destination,
        "location": receipt.location,
        "manifest_sha256": receipt.manifest_sha256,
        "already_filed": receipt.already_filed,
    }


def _checker(signer: Signer, ledger_path: Path) -> Callable[[Path], None]:
    from drill.evidence.verify import verify_bundle

    def check(copy: Path) -> None:
        result = verify_bundle(copy, trusted={signer.fingerprint}, ledger_path=ledger_path, check_ledger=True)
        if result.status != "VALID":
            problem = result.problems[0] if result.problems else result.status
            raise FilingError(f"the filed copy at {copy} does not verify: {problem}")

    return check


def file_bundle(bundle: Path, filers: list[Filer], signer: Signer, ledger_path: Path) -> list[FilingResult]:
    """File one bundle to every target and append a receipt per success; failures are returned, never raised.

    The bundle itself must verify first against this signer's key and the ledger: filing never launders a
    bundle this workstation did not write.
    """
    check = _checker(signer, ledger_path)
    try:
        check(bundle)
    except FilingError as exc:
        return [FilingResult(f.describe(), False, f"not filed: {exc}", attempted=False) for f in filers]
    results = []
    for filer in filers:
        try:
            receipt = filer.file(bundle, check)
        except (FilingError, OSError, ValueError) as exc:
            results.append(FilingResult(filer.describe(), False, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 (a library's surprise must not lose the other targets)
            results.append(FilingResult(filer.describe(), False, f"{type(exc).__name__}: {exc}"))
            continue
        ledger.append(ledger_path, receipt_entry(bundle.name, receipt), signer)
        note = " (already there)" if receipt.already_filed else ""
        results.append(FilingResult(filer.describe(), True, receipt.location + note, receipt))
    return results


def receipts(ledger_path: Path, drill_id: str) -> list[dict[str, Any]]:
    """The filing receipts of one drill, in ledger order."""
    return [e for e in ledger.read_entries(ledger_path, kind=KIND_FILING) if e.get("drill_id") == drill_id]


def filers_for(playbook: Any, cloud: Any) -> list[Filer]:
    """Filers for the playbook's `evidence.filing` entries; SharePoint ones act as the observer."""
    out: list[Filer] = []
    for item in playbook.evidence.filing:
        if item.kind == "folder":
            out.append(FolderFiler(Path(item.path)))
        else:
            out.append(
                SharePointFiler(str(item.site_url), item.library, item.folder, *_graph_pair(playbook, cloud))
            )
    return out


def _graph_pair(playbook: Any, cloud: Any) -> tuple[Callable[[], Any], Callable[[], Any]]:
    def graph() -> Any:
        from drill.auth import observer_credential
        from drill.clients import graph_client_at, graph_scopes

        return graph_client_at(
            observer_credential(playbook, cloud),
            cloud.graph_endpoint,
            graph_scopes(cloud, (".default",)),
            ca_bundle=cloud.ca_bundle,
            keep_alive=False,
        )

    def http() -> Any:
        import ssl

        import httpx

        verify = ssl.create_default_context(cafile=cloud.ca_bundle) if cloud.ca_bundle else True
        return httpx.AsyncClient(verify=verify, trust_env=False, timeout=120)

    return graph, http
