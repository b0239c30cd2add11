"""A filing target and the folder one: what every target returns (a Receipt) or raises (FilingError).

A folder copy is staged beside the target, written privately (0700/0600), verified, then renamed into place.
Never overwrite: a destination that already holds this bundle (the same regular files, byte for byte) is a
success, anything else under that name is an error. A copy is real files in real folders: a link at the
target folder or anywhere in the copy is refused, since a share holding links to the primary bundle holds
no copy at all. The receipt names the copy's resolved location, where `drill verify FILED-COPY` expects it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from drill.evidence import manifest
from drill.fsutil import O_NOFOLLOW, atomic_write, fsync_dir, private_mkdir, sha256_file

KIND_FILING = "filing"


class FilingError(Exception):
    """A filing that did not happen (or cannot be trusted); the message says what to do."""


@dataclass(frozen=True)
class Receipt:
    """Where one copy went and the manifest hash read back from it."""

    destination: str
    location: str  # a folder path, or a SharePoint item id and web URL
    manifest_sha256: str
    already_filed: bool = False


class Filer(Protocol):
    """Files one finished bundle folder; returns the receipt, raises FilingError or OSError on failure."""

    def describe(self) -> str: ...

    def file(self, bundle: Path, check: Callable[[Path], None]) -> Receipt: ...


def upload_order(bundle: Path) -> list[str]:
    """The bundle's files in the order they are filed: the manifest and its signature last, so a half-filed
    copy has no valid manifest."""
    return [*manifest.bundle_files(bundle), manifest.MANIFEST, manifest.SIGNATURE]


@dataclass(frozen=True)
class FolderFiler:
    """Copy the bundle to another folder (a mounted share), privately and atomically, then verify the copy."""

    target: Path

    def describe(self) -> str:
        return f"folder {self.target}"

    def file(self, bundle: Path, check: Callable[[Path], None]) -> Receipt:
        target = self.target.absolute()
        if target.is_symlink():
            raise FilingError(
                f"{target}: the filing folder is a symbolic link, refused; name the real folder in "
                "evidence.filing"
            )
        destination = target / bundle.name
        want = sha256_file(bundle / manifest.MANIFEST)
        if os.path.lexists(destination):
            _holds_the_same_bundle(bundle, destination)
            check(destination)
            return Receipt(self.describe(), str(destination.resolve()), want, already_filed=True)
        private_mkdir(target)
        staging_root = destination.parent / f".{bundle.name}.filing-{secrets.token_hex(4)}"
        private_mkdir(staging_root, exist_ok=False)
        staging = staging_root / bundle.name  # the same folder name, so the copy verifies as itself
        try:
            private_mkdir(staging, exist_ok=False)
            for rel in upload_order(bundle):
                private_mkdir((staging / rel).parent)
                atomic_write(staging / rel, (bundle / rel).read_bytes())
            check(staging)
            staging.rename(destination)
            fsync_dir(destination.parent)
        finally:
            shutil.rmtree(staging_root, ignore_errors=True)
        return Receipt(
            self.describe(), str(destination.resolve()), sha256_file(destination / manifest.MANIFEST)
        )


def _holds_the_same_bundle(bundle: Path, destination: Path) -> None:
    """ "Already filed" means: real files only, exactly the bundle's, each the same bytes; else FilingError.

    A copy that is the primary folder itself (a target pointing back at the reports folder) is no copy.
    """
    found = _regular_files(destination)
    if destination.resolve() == bundle.resolve():
        raise FilingError(f"{destination} is the primary bundle itself, not a copy; file to another folder")
    if sorted(found) != sorted(upload_order(bundle)) or any(
        _read_no_follow(destination / rel) != (bundle / rel).read_bytes() for rel in found
    ):
        raise FilingError(
            f"{destination} already exists and holds a different bundle; it is never overwritten "
            "(move it aside if it is not evidence)"
        )


def _regular_files(folder: Path, rel: str = "") -> list[str]:
    """Bundle-relative paths of every file under `folder`; FilingError at a link or anything but a file."""
    here = folder / rel if rel else folder
    try:
        info = here.lstat()
    except OSError as exc:
        raise FilingError(f"{here}: cannot read it ({exc.strerror})") from exc
    if stat.S_ISLNK(info.st_mode):
        raise FilingError(
            f"{here} is a symbolic link: a filed copy holds real files only, so this is not one; refused "
            "(remove the link if it is not evidence)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise FilingError(f"{here} is not a folder; it is never overwritten (move it aside)")
    out: list[str] = []
    with os.scandir(here) as entries:
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                out += _regular_files(folder, path)
            elif entry.is_file(follow_symlinks=False):
                out.append(path)
            else:  # a link (to a file or a folder), a FIFO, a device: not a copy of anything
                kind = "a symbolic link" if entry.is_symlink() else "not a regular file"
                raise FilingError(
                    f"{folder / path} is {kind}: a filed copy holds real files only, so this is not one; "
                    "refused (remove it if it is not evidence)"
                )
    return out


def _read_no_follow(path: Path) -> bytes:
    """A file's bytes, refusing a link swapped in since the folder was listed."""
    try:
        fd = os.open(path, os.O_RDONLY | O_NOFOLLOW)
    except OSError as exc:
        raise FilingError(f"{path}: cannot read it as a regular file ({exc.strerror}); refused") from exc
    with os.fdopen(fd, "rb") as fh:
        return fh.read()
