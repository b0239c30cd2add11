"""`drill schedule run` end to end: `--once` on the simulator; the long-running process stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import run_cli
from schedule_support import World

from drill.assets import DEMO_PLAYBOOK
from drill.evidence import ledger
from drill.playbook import Playbook
from drill.schedule.due import SentStore


def test_once_on_the_simulator_mails_once_and_ledgers_each_daily_audit(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = world.sim
    monkeypatch.setenv("DRILL_SIM_PORT", str(sim.port))
    monkeypatch.setenv("DRILL_SIM_CA", str(sim.ca_path))
    monkeypatch.setenv("DRILL_STATE_DIR", str(tmp_path / "workstation"))  # the workstation signing key
    path, state = tmp_path / "reports" / "ledger.jsonl", tmp_path / "state"
    argv = ["schedule", "run", str(DEMO_PLAYBOOK), "--once", "--ledger", str(path)]
    argv += ["--state", str(state)]
    before = len(sim.state.mail.messages("soc-alerts@contoso.test") or [])
    # This world registered no keys and ran no drill: the daily posture audit fails on exactly that.
    assert run_cli(*argv)[0] == 1
    assert run_cli(*argv)[0] == 1  # again: nothing re-sent, a second audit line with no drift
    report = ledger.verify(path)
    assert report.ok, report.problems
    assert [(e["kind"], e["verdict"]) for e in report.entries] == [("audit", "FAIL")] * 2
    failed = sorted(k for k, v in report.entries[0]["checks"].items() if v in ("failed", "error"))
    assert failed == ["BG.AM.5", "BG.AM.6", "BG.PROC.1", "BG.PROC.4"]
    assert report.entries[1]["drift"] == []
    assert all((path.parent / e["bundle"] / "manifest.sig").is_file() for e in report.entries)
    mails = (sim.state.mail.messages("soc-alerts@contoso.test") or [])[before:]
    # never drilled: one escalation per account and per authorised person (never practised), and the
    # failed audit once (to the alert mailbox)
    assert sorted(m["subject"] for m in mails) == [
        "[breakglass-drill] Demo Operator has never practised a break-glass drill",
        "[breakglass-drill] Demo Witness has never practised a break-glass drill",
        "[breakglass-drill] OVERDUE: ea01 has no passing break-glass drill",
        "[breakglass-drill] OVERDUE: ea02 has no passing break-glass drill",
        "[breakglass-drill] Posture audit: 4 failed, 0 changed",
    ]
    assert (tmp_path / "workstation" / "evidence-signing-key.pem").exists()


def _both_jobs_ran(ledger_path: Path, state: Path) -> bool:
    """The daily job left its audit line and the reminder job its sent record."""
    if not ledger.read_entries(ledger_path) or not (state / "sent.sqlite").exists():
        return False
    return any("/bg-1/" in key for key, _ in SentStore(state / "sent.sqlite").records())


def test_the_scheduler_process_runs_its_jobs_and_stops_cleanly_on_sigterm(
    make_playbook: Callable[..., Playbook], tmp_path: Path
) -> None:
    pb = make_playbook(accounts=("bg-1",))
    path, state = tmp_path / "reports" / "ledger.jsonl", tmp_path / "state"
    env = {**os.environ, "DRILL_STATE_DIR": str(tmp_path / "workstation"), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "drill", "schedule", "run", str(pb.source), "--no-mail"]
    cmd += ["--ledger", str(path), "--state", str(state)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # a bound on a hang, not a timing assertion
        while not _both_jobs_ran(path, state) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        entries = ledger.read_entries(path)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    # the observer here is `azure-cli`, absent on this machine: the daily audit fails and says why
    assert [(e["kind"], e["verdict"]) for e in entries] == [("audit", "FAIL")]
    assert "schedule.notice" in err  # never drilled: the escalation went to the log
    assert "schedule.stopping" in err
    rows = subprocess.run(
        [sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
         "'select count(*) from apscheduler_jobs').fetchone()[0])", str(state / "jobs.sqlite")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert rows.stdout.strip() == "2"  # reminder:bg-1 and keyless, kept for the next start
