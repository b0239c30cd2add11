"""What a crashed drill leaves in the temp folder, swept at the next start: Chromium profiles (cookies), the
demo's key folders and the run wiring's log folders, each recognised by its prefix.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from drill.browser.owner import OWNER_FILE, owner_alive
from drill.browser.processes import processes_using

PROFILE_PREFIX = "drill-chromium-"  # the drill's Chromium profile (drill/browser/launch.py)
DEMO_PREFIX = "drill-demo-"  # the demo's software keys and simulator state (drill/run/demo.py)
LOG_PREFIX = "drill-log-"  # the run wiring's temporary log folder (its redacted copy lands in the bundle)
# Far longer than any drill (the default SLAs add up to about 75 minutes): a folder that records no owner
# (drill/browser/owner.py), this old, whose processes are gone, is a crash's leftover, never a running drill.
STALE_AFTER_S = 12 * 3600.0


def _open_by_any_process(folder: Path) -> bool:
    """True when a live process has a file under `folder` open (a running drill's log, say)."""
    prefix = str(folder) + os.sep
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = str(fd.readlink())
            except OSError:
                continue
            if target == str(folder) or target.startswith(prefix):
                return True
    return False


def _owner_alive(base_fd: int, name: str) -> bool | None:
    """The folder's recorded owner: running (True), gone (False), or not recorded (None)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(f"{name}{os.sep}{OWNER_FILE}", flags, dir_fd=base_fd)
    except OSError:
        return None
    with os.fdopen(fd, encoding="ascii", errors="replace") as src:
        return owner_alive(src.read(64))


def sweep_stale(
    temp_dir: Path | None = None,
    *,
    prefixes: Sequence[str] = (PROFILE_PREFIX, DEMO_PREFIX, LOG_PREFIX),
    max_age_s: float = STALE_AFTER_S,
    now: float | None = None,
) -> list[Path]:
    """Delete what a crashed drill left in the temp folder: its Chromium profiles (cookies), the demo's key
    folders and log folders.

    Only real folders (never a symlink, never followed), owned by this user, whose recorded owner process
    is gone (whatever their age) or, recording none, untouched for `max_age_s`; never one whose owner runs,
    nor one a live process uses (Chromium names its profile on its command line; a log is an open file).
    Deletion goes through the temp folder's descriptor with shutil's symlink-safe rmtree, so a folder
    swapped for a symlink after the checks is refused, not followed. Returns what was removed.
    """
    base = Path(temp_dir or tempfile.gettempdir())
    geteuid = getattr(os, "geteuid", None)
    me = geteuid() if geteuid is not None else None
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        base_fd = os.open(base, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return removed
    try:
        with os.scandir(base_fd) as entries:
            names = [e.name for e in entries if e.name.startswith(tuple(prefixes))]
        for name in names:
            path = base / name
            try:
                st = os.stat(name, dir_fd=base_fd, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISDIR(st.st_mode) or (me is not None and st.st_uid != me):
                continue  # a symlink, a file, or someone else's: not ours to touch
            owner = _owner_alive(base_fd, name)
            if owner or (owner is None and now - st.st_mtime < max_age_s):
                continue
            if processes_using(path) or _open_by_any_process(path):
                continue
            if not shutil.rmtree.avoids_symlink_attacks:
                continue  # no safe way to delete here; leaving it is better than following a link
            try:
                shutil.rmtree(name, dir_fd=base_fd)
            except OSError:
                continue
            removed.append(path)
    finally:
        os.close(base_fd)
    return removed
