"""Which browser a drill drives: Playwright's Chromium, or the installed Chrome or Edge through Playwright's
channels, chosen by the playbook or found; a missing channel names what to install."""

from __future__ import annotations

import asyncio
import stat
import sys
from pathlib import Path

import pytest

from drill.browser import locate
from drill.browser.locate import BrowserChoice, channel_candidates, channel_executable, choose_browser
from drill.errors import DrillUserError

MISSING = [name for name in ("msedge", "chrome") if channel_executable(name) is None]


def _fake_browser(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho 'Google Chrome 156.0.1.2'\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.skipif(not MISSING, reason="both Chrome and Edge are installed here")
def test_a_channel_not_installed_names_what_to_install() -> None:
    channel = MISSING[0]
    name = {"msedge": "Microsoft Edge", "chrome": "Google Chrome"}[channel]
    with pytest.raises(DrillUserError) as err:
        choose_browser(channel)
    text = str(err.value)
    assert f"browser.channel {channel}: {name} is not installed on this machine" in text
    assert f"looked at {channel_candidates(channel)[0]}" in text
    assert f"install {name} (https://" in text
    assert f"`playwright install {channel}`" in text
    assert "chromium, chrome, msedge" in text


@pytest.mark.skipif(not MISSING, reason="both Chrome and Edge are installed here")
def test_playwright_looks_for_the_channel_where_we_say() -> None:
    """The real Playwright, asked for the missing channel, fails naming the same path (no browser starts)."""
    from playwright.async_api import async_playwright

    channel = MISSING[0]

    async def launch() -> str:
        async with async_playwright() as pw:
            try:
                await pw.chromium.launch(channel=channel, timeout=20_000)
            except Exception as exc:
                return str(exc)
        return "launched"

    message = asyncio.run(launch())
    assert f"Chromium distribution '{channel}' is not found at {channel_candidates(channel)[0]}" in message


def test_windows_looks_where_playwright_does_in_its_order() -> None:
    env = {
        "LOCALAPPDATA": r"C:\Users\op\AppData\Local",
        "PROGRAMFILES": r"C:\Program Files",
        "PROGRAMFILES(X86)": r"C:\Program Files (x86)",
        "HOMEDRIVE": "D:",
    }
    assert channel_candidates("msedge", "win32", env) == [
        r"C:\Users\op\AppData\Local\Microsoft\Edge\Application\msedge.exe",
        r"C:\Program Files\Microsoft\Edge\Application\msedge.exe",
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        r"D:\Program Files\Microsoft\Edge\Application\msedge.exe",
        r"D:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    ]
    assert channel_candidates("chrome", "darwin") == [
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
    ]
    assert channel_candidates("msedge", "linux") == ["/opt/microsoft/msedge/msedge"]


def test_an_installed_channel_is_chosen_by_the_playbook_or_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chrome = _fake_browser(tmp_path / "opt" / "google" / "chrome" / "chrome")
    name, paths, how = locate.CHANNELS["chrome"]
    monkeypatch.setitem(locate.CHANNELS, "chrome", (name, {**paths, sys.platform: str(chrome)}, how))
    assert choose_browser("chrome") == BrowserChoice(
        "Google Chrome", chrome, "chrome", "playbook browser.channel"
    )
    # Without a choice: Chromium first; with none anywhere, the installed Chrome.
    monkeypatch.delenv(locate.ENV_VAR, raising=False)
    monkeypatch.setattr(locate, "_playwright_chromium", lambda: None)
    monkeypatch.setattr(locate, "SYSTEM_CANDIDATES", ())
    assert choose_browser() == BrowserChoice("Google Chrome", chrome, "chrome", "found")
    with pytest.raises(DrillUserError, match="no Chromium found"):
        choose_browser("chromium")
    with pytest.raises(DrillUserError, match="keep one"):
        choose_browser("chrome", str(chrome))


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ("  channel: msedge\n  executable: /usr/bin/chromium\n", "keep one"),
        ("  channel: firefox\n", "browser.channel"),
    ],
)
def test_the_playbook_chooses_one_known_browser(tmp_path: Path, lines: str, says: str) -> None:
    from cli_support import run_cli

    from drill.assets import EXAMPLE_PLAYBOOK

    text = EXAMPLE_PLAYBOOK.read_text(encoding="utf-8").replace("\nbrowser:\n", "\nbrowser:\n" + lines, 1)
    (tmp_path / "queries").mkdir()
    playbook = tmp_path / "playbook.yaml"
    playbook.write_text(text, encoding="utf-8")
    (tmp_path / "queries" / "breakglass-alert.kql").write_text("SigninLogs", encoding="utf-8")
    code, _out, err = run_cli("playbook", "check", str(playbook))
    assert code == 2
    assert says in err
    assert f"{playbook}:" in err
    assert "Traceback" not in err


def test_playwrights_chromium_is_looked_for_in_its_folder_on_each_platform(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert locate.playwright_browsers_dir("linux", {}, home) == home / ".cache" / "ms-playwright"
    assert locate.playwright_browsers_dir("linux", {"XDG_CACHE_HOME": "/c"}, home) == Path("/c/ms-playwright")
    assert locate.playwright_browsers_dir("darwin", {}, home) == home / "Library" / "Caches" / "ms-playwright"
    win = locate.playwright_browsers_dir("win32", {"LOCALAPPDATA": "/w/Local"}, home)
    assert win == Path("/w/Local/ms-playwright")
    assert locate.playwright_browsers_dir("win32", {}, home) == home / "AppData" / "Local" / "ms-playwright"
    assert locate.playwright_browsers_dir("win32", {"PLAYWRIGHT_BROWSERS_PATH": "/p"}, home) == Path("/p")
    assert "chrome-win64/chrome.exe" in locate._CHROMIUM_BINARIES


def test_a_headless_run_with_no_choice_takes_the_headless_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Playwright's own default for headless Chromium; a choice (playbook, DRILL_CHROMIUM) keeps its own."""
    shells = tmp_path / "ms-playwright"
    shell = _fake_browser(shells / "chromium_headless_shell-1200" / locate._SHELL_BINARIES[0])
    full = _fake_browser(tmp_path / "bin" / "chromium")
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(shells))
    monkeypatch.delenv(locate.ENV_VAR, raising=False)
    monkeypatch.setattr(locate, "SYSTEM_CANDIDATES", (str(full),))
    assert choose_browser(headless=True) == BrowserChoice(locate.SHELL_NAME, shell, None, "found")
    assert choose_browser() == BrowserChoice("Chromium", full, None, "found")  # headed: never the shell
    assert choose_browser("chromium", headless=True).executable == full
    assert choose_browser(None, str(full), headless=True).executable == full
    monkeypatch.setenv(locate.ENV_VAR, str(full))
    assert choose_browser(headless=True) == BrowserChoice("Chromium", full, None, locate.ENV_VAR)
    # Debian's package where Playwright has none.
    monkeypatch.delenv(locate.ENV_VAR)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "empty"))
    debian = _fake_browser(tmp_path / "usr" / "bin" / "chromium-headless-shell")
    monkeypatch.setattr(locate, "SYSTEM_SHELLS", (str(debian),))
    assert choose_browser(headless=True).executable == debian
    monkeypatch.setattr(locate, "SYSTEM_SHELLS", ())
    assert choose_browser(headless=True).executable == full


def test_the_shells_client_hints_keep_every_brand_but_headlesschrome() -> None:
    from drill.browser.client_hints import is_headless_shell, without_headless_brand

    found = {
        "brands": [
            {"brand": "Not:A-Brand", "version": "8"},
            {"brand": "Chromium", "version": "156"},
            {"brand": "HeadlessChrome", "version": "156"},
        ],
        "fullVersionList": [
            {"brand": "Not:A-Brand", "version": "8.0.0.0"},
            {"brand": "HeadlessChrome", "version": "156.0.8078.129"},
            {"brand": "Chromium", "version": "156.0.8078.129"},
        ],
        "mobile": False,
        "platform": "Linux",
        "architecture": "x86",
        "bitness": "64",
        "model": "",
        "platformVersion": "",
        "wow64": False,
    }
    meta = without_headless_brand(found)
    assert meta["brands"] == found["brands"][:2]
    assert meta["fullVersionList"] == [found["fullVersionList"][0], found["fullVersionList"][2]]
    picked = (meta["platform"], meta["architecture"], meta["bitness"], meta["mobile"])
    assert picked == ("Linux", "x86", "64", False)
    assert is_headless_shell("HeadlessChrome/156.0.8078.129")
    assert not is_headless_shell("Chrome/156.0.8078.129")
