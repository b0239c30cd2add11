"""Ctrl-C and SIGTERM mid-drill: an INCOMPLETE record with everything so far, no Chromium left, exit 3.

Runs the real `drill demo` in a subprocess and signals it when its progress says it reached the step.
Chromium processes are found afterwards by a marker in their inherited environment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STEP_BANNERS = {
    "signin": "Browser sign-in with the passkey",
    "log_rows": "The sign-in is in Log Analytics",
    "alert": "The alert email reached",
}


def _marked_processes(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"DRILL_TEST_MARK={mark}".encode() in env:
            found.append(int(entry.name))
    return found


# Each step once and each signal at two steps: both signals reach the same handler (drill/run/loop.py), so
# the full 3 x 2 product re-ran the two slowest real-speed demos (log_rows and alert) for no new path.
CASES = [
    ("signin", signal.SIGINT),
    ("signin", signal.SIGTERM),
    ("log_rows", signal.SIGTERM),
    ("alert", signal.SIGINT),
]


@pytest.mark.parametrize(("step", "sig"), CASES, ids=[f"{step}-{sig.name}" for step, sig in CASES])
def test_interrupt_leaves_incomplete_record_and_no_browser(
    step: str, sig: signal.Signals, tmp_path: Path
) -> None:
    mark = uuid.uuid4().hex
    out = tmp_path / "reports"
    env = dict(os.environ, DRILL_TEST_MARK=mark, DRILL_STATE_DIR=str(tmp_path / "state"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "drill", "demo", "--output", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    seen = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if STEP_BANNERS[step] in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(120), "".join(lines[-30:])
        time.sleep(0.5 if step == "signin" else 1.0)
        proc.send_signal(sig)
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    output = "".join(lines)
    assert code == 3, output[-3000:]
    reports = [p for p in out.iterdir() if p.is_dir() and (p / "report.json").exists()]
    assert len(reports) == 1, output[-2000:]
    record = json.loads((reports[0] / "report.json").read_text())
    assert record["verdict"] == "INCOMPLETE"
    names = [s["step"] for s in record["steps"]]
    assert names[0] == "preflight"
    assert names[-1] == "cleanup"
    time.sleep(1.0)
    assert _marked_processes(mark) == [], "a Chromium (or other child) outlived the drill"
