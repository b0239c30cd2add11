"""Find the browser the drill drives, the same way at set-up, in preflight and at run time.

A drill drives a Chromium-family browser through Playwright: Playwright's own Chromium (or the system's),
or the installed Google Chrome or Microsoft Edge through Playwright's channels `chrome` and `msedge` (Edge
is on every Windows machine, where installing Chromium may not be allowed). The playbook chooses
(`browser.channel`, or a path in `browser.executable`); without a choice the order is env `DRILL_CHROMIUM`,
for a headless run Chromium's headless shell, Playwright's downloaded Chromium, the system Chromium, then
Chrome, then Edge. Set-up (`python -m drill.browser.locate --install`) may also install Debian's
`chromium` when running as root with apt-get, because `playwright install` cannot download browsers on
closed networks, and its `chromium-headless-shell`, which a headless run drives when nothing else is chosen
(as Playwright does).

Where a channel's browser is installed is Playwright's rule, not ours (its registry, checked in the
driver bundled with playwright 1.65.2): one fixed path on Linux and macOS, and on Windows the same
suffix under LOCALAPPDATA, PROGRAMFILES, PROGRAMFILES(X86), then HOMEDRIVE's Program Files folders.
`channel_executable` applies that rule so a missing browser is named before Playwright is started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from drill.errors import DrillUserError

ENV_VAR = "DRILL_CHROMIUM"
SYSTEM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
INSTRUCTION = (
    "no Chromium found; install one (Debian/Ubuntu: `sudo apt-get install -y chromium`) "
    f"or point {ENV_VAR} / the playbook's browser.executable at a Chromium binary"
)


# Playwright 1.65.2's browser folder (lib/coreBundle.js, `computeDefaultCacheDirectory` and the chromium
# EXECUTABLE_PATHS): $PLAYWRIGHT_BROWSERS_PATH, else ms-playwright under the platform's cache folder.
_CHROMIUM_BINARIES = (
    "chrome-linux64/chrome",
    "chrome-linux-arm64/chrome",
    "chrome-linux/chrome",
    "chrome-mac-arm64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
    "chrome-mac-x64/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
    "chrome-mac/Chromium.app/Contents/MacOS/Chromium",
    "chrome-win64/chrome.exe",
    "chrome-win/chrome.exe",
)


def playwright_browsers_dir(
    platform: str | None = None, env: Mapping[str, str] | None = None, home: Path | None = None
) -> Path:
    """Where `playwright install chromium` puts the browser on this platform."""
    env = os.environ if env is None else env
    if env.get("PLAYWRIGHT_BROWSERS_PATH"):
        return Path(env["PLAYWRIGHT_BROWSERS_PATH"])
    home = Path.home() if home is None else home
    platform = platform or sys.platform
    if platform == "darwin":
        cache = home / "Library" / "Caches"
    elif platform == "win32":
        cache = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home / "AppData" / "Local"
    else:
        cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else home / ".cache"
    return cache / "ms-playwright"


def _playwright_chromium() -> Path | None:
    root = playwright_browsers_dir()
    if not root.is_dir():
        return None
    for rel in _CHROMIUM_BINARIES:
        for hit in sorted(root.glob(f"chromium-*/{rel}"), reverse=True):
            if os.access(hit, os.X_OK):
                return hit
    return None


# Chromium's headless shell: the browser Playwright itself runs for headless Chromium since 1.49
# (microsoft/playwright#33566), a quarter of the full browser's CPU per sign-in (measured: 0.64 s against
# 2.6). Playwright 1.65.2's folders for it (coreBundle.js, chromium-headless-shell EXECUTABLE_PATHS), then
# Debian's package `chromium-headless-shell`.
_SHELL_BINARIES = (
    "chrome-headless-shell-linux64/chrome-headless-shell",
    "chrome-headless-shell-linux-arm64/chrome-headless-shell",
    "chrome-headless-shell-mac-arm64/chrome-headless-shell",
    "chrome-headless-shell-mac-x64/chrome-headless-shell",
    "chrome-headless-shell-win64/chrome-headless-shell.exe",
)
SYSTEM_SHELLS = ("/usr/bin/chromium-headless-shell",)
SHELL_NAME = "Chromium headless shell"


def is_headless_shell_binary(executable: Path) -> bool:
    """Told by its file name (Playwright's `chrome-headless-shell`, Debian's `chromium-headless-shell`), the
    only sign before launch; once running, the browser names itself (client_hints.is_headless_shell)."""
    return "headless-shell" in executable.name


def headless_shell() -> Path | None:
    """Playwright's headless shell, else Debian's; None when neither is installed."""
    root = playwright_browsers_dir()
    if root.is_dir():
        for rel in _SHELL_BINARIES:
            for hit in sorted(root.glob(f"chromium_headless_shell-*/{rel}"), reverse=True):
                if os.access(hit, os.X_OK):
                    return hit
    return next((Path(c) for c in SYSTEM_SHELLS if os.access(c, os.X_OK)), None)


def find_chromium(override: str | None = None) -> Path:
    """Return an executable Chromium or raise DrillUserError saying how to get one."""
    explicit = override or os.environ.get(ENV_VAR)
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            source = "browser.executable" if override else ENV_VAR
            raise DrillUserError(
                f"{source} points at {explicit}, which is not an executable file; fix the path"
            )
        return path
    own = _playwright_chromium()
    if own is not None:
        return own
    for candidate in SYSTEM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise DrillUserError(INSTRUCTION)


# Playwright 1.65.2's channel locations (lib/coreBundle.js, `_createChromiumChannel`): per platform, one path
# (Linux, macOS) or a suffix under the Windows folders `_windows_prefixes` lists, in that order.
CHANNELS: dict[str, tuple[str, dict[str, str], str]] = {
    "chrome": (
        "Google Chrome",
        {
            "linux": "/opt/google/chrome/chrome",
            "darwin": "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            "win32": "Google\\Chrome\\Application\\chrome.exe",
        },
        "install Google Chrome (https://www.google.com/chrome/), or run `playwright install chrome`",
    ),
    "msedge": (
        "Microsoft Edge",
        {
            "linux": "/opt/microsoft/msedge/msedge",
            "darwin": "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
            "win32": "Microsoft\\Edge\\Application\\msedge.exe",
        },
        "install Microsoft Edge (https://www.microsoft.com/edge), or run `playwright install msedge`",
    ),
}
CHOICES = ("chromium", *CHANNELS)


@dataclass(frozen=True)
class BrowserChoice:
    """The browser a drill drives, and why this one: recorded in the evidence as is."""

    name: str  # "Playwright's Chromium", "Chromium", "Google Chrome", "Microsoft Edge"
    executable: Path
    channel: str | None  # Playwright's channel ("chrome", "msedge"), None for a Chromium by path
    chosen_by: str  # "playbook browser.channel", "playbook browser.executable", "DRILL_CHROMIUM", "found"

    def evidence(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "channel": self.channel,
            "executable": str(self.executable),
            "chosen_by": self.chosen_by,
        }


def _windows_prefixes(env: Mapping[str, str]) -> list[str]:
    drive = env.get("HOMEDRIVE")
    found = [env.get("LOCALAPPDATA"), env.get("PROGRAMFILES"), env.get("PROGRAMFILES(X86)")]
    if drive:
        found += [f"{drive}\\Program Files", f"{drive}\\Program Files (x86)"]
    return [p for p in found if p]


def channel_candidates(
    channel: str, platform: str | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    """Where Playwright looks for the channel's browser on this platform, in its order."""
    where = CHANNELS[channel][1].get(platform or sys.platform)
    if where is None:
        return []
    if (platform or sys.platform) != "win32":
        return [where]
    return [f"{prefix}\\{where}" for prefix in _windows_prefixes(os.environ if env is None else env)]


def channel_executable(channel: str) -> Path | None:
    for candidate in channel_candidates(channel):
        if os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return Path(candidate)
    return None


def _missing_channel(channel: str) -> DrillUserError:
    name, _, how = CHANNELS[channel]
    looked = channel_candidates(channel)
    where = f" (looked at {', '.join(looked)})" if looked else f" (Playwright has none for {sys.platform})"
    return DrillUserError(
        f"browser.channel {channel}: {name} is not installed on this machine{where}; {how}, "
        f"or choose another browser.channel ({', '.join(CHOICES)})"
    )


def choose_headless(
    configured: bool | None, headed: bool, env: dict[str, str] | None = None
) -> tuple[bool, str]:
    """Headless or not, and why. Unset in the playbook: headed (a live drill has its operator at the key),
    unless this Linux/BSD machine has no display, where a window cannot open."""
    if headed:
        return False, "headed: asked for on the command line"
    if configured is not None:
        return configured, f"browser.headless is {str(configured).lower()} in the playbook"
    env = dict(os.environ) if env is None else env
    if sys.platform.startswith(("linux", "freebsd", "openbsd")) and not (
        env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
    ):
        return True, "headless: browser.headless is unset and there is no display (DISPLAY/WAYLAND_DISPLAY)"
    return False, "headed: browser.headless is unset, and a live drill shows the browser to its operator"


def choose_browser(
    channel: str | None = None, executable: str | None = None, *, headless: bool = False
) -> BrowserChoice:
    """The browser the playbook chose, or the first one found; DrillUserError naming what to install.

    With no choice anywhere (playbook, DRILL_CHROMIUM), a headless run takes the headless shell when it is
    installed, as Playwright does; `browser.channel: chromium` keeps the full browser."""
    if channel is not None and executable is not None:
        raise DrillUserError("browser.channel and browser.executable both choose the browser: keep one")
    if executable is not None:
        return BrowserChoice("Chromium", find_chromium(executable), None, "playbook browser.executable")
    if channel == "chromium":
        return _chromium_choice("playbook browser.channel")
    if channel is not None:
        if channel not in CHANNELS:
            raise DrillUserError(f"browser.channel {channel!r}: choose one of {', '.join(CHOICES)}")
        exe = channel_executable(channel)
        if exe is None:
            raise _missing_channel(channel)
        return BrowserChoice(CHANNELS[channel][0], exe, channel, "playbook browser.channel")
    shell = headless_shell() if headless and not os.environ.get(ENV_VAR) else None
    if shell is not None:
        return BrowserChoice(SHELL_NAME, shell, None, "found")
    try:
        return _chromium_choice("found")
    except DrillUserError:
        for name in CHANNELS:
            exe = channel_executable(name)
            if exe is not None:
                return BrowserChoice(CHANNELS[name][0], exe, name, "found")
        raise DrillUserError(
            f"{INSTRUCTION}; or install Google Chrome or Microsoft Edge (browser.channel chrome / msedge)"
        ) from None


def _chromium_choice(chosen_by: str) -> BrowserChoice:
    if os.environ.get(ENV_VAR):
        return BrowserChoice("Chromium", find_chromium(), None, ENV_VAR)
    own = _playwright_chromium()
    if own is not None:
        return BrowserChoice("Playwright's Chromium", own, None, chosen_by)
    return BrowserChoice("Chromium", find_chromium(), None, chosen_by)


def ensure_chromium() -> Path:
    """Set-up time: find a Chromium, installing Debian's packages when we are root with apt-get: `chromium`,
    and `chromium-headless-shell` for headless runs (best effort: without it they drive the full browser)."""
    try:
        found: Path | None = find_chromium()
    except DrillUserError:
        found = None
    apt = shutil.which("apt-get")
    geteuid = getattr(os, "geteuid", None)
    if apt is None or geteuid is None or geteuid() != 0:
        if found is None:
            raise DrillUserError(INSTRUCTION)
        return found
    if found is not None and headless_shell() is not None:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([apt, "update", "-qq"], check=True, env=env)
    if found is None:
        subprocess.run([apt, "install", "-y", "-qq", "chromium"], check=True, env=env)
    if headless_shell() is None:
        subprocess.run(
            [apt, "install", "-y", "-qq", "chromium-headless-shell"],
            check=False,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return find_chromium()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        path = ensure_chromium() if "--install" in args else find_chromium()
    except DrillUserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
