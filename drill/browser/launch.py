"""Launch the Chromium a drill drives: which binary, which flags, a throwaway profile, nothing left behind.

A persistent context on a fresh temporary profile lets us delete the profile ourselves (cookies included)
and say so in the record; flags keep Chromium off the network except for what the sign-in needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
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


@dataclass
class BrowserSession:
    context: Any  # playwright.async_api.BrowserContext
    version: str
    executable: Path
    profile_dir: Path


@contextlib.asynccontextmanager
async def chromium(
    executable: Path,
    *,
    headless: bool = True,
    extra_args: Sequence[str] = (),
    locale: str = "en-US",
) -> AsyncIterator[BrowserSession]:
    """Yield a BrowserSession; on exit (also on cancellation) close Chromium and delete its profile."""
    from playwright.async_api import async_playwright

    profile = Path(tempfile.mkdtemp(prefix="drill-chromium-"))
    pw = await async_playwright().start()
    context = None
    try:
        context = await pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(executable),
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
        yield BrowserSession(context, str(info.get("product", "unknown")), executable, profile)
    finally:
        # Shielded: an interrupt must not leave a Chromium behind or its profile (cookies) on disk.
        await asyncio.shield(_close(pw, context, profile))


async def _close(pw: Any, context: Any, profile: Path) -> None:
    try:
        if context is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), timeout=15)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pw.stop(), timeout=15)
        shutil.rmtree(profile, ignore_errors=True)
