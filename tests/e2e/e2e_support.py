"""Helpers the end-to-end drill tests share."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def record_issued_tokens(world: Any) -> list[str]:
    """Every token the simulator issues from now on, so the secret scan looks for the exact values."""
    from drill.sim.state import token_service

    svc = token_service(world.sim.state)
    issued: list[str] = []
    original = svc.issue

    def issue(*args: Any, **kwargs: Any) -> str:
        value: str = original(*args, **kwargs)
        issued.append(value)
        return value

    svc.issue = issue
    return issued


class SharedChromium:
    """One Chromium for a module's sign-in driver tests (the browser a headless drill takes: the headless
    shell where installed), each test in a fresh browser context of its own (cookies, storage and pages start
    empty), with the drill's flags and context options.

    The sign-in driver and the WebAuthn bridge only see a BrowserContext, so they run as they do in a drill;
    what the product's own launcher adds (persistent throwaway profile, stragglers killed, profile deleted)
    is proven by every drill and by tests/e2e/test_launch.py and test_sandbox_sweep.py. Launching Chromium
    and Playwright's driver costs about 1.5 CPU seconds, which these tests paid once each.
    Playwright's objects belong to the event loop that made them: the browser lives on a loop of its own
    thread, and `run` hands each test's coroutine to it.
    """

    def __init__(self, extra_args: Sequence[str] = ()) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="shared-chromium", daemon=True)
        self._thread.start()
        self._pw: Any = None
        self._browser: Any = None
        self.user_agent: str | None = None
        self.run(self._start(list(extra_args)))

    async def _start(self, extra_args: list[str]) -> None:
        from playwright.async_api import async_playwright

        from drill.browser.launch import desktop_user_agent, launch_options, sandbox_decision
        from drill.browser.locate import choose_browser

        self._pw = await async_playwright().start()
        self._browser = await self._pw.chromium.launch(
            headless=True, **launch_options(choose_browser(headless=True), sandbox_decision(), extra_args)
        )
        self.user_agent = desktop_user_agent(f"Chromium {self._browser.version}")

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Any]:
        """A fresh context, shaped like drill.browser.launch.BrowserSession where the tests read it."""
        from types import SimpleNamespace

        from drill.browser.launch import context_options

        context = await self._browser.new_context(**context_options(self.user_agent))
        try:
            yield SimpleNamespace(context=context)
        finally:
            await context.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        async def stop() -> None:
            with contextlib.suppress(Exception):
                await self._browser.close()
            with contextlib.suppress(Exception):
                await self._pw.stop()

        with contextlib.suppress(Exception):
            self.run(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
