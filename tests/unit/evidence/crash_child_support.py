"""Child process for test_crash.py: writes bundles and ledger lines until it is SIGKILLed.

argv: REPORTS_DIR STATE_DIR RUN_ID KILL_AT_FSYNC (0 = never kill itself; the parent may still kill it).
Killing at the Nth fsync lands the crash between every pair of durable steps the writer takes.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from records_support import failing, healthy

from drill.evidence.bundle import BundleWriter
from drill.evidence.signing import Signer


def main() -> None:
    reports, state, run, kill_at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    signer = Signer.load(state_dir=state)
    real_fsync = os.fsync
    count = 0

    def counting_fsync(fd: int) -> None:
        nonlocal count
        count += 1
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        real_fsync(fd)

    os.fsync = counting_fsync
    print("ready", flush=True)
    for i in range(4):
        record = healthy(f"{run}-d{i}") if i % 2 == 0 else failing("late_alert", f"{run}-d{i}")
        writer = BundleWriter(reports, signer, pdf=lambda html: b"%PDF-1.4 stand-in for the crash test\n")
        writer.begin(record.model_copy(update={"steps": []}))
        steps = []
        for step in record.steps:
            shot = writer.add_screenshot(step.step, b"\x89PNG\r\n\x1a\n" + step.step.encode() * 50)
            steps.append(step.model_copy(update={"screenshots": [shot]}))
            writer.step(steps[-1])
        writer.finish(record.model_copy(update={"steps": steps}))
    print("done", count, flush=True)


if __name__ == "__main__":
    main()
