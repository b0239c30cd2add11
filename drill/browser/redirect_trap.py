"""Catch the redirect that brings the authorization code back, inside the browser, before it leaves it.

No loopback listener: the request to the redirect URI is answered by us and never reaches the network, so
whatever listens on that port (or nothing) never sees the code. Two layers, because Playwright's
`context.route` is not called for the target of an HTTP redirect (checked with playwright 1.65 and
Chromium 156: the 302's target went to the network while the handler stayed silent):
- `context.route` on the redirect URI catches direct requests (form_post, script navigations) in any frame;
- a CDP `Fetch` interception on each page catches the same URL when it is the target of a 302.
The full URL (or the form fields of a form_post) is kept in memory only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

DONE_PAGE = b"<!doctype html><title>Sign-in finished</title><p>Sign-in finished; the drill continues.</p>"


def _fetch_pattern(prefix: str) -> str:
    """A CDP Fetch urlPattern matching URLs that start with prefix (`*`, `?` and `\\` are escaped)."""
    escaped = "".join("\\" + ch if ch in "*?\\" else ch for ch in prefix)
    return escaped + "*"


def _same_endpoint(url: str, redirect_uri: str) -> bool:
    """Is url the redirect URI (same scheme, host, port and path), whatever its query?"""
    a, b = urlsplit(url), urlsplit(redirect_uri)
    return (a.scheme, a.netloc.lower(), a.path or "/") == (b.scheme, b.netloc.lower(), b.path or "/")


class RedirectTrap:
    """Install on a BrowserContext; `.url` is the captured redirect (query carries the code) or None."""

    def __init__(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri
        self.url: str | None = None
        self.arrived = asyncio.Event()
        self._sessions: list[Any] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def _capture(self, url: str, method: str = "GET", body: str | None = None) -> None:
        if self.url is not None:
            return
        if method.upper() == "POST" and body:  # response_mode=form_post: the code is in the body
            base = url.split("?", 1)[0]
            url = f"{base}?{urlencode(parse_qsl(body, keep_blank_values=True))}"
        self.url = url
        self.arrived.set()

    async def install(self, context: Any) -> None:
        await context.route(lambda url: _same_endpoint(url, self.redirect_uri), self._on_route)
        for page in context.pages:
            await self._watch(context, page)
        context.on("page", lambda page: self._spawn(self._watch(context, page)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_route(self, route: Any) -> None:
        request = route.request
        self._capture(request.url, request.method, request.post_data)
        await route.fulfill(status=200, content_type="text/html", body=DONE_PAGE)

    async def _watch(self, context: Any, page: Any) -> None:
        from playwright.async_api import Error as PlaywrightError

        try:
            session = await context.new_cdp_session(page)
            session.on("Fetch.requestPaused", lambda event: self._spawn(self._paused(session, event)))
            await session.send(
                "Fetch.enable",
                {"patterns": [{"urlPattern": _fetch_pattern(self.redirect_uri), "requestStage": "Request"}]},
            )
            self._sessions.append(session)
        except PlaywrightError:
            return  # the page closed while we attached: nothing of it can navigate any more

    async def _paused(self, session: Any, event: dict[str, Any]) -> None:
        """The redirect URI: captured and answered here. Anything else under its prefix (a favicon after a
        root redirect URI): refused, so the app's host is never contacted during the sign-in."""
        from playwright.async_api import Error as PlaywrightError

        request = event.get("request") or {}
        url = str(request.get("url") or "")
        with contextlib.suppress(PlaywrightError):
            if not _same_endpoint(url, self.redirect_uri):
                await session.send(
                    "Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "BlockedByClient"}
                )
                return
            self._capture(url, str(request.get("method") or "GET"), request.get("postData"))
            await session.send(
                "Fetch.fulfillRequest",
                {
                    "requestId": event["requestId"],
                    "responseCode": 200,
                    "responseHeaders": [{"name": "Content-Type", "value": "text/html; charset=utf-8"}],
                    "body": base64.b64encode(DONE_PAGE).decode(),
                },
            )

    async def close(self) -> None:
        """Stop intercepting (the context may be gone already: then there is nothing to stop)."""
        from playwright.async_api import Error as PlaywrightError

        for task in list(self._tasks):
            task.cancel()
        for session in self._sessions:
            with contextlib.suppress(PlaywrightError):
                await session.detach()
        self._sessions.clear()
