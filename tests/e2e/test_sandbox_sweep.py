"""Issue 17 items 8 and 15 with a real Chromium.

- The Chromium the drill starts carries `--no-sandbox` exactly when the decision says so (root, here in
  CI), read from the live processes' command lines; started as a normal user it keeps its sandbox (the
  test drops to `nobody` when it can, and Chromium then really runs sandboxed, the PDF renderer too).
  This is the test that caught Playwright adding `--no-sandbox` itself unless `chromium_sandbox=True`.
- A profile a crashed drill left behind is swept at the next start, while the one a running drill uses
  is not, even when its folder looks old.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from drill.browser.launch import NO_SANDBOX, chromium, sandbox_decision
from drill.browser.locate import headless_shell
from drill.browser.processes import processes_using
from drill.browser.sweep import PROFILE_PREFIX, STALE_AFTER_S, sweep_stale

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")]
ROOT = Path(__file__).resolve().parents[2]


def _cmdlines(pids: list[int]) -> list[bytes]:
    return [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pids]


SHELL = headless_shell()
# The full browser, and the headless shell a headless drill takes where it is installed.
BROWSERS = [
    pytest.param(shutil.which("chromium") or "", id="full-chromium"),
    pytest.param(str(SHELL), id="headless-shell", marks=pytest.mark.skipif(SHELL is None, reason="no shell")),
]


@pytest.mark.parametrize("exe", BROWSERS)
def test_the_launched_chromium_follows_the_decision(exe: str) -> None:
    decision = sandbox_decision()
    seen: dict[str, object] = {}

    async def run() -> None:
        async with chromium(Path(exe)) as session:
            seen["cmdlines"] = _cmdlines(processes_using(session.profile_dir))
            await session.context.pages[0].set_content("<title>ok</title>")

    asyncio.run(run())
    cmdlines = seen["cmdlines"]
    assert isinstance(cmdlines, list)
    browser = [c for c in cmdlines if b"--type=" not in c]  # the browser process, not its helpers
    assert browser
    assert all((NO_SANDBOX.encode() in c) is (not decision.enabled) for c in browser)


CHILD = """
import asyncio
from pathlib import Path
from drill.browser.launch import NO_SANDBOX, chromium, sandbox_decision
from drill.browser.processes import processes_using

async def main():
    async with chromium() as session:
        lines = [Path(f"/proc/{p}/cmdline").read_bytes() for p in processes_using(session.profile_dir)]
        await session.context.pages[0].set_content("<title>sandboxed</title>")
        title = await session.context.pages[0].title()
    print(sandbox_decision().enabled, any(NO_SANDBOX.encode() in c for c in lines), title)
    from drill.evidence.pdf import render_pdf_async
    print((await render_pdf_async("<p>report</p>"))[:5].decode())

asyncio.run(main())
"""
NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, "-c"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to drop")
@pytest.mark.parametrize("exe", BROWSERS)
def test_a_normal_user_gets_a_sandboxed_chromium(exe: str) -> None:
    home = Path(tempfile.mkdtemp(prefix="drill-e2e-nobody-"))  # pytest's tmp_path is closed to others
    os.chown(home, NOBODY, NOBODY)
    try:
        env = {
            "HOME": str(home),
            "PATH": os.environ.get("PATH", ""),
            "TMPDIR": str(home),
            "PYTHONPATH": str(ROOT),
            "DRILL_CHROMIUM": exe,
        }
        probe = subprocess.run(
            [*AS_NOBODY, "import drill.browser.launch"], env=env, capture_output=True, text=True, check=False
        )
        if probe.returncode != 0:
            pytest.skip(f"nobody cannot import the project here: {probe.stderr.strip()[-200:]}")
        result = subprocess.run(
            [*AS_NOBODY, CHILD], env=env, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "False", "sandboxed", "%PDF-"]  # the PDF renders sandboxed too


def test_a_crashed_drills_profile_is_swept_but_a_running_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A temp folder of its own: a drill starting in another test worker sweeps the shared one too.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    crashed = Path(tempfile.mkdtemp(prefix=PROFILE_PREFIX))
    (crashed / "Cookies").write_text("ESTSAUTHPERSISTENT=left-behind")
    old = time.time() - STALE_AFTER_S - 60
    os.utime(crashed, (old, old))
    seen: dict[str, object] = {}

    async def run() -> None:
        async with chromium() as session:
            os.utime(session.profile_dir, (old, old))  # looks old, but its Chromium is alive
            seen["running"] = session.profile_dir
            seen["removed"] = sweep_stale()
            seen["running_kept"] = session.profile_dir.is_dir()

    asyncio.run(run())
    removed = seen["removed"]
    assert isinstance(removed, list)
    assert crashed in removed
    assert not crashed.exists()
    assert seen["running"] not in removed
    assert seen["running_kept"] is True
