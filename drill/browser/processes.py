"""Chromium's processes, read from /proc: which ones name a profile, their descendants, and killing what
survives a close (a snapshot with start times, so a reused pid is never mistaken for ours).

Linux only, from /proc so it needs no extra package; elsewhere they find nothing and Playwright's own close
is what there is.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from pathlib import Path


def _stat(pid: str) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process from /proc, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def processes_using(profile: Path) -> list[int]:
    """Pids of live processes whose command line names this profile directory (Chromium and its helpers).

    Read from /proc so it needs no extra package; elsewhere it finds nothing and we rely on Playwright.
    """
    marker = str(profile).encode()
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        stat = _stat(entry.name)
        if marker in cmdline and stat is not None and stat[0] != "Z":
            found.append(int(entry.name))
    return found


def process_tree(pids: Sequence[int]) -> dict[int, int]:
    """The given pids and their descendants (renderers and zygotes do not all name the profile), each
    with its start time, so a pid reused by an unrelated process later is never mistaken for ours."""
    table: dict[int, tuple[int, int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            stat = _stat(entry.name)
            if stat is not None:
                table[int(entry.name)] = (stat[1], stat[2])
    found = {pid for pid in pids if pid in table}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return {pid: table[pid][1] for pid in found}


def kill_survivors(tree: dict[int, int]) -> None:
    """SIGKILL each process of the snapshot that still runs as the same process (same start time)."""
    for pid, started in tree.items():
        stat = _stat(str(pid))
        if stat is None or stat[2] != started or stat[0] == "Z":
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
