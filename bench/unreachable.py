"""How fast `drill preflight` and `drill audit` give up on a host that cannot be reached (issue 25, case 8).

A DNS, refused-connection or TLS failure is not throttling: the tool must end within seconds with one line
naming the host, never wait out its SLA. This runs the real CLI in a subprocess against the demo playbook with
every endpoint pointed at a name that never resolves (`.invalid`, RFC 6761) and at a loopback port nobody
listens on, with the preflight SLA raised to 300 s so that waiting it out would show. Prints, per case: the
wall time, the exit code, the lines printed, the line naming the host, whether an audit ledger line was
written, and the machine. Target: preflight under 15 s; the audit at most a screenful and no ledger line.

    python bench/unreachable.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(command: str, host: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        from drill.testing import demo_playbook_at

        playbook = demo_playbook_at(folder, host)
        env = {**os.environ, "DRILL_STATE_DIR": str(folder / "state"),
               "DRILL_DEMO_OBSERVER_SECRET": "not-a-real-secret"}  # fmt: skip
        args = [sys.executable, "-m", "drill", command, str(playbook)]
        if command == "audit":
            args += ["--output", str(folder / "reports"), "--no-pdf"]
        started = time.monotonic()
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, check=False)
        took = time.monotonic() - started
        lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        naming = next((line for line in lines if host.split(":")[0] in line), "(no line names the host)")
        ledger = folder / "reports" / "ledger.jsonl"
        wrote = f"  audit ledger line written: {ledger.exists()}" if command == "audit" else ""
        code = done.returncode
        print(f"drill {command:9} {host:28} {took:6.1f} s  exit {code}  {len(lines):3} lines{wrote}")
        print(f"    {naming[:160]}")


def main() -> None:
    refused = f"127.0.0.1:{_free_port()}"
    for command, host in (
        ("preflight", "login.drill-bench.invalid"),
        ("preflight", refused),
        ("audit", "login.drill-bench.invalid"),
    ):
        run(command, host)
    print(f"machine: {describe()}")


if __name__ == "__main__":
    main()
