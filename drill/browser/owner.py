"""Which process a drill's temporary folder belongs to, so a crash's leftovers can be swept at once.

A drill killed mid-sign-in (SIGKILL, a power cut, an OOM kill) runs no cleanup: its Chromium profile
(cookies, login data, the authorize URL) and the demo's key folder stay in the temp folder. Age alone cannot
tell such a folder from one a running drill uses, so each folder records its owner: the creating process's
pid and start time (the start time tells a reused pid from the owner). The sweep removes a folder whose owner
is gone, whatever its age, and never one whose owner still runs (drill/browser/sweep.py).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

OWNER_FILE = ".drill-owner"


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), None if unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text.rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def mark_owner(folder: Path) -> None:
    """Record this process as the folder's owner (best effort: an unmarked folder falls back to the age
    rule, so a failure here only delays its sweep)."""
    pid = os.getpid()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(OSError):
        fd = os.open(folder / OWNER_FILE, flags, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(f"{pid} {start_time(pid) or 0}\n")


def owner_alive(text: str) -> bool | None:
    """From an owner file's text: True while its process runs, False once it is gone, None if unreadable."""
    try:
        pid_text, started_text = text.split()
        pid, started = int(pid_text), int(started_text)
    except ValueError:
        return None
    if pid <= 0:
        return None
    if not Path("/proc").is_dir():
        return None  # nothing safe to ask elsewhere (os.kill(pid, 0) terminates the process on Windows)
    now = start_time(pid)
    return now is not None and (started == 0 or now == started)
