"""Durable, private file writes: the bundle, the ledger and a software key must survive a crash whole.

Evidence names the break-glass accounts and the CA and alert design, and a key file holds credentials, so
everything the drill creates through here is owner-only (folders 0700, files 0600) whatever the umask
says; sharing is the operator's deliberate act (reports/README.md). Nothing here follows a symbolic link
planted at a name it writes through: temp files get unpredictable names and are created exclusively, so a
link cannot redirect a write outside the folder; and a folder the drill keeps inside its own
(`reports/history`) is taken through `private_subdir`, which refuses one that has become a link.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# Absent on Windows, where creating symbolic links needs a privilege anyway.
O_NOFOLLOW: int = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY: int = getattr(os, "O_DIRECTORY", 0)


def fsync_dir(path: Path) -> None:
    """Persist a directory entry (a rename or a new file) on POSIX; a no-op where dirs cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def private_mkdir(path: Path, *, exist_ok: bool = True) -> None:
    """Create `path` and its missing parents as 0700; folders that already exist keep their mode.

    An existing folder may have been shared on purpose (a group ACL), so it is never tightened behind the
    operator's back; only what the drill creates is private. The mode is set explicitly after `mkdir`
    because `mkdir`'s mode is filtered through the umask.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    if not missing:
        if not exist_ok or not path.is_dir():
            raise FileExistsError(f"{path} already exists")
        return
    for folder in reversed(missing):
        try:
            folder.mkdir(PRIVATE_DIR)
        except FileExistsError:
            if folder == path and not exist_ok:
                raise
            if not folder.is_dir():
                raise
            continue  # someone else made it meanwhile: theirs, leave its mode alone
        _chmod_dir(folder)


class LinkRefused(OSError):
    """A folder the drill keeps inside its own is a symbolic link (or not a folder): planted, refused."""


def private_subdir(root: Path, name: str) -> Path:
    """`root/name`, a folder the drill keeps inside a folder of its own (`reports/history`): created 0700,
    or, when it exists, refused unless it is a real folder.

    The operator chooses `root` (it may be a link to a mounted volume, on purpose); nothing the drill
    makes below it ever is one, so a link there was planted to send the drill's writes elsewhere.
    """
    if name in ("", ".", "..") or "/" in name or os.sep in name:
        raise ValueError(f"not a single folder name: {name!r}")
    private_mkdir(root)
    folder = root / name
    try:
        folder.mkdir(PRIVATE_DIR)
    except FileExistsError:
        info = folder.lstat()
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
            raise LinkRefused(
                f"{folder} is {what}, refused: nothing is written through it; remove it if you did not "
                "make it (the drill recreates the folder)"
            ) from None
        return folder
    _chmod_dir(folder)
    return folder


def _chmod_dir(folder: Path) -> None:
    """chmod through a descriptor opened without following links, so a swapped-in link is not changed."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY | _O_DIRECTORY | O_NOFOLLOW)
    try:
        os.fchmod(fd, PRIVATE_DIR)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = PRIVATE_FILE) -> None:
    """Write to an unpredictable sibling temp file, fsync it, rename over `path`, fsync the directory.

    Readers see either the old file or the new one, never a torn write. The temp file is created by
    `mkstemp` (O_CREAT|O_EXCL|O_NOFOLLOW, random name) in the destination folder, so a link planted there
    is never written through; the rename replaces a link at `path` itself rather than following it.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        try:
            if os.name == "posix":
                os.fchmod(fd, mode)  # explicit: mkstemp's 0600 is the floor, not the umask's choice
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def create_private(path: Path) -> None:
    """Create `path` as an empty owner-only file before a library (SQLite) opens it under the umask.

    An existing file is left as it is (it may have been shared on purpose); `O_EXCL` means a link planted
    at `path` is never created through.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW, PRIVATE_FILE)
    except FileExistsError:
        return
    try:
        if os.name == "posix":
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()
