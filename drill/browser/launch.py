"""Launch the Chromium a drill drives: which binary, which flags, a throwaway profile, nothing left behind.

A persistent context on a fresh temporary profile (rather than launch() + new_context()) because then the
profile directory is ours: we create it, we delete it (cookies included) and can say so in the record, and
Chromium's processes carry its path on their command line, which is how we find any straggler after close.
Flags keep Chromium off the network except for what the sign-in needs (INTEGRATION_NOTES: without the
background-networking flags it floods a closed network).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUIET_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
PROFILE_PREFIX = "drill-chromium-"
CLOSE_TIMEOUT_S = 15.0


@dataclass
class BrowserSession:
    context: Any  # playwright.async_api.BrowserContext
    version: str
    executable: Path
    profile_dir: Path


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


def _kill_survivors(tree: dict[int, int]) -> None:
    """SIGKILL each process of the snapshot that still runs as the same process (same start time)."""
    for pid, started in tree.items():
        stat = _stat(str(pid))
        if stat is None or stat[2] != started or stat[0] == "Z":
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextlib.asynccontextmanager
async def chromium(
    executable: Path | str | None = None,
    *,
    headless: bool = True,
    extra_args: Sequence[str] = (),
    locale: str = "en-US",
) -> AsyncIterator[BrowserSession]:
    """Yield a BrowserSession; on exit (also on cancellation or error) close Chromium, kill any straggler
    and delete the profile. `executable` None or a string is resolved by `find_chromium` (override first)."""
    from playwright.async_api import async_playwright

    from drill.browser.locate import find_chromium

    exe = executable if isinstance(executable, Path) else find_chromium(executable)
    profile = Path(tempfile.mkdtemp(prefix=PROFILE_PREFIX))
    pw = None
    context = None
    try:
        pw = await async_playwright().start()
        context = await pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(exe),
            headless=headless,
            args=[*QUIET_FLAGS, *extra_args],
            locale=locale,
            viewport={"width": 1100, "height": 800},
            accept_downloads=False,
            service_workers="block",
        )
        page = context.pages[0] if context.pages else await context.new_page()
        cdp = await context.new_cdp_session(page)
        info = await cdp.send("Browser.getVersion")
        await cdp.detach()
        yield BrowserSession(context, str(info.get("product", "unknown")), exe, profile)
    finally:
        # Shielded: an interrupt must not leave a Chromium behind or its profile (cookies) on disk.
        await asyncio.shield(_close(pw, context, profile))


async def _close(pw: Any, context: Any, profile: Path) -> None:
    tree = process_tree(processes_using(profile))
    try:
        if context is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), timeout=CLOSE_TIMEOUT_S)
    finally:
        if pw is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pw.stop(), timeout=CLOSE_TIMEOUT_S)
        # Whatever survived a clean close (or a close that timed out) is killed, then the profile goes.
        _kill_survivors({**tree, **process_tree(processes_using(profile))})
        shutil.rmtree(profile, ignore_errors=True)
