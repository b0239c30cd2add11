"""Filing a finished bundle where auditors look for it.

Local folder filing is built in. SharePoint filing (Graph, observer identity: resolve the site from its URL,
the drive from the library name, then upload each file under `<folder>/<drill_id>/`) has its interface here
but no upload yet: it fails loudly rather than pretending to have filed. The bundle in the output folder is
always the primary copy; filing copies it and checks the copy against the manifest.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from drill.evidence.ledger import LEDGER_NAME
from drill.fsutil import fsync_dir


class Filer(Protocol):
    """Files one finished bundle folder; returns where it went, raises on failure."""

    def describe(self) -> str: ...

    def file(self, bundle: Path) -> str: ...


@dataclass(frozen=True)
class FolderFiler:
    """Copy the bundle to another folder (a share, a synced drive) and verify the copy."""

    target: Path

    def describe(self) -> str:
        return f"folder {self.target}"

    def file(self, bundle: Path) -> str:
        from drill.evidence.verify import verify_bundle

        destination = self.target / bundle.name
        if destination.exists():
            raise FileExistsError(f"{destination} already exists; bundles are never overwritten")
        self.target.mkdir(parents=True, exist_ok=True)
        staging_root = self.target / f".{bundle.name}.filing"
        shutil.rmtree(staging_root, ignore_errors=True)
        staging = staging_root / bundle.name  # same folder name, so the copy verifies as itself
        shutil.copytree(bundle, staging)
        book = bundle.parent / LEDGER_NAME
        check = verify_bundle(
            staging, ledger_path=book if book.is_file() else None, check_ledger=book.is_file()
        )
        if check.status != "VALID":
            shutil.rmtree(staging_root, ignore_errors=True)
            raise OSError(f"the copy in {self.target} does not verify: {check.problems[0]}")
        staging.rename(destination)
        staging_root.rmdir()
        fsync_dir(self.target)
        return str(destination)


@dataclass(frozen=True)
class SharePointFiler:
    """Upload to a SharePoint document library through Graph as the observer. Not implemented yet."""

    site_url: str
    library: str = "Documents"
    folder: str = "Break-glass drills"

    def describe(self) -> str:
        return f"SharePoint {self.site_url} / {self.library} / {self.folder}"

    def file(self, bundle: Path) -> str:
        raise NotImplementedError(
            "SharePoint filing is not implemented yet; copy the bundle by hand or use a folder filing target"
        )


@dataclass(frozen=True)
class FilingResult:
    target: str
    ok: bool
    detail: str  # where it went, or why not


def filers_for(config: list[Any]) -> list[Filer]:
    """Filers from the playbook's `evidence.filing` entries (objects with `kind` = folder | sharepoint)."""
    out: list[Filer] = []
    for item in config:
        kind = getattr(item, "kind", None)
        if kind == "folder":
            out.append(FolderFiler(Path(item.path)))
        elif kind == "sharepoint":
            out.append(SharePointFiler(str(item.site_url), str(item.library), str(item.folder)))
        else:
            raise ValueError(f"unknown filing kind {kind!r}")
    return out


def file_bundle(bundle: Path, filers: list[Filer]) -> list[FilingResult]:
    """Try every target; a failed copy is reported, never fatal (the primary bundle already exists)."""
    results = []
    for filer in filers:
        try:
            results.append(FilingResult(filer.describe(), True, filer.file(bundle)))
        except (OSError, NotImplementedError, ValueError) as exc:
            results.append(FilingResult(filer.describe(), False, str(exc)))
    return results
