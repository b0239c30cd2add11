"""Launch the Chromium a drill drives: which binary, which flags, a throwaway profile, nothing left behind.

A persistent context on a fresh temporary profile (rather than launch() + new_context()) because then the
profile directory is ours: we create it, we delete it (cookies included) and can say so in the record, and
Chromium's processes carry its path on their command line, which is how we find any straggler after close.
Flags keep Chromium off the network except for what the sign-in needs (INTEGRATION_NOTES: without the
background-networking flags it floods a closed network).

Chromium keeps its sandbox: the sign-in page is the tenant's (or an attacker's, if the redirect is
hijacked) and the renderer holds the account's session. Chromium itself refuses to start its sandbox as
root ("Running as root without --no-sandbox is not supported", checked on Debian's chromium, in and out of
a container), so `--no-sandbox` is added only for root and the record says so, with the reason; a normal
user never gets it (`sandbox_decision`). Profiles, demo key folders and log folders a crashed drill left
behind are swept at the next start (drill/browser/sweep.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drill.browser.client_hints import is_headless_shell, present_as_full_chromium
from drill.browser.locate import BrowserChoice, choose_browser, is_headless_shell_binary
from drill.browser.owner import mark_owner
from drill.browser.processes import kill_survivors, process_tree, processes_using
from drill.browser.sweep import PROFILE_PREFIX
from drill.errors import DrillUserError

QUIET_FLAGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
CLOSE_TIMEOUT_S = 15.0
NO_SANDBOX = "--no-sandbox"
CONTAINER_MARKERS = (Path("/.dockerenv"), Path("/run/.containerenv"))
_CGROUP_HINTS = ("docker", "containerd", "kubepods", "libpod", "lxc")


@dataclass(frozen=True)
class SandboxDecision:
    """Whether Chromium runs with its sandbox, and why; recorded in the evidence as is."""

    enabled: bool
    reason: str

    def evidence(self) -> dict[str, object]:
        return {"enabled": self.enabled, "reason": self.reason}


def detect_container(
    markers: Sequence[Path] = CONTAINER_MARKERS,
    env: Mapping[str, str] | None = None,
    cgroup: Path = Path("/proc/1/cgroup"),
) -> str | None:
    """What says we run in a container (a marker file, `$container`, a cgroup path), or None."""
    for marker in markers:
        if os.path.lexists(marker):
            return str(marker)
    value = (os.environ if env is None else env).get("container")
    if value:
        return f"container={value}"
    try:
        text = cgroup.read_text(errors="replace")
    except OSError:
        return None
    hint = next((h for h in _CGROUP_HINTS if h in text), None)
    return f"{cgroup} mentions {hint}" if hint else None


def decide_sandbox(euid: int | None, container: str | None) -> SandboxDecision:
    """The rule itself, a pure function: only root loses the sandbox (Chromium refuses it as root)."""
    if euid != 0:
        return SandboxDecision(True, "running as a normal user: Chromium's sandbox is on")
    where = f"inside a container ({container})" if container else "outside any container"
    return SandboxDecision(
        False,
        f"running as root {where}: Chromium refuses its sandbox as root, so --no-sandbox was used; "
        "run drills as a normal user to keep it",
    )


def sandbox_decision() -> SandboxDecision:
    """This process's decision (the drill's browser and the PDF renderer use the same one)."""
    geteuid = getattr(os, "geteuid", None)  # absent on Windows, where there is no root to refuse
    euid = geteuid() if geteuid is not None else None
    return decide_sandbox(euid, detect_container() if euid == 0 else None)


def chromium_flags(decision: SandboxDecision | None = None) -> tuple[str, ...]:
    """The drill's Chromium flags, with `--no-sandbox` only when the decision drops the sandbox.

    Playwright launches with `chromium_sandbox=False` by default and then adds `--no-sandbox` itself:
    every launch must also pass `chromium_sandbox=decision.enabled`.
    """
    decision = decision or sandbox_decision()
    return QUIET_FLAGS if decision.enabled else (NO_SANDBOX, *QUIET_FLAGS)


@dataclass
class BrowserSession:
    context: Any  # playwright.async_api.BrowserContext
    version: str
    executable: Path
    profile_dir: Path
    user_agent: str | None = None  # the desktop Chrome UA a headless run presents; None: Chromium's own
    choice: BrowserChoice | None = None  # which browser ran and why (drill/browser/locate.py)
    browser_user_agent: str = ""  # the browser's own user agent (names Edge as "Edg/"), from CDP
    client_hints: dict[str, object] | None = None  # a headless shell's brands corrected (client_hints.py)

    def evidence(self) -> dict[str, object]:
        """Which browser and version ran: the record's `browser`."""
        found: dict[str, object] = {"name": "Chromium", "executable": str(self.executable)}
        if self.choice is not None:
            found = dict(self.choice.evidence())
        found.update(version=self.version, user_agent=self.browser_user_agent)
        if self.client_hints is not None:
            found["client_hints"] = self.client_hints
        return found


_PLATFORM_TOKENS = {
    "linux": "X11; Linux x86_64",
    "darwin": "Macintosh; Intel Mac OS X 10_15_7",
    "win32": "Windows NT 10.0; Win64; x64",
}


def desktop_user_agent(version_text: str, platform: str | None = None) -> str | None:
    """The user agent a headed desktop Chrome of this major version sends (Chrome's reduced UA form).

    Headless Chromium says "HeadlessChrome"; Entra parses the user agent server-side and leaves FIDO out
    for some browsers (reference: Firefox on Linux), and nothing says how it treats HeadlessChrome, so a
    headless drill presents the same user agent a headed one would. None when the version is unreadable.
    """
    import re
    import sys

    match = re.search(r"(\d+)\.\d+\.\d+\.\d+", version_text)
    if match is None:
        return None
    token = _PLATFORM_TOKENS.get(platform or sys.platform, _PLATFORM_TOKENS["linux"])
    return (
        f"Mozilla/5.0 ({token}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{match.group(1)}.0.0.0 Safari/537.36"
    )


# `chromium --version` runs Debian's wrapper script and the browser binary (~50 ms of CPU) at every launch;
# the answer is cached per executable and forgotten as soon as the file is replaced (an upgrade changes its
# inode, size or modification time). A failed run is not cached.
_VERSIONS: dict[tuple[str, int, int, int], str] = {}


def _version_of(executable: Path) -> str:
    """`chromium --version` (e.g. "Chromium 156.0.8078.114 built on Debian ..."), or "" if it fails."""
    try:
        st = executable.stat()
    except OSError:
        return _run_version(executable)
    key = (str(executable), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _VERSIONS:
        found = _run_version(executable)
        if not found:
            return found
        _VERSIONS[key] = found
    return _VERSIONS[key]


def _run_version(executable: Path) -> str:
    import subprocess
    import sys

    if sys.platform == "win32":
        # Chrome, Edge and Chromium on Windows print nothing for --version and launch the browser instead
        # (crbug.com/158372, wontfix; web-platform-tests PR 11537): the CDP version is recorded after launch.
        return ""

    try:
        done = subprocess.run(
            [str(executable), "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def launch_options(
    choice: BrowserChoice, sandbox: SandboxDecision, extra_args: Sequence[str] = ()
) -> dict[str, Any]:
    """How every Chromium we start is launched (the drill's, the PDF renderer's): a channel's browser (Chrome,
    Edge) through Playwright's channel, our flags, and the sandbox exactly as decided: Playwright adds
    --no-sandbox itself unless `chromium_sandbox` says otherwise, so a caller's --no-sandbox is dropped."""
    return {
        "channel": choice.channel,
        "executable_path": None if choice.channel else str(choice.executable),
        "args": [*chromium_flags(sandbox), *(a for a in extra_args if a != NO_SANDBOX)],
        "chromium_sandbox": sandbox.enabled,
    }


def context_options(user_agent: str | None, locale: str = "en-US") -> dict[str, Any]:
    """The browser context every sign-in runs in: no downloads, no service workers (a page cannot leave
    anything running behind the drill), a desktop window, and the user agent (None keeps Chromium's own)."""
    return {
        "locale": locale,
        "viewport": {"width": 1100, "height": 800},
        "accept_downloads": False,
        "service_workers": "block",
        "user_agent": user_agent,
    }


@contextlib.asynccontextmanager
async def chromium(
    executable: BrowserChoice | Path | str | None = None,
    *,
    headless: bool = True,
    extra_args: Sequence[str] = (),
    locale: str = "en-US",
) -> AsyncIterator[BrowserSession]:
    """Yield a BrowserSession; on exit (also on cancellation or error) close the browser, kill any
    straggler and delete the profile. `executable`: a choice (`choose_browser`), a Chromium's path, or
    None / a path string resolved by `choose_browser` (override first). A channel's browser (Chrome, Edge)
    is launched through Playwright's channel, so Playwright finds it where it always does."""
    from playwright.async_api import async_playwright

    if isinstance(executable, BrowserChoice):
        choice = executable
    elif isinstance(executable, Path):
        choice = BrowserChoice("Chromium", executable, None, "caller")
    else:
        choice = choose_browser(None, executable, headless=headless)
    exe = choice.executable
    if not headless and is_headless_shell_binary(exe):
        raise DrillUserError(
            f"{exe} is Chromium's headless shell, which cannot show a window: run headless "
            "(browser.headless: true) or choose a full browser (browser.channel / browser.executable)"
        )
    sandbox = sandbox_decision()
    user_agent = desktop_user_agent(await asyncio.to_thread(_version_of, exe)) if headless else None
    profile = Path(tempfile.mkdtemp(prefix=PROFILE_PREFIX))
    mark_owner(profile)  # a kill before _close: the next sweep sees this process gone
    pw = None
    context = None
    try:
        pw = await async_playwright().start()
        context = await pw.chromium.launch_persistent_context(
            str(profile),
            headless=headless,
            **launch_options(choice, sandbox, extra_args),
            **context_options(user_agent, locale),
        )
        page = context.pages[0] if context.pages else await context.new_page()
        cdp = await context.new_cdp_session(page)
        info = await cdp.send("Browser.getVersion")
        await cdp.detach()
        hints = None
        if user_agent is not None and is_headless_shell(str(info.get("product", ""))):
            hints = await present_as_full_chromium(context, page, user_agent, locale)
        yield BrowserSession(
            context,
            str(info.get("product", "unknown")),
            exe,
            profile,
            user_agent,
            choice,
            str(info.get("userAgent", "")),
            hints.evidence() if hints is not None else None,
        )
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
        kill_survivors({**tree, **process_tree(processes_using(profile))})
        shutil.rmtree(profile, ignore_errors=True)
