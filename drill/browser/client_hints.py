"""A headless shell's pages present its full Chromium's client hints: the same brands, no "HeadlessChrome".

Chromium's headless shell (the browser Playwright itself runs for headless Chromium since 1.49,
microsoft/playwright#33566, and ours for a headless run when it is installed: drill/browser/locate.py) adds
a "HeadlessChrome" brand to `Sec-CH-UA` and `navigator.userAgentData` (Chromium's
headless/lib/browser/headless_browser_impl.cc regenerates the brand lists with its product name). The desktop
user agent a headless drill presents (launch.desktop_user_agent) hides the word from the user-agent string
only: Playwright's `user_agent` option sends metadata without brands, so Chromium fills in the shell's own
(checked with Debian's chromium-headless-shell 156: `"Not:A-Brand";v="8", "Chromium";v="156",
"HeadlessChrome";v="156"`; the full Chromium says the same without the last entry).

So every page gets `Emulation.setUserAgentOverride` with the browser's own metadata minus the HeadlessChrome
entries, on a CDP session kept open for the page's life (an override ends with its session). The metadata is
read from the browser itself, on an https page the drill answers through `page.route` (about:blank is not a
secure context and has no `navigator.userAgentData`), so nothing leaves the machine and nothing is invented:
GREASE brand, versions, platform and architecture are the browser's. The shell keeps its default process
model, where a cross-site frame shares its page's renderer and so its override (with `--site-per-process`
an out-of-process frame would get Playwright's brandless override and the shell's brands again).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

HEADLESS_BRAND = "HeadlessChrome"
PROBE_URL = "https://client-hints.drill.invalid/"
_HIGH_ENTROPY = ("architecture", "bitness", "fullVersionList", "model", "platformVersion", "wow64")
_READ = (
    "async () => { const d = navigator.userAgentData; if (!d) return null;"
    f" const h = await d.getHighEntropyValues({list(_HIGH_ENTROPY)!r});"
    " return {...h, brands: d.brands, mobile: d.mobile, platform: d.platform}; }"
)


def is_headless_shell(product: str) -> bool:
    """The shell names itself in `Browser.getVersion` ("HeadlessChrome/156..."); the full browser says
    "Chrome/156..." headless or not."""
    return product.startswith(f"{HEADLESS_BRAND}/")


def without_headless_brand(found: dict[str, Any]) -> dict[str, Any]:
    """CDP's UserAgentMetadata from what `navigator.userAgentData` reported, HeadlessChrome left out."""

    def brands(key: str) -> list[dict[str, str]]:
        return [
            {"brand": str(b["brand"]), "version": str(b["version"])}
            for b in found.get(key) or []
            if b.get("brand") != HEADLESS_BRAND
        ]

    return {
        "brands": brands("brands"),
        "fullVersionList": brands("fullVersionList"),
        "platform": str(found.get("platform", "")),
        "platformVersion": str(found.get("platformVersion", "")),
        "architecture": str(found.get("architecture", "")),
        "model": str(found.get("model", "")),
        "mobile": bool(found.get("mobile", False)),
        "bitness": str(found.get("bitness", "")),
        "wow64": bool(found.get("wow64", False)),
    }


async def read_metadata(page: Any) -> dict[str, Any]:
    """The browser's own user-agent metadata, read on a page the drill answers itself (no network)."""

    async def answer(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html", body="<title>client hints</title>")

    await page.route(PROBE_URL, answer)
    try:
        await page.goto(PROBE_URL)
        found = await page.evaluate(_READ)
    finally:
        await page.unroute(PROBE_URL, answer)
    await page.goto("about:blank")
    if not found:
        raise RuntimeError("the headless shell reported no navigator.userAgentData on an https page")
    return dict(found)


class ClientHints:
    """Keeps every page of a context on one user agent and metadata, for the context's life."""

    def __init__(self, context: Any, user_agent: str, locale: str, found: dict[str, Any]) -> None:
        self._context = context
        self._metadata = without_headless_brand(found)
        kept = {b["brand"] for b in self._metadata["brands"]}
        self._removed = sorted({str(b.get("brand")) for b in found.get("brands") or []} - kept)
        self._override = {
            "userAgent": user_agent,
            "acceptLanguage": locale,
            "userAgentMetadata": self._metadata,
        }
        self._sessions: list[Any] = []
        self._pending: set[asyncio.Task[None]] = set()

    async def cover(self, page: Any) -> None:
        session = await self._context.new_cdp_session(page)
        await session.send("Emulation.setUserAgentOverride", self._override)
        self._sessions.append(session)

    async def _cover_quietly(self, page: Any) -> None:
        with contextlib.suppress(Exception):  # the pop-up closed first: nothing left to cover
            await self.cover(page)

    def follow_new_pages(self) -> None:
        """A page the site opens (a pop-up) is covered as soon as Playwright reports it, so its very first
        request may go out before; the sign-in opens none."""

        def on_page(page: Any) -> None:
            task = asyncio.ensure_future(self._cover_quietly(page))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

        self._context.on("page", on_page)

    def evidence(self) -> dict[str, object]:
        """The record's browser.client_hints: what every page presented, and what was left out."""
        return {
            "user_agent": self._override["userAgent"],
            "brands": [f"{b['brand']} {b['version']}" for b in self._metadata["brands"]],
            "removed_brands": self._removed,
            "set_per_page": "Emulation.setUserAgentOverride with the browser's own user-agent metadata",
        }


async def present_as_full_chromium(context: Any, page: Any, user_agent: str, locale: str) -> ClientHints:
    """Read the browser's metadata on `page`, then cover it and every page opened after."""
    hints = ClientHints(context, user_agent, locale, await read_metadata(page))
    hints.follow_new_pages()
    await hints.cover(page)
    return hints
