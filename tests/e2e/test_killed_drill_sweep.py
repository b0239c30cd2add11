"""A drill killed during sign-in leaves its Chromium profile and demo keys; the next start sweeps both.

Issue 29, item 7: the real `drill demo` runs in a subprocess with a temp folder of its own, is SIGKILLed
(no cleanup runs) once the browser sign-in started and its Chromium runs, and leaves a `drill-chromium-*`
profile and a `drill-demo-*` key folder minutes old. The sweep every drill runs first (`sweep_stale`, as
drill/run/loop.py calls it) must remove both, because the process that made them is gone, not wait 12 hours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from drill.browser.processes import processes_using
from drill.browser.sweep import DEMO_PREFIX, PROFILE_PREFIX, STALE_AFTER_S, sweep_stale

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _marked(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"DRILL_TEST_MARK={mark}".encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_drill_killed_mid_sign_in_is_swept_by_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    mark = uuid.uuid4().hex
    env = dict(os.environ, TMPDIR=str(temp), DRILL_TEST_MARK=mark, DRILL_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "drill", "demo", "--output", str(tmp_path / "reports")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    signing_in = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Browser sign-in with the passkey" in line:
                signing_in.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert signing_in.wait(120), "".join(lines[-30:])
        # Mid-sign-in: its Chromium runs on the profile (launching can lag the banner).
        deadline = time.time() + 60
        while not any(processes_using(p) for p in temp.glob(f"{PROFILE_PREFIX}*")):
            assert proc.poll() is None, "".join(lines[-30:])
            assert time.time() < deadline, "".join(lines[-30:])
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no handler, no finally, no cleanup
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    # Its Chromium dies with its driver; until then the profile is in use and must be kept.
    deadline = time.time() + 30
    while _marked(mark) and time.time() < deadline:
        time.sleep(0.5)
    for pid in _marked(mark):  # a straggler the kill orphaned: the browser is gone either way
        os.kill(pid, signal.SIGKILL)

    left = sorted(p for p in temp.iterdir() if p.name.startswith((PROFILE_PREFIX, DEMO_PREFIX)))
    assert {p.name.split("-")[1] for p in left} == {"chromium", "demo"}, [p.name for p in temp.iterdir()]
    assert all(time.time() - p.stat().st_mtime < STALE_AFTER_S for p in left)  # far from 12 hours old

    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # the next drill's temp folder
    removed = sweep_stale()
    assert sorted(removed) == left
    assert not any(p.exists() for p in left)
