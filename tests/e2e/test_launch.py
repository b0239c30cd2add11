"""Chromium leaves nothing behind: no process naming its profile, no profile directory, on a normal exit,
an exception inside the block, or a cancellation while the browser is busy."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from drill.browser.launch import chromium
from drill.browser.locate import ENV_VAR, SHELL_NAME, choose_browser, headless_shell
from drill.browser.processes import process_tree, processes_using
from drill.errors import DrillUserError

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


SHELL = headless_shell()
BROWSERS = [
    pytest.param("full", id="full-chromium"),
    pytest.param(
        "shell", id="headless-shell", marks=pytest.mark.skipif(SHELL is None, reason="no headless shell here")
    ),
]
# A cross-site frame fetching its own subresource: where a HeadlessChrome brand would come back, if the
# override covered the top document only.
FRAMED = "<title>ua</title><iframe src='https://other.test/frame'></iframe>"
FRAME = "<title>frame</title><script>fetch('/sub')</script>"
BRANDS = "JSON.stringify(navigator.userAgentData && navigator.userAgentData.brands)"


def _ua_seen(site: Any, which: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str], Any]:
    """Every user agent and client hint the pages' requests and scripts showed, and the session's record."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    seen: dict[str, str] = {}
    record: dict[str, Any] = {}
    site.pages.update({"/ua": FRAMED, "/frame": FRAME, "/sub": "ok"})

    async def main() -> None:
        choice = choose_browser("chromium" if which == "full" else None, headless=True)
        async with chromium(choice, extra_args=site.chromium_args) as session:
            record.update(session.evidence(), session_user_agent=session.user_agent)
            page = session.context.pages[0]
            requests: list[Any] = []
            page.on("request", lambda r: requests.append(r))
            async with page.expect_request(lambda r: r.url.endswith("/sub")):
                await page.goto(site.url("rp.test", "/ua"))
            for n, frame in enumerate(page.frames):
                seen[f"navigator {n}"] = await frame.evaluate("navigator.userAgent")
                seen[f"brands {n}"] = await frame.evaluate(BRANDS)
            for request in requests:
                headers = await request.all_headers()
                seen[f"header {request.url}"] = headers.get("user-agent", "")
                seen[f"sec-ch-ua {request.url}"] = headers.get("sec-ch-ua", "")

    asyncio.run(main())
    return seen, record


@pytest.mark.parametrize("which", BROWSERS)
def test_headless_presents_a_desktop_chrome_user_agent(
    site: object, which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No "HeadlessChrome" anywhere Entra could see it: navigator.userAgent, navigator.userAgentData and
    the request headers, in the page and in a cross-site frame, on the full browser and on the shell."""
    from drill.browser.launch import desktop_user_agent

    seen, record = _ua_seen(site, which, monkeypatch)
    assert len([k for k in seen if k.startswith("sec-ch-ua")]) == 3, seen  # page, frame, frame's fetch
    assert len([k for k in seen if k.startswith("brands")]) == 2, seen
    for where, value in seen.items():
        assert "Headless" not in value, where
        if where.startswith(("sec-ch-ua", "brands")):
            assert "Chromium" in value, where
        else:
            assert value == record["session_user_agent"], where
            assert value.startswith("Mozilla/5.0 ("), where
            assert value.endswith(" Safari/537.36"), where
            assert " Chrome/" in value, where
    if which == "shell":
        assert (record["name"], record["executable"]) == (SHELL_NAME, str(SHELL))
        assert record["version"].startswith("HeadlessChrome/")  # the record says which browser ran
        assert record["client_hints"]["removed_brands"] == ["HeadlessChrome"]
    else:
        assert "client_hints" not in record  # the full browser's own brands need no correction
    linux = desktop_user_agent("Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)", "linux")
    assert linux == (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    )
    assert desktop_user_agent("no version here") is None


@pytest.mark.skipif(SHELL is None, reason="no headless shell here")
def test_the_headless_shell_is_refused_for_a_headed_run() -> None:
    async def main() -> None:
        async with chromium(SHELL, headless=False):
            raise AssertionError("a headless shell launched for a headed run")

    with pytest.raises(DrillUserError, match="headless shell, which cannot show a window"):
        asyncio.run(main())
