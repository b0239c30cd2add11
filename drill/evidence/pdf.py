"""report.pdf: the same report.html printed by the same Chromium the drill drives.

Playwright is imported lazily (the CLI must start fast). Rendering runs on its own thread with its own
event loop, so callers inside an asyncio loop (the orchestrator) and plain scripts use the same function.
The page is loaded with every network request refused: the HTML is self-contained, and a PDF renderer
that fetched something would be a leak.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from drill.browser.launch import chromium_flags, launch_options, sandbox_decision

# The drill's own Chromium flags and sandbox decision: one rule, so the PDF renderer never talks to the
# network either and keeps Chromium's sandbox exactly when the drill's browser does.
CHROMIUM_ARGS = chromium_flags()


async def render_pdf_async(html: str, executable: Path | None = None) -> bytes:
    """Print HTML to A4 PDF bytes with Chromium (backgrounds kept: the verdict is colour-coded)."""
    from playwright.async_api import Route, async_playwright

    from drill.browser.locate import BrowserChoice, choose_browser

    # The browser a headless drill would find (the headless shell where installed; Edge, where it is the
    # only one: a Windows workstation).
    choice = (
        BrowserChoice("Chromium", executable, None, "caller") if executable else choose_browser(headless=True)
    )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(**launch_options(choice, sandbox_decision()))
        try:
            context = await browser.new_context(java_script_enabled=False, offline=True)
            page = await context.new_page()

            async def refuse(route: Route) -> None:
                await route.abort()

            await page.route("**/*", refuse)
            await page.set_content(html, wait_until="load")
            return await page.pdf(
                format="A4",
                print_background=True,
                margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"},
            )
        finally:
            await browser.close()


def render_pdf(html: str, executable: Path | None = None) -> bytes:
    """Blocking wrapper, safe to call with or without a running event loop."""
    result: list[bytes] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(render_pdf_async(html, executable)))
        except BaseException as exc:  # noqa: BLE001 (re-raised on the caller's thread)
            error.append(exc)

    thread = threading.Thread(target=run, name="drill-pdf", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
