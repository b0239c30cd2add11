"""Chromium leaves nothing behind: no process naming its profile, no profile directory, on a normal exit,
an exception inside the block, or a cancellation while the browser is busy."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from drill.browser.launch import chromium, process_tree, processes_using

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]


async def _open(seen: dict[str, object], hold: asyncio.Event | None = None, fail: bool = False) -> None:
    async with chromium(extra_args=["--lang=en-US"]) as session:
        seen["profile"] = session.profile_dir
        seen["version"] = session.version
        seen["tree"] = process_tree(processes_using(session.profile_dir))
        page = session.context.pages[0]
        await page.set_content("<title>x</title>")
        if fail:
            raise RuntimeError("boom inside the block")
        if hold is not None:
            hold.set()
            await asyncio.sleep(60)


def _assert_gone(seen: dict[str, object]) -> None:
    profile = seen["profile"]
    assert isinstance(profile, Path)
    tree = seen["tree"]
    assert isinstance(tree, dict)
    assert len(tree) >= 2
    assert processes_using(profile) == []
    alive = {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()}
    assert not (set(tree) & alive) or all(
        Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z" for pid in set(tree) & alive
    )
    assert not profile.exists()


def test_normal_exit_records_version_and_cleans_up() -> None:
    seen: dict[str, object] = {}
    asyncio.run(_open(seen))
    assert str(seen["version"]).split("/")[0] in ("Chrome", "HeadlessChrome", "Chromium")
    _assert_gone(seen)


def test_exception_inside_the_block_cleans_up() -> None:
    seen: dict[str, object] = {}
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(_open(seen, fail=True))
    _assert_gone(seen)


def test_cancellation_cleans_up() -> None:
    seen: dict[str, object] = {}

    async def main() -> None:
        hold = asyncio.Event()
        task = asyncio.create_task(_open(seen, hold))
        await hold.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    _assert_gone(seen)


def test_headless_presents_a_desktop_chrome_user_agent(site: object) -> None:
    """No "HeadlessChrome" anywhere Entra could see it: navigator.userAgent and the request header."""
    from drill.browser.launch import desktop_user_agent

    seen: dict[str, str] = {}

    async def main() -> None:
        async with chromium(extra_args=site.chromium_args) as session:  # type: ignore[attr-defined]
            seen["session"] = str(session.user_agent)
            page = session.context.pages[0]
            requests: list[Any] = []
            page.on("request", lambda r: requests.append(r))
            site.pages["/ua"] = "<title>ua</title>"  # type: ignore[attr-defined]
            await page.goto(site.url("rp.test", "/ua"))  # type: ignore[attr-defined]
            seen["navigator"] = await page.evaluate("navigator.userAgent")
            headers = await requests[0].all_headers()
            seen["header"] = headers.get("user-agent", "")
            # Client hints too: Entra could read the brands (old headless Chrome said "HeadlessChrome").
            hints["sec-ch-ua"] = headers.get("sec-ch-ua", "")
            hints["brands"] = await page.evaluate("JSON.stringify(navigator.userAgentData.brands)")

    hints: dict[str, str] = {}
    asyncio.run(main())
    assert "Chromium" in hints["sec-ch-ua"], hints
    assert all("Headless" not in v for v in hints.values()), hints
    for where, ua in seen.items():
        assert "Headless" not in ua, where
        assert ua.startswith("Mozilla/5.0 ("), where
        assert " Chrome/" in ua, where
        assert ua.endswith(" Safari/537.36"), where
    assert seen["navigator"] == seen["header"] == seen["session"]
    linux = desktop_user_agent("Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)", "linux")
    assert linux == (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    )
    assert desktop_user_agent("no version here") is None
