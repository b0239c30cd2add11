"""SIGKILL while bundles and the ledger are written: the ledger still verifies, and no folder claims PASS
without being a complete, signed bundle."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from drill.evidence import manifest
from drill.evidence.verify import verify_bundle, verify_ledger

CHILD = Path(__file__).with_name("crash_child_support.py")
ROOT = Path(__file__).parents[3]


def _run(reports: Path, state: Path, run: str, kill_at: int, kill_after: float | None = None) -> int:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(CHILD.parent)]))
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(reports), str(state), run, str(kill_at)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if kill_after is not None:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err, err.decode()
    return proc.returncode


def test_sigkill_never_leaves_a_false_pass_or_a_broken_ledger(tmp_path: Path) -> None:
    reports, state = tmp_path / "reports", tmp_path / "state"
    rng = random.Random(os.environ.get("CRASH_SEED", "20261125"))
    # one clean run to learn how many fsyncs four bundles take, then kills spread over that range
    assert _run(reports, state, "clean", 0) == 0
    total = sum(1 for p in reports.iterdir() if p.is_dir() and p.name.startswith("clean-"))
    assert total == 4
    kills = 0
    for n, kill_at in enumerate(sorted(rng.sample(range(3, 200), 5))):
        code = _run(reports, state, f"fsync{n}", kill_at)
        kills += code == -signal.SIGKILL
    for n in range(2):
        code = _run(reports, state, f"timed{n}", 0, kill_after=rng.uniform(0.05, 0.4))
        kills += code == -signal.SIGKILL
    assert kills >= 5  # the crashes really happened mid-write
    assert _run(reports, state, "after", 0) == 0  # the next drill runs (and reconciles) on top of the debris

    ledger_report = verify_ledger(reports / "ledger.jsonl")
    assert ledger_report.ok, ledger_report.problems
    ledgered = {e["drill_id"] for e in ledger_report.entries}
    partial_seen = 0
    for folder in sorted(p for p in reports.iterdir() if p.is_dir() and p.name != "history"):
        result = verify_bundle(folder)
        claim = None
        if (folder / "report.json").is_file():
            claim = json.loads((folder / "report.json").read_text())["verdict"]
        if folder.name.endswith(manifest.PARTIAL_SUFFIX):
            partial_seen += 1
            assert result.status == "INCOMPLETE", (folder.name, result.problems)
            assert claim in (None, "INCOMPLETE", "PASS", "FAIL")  # only a signed manifest makes it count
        else:
            # a published folder is always complete: the rename happens after manifest.sig is on disk
            assert result.status == "VALID", (folder.name, result.problems)
            assert folder.name in ledgered  # appended at once, or reconciled by the next drill
        if claim == "PASS" and result.status != "VALID":
            assert folder.name.endswith(manifest.PARTIAL_SUFFIX)
    assert partial_seen >= 1
